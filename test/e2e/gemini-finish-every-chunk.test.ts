/**
 * Gemini streams that put `finishReason: "STOP"` on every chunk (the API of 2024, with Search
 * grounding): the recorded stream of google-gemini/generative-ai-js
 * (`test-utils/mock-responses/streaming-success-search-grounding.txt`, Apache-2.0), served a
 * chunk at a time with a gap. The gateway used to end the answer at the first chunk ("The") and
 * call it complete. A finish is the end only when nothing more comes: at the body's end, or when
 * the upstream holds its connection open (or drops it) after the last chunk, after a short wait.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listenApp, type ListeningApp } from "../support/listening-app.js";

const usage = (completion: number) => ({ promptTokenCount: 8, candidatesTokenCount: completion, totalTokenCount: 8 + completion });
const TEXTS = ["The", " current stock price for Alphabet Inc. (Google) Class C (GOOG)", " is \\$166.79 USD. This price reflects a decrease of", " -0.97% over the last 24 hours.", " financial websites like Google Finance or TradingView.\n"];
const COUNTS = [1, 17, 33, 65, 106];
const CHUNKS = [
  ...TEXTS.map((text, i) => ({ candidates: [{ content: { parts: [{ text }], role: "model" }, finishReason: "STOP", index: 0 }], usageMetadata: usage(COUNTS[i] ?? 0) })),
  { candidates: [{ content: {}, index: 0, groundingMetadata: { webSearchQueries: ["what is the current google stock price"] } }], usageMetadata: usage(106) },
];
/** The stream as SSE (`alt=sse`), or as the JSON array `streamGenerateContent` sends without it (closed by `]` only when the body ends). */
const FRAMED = {
  sse: CHUNKS.map((chunk) => `data: ${JSON.stringify(chunk)}\r\n\r\n`),
  array: CHUNKS.map((chunk, i) => `${i === 0 ? "[" : ",\r\n"}${JSON.stringify(chunk)}`),
};

let upstream: http.Server;
let gateway: ListeningApp;
/** The same, with a short idle bound: the wait after a settled answer stays under half of it. */
let shortIdle: ListeningApp;
let mode: { end: "end" | "hold" | "cut"; gapMs: number; framing?: "sse" | "array" } = { end: "end", gapMs: 20 };

beforeAll(async () => {
  upstream = http.createServer((request, response) => {
    request.resume();
    const { end, gapMs, framing = "sse" } = mode;
    const EVENTS = FRAMED[framing];
    const closing = framing === "array" && end === "end" ? "]" : "";
    // Held open: a Content-Length longer than the body, so it never ends by itself.
    const length = EVENTS.reduce((sum, event) => sum + Buffer.byteLength(event), 0) + closing.length + (end === "end" ? 0 : 500);
    response.writeHead(200, { "content-type": framing === "sse" ? "text/event-stream" : "application/json", "content-length": String(length) });
    let next = 0;
    const send = () => {
      if (response.destroyed) return;
      const event = EVENTS[next++];
      if (event === undefined) {
        if (end === "end") response.end(closing);
        else if (end === "cut") setTimeout(() => response.socket?.destroy(), 30);
        return;
      }
      // Awkward slices: the event in two writes, split inside its JSON.
      const cut = Math.floor(event.length / 3);
      response.write(event.slice(0, cut));
      response.write(event.slice(cut));
      setTimeout(send, gapMs);
    };
    send();
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  gateway = await listenApp(`providers:\n  gem: { type: gemini, api_key: "AIzaEveryChunk0123456789abc", base_url: "${base}" }\nrouting:\n  retry: { max_retries: 0 }\nlogging: { level: silent }\n`, "gemini-finish-every-chunk.yaml");
  shortIdle = await listenApp(`providers:\n  gem: { type: gemini, api_key: "AIzaEveryChunk0123456789abc", base_url: "${base}" }\nrouting:\n  retry: { max_retries: 0 }\n  timeouts: { idle_ms: 300 }\nlogging: { level: silent }\n`, "gemini-finish-every-chunk-idle.yaml");
});

afterAll(async () => {
  await gateway?.close();
  await shortIdle?.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

async function streamed(app: ListeningApp = gateway): Promise<{ text: string; finishes: (string | null)[]; usage: (OpenAI.CompletionUsage & { estimated?: boolean }) | undefined; ms: number }> {
  const client = new OpenAI({ baseURL: `${app.origin}/v1`, apiKey: "unused", maxRetries: 0 });
  const started = Date.now();
  const stream = await client.chat.completions.create({ model: "gem/gemini-1.5-flash", messages: [{ role: "user", content: "What is the current Google stock price?" }], stream: true, stream_options: { include_usage: true } });
  let text = "";
  const finishes: (string | null)[] = [];
  let usage: (OpenAI.CompletionUsage & { estimated?: boolean }) | undefined;
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    text += choice?.delta.content ?? "";
    if (choice?.finish_reason) finishes.push(choice.finish_reason);
    usage = chunk.usage ?? usage;
  }
  return { text, finishes, usage, ms: Date.now() - started };
}

describe("a Gemini stream with finishReason STOP on every chunk", () => {
  it.each(["sse", "array"] as const)("is streamed whole, with one finish and Gemini's last usage, when the body ends (%s)", async (framing) => {
    mode = { end: "end", gapMs: 20, framing };
    const { text, finishes, usage } = await streamed();
    expect(text).toBe(TEXTS.join(""));
    expect(finishes).toEqual(["stop"]);
    expect(usage?.estimated).toBeUndefined();
    expect(usage?.completion_tokens).toBe(106);
  });

  it.each([
    ["hold", "sse"],
    ["cut", "sse"],
    ["hold", "array"],
    ["cut", "array"],
  ] as const)("%s after the last chunk (%s): whole, and ended within a few gaps of it", async (end, framing) => {
    mode = { end, gapMs: 100, framing };
    const { text, finishes, usage, ms } = await streamed();
    expect(text).toBe(TEXTS.join(""));
    expect(finishes).toEqual(["stop"]);
    expect(usage?.completion_tokens).toBe(106);
    // Six events 100 ms apart, then the wait for more (four times the longest gap, at least 1 s; never the 30 s idle bound).
    expect(ms).toBeLessThan(600 + 1_000 + 1_000);
  });

  it("with the first gap longer than a quarter of a second (Gemini's chunks of 2024 came hundreds of milliseconds apart): whole", async () => {
    mode = { end: "end", gapMs: 400 };
    const { text, finishes, usage } = await streamed();
    expect(text).toBe(TEXTS.join(""));
    expect(finishes).toEqual(["stop"]);
    expect(usage?.completion_tokens).toBe(106);
  });

  it("held open under a short idle bound: ends normally within it, not as a stall", async () => {
    mode = { end: "hold", gapMs: 100 };
    const { text, finishes, usage } = await streamed(shortIdle);
    expect(text).toBe(TEXTS.join(""));
    expect(finishes).toEqual(["stop"]);
    expect(usage?.completion_tokens).toBe(106);
  });
});
