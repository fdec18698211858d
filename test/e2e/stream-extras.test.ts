import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ChatService, type ChatStreamResponse } from "../../gen/switchyard/v1/chat_service_pb.js";
import { buildApp, type BuiltApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";
import { sseAnswer, startFakeUpstream, type FakeUpstream } from "../support/fake-upstream.js";
import { AZURE_ASYNC, AZURE_DEFAULT, DETAIL_SIGNATURE, DETAIL_TEXT, FILTER, OFFSETS_EARLY, OFFSETS_LAST, OPENROUTER } from "../support/unmodelled-stream-fields.js";

/*
 * A streamed choice's and delta's fields the gateway does not model, through a listening gateway:
 * the official openai SDK reads them in the chunks where the server put them (the exact chunk
 * JSON is asserted), and Connect and gRPC clients get them as choice_extra events. The upstream
 * streams (Azure's two filter modes, OpenRouter's reasoning_details) are those of
 * unmodelled-stream-fields.ts, written in awkward slices.
 */

const MODEL = "az/gpt-4o";
let upstream: FakeUpstream;
let built: BuiltApp;
let client: OpenAI;
let origin: string;
let sessions: Http2SessionManager;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  const yaml = `server: { host: 127.0.0.1, port: 0 }
providers:
  az: { type: openai-compatible, api_key: k, base_url: "${upstream.baseUrl}" }
logging: { level: silent }
`;
  built = await buildApp({ config: parseConfigText(yaml, "extras.yaml", {}) });
  await built.app.listen({ host: "127.0.0.1", port: 0 });
  origin = `http://127.0.0.1:${(built.app.server.address() as AddressInfo).port}`;
  client = new OpenAI({ apiKey: "unused", baseURL: `${origin}/v1`, maxRetries: 0, timeout: 10_000 });
  sessions = new Http2SessionManager(origin);
});

afterAll(async () => {
  sessions?.abort();
  await built?.app.close();
  await upstream?.close();
});

beforeEach(() => upstream.reset());

/** The stream body in slices of 1, 2, 3, 5, 7, 11 and 64 characters, each its own write. */
function sliced(body: string): string[] {
  const sizes = [1, 2, 3, 5, 7, 11, 64];
  const out: string[] = [];
  for (let offset = 0, index = 0; offset < body.length; index++) {
    const size = sizes[index % sizes.length] ?? 1;
    out.push(body.slice(offset, offset + size));
    offset += size;
  }
  return out;
}

