/**
 * `media.max_inflight_bytes`: the media all requests of the process hold at once. Each request's
 * media was bounded (max_total_bytes), but not their sum: six requests of 57 MiB at once took the
 * gateway to 2.1 GB. A download that would go past the bound is refused at once with a 503
 * `gateway_overloaded` and a Retry-After (a target that needs no download still answers: it fails
 * over), and what a request holds is given back when it ends.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MediaBudget } from "../../src/media/media-budget.js";
import { listenApp, type ListeningApp } from "../support/listening-app.js";

const MIB = 1024 * 1024;
const servers: http.Server[] = [];
let gateway: ListeningApp;
let mediaOrigin = "";
let geminiCalls = 0;
let openaiCalls = 0;
/** Answers the Gemini call being held (the first one while `holdNext` is set). */
let releaseHeld: (() => void) | undefined;
let holdNext = false;

async function listen(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  mediaOrigin = await listen((request, response) => {
    response.writeHead(200, { "content-type": "image/png", "content-length": String(MIB) });
    response.end(Buffer.alloc(MIB, 7));
  });
  const gemini = await listen((request, response) => {
    request.resume();
    geminiCalls++;
    const answer = () => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ candidates: [{ content: { role: "model", parts: [{ text: "a grey square" }] }, finishReason: "STOP" }] }));
    };
    if (!holdNext) return answer();
    holdNext = false;
    releaseHeld = answer;
  });
  const broken = await listen((request, response) => {
    request.resume();
    response.writeHead(500, { "content-type": "application/json" });
    response.end(JSON.stringify({ error: { code: 500, message: "Internal error encountered.", status: "INTERNAL" } }));
  });
  const openai = await listen((request, response) => {
    request.resume();
    openaiCalls++;
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ id: "chatcmpl-1", object: "chat.completion", created: 1, model: "gpt-4o", choices: [{ index: 0, message: { role: "assistant", content: "a square" }, finish_reason: "stop" }], usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } }));
  });
  gateway = await listenApp(
    `providers:
  gem: { type: gemini, api_key: "AIzaInflight0123456789abcdef", base_url: "${gemini}" }
  gemdown: { type: gemini, api_key: "AIzaInflightDown0123456789ab", base_url: "${broken}" }
  oai: { type: openai, api_key: "sk-inflight", base_url: "${openai}/v1" }
models:
  look: { strategy: fallback, targets: [gem/gemini-2.5-flash, oai/gpt-4o] }
  across: { strategy: fallback, targets: [gemdown/gemini-2.5-flash, gem/gemini-2.5-flash] }
media: { allow_private_network: true, max_bytes: ${2 * MIB}, max_total_bytes: ${MIB}, max_inflight_bytes: ${1.5 * MIB} }
routing: { retry: { max_retries: 0 } }
logging: { level: silent }
`,
    "media-inflight.yaml",
  );
});

afterAll(async () => {
  releaseHeld?.();
  await gateway?.close();
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

function ask(model: string, path: string): Promise<Response> {
  return fetch(`${gateway.origin}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: [{ type: "text", text: "what is this?" }, { type: "image_url", image_url: { url: `${mediaOrigin}/${path}.png` } }] }] }),
  });
}

describe("media.max_inflight_bytes", () => {
  it("refuses a download past the process's bound with a 503 and Retry-After, fails over to a target that needs none, and frees the bytes when a request ends", async () => {
    holdNext = true;
    const held = ask("gem/gemini-2.5-flash", "a");
    // The first request holds its 1 MiB while Gemini has not answered.
    while (releaseHeld === undefined) await new Promise((resolve) => setTimeout(resolve, 10));

    const refused = await ask("gem/gemini-2.5-flash", "b");
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    // The SDKs may retry it after that second (no x-should-retry: false, which routed failures otherwise carry).
    expect(refused.headers.get("x-should-retry")).toBeNull();
    const body = (await refused.json()) as { error: { code: string; type: string; message: string } };
    expect(body.error.code).toBe("gateway_overloaded");
    expect(body.error.type).toBe("server_error");
    expect(body.error.message).toMatch(/media\.max_inflight_bytes/);
    expect(geminiCalls).toBe(1);

    // The OpenAI SDK sees it as an APIError with the status, and retries it by itself (Retry-After 1 s) unless told not to.
    const client = new OpenAI({ baseURL: `${gateway.origin}/v1`, apiKey: "unused", maxRetries: 0 });
    await expect(client.chat.completions.create({ model: "gem/gemini-2.5-flash", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: `${mediaOrigin}/c.png` } }] }] })).rejects.toMatchObject({ status: 503, code: "gateway_overloaded" });

    // A virtual model fails over to OpenAI, which takes the URL as it is.
    const failedOver = await ask("look", "d");
    expect(failedOver.status).toBe(200);
    expect(failedOver.headers.get("x-switchyard-model")).toBe("oai/gpt-4o");
    expect(openaiCalls).toBe(1);

    const release = releaseHeld;
    releaseHeld = undefined;
    release();
    expect((await held).status).toBe(200);
    // Its bytes are free again: the next request downloads and is answered by Gemini.
    const after = await ask("gem/gemini-2.5-flash", "e");
    expect(after.status).toBe(200);
    expect(geminiCalls).toBe(2);
  });
});

describe("media.max_inflight_bytes across Gemini base URLs", () => {
  it("gives back a failed target's media when the fallback at another base URL downloads its own: one request never holds two copies", async () => {
    const calls = geminiCalls;
    // 1 MiB at the broken base URL, then 1 MiB at the healthy one: 2 MiB held at once would pass the 1.5 MiB bound.
    const response = await ask("across", "f");
    expect(response.status).toBe(200);
    expect(response.headers.get("x-switchyard-model")).toBe("gem/gemini-2.5-flash");
    expect(geminiCalls).toBe(calls + 1);
  });
});

describe("MediaBudget with a process-wide parent", () => {
  it("takes from both, says which was short, and gives the parent back what a closed request held", () => {
    const process = new MediaBudget(100, undefined, true);
    const first = new MediaBudget(60, process);
    const second = new MediaBudget(60, process);
    expect(first.take(50)).toBeUndefined();
    expect(first.take(20)).toBe(first);
    expect(second.take(60)).toBe(process);
    expect(second.shortOf(50)).toBeUndefined();
    expect(second.take(50)).toBeUndefined();
    expect(second.shortOf(1)).toBe(process);
    first.release(10);
    expect(process.usedBytes).toBe(90);
    first.close();
    first.close();
    expect(process.usedBytes).toBe(50);
    expect(first.take(1)).toBe(first);
    second.close();
    expect(process.usedBytes).toBe(0);
  });
});

describe("MediaBudget after close", () => {
  it("gives the parent nothing more: a sibling download still decoding when its request failed cannot give the same bytes back twice", () => {
    const process = new MediaBudget(100, undefined, true);
    const request = new MediaBudget(80, process);
    expect(request.take(30)).toBeUndefined();
    expect(request.take(20)).toBeUndefined();
    // The request failed: close gives back its 50 bytes...
    request.close();
    expect(process.usedBytes).toBe(0);
    // ...and the decoder that took 20 of them, ending now, gives back nothing more.
    request.release(20);
    expect(process.usedBytes).toBe(0);
    expect(process.take(100)).toBeUndefined();
    expect(process.take(1)).toBe(process);
  });
});
