/**
 * An OpenAI-dialect server that answers 200 with no choice at all: a stream that carries only its
 * usage and ends, a whole answer whose `choices` is empty. Neither is an answer: both fail over
 * invisibly, and the caller sees one answer (one usage chunk) from the target that gave it.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listenApp, type ListeningApp } from "../support/listening-app.js";

const chunk = (fields: object) => `data: ${JSON.stringify({ id: "chatcmpl-E", object: "chat.completion.chunk", created: 1740000000, model: "m", ...fields })}\n\n`;
const STREAMS: Record<string, string> = {
  "usage-only": chunk({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 0, total_tokens: 5 } }) + "data: [DONE]\n\n",
  // The logprobs of the first byte of "€" come with no text, then the stream is cut.
  "lp-cut": chunk({ choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: { content: [{ token: "bytes:\\xe2", logprob: -0.1, bytes: [226], top_logprobs: [] }] }, finish_reason: null }] }),
  good: chunk({ choices: [{ index: 0, delta: { role: "assistant", content: "Hi" }, finish_reason: null }] }) + chunk({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }) + chunk({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } }) + "data: [DONE]\n\n",
};
const WHOLE: Record<string, object> = {
  "usage-only": { id: "gen-1", object: "chat.completion", created: 1, model: "m", choices: [], usage: { prompt_tokens: 5, completion_tokens: 0, total_tokens: 5 } },
  good: { id: "gen-2", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "Hi" }, finish_reason: "stop" }], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } },
};

let upstream: http.Server;
let gateway: ListeningApp;
let client: OpenAI;

beforeAll(async () => {
  upstream = http.createServer((request, response) => {
    let body = "";
    request.on("data", (piece: Buffer) => (body += piece.toString()));
    request.on("end", () => {
      const { model, stream } = JSON.parse(body) as { model: string; stream?: boolean };
      response.writeHead(200, { "content-type": stream ? "text/event-stream" : "application/json" });
      response.end(stream ? STREAMS[model] : JSON.stringify(WHOLE[model]));
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
  gateway = await listenApp(`providers:\n  up: { type: openai, api_key: "k-123456", base_url: "${base}" }\nrouting:\n  retry: { max_retries: 0 }\nlogging: { level: silent }\n`, "empty-answers.yaml");
  client = new OpenAI({ baseURL: `${gateway.origin}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

const ask = { model: "up/usage-only", fallbacks: ["up/good"], messages: [{ role: "user" as const, content: "hi" }] } as OpenAI.ChatCompletionCreateParams & { fallbacks: string[] };

describe("a 200 with no choice at all", () => {
  it("streamed (only a usage chunk, then [DONE]): fails over invisibly; one usage chunk, the route naming the target that answered", async () => {
    const { data, response } = await client.chat.completions.create({ ...ask, stream: true, stream_options: { include_usage: true } }).withResponse();
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const piece of data) chunks.push(piece);
    expect(response.headers.get("x-switchyard-model")).toBe("up/good");
    expect(response.headers.get("x-switchyard-failed")).toBe("up/usage-only stream_interrupted");
    expect(chunks.filter((piece) => piece.usage)).toHaveLength(1);
    expect(chunks.find((piece) => piece.usage)?.usage?.total_tokens).toBe(6);
    expect(chunks.map((piece) => piece.choices[0]?.delta.content ?? "").join("")).toBe("Hi");
  });

  it("streamed, only the logprobs of a token with no text before a cut: fails over invisibly, without that entry", async () => {
    const { data, response } = await client.chat.completions.create({ model: "up/lp-cut", fallbacks: ["up/good"], messages: [{ role: "user", content: "hi" }], stream: true, logprobs: true } as OpenAI.ChatCompletionCreateParamsStreaming).withResponse();
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const piece of data) chunks.push(piece);
    expect(response.headers.get("x-switchyard-model")).toBe("up/good");
    expect(response.headers.get("x-switchyard-failed")).toBe("up/lp-cut stream_interrupted");
    expect(chunks.flatMap((piece) => piece.choices[0]?.logprobs?.content ?? [])).toEqual([]);
    expect(chunks.map((piece) => piece.choices[0]?.delta.content ?? "").join("")).toBe("Hi");
  });

  it("whole (choices: []): is a malformed answer and fails over", async () => {
    const { data, response } = await client.chat.completions.create({ ...ask, stream: false }).withResponse();
    expect(data.choices[0]?.message.content).toBe("Hi");
    expect(response.headers.get("x-switchyard-failed")).toBe("up/usage-only invalid_provider_response");
  });
});
