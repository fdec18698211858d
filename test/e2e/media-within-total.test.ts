/**
 * Media the gateway downloads for Gemini are part of the attempt: a non-streamed request whose
 * media took longer than routing.timeouts.total_ms used to be answered long after it (the total
 * timer only started with the upstream call; 16 slow images took 10 s against a 4 s total_ms).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDialectUpstream, type DialectUpstream } from "../support/dialect-upstream.js";
import { listenApp, type ListeningApp } from "../support/listening-app.js";

const KEYS = { openai: "sk-media-total-openai-0123456789", anthropic: "sk-ant-media-total-0123456789", gemini: "AIzaMediaTotal0123456789" };
let upstream: DialectUpstream;
let media: http.Server;
let gateway: ListeningApp;
/** first_token_ms shorter than one download: a stream's first-token clock starts after the media. */
let streamingGateway: ListeningApp;

beforeAll(async () => {
  upstream = await startDialectUpstream({ keys: KEYS, models: { openai: [], anthropic: [], gemini: ["gemini-2.5-flash"] } });
  // Each image comes after 700 ms.
  media = http.createServer((request, response) => {
    request.resume();
    setTimeout(() => response.writeHead(200, { "content-type": "image/png" }).end(Buffer.from([0x89, 0x50, 0x4e, 0x47])), 700);
  });
  await new Promise<void>((resolve) => media.listen(0, "127.0.0.1", resolve));
  gateway = await listenApp(
    `providers:\n  gem: { type: gemini, api_key: "${KEYS.gemini}", base_url: "${upstream.origin}" }\nmedia: { allow_private_network: true, timeout_ms: 3000 }\nrouting:\n  timeouts: { total_ms: 1000 }\n  retry: { max_retries: 0 }\n  circuit_breaker: { failure_threshold: 3 }\nlogging: { level: silent }\n`,
    "media-within-total.yaml",
  );
  streamingGateway = await listenApp(
    `providers:\n  gem: { type: gemini, api_key: "${KEYS.gemini}", base_url: "${upstream.origin}" }\nmedia: { allow_private_network: true, timeout_ms: 3000 }\nrouting:\n  timeouts: { first_token_ms: 300, total_ms: 5000 }\n  retry: { max_retries: 0 }\n  circuit_breaker: { failure_threshold: 2 }\nlogging: { level: silent }\n`,
    "media-first-token.yaml",
  );
});

afterAll(async () => {
  await gateway?.close();
  await streamingGateway?.close();
  await upstream?.close();
  media?.closeAllConnections();
  await new Promise((resolve) => media?.close(resolve));
});

describe("media downloads and total_ms", () => {
  it("a non-streamed request whose media outlast total_ms is a 400 at total_ms (the media hosts are slow, not the provider), and no upstream call is made", async () => {
    const origin = `http://127.0.0.1:${(media.address() as AddressInfo).port}`;
    upstream.reset();
    const started = Date.now();
    const response = await fetch(`${gateway.origin}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gem/gemini-2.5-flash", messages: [{ role: "user", content: [{ type: "text", text: "Look." }, ...Array.from({ length: 8 }, (_, index) => ({ type: "image_url", image_url: { url: `${origin}/${index}.png` } }))] }] }),
    });
    const elapsed = Date.now() - started;
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain("not fetched within routing.timeouts.total_ms (1000 ms)");
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(1600);
    expect(upstream.chatRequests()).toHaveLength(0);
  });

  it("never open the provider's circuit, however many requests name slow media", async () => {
    const origin = `http://127.0.0.1:${(media.address() as AddressInfo).port}`;
    const slow = { model: "gem/gemini-2.5-flash", messages: [{ role: "user", content: [{ type: "text", text: "Look." }, ...Array.from({ length: 8 }, (_, index) => ({ type: "image_url", image_url: { url: `${origin}/c${index}.png` } }))] }] };
    for (let index = 0; index < 4; index++) {
      const response = await fetch(`${gateway.origin}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(slow) });
      expect(response.status).toBe(400);
    }
    const plain = await fetch(`${gateway.origin}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "gem/gemini-2.5-flash", messages: [{ role: "user", content: "hi" }] }) });
    expect(plain.status).toBe(200);
  });

  it("media within total_ms leave the upstream call the rest of it", async () => {
    const origin = `http://127.0.0.1:${(media.address() as AddressInfo).port}`;
    upstream.reset();
    const response = await fetch(`${gateway.origin}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gem/gemini-2.5-flash", messages: [{ role: "user", content: [{ type: "text", text: "Look." }, { type: "image_url", image_url: { url: `${origin}/one.png` } }] }] }),
    });
    expect(response.status).toBe(200);
    expect(upstream.chatRequests()).toHaveLength(1);
  });
});

describe("media downloads and first_token_ms", () => {
  it("a stream's first-token clock starts when the media are in: a download longer than first_token_ms is not a silent provider, and opens no circuit", async () => {
    const origin = `http://127.0.0.1:${(media.address() as AddressInfo).port}`;
    upstream.reset();
    for (let index = 0; index < 3; index++) {
      const response = await fetch(`${streamingGateway.origin}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "gem/gemini-2.5-flash", stream: true, messages: [{ role: "user", content: [{ type: "text", text: "Look." }, { type: "image_url", image_url: { url: `${origin}/s${index}.png` } }] }] }),
      });
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).toContain('"finish_reason":"stop"');
      expect(text).toContain("data: [DONE]");
    }
    expect(upstream.chatRequests()).toHaveLength(3);
  });
});
