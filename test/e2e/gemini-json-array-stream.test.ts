/**
 * A Gemini upstream (or a proxy in front of one) that ignores alt=sse and streams
 * streamGenerateContent as one JSON array, an element every 150 ms, with first_token_ms 400: the
 * gateway translates each element as it arrives (the caller's SSE carries the first token before
 * the array ends), where it used to read the whole array first and fail the stream with 504 once
 * first_token_ms passed.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listenApp, type ListeningApp } from "../support/listening-app.js";

const WORDS = ["one ", "two ", "three ", "four ", "five"];
let upstream: http.Server;
let gateway: ListeningApp;
let arrayEnded = 0;

beforeAll(async () => {
  upstream = http.createServer((request, response) => {
    request.resume();
    response.writeHead(200, { "content-type": "application/json; charset=UTF-8" });
    response.write("[");
    let index = 0;
    const next = () => {
      const last = index === WORDS.length - 1;
      const element = { candidates: [{ content: { role: "model", parts: [{ text: WORDS[index] }] }, ...(last ? { finishReason: "STOP" } : {}), index: 0 }], ...(last ? { usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 5, totalTokenCount: 8 } } : {}), modelVersion: "gemini-2.5-flash" };
      response.write(`${index === 0 ? "" : ",\r\n"}${JSON.stringify(element)}`);
      index++;
      if (index < WORDS.length) setTimeout(next, 150);
      else {
        arrayEnded = Date.now();
        response.end("]");
      }
    };
    next();
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  gateway = await listenApp(
    `providers:\n  gem: { type: gemini, api_key: "AIzaJsonArray0123456789", base_url: "${base}" }\nrouting:\n  timeouts: { first_token_ms: 400, idle_ms: 400 }\n  retry: { max_retries: 0 }\nlogging: { level: silent }\n`,
    "json-array.yaml",
  );
});

afterAll(async () => {
  await gateway?.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

describe("a Gemini stream answered as a JSON array", () => {
  it("reaches the caller token by token while the array is still arriving", async () => {
    const client = new OpenAI({ baseURL: `${gateway.origin}/v1`, apiKey: "unused", maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: "gem/gemini-2.5-flash", messages: [{ role: "user", content: "count" }], stream: true, stream_options: { include_usage: true } });
    let text = "";
    let firstTokenAt = 0;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta.content ?? "";
      if (delta && !firstTokenAt) firstTokenAt = Date.now();
      text += delta;
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(WORDS.join(""));
    expect(firstTokenAt).toBeGreaterThan(0);
    expect(firstTokenAt).toBeLessThan(arrayEnded);
    expect(usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 });
  });
});
