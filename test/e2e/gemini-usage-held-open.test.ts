/**
 * A Gemini stream whose last chunk (finishReason and usageMetadata) arrives, after which the
 * connection stays open or breaks. The usage used to be sent only at the body's end: the caller
 * waited the 2 s finish grace and then got the gateway's estimate instead of Gemini's own count.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listenApp, type ListeningApp } from "../support/listening-app.js";
import { readFixture } from "../support/replay-transport.js";

const FIXTURE = readFixture("gemini/stream-text-system-instruction.sse.txt");
let upstream: http.Server;
let gateway: ListeningApp;
let mode: "hold" | "cut" = "hold";

beforeAll(async () => {
  upstream = http.createServer((request, response) => {
    request.resume();
    // A Content-Length longer than the body: the stream never ends by itself.
    response.writeHead(200, { "content-type": "text/event-stream", "content-length": String(Buffer.byteLength(FIXTURE) + 500) });
    response.write(FIXTURE);
    if (mode === "cut") setTimeout(() => response.socket?.destroy(), 50);
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  gateway = await listenApp(`providers:\n  gem: { type: gemini, api_key: "AIzaHeldOpen0123456789abcd", base_url: "${base}" }\nrouting:\n  retry: { max_retries: 0 }\nlogging: { level: silent }\n`, "gemini-held-open.yaml");
});

afterAll(async () => {
  await gateway?.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

describe("a Gemini stream kept open (or cut) after its last chunk", () => {
  it.each(["hold", "cut"] as const)("%s: ends within a second or two, with Gemini's own usage", async (how) => {
    mode = how;
    const client = new OpenAI({ baseURL: `${gateway.origin}/v1`, apiKey: "unused", maxRetries: 0 });
    const started = Date.now();
    const stream = await client.chat.completions.create({ model: "gem/gemini-2.0-flash", messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true } });
    let usage: (OpenAI.CompletionUsage & { estimated?: boolean }) | undefined;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      usage = chunk.usage ?? usage;
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe("stop");
    expect(usage?.estimated).toBeUndefined();
    expect(usage?.prompt_tokens).toBeGreaterThan(0);
    // Within the wait for more of a settled answer (1 s here: the chunks came at once), not the 30 s idle bound.
    expect(Date.now() - started).toBeLessThan(2500);
  });
});