/** The raw chunks the SDK reads from a streamed answer. */
async function chunksOf(body: string, request: Partial<OpenAI.ChatCompletionCreateParamsStreaming> = {}): Promise<unknown[]> {
  upstream.enqueue(sseAnswer(sliced(body)));
  const stream = await client.chat.completions.create({ model: MODEL, stream: true, messages: [{ role: "user", content: "Hi" }], ...request });
  const chunks: unknown[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

describe("a streamed choice's and delta's unmodelled fields, end to end", () => {
  it("Azure, default filter: content_filter_results in each chunk's choice; the role-only chunk's in a chunk of its own, which carries the role (openai SDK)", async () => {
    const chunks = await chunksOf(AZURE_DEFAULT, { stream_options: { include_usage: true } });
    const envelope = { id: "chatcmpl-BeRMQ69PcNQmy9a0f0C0VlLsdOy9H", object: "chat.completion.chunk", created: 1748977994, model: MODEL, system_fingerprint: "fp_ee1d74bde0", prompt_filter_results: [{ prompt_index: 0, content_filter_results: FILTER }], usage: null };
    expect(chunks).toEqual([
      { ...envelope, choices: [{ index: 0, content_filter_results: {}, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }] },
      { ...envelope, choices: [{ index: 0, content_filter_results: FILTER, delta: { content: "Hello" }, logprobs: null, finish_reason: null }] },
      { ...envelope, choices: [{ index: 0, content_filter_results: FILTER, delta: { content: "!" }, logprobs: null, finish_reason: null }] },
      { ...envelope, choices: [{ index: 0, content_filter_results: {}, delta: {}, logprobs: null, finish_reason: "stop" }] },
      { ...envelope, choices: [], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } } },
    ]);
    upstream.enqueue(sseAnswer(sliced(AZURE_DEFAULT)));
    const final = await client.chat.completions.stream({ model: MODEL, messages: [{ role: "user", content: "Hi" }] }).finalChatCompletion();
    expect(final.choices[0]).toMatchObject({ finish_reason: "stop", message: { role: "assistant", content: "Hello!" }, content_filter_results: {} });
  });

  it("Azure, asynchronous filter: each annotation in a chunk of its own, the last one after the finish; the SDK's stream helper still completes", async () => {
    const chunks = await chunksOf(AZURE_ASYNC);
    const envelope = { id: "chatcmpl-7rCNsVeZy0PGnX3H6jK8STps5nZUY", object: "chat.completion.chunk", created: 1692913344, model: MODEL, system_fingerprint: null, prompt_filter_results: [{ prompt_index: 0, content_filter_results: FILTER }] };
    const annotation = (offsets: object) => ({ ...envelope, choices: [{ index: 0, content_filter_results: FILTER, content_filter_offsets: offsets, delta: {}, logprobs: null, finish_reason: null }] });
    expect(chunks).toEqual([
      { ...envelope, choices: [{ index: 0, delta: { role: "assistant", content: "Color" }, logprobs: null, finish_reason: null }] },
      annotation(OFFSETS_EARLY),
      { ...envelope, choices: [{ index: 0, delta: { content: " is" }, logprobs: null, finish_reason: null }] },
      { ...envelope, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }] },
      annotation(OFFSETS_LAST),
    ]);
    upstream.enqueue(sseAnswer(sliced(AZURE_ASYNC)));
    const final = await client.chat.completions.stream({ model: MODEL, messages: [{ role: "user", content: "Hi" }] }).finalChatCompletion();
    expect(final.choices[0]).toMatchObject({ finish_reason: "stop", message: { content: "Color is" }, content_filter_offsets: { check_offset: 506 } });
  });

  it("OpenRouter: reasoning_details in the delta of the reasoning chunk, a signature-only delta in a chunk of its own (openai SDK)", async () => {
    const chunks = (await chunksOf(OPENROUTER)) as { choices: unknown[] }[];
    expect(chunks.map((chunk) => chunk.choices[0])).toEqual([
      { index: 0, native_finish_reason: null, delta: { reasoning_details: [DETAIL_TEXT], role: "assistant", content: "", reasoning_content: "Two and two" }, logprobs: null, finish_reason: null },
      { index: 0, native_finish_reason: null, delta: { reasoning_details: [DETAIL_SIGNATURE] }, logprobs: null, finish_reason: null },
      { index: 0, native_finish_reason: null, delta: { content: "4" }, logprobs: null, finish_reason: null },
      // The reasoning whole, unsigned (no signature of the gateway's closed it), for the SDK's accumulator (see from-proto.test.ts).
      { index: 0, delta: { thinking_blocks: [{ type: "thinking", thinking: "Two and two" }] }, logprobs: null, finish_reason: null },
      { index: 0, native_finish_reason: "end_turn", delta: {}, logprobs: null, finish_reason: "stop" },
    ]);
  });

  it.each(["connect", "grpc"])("%s: choice_extra events reach a ChatStream client", async (kind) => {
    upstream.enqueue(sseAnswer(sliced(AZURE_ASYNC)));
    const transport = kind === "grpc" ? createGrpcTransport({ baseUrl: origin, sessionManager: sessions }) : createConnectTransport({ baseUrl: origin, httpVersion: "1.1" });
    const chat: Client<typeof ChatService> = createClient(ChatService, transport);
    const events: ChatStreamResponse[] = [];
    for await (const event of chat.chatStream({ input: { model: MODEL, messages: [{ role: 1, content: [{ part: { case: "text", value: "Hi" } }] }] } })) events.push(event);
    const extras = events.flatMap((event) => (event.event.case === "choiceExtra" ? [event.event.value] : []));
    expect(extras.map((extra) => [extra.choiceIndex, extra.extra, extra.deltaExtra, extra.standalone])).toEqual([
      [0, { content_filter_results: FILTER, content_filter_offsets: OFFSETS_EARLY }, undefined, true],
      [0, { content_filter_results: FILTER, content_filter_offsets: OFFSETS_LAST }, undefined, true],
    ]);
    expect(events.map((event) => event.event.case)).toEqual(["responseStart", "textDelta", "choiceExtra", "textDelta", "finish", "choiceExtra", "usage", "routeSummary"]);
  });
});

