/**
 * A Gemini request with a media URL that the gateway fetches itself: one download per request,
 * however many attempts it takes (retries on one account, fallbacks to another), so
 * media.max_total_bytes bounds the request, not each attempt (before, every attempt downloaded
 * every URL again); and the type the media's server states wins over the URL's extension.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDialectUpstream, type DialectUpstream } from "../support/dialect-upstream.js";
import { listenApp, type ListeningApp } from "../support/listening-app.js";

const KEYS = { openai: "sk-media-openai-0123456789", anthropic: "sk-ant-media-0123456789", gemini: "AIzaMediaOnce0123456789" };
let upstream: DialectUpstream;
let gateway: ListeningApp;

beforeAll(async () => {
  upstream = await startDialectUpstream({ keys: KEYS, models: { openai: [], anthropic: [], gemini: ["gemini-2.5-flash"] } });
  gateway = await listenApp(
    `providers:
  gem: { type: gemini, api_key: "${KEYS.gemini}", base_url: "${upstream.origin}" }
  gem2: { type: gemini, api_key: "${KEYS.gemini}", base_url: "${upstream.origin}" }
media: { allow_private_network: true }
routing:
  retry: { max_retries: 2, base_delay_ms: 1, max_delay_ms: 5 }
  circuit_breaker: { failure_threshold: 1000 }
logging: { level: silent }
`,
    "media-once.yaml",
  );
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

describe("media fetched by the gateway", () => {
  it("is downloaded once for all the attempts of a request", async () => {
    const url = upstream.serveMedia("cat.png", new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]), "image/png");
    upstream.reset();
    const response = await fetch(`${gateway.origin}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "gem/gemini-2.5-flash",
        fallbacks: ["gem2/gemini-2.5-flash"],
        messages: [{ role: "user", content: [{ type: "text", text: "What is this? [[error:503]]" }, { type: "image_url", image_url: { url } }] }],
      }),
    });
    expect(response.status).toBe(503);
    expect(response.headers.get("x-switchyard-attempts")).toBe("6");
    expect(upstream.chatRequests()).toHaveLength(6);
    expect(upstream.requests.filter((request) => request.dialect === "media")).toHaveLength(1);
  });

  it("is downloaded once however many parts name the same URL, each part still inlined", async () => {
    const url = upstream.serveMedia("same.png", new Uint8Array([0x89, 0x50, 0x4e, 0x47, 9]), "image/png");
    upstream.reset();
    const response = await fetch(`${gateway.origin}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gem/gemini-2.5-flash", messages: [{ role: "user", content: [{ type: "text", text: "Same?" }, ...Array.from({ length: 12 }, () => ({ type: "image_url", image_url: { url } }))] }] }),
    });
    expect(response.status).toBe(200);
    expect(upstream.requests.filter((request) => request.dialect === "media")).toHaveLength(1);
    expect(JSON.stringify(upstream.lastChat().body).match(/"inlineData"/g)).toHaveLength(12);
  });

  it("goes to Gemini with the type its server states, not the one its URL's extension suggests, unless the caller set mime_type", async () => {
    const url = upstream.serveMedia("photo.png", new Uint8Array([0x52, 0x49, 0x46, 0x46, 1, 2]), "image/webp");
    const sent = async (imageUrl: Record<string, string>) => {
      upstream.reset();
      const response = await fetch(`${gateway.origin}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "gem/gemini-2.5-flash", messages: [{ role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: imageUrl }] }] }),
      });
      expect(response.status).toBe(200);
      return JSON.stringify(upstream.lastChat().body);
    };
    expect(await sent({ url })).toContain('"mimeType":"image/webp"');
    expect(await sent({ url, mime_type: "image/png" })).toContain('"mimeType":"image/png"');
  });
});
