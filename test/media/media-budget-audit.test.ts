import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGuardedMediaFetcher } from "../../src/media/guarded-media-fetch.js";
import { MediaBudget } from "../../src/media/media-budget.js";
import { startFakeUpstream, type FakeUpstream } from "../support/fake-upstream.js";
import { listenApp } from "../support/listening-app.js";
import { rejectedGatewayError } from "../support/thrown.js";

/*
 * One request naming many media URLs must not make the gateway hold many times `media.max_bytes`:
 * before media.max_total_bytes, 24 URLs of 20 MiB each took the gateway to about 2 GB of memory and
 * ended in a 500 (the base64 JSON body passed V8's string limit).
 */

const ITEM = 256 * 1024;
let media: Server;
let mediaOrigin = "";
let served = 0;

beforeAll(async () => {
  media = createServer((request, response) => {
    served++;
    if (request.url?.includes("gzip")) {
      // A stored object served gzip-coded: small on the wire, four times the budget below once decoded.
      response.writeHead(200, { "content-type": "image/png", "content-encoding": "gzip" });
      return response.end(gzipSync(Buffer.alloc(ITEM * 8, 1)));
    }
    const chunked = request.url?.includes("chunked") ?? false;
    response.writeHead(200, { "content-type": "image/png", ...(chunked ? {} : { "content-length": ITEM }) });
    if (!chunked) return response.end(Buffer.alloc(ITEM, 1));
    response.write(Buffer.alloc(ITEM / 2, 1));
    response.end(Buffer.alloc(ITEM / 2, 1));
  });
  await new Promise<void>((resolve) => media.listen(0, "127.0.0.1", resolve));
  mediaOrigin = `http://127.0.0.1:${(media.address() as AddressInfo).port}`;
});

afterAll(async () => {
  media.closeAllConnections();
  await new Promise((resolve) => media.close(resolve));
});


describe("MediaBudget in the guarded fetcher", () => {
  const fetcher = createGuardedMediaFetcher({ allowPrivateNetwork: true, maxBytes: ITEM, timeoutMs: 2_000 });
  const signal = new AbortController().signal;

  it.each(["declared", "chunked"])("shares one budget between the fetches of a request (%s body)", async (kind) => {
    const budget = new MediaBudget(ITEM * 2);
    await fetcher({ url: `${mediaOrigin}/${kind}/1`, param: "p1", signal, budget });
    await fetcher({ url: `${mediaOrigin}/${kind}/2`, param: "p2", signal, budget });
    const error = await rejectedGatewayError(fetcher({ url: `${mediaOrigin}/${kind}/3`, param: "messages[0].content[2]", signal, budget }));
    expect(error.reason).toBe("INVALID_REQUEST");
    expect(error.facts.param).toBe("messages[0].content[2]");
    expect(error.rawMessage).toMatch(/more than the 524288-byte total limit \(media\.max_total_bytes\)/);
  });

  it("takes a coded body's decoded bytes from the budget as they come, not after decoding up to max_bytes", async () => {
    const large = createGuardedMediaFetcher({ allowPrivateNetwork: true, maxBytes: 64 * 1024 * 1024, timeoutMs: 2_000 });
    const budget = new MediaBudget(ITEM * 2);
    const takes: number[] = [];
    const take = budget.take.bind(budget);
    budget.take = (bytes: number) => (takes.push(bytes), take(bytes));
    const errors = await Promise.all([1, 2, 3, 4].map((index) => rejectedGatewayError(large({ url: `${mediaOrigin}/gzip/${index}`, param: `p${index}`, signal, budget }))));
    for (const error of errors) expect(error.rawMessage).toMatch(/more than the 524288-byte total limit/);
    // Decoded in pieces, each taken as it came: never a whole decoded body at once.
    expect(Math.max(...takes)).toBeLessThanOrEqual(64 * 1024);
  });

  it("applies only max_bytes without a budget", async () => {
    for (let index = 0; index < 3; index++) {
      const fetched = await fetcher({ url: `${mediaOrigin}/declared/${index}`, param: "p", signal });
      expect(fetched.bytes.byteLength).toBe(ITEM);
    }
  });
});

describe("media.max_total_bytes through the gateway (Gemini inlines fetched media)", () => {
  let upstream: FakeUpstream;
  let origin = "";
  let close: () => Promise<void>;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    const yaml = `server: { host: 127.0.0.1, port: 0 }
providers:
  g: { type: gemini, api_key: "k", base_url: "${upstream.baseUrl}" }
media: { allow_private_network: true, max_bytes: ${ITEM}, max_total_bytes: ${ITEM * 3} }
routing: { retry: { max_retries: 0 } }
logging: { level: silent }
`;
    const app = await listenApp(yaml, "media.yaml");
    origin = app.origin;
    close = async () => {
      await app.close();
      await upstream.close();
    };
  });

  afterAll(async () => close());

  it("answers a 400 naming a part, without calling the provider, when the URLs of one request exceed the total", async () => {
    served = 0;
    const content = [{ type: "text", text: "describe" }, ...Array.from({ length: 8 }, (_, index) => ({ type: "image_url", image_url: { url: `${mediaOrigin}/chunked/${index}.png` } }))];
    const response = await fetch(`${origin}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "g/gemini-2.5-flash", messages: [{ role: "user", content }] }),
    });
    const body = (await response.json()) as { error: { code: string; param: string; message: string } };
    expect(response.status).toBe(400);
    expect(body.error.code).toBe("invalid_request");
    expect(body.error.param).toMatch(/^messages\[0\]\.content\[\d\]$/);
    expect(body.error.message).toMatch(/786432-byte total limit \(media\.max_total_bytes\)/);
    expect(upstream.requests).toHaveLength(0);
    expect(served).toBeLessThanOrEqual(4);
  });

  it("still inlines media within the total", async () => {
    upstream.enqueue({ status: 200, headers: { "content-type": "application/json" }, chunks: [JSON.stringify({ candidates: [{ content: { role: "model", parts: [{ text: "ok" }] }, finishReason: "STOP" }] })] });
    const content = Array.from({ length: 3 }, (_, index) => ({ type: "image_url", image_url: { url: `${mediaOrigin}/declared/${index}.png` } }));
    const response = await fetch(`${origin}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "g/gemini-2.5-flash", messages: [{ role: "user", content }] }),
    });
    expect(response.status).toBe(200);
    const sent = upstream.lastRequest().body as { contents: { parts: { inlineData?: { data: string } }[] }[] };
    expect(sent.contents[0]?.parts.filter((part) => part.inlineData)).toHaveLength(3);
  });
});