describe("a streamed top-level field that first appears after the start, end to end", () => {
  const moderation = { output: { type: "moderation_results", model: "omni-moderation-latest", results: [{ type: "moderation_result", flagged: true, categories: { violence: true } }] } };
  const head = { id: "c2", object: "chat.completion.chunk", created: 1, model: "gpt-5", system_fingerprint: null };
  const usage = { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 };
  /** An answer whose moderation chunk comes after the finish, then its usage, each repeating the moderation. */
  const body = [
    { ...head, choices: [{ index: 0, delta: { role: "assistant", content: "ok" }, logprobs: null, finish_reason: null }] },
    { ...head, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }] },
    { ...head, choices: [], moderation },
    { ...head, choices: [], usage, moderation },
  ]
    .map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`)
    .join("");

  it("OpenAI's moderation comes once, in a chunk of its own with empty choices, where the server sent it (openai SDK)", async () => {
    const chunks = (await chunksOf(`${body}data: [DONE]\n\n`, { stream_options: { include_usage: true } })) as { choices: unknown[]; moderation?: unknown; usage?: unknown }[];
    expect(chunks.map((chunk) => [chunk.choices.length, chunk.moderation, chunk.usage === null ? null : "usage"])).toEqual([
      [1, undefined, null],
      [1, undefined, null],
      [0, moderation, null],
      [0, undefined, "usage"],
    ]);
    expect(chunks[2]).toEqual({ id: "c2", object: "chat.completion.chunk", created: 1, model: MODEL, system_fingerprint: null, choices: [], usage: null, moderation });
  });

  it.each(["connect", "grpc"])("%s: a chunk_extra event reaches a ChatStream client", async (kind) => {
    upstream.enqueue(sseAnswer(sliced(`${body}data: [DONE]\n\n`)));
    const transport = kind === "grpc" ? createGrpcTransport({ baseUrl: origin, sessionManager: sessions }) : createConnectTransport({ baseUrl: origin, httpVersion: "1.1" });
    const chat: Client<typeof ChatService> = createClient(ChatService, transport);
    const events: ChatStreamResponse[] = [];
    for await (const event of chat.chatStream({ input: { model: MODEL, messages: [{ role: 1, content: [{ part: { case: "text", value: "Hi" } }] }] } })) events.push(event);
    expect(events.map((event) => event.event.case)).toEqual(["responseStart", "textDelta", "finish", "chunkExtra", "usage", "routeSummary"]);
    expect(events[3]?.event.case === "chunkExtra" ? events[3].event.value.extra : undefined).toEqual({ moderation });
  });

  const pending = { output: { type: "error", code: "pending", message: "not yet" } };
  /** An answer whose content chunks carry `moderation: null`, then a provisional report, then the final one (repeated with the usage). */
  const revised = [
    { ...head, moderation: null, choices: [{ index: 0, delta: { role: "assistant", content: "ok" }, logprobs: null, finish_reason: null }] },
    { ...head, moderation: null, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }] },
    { ...head, choices: [], moderation: pending },
    { ...head, choices: [], moderation },
    { ...head, choices: [], usage, moderation },
  ]
    .map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`)
    .join("");

  it("a moderation that changes goes out again, and the chunks after it carry the new value: the SDK's final answer has the final verdict", async () => {
    const chunks = (await chunksOf(`${revised}data: [DONE]\n\n`, { stream_options: { include_usage: true } })) as { choices: unknown[]; moderation?: unknown; usage?: unknown }[];
    expect(chunks.map((chunk) => [chunk.choices.length, chunk.moderation, chunk.usage === null ? null : "usage"])).toEqual([
      [1, null, null],
      [1, null, null],
      [0, pending, null],
      [0, moderation, null],
      [0, moderation, "usage"],
    ]);
    upstream.enqueue(sseAnswer(sliced(`${revised}data: [DONE]\n\n`)));
    const stream = client.chat.completions.stream({ model: MODEL, messages: [{ role: "user", content: "Hi" }], stream_options: { include_usage: true } });
    expect(((await stream.finalChatCompletion()) as { moderation?: unknown }).moderation).toEqual(moderation);
  });

  it.each(["connect", "grpc"])("%s: each new moderation value reaches a ChatStream client", async (kind) => {
    upstream.enqueue(sseAnswer(sliced(`${revised}data: [DONE]\n\n`)));
    const transport = kind === "grpc" ? createGrpcTransport({ baseUrl: origin, sessionManager: sessions }) : createConnectTransport({ baseUrl: origin, httpVersion: "1.1" });
    const chat: Client<typeof ChatService> = createClient(ChatService, transport);
    const events: ChatStreamResponse[] = [];
    for await (const event of chat.chatStream({ input: { model: MODEL, messages: [{ role: 1, content: [{ part: { case: "text", value: "Hi" } }] }] } })) events.push(event);
    expect(events.map((event) => event.event.case)).toEqual(["responseStart", "textDelta", "finish", "chunkExtra", "chunkExtra", "usage", "routeSummary"]);
    expect(events.map((event) => (event.event.case === "chunkExtra" || event.event.case === "responseStart" ? event.event.value.extra : undefined)).filter(Boolean)).toEqual([{ moderation: null }, { moderation: pending }, { moderation }]);
  });
});
