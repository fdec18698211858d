import { describe, expect, it } from "vitest";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import { FinishReason } from "../../../gen/switchyard/v1/chat_pb.js";
import { callOptions, user } from "../../support/proto-builders.js";
import { replayTransport } from "../../support/replay-transport.js";
import { collect } from "../../support/stream-collectors.js";
import { AZURE_ASYNC, AZURE_DEFAULT, DETAIL_SIGNATURE, DETAIL_TEXT, FILTER, OFFSETS_EARLY, OFFSETS_LAST, OPENROUTER } from "../../support/unmodelled-stream-fields.js";
import { adapterFor, chatInput, sse, summarize, type EventSummary } from "./openai-test-setup.js";

/*
 * The fields of a streamed choice and of its delta that the gateway does not model come out as
 * choice_extra events, ahead of the choice's other events of the same chunk. The streams
 * (unmodelled-stream-fields.ts) follow Azure's two filter modes and OpenRouter; the replay serves
 * them in awkward slices.
 */

type Summary = EventSummary | ["extra", number, unknown, unknown, boolean] | ["chunk-extra", unknown];

/** Events as tuples, choice_extra ones with their two Structs and whether they stand alone, chunk_extra ones with theirs. */
function withExtras(events: readonly ChatStreamResponse[]): Summary[] {
  return events.map((event) => {
    if (event.event.case === "choiceExtra") return ["extra", event.event.value.choiceIndex, event.event.value.extra, event.event.value.deltaExtra, event.event.value.standalone];
    if (event.event.case === "chunkExtra") return ["chunk-extra", event.event.value.extra];
    return summarize([event])[0] as EventSummary;
  });
}

async function streamOf(body: string): Promise<Summary[]> {
  const adapter = adapterFor(replayTransport({ headers: { "content-type": "text/event-stream" }, body }), { type: "openai-compatible", baseUrl: "https://az.example/openai" });
  return withExtras(await collect(adapter.stream(chatInput({ messages: [user("hi")] }), callOptions("gpt-4o"))));
}

describe("OpenAI-dialect stream: a choice's and its delta's fields the gateway does not model", () => {
  it("Azure, default filter: content_filter_results ahead of each chunk's events; a role-only chunk's alone", async () => {
    const events = await streamOf(AZURE_DEFAULT);
    expect(events.slice(0, -1)).toEqual([
      ["start", "chatcmpl-BeRMQ69PcNQmy9a0f0C0VlLsdOy9H"],
      ["extra", 0, { content_filter_results: {} }, undefined, true],
      ["extra", 0, { content_filter_results: FILTER }, undefined, false],
      ["text", 0, "Hello"],
      ["extra", 0, { content_filter_results: FILTER }, undefined, false],
      ["text", 0, "!"],
      ["extra", 0, { content_filter_results: {} }, undefined, false],
      ["finish", 0, FinishReason.STOP, "stop"],
    ]);
    expect(events.at(-1)?.[0]).toBe("usage");
  });

  it("Azure, asynchronous filter: annotation chunks alone, the one after the finish too (the finished choice's deltas stay dropped)", async () => {
    const events = await streamOf(AZURE_ASYNC);
    expect(events).toEqual([
      ["start", "chatcmpl-7rCNsVeZy0PGnX3H6jK8STps5nZUY"],
      ["text", 0, "Color"],
      ["extra", 0, { content_filter_results: FILTER, content_filter_offsets: OFFSETS_EARLY }, undefined, true],
      ["text", 0, " is"],
      ["finish", 0, FinishReason.STOP, "stop"],
      ["extra", 0, { content_filter_results: FILTER, content_filter_offsets: OFFSETS_LAST }, undefined, true],
    ]);
  });

  it("OpenRouter: reasoning_details in delta_extra ahead of the reasoning, native_finish_reason on every choice", async () => {
    const events = await streamOf(OPENROUTER);
    expect(events.slice(0, -1)).toEqual([
      ["start", "gen-1750000000-abc"],
      ["extra", 0, { native_finish_reason: null }, { reasoning_details: [DETAIL_TEXT] }, false],
      ["reasoning", 0, "Two and two"],
      ["extra", 0, { native_finish_reason: null }, { reasoning_details: [DETAIL_SIGNATURE] }, true],
      ["extra", 0, { native_finish_reason: null }, undefined, false],
      ["text", 0, "4"],
      ["extra", 0, { native_finish_reason: "end_turn" }, undefined, false],
      ["finish", 0, FinishReason.STOP, "stop"],
    ]);
  });

  it("never puts a key the gateway models (or a request's message models) in delta_extra, and sends nothing for a stream without such fields", async () => {
    const modelled = { role: "assistant", content: "a", refusal: null, reasoning_content: "r", reasoning: "", tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: "{}" } }], audio: { transcript: "t" }, annotations: [], name: "bot", thinking_blocks: [], reasoning_signature: "s", tool_call_id: "x", cache_control: { type: "ephemeral" } };
    const body = sse([
      { id: "c1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { ...modelled, own: 1 }, logprobs: null, finish_reason: null }] },
      { id: "c1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content: "b" }, logprobs: null, finish_reason: "tool_calls" }] },
    ]);
    const extras = (await streamOf(body)).filter((event) => event[0] === "extra");
    expect(extras).toEqual([["extra", 0, undefined, { own: 1 }, false]]);
    const plain = sse([
      { id: "c2", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { role: "assistant", content: "Hi" }, logprobs: null, finish_reason: null }] },
      { id: "c2", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }] },
    ]);
    expect((await streamOf(plain)).some((event) => event[0] === "extra")).toBe(false);
  });

  it("after a choice's finish keeps only its own fields: its delta, unmodelled keys too, stays dropped", async () => {
    const body = sse([
      { id: "c4", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content: "A" }, finish_reason: "stop" }] },
      { id: "c4", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content: "late", own: 1 }, mark: "after", finish_reason: "stop" }] },
      { id: "c4", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content: "later", own: 2 } }] },
    ]);
    expect((await streamOf(body)).slice(1)).toEqual([
      ["text", 0, "A"],
      ["finish", 0, FinishReason.STOP, "stop"],
      ["extra", 0, { mark: "after" }, undefined, true],
    ]);
  });

  it("keeps each choice's fields with that choice when a chunk has several", async () => {
    const body = sse([
      { id: "c3", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 1, delta: { content: "B" }, mark: "one" }, { index: 0, delta: { content: "A", own: true } }] },
      { id: "c3", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: {}, finish_reason: "stop" }, { index: 1, delta: {}, finish_reason: "stop" }] },
    ]);
    expect((await streamOf(body)).slice(1, 5)).toEqual([
      ["extra", 1, { mark: "one" }, undefined, false],
      ["text", 1, "B"],
      ["extra", 0, undefined, { own: true }, false],
      ["text", 0, "A"],
    ]);
  });
});

/** OpenAI's moderation results (the openai SDK's ChatCompletionChunk.moderation), as its moderation chunk carries them. */
const MODERATION = {
  input: { type: "moderation_results", model: "omni-moderation-latest", results: [{ type: "moderation_result", flagged: false, categories: { violence: false }, category_scores: { violence: 0.01 } }] },
  output: { type: "moderation_results", model: "omni-moderation-latest", results: [{ type: "moderation_result", flagged: true, categories: { violence: true }, category_scores: { violence: 0.91 } }] },
};

describe("OpenAI-dialect stream: top-level fields the gateway does not model", () => {
  const head = { id: "c5", object: "chat.completion.chunk", created: 1, model: "m" };
  const content = { ...head, choices: [{ index: 0, delta: { role: "assistant", content: "ok" }, logprobs: null, finish_reason: null }] };
  const finish = { ...head, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }] };
  const answer = [content, finish];
  const usage = { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 };

  it("a field that first appears after the start (OpenAI's moderation chunk) comes at that point, in a chunk_extra, and not again when repeated with the same value", async () => {
    const events = await streamOf(sse([...answer, { ...head, choices: [], usage: null, moderation: MODERATION }, { ...head, choices: [], usage }, { ...head, choices: [], moderation: MODERATION }]));
    expect(events.slice(1, 4)).toEqual([
      ["text", 0, "ok"],
      ["finish", 0, FinishReason.STOP, "stop"],
      ["chunk-extra", { moderation: MODERATION }],
    ]);
    expect(events.slice(4).map((event) => event[0])).toEqual(["usage"]);
  });

  it("a field that comes again with another value is sent again: a provisional moderation report, then the final one", async () => {
    const pending = { input: MODERATION.input, output: { type: "error", code: "pending", message: "not yet" } };
    const events = await streamOf(sse([content, { ...head, choices: [], moderation: pending }, finish, { ...head, choices: [], moderation: pending }, { ...head, choices: [], moderation: MODERATION }, { ...head, choices: [], usage }]));
    expect(events.filter((event) => event[0] === "chunk-extra")).toEqual([
      ["chunk-extra", { moderation: pending }],
      ["chunk-extra", { moderation: MODERATION }],
    ]);
  });

  it("a field the start carried as null (moderation: null on the content chunks) is sent when its real value comes; a null after it is not", async () => {
    const events = await streamOf(sse([...answer.map((chunk) => ({ ...chunk, moderation: null })), { ...head, choices: [], moderation: MODERATION }, { ...head, choices: [], moderation: null, usage }]));
    expect(events[0]).toEqual(["start", "c5"]);
    expect(events.slice(2, 4)).toEqual([
      ["finish", 0, FinishReason.STOP, "stop"],
      ["chunk-extra", { moderation: MODERATION }],
    ]);
    expect(events.slice(4).map((event) => event[0])).toEqual(["usage"]);
    const adapter = adapterFor(replayTransport({ headers: { "content-type": "text/event-stream" }, body: sse(answer.map((chunk) => ({ ...chunk, moderation: null }))) }), { type: "openai-compatible", baseUrl: "https://az.example/openai" });
    const [start] = await collect(adapter.stream(chatInput({ messages: [user("hi")] }), callOptions("gpt-4o")));
    expect(start?.event.case === "responseStart" ? start.event.value.extra : undefined).toEqual({ moderation: null });
  });

  it("merged into the usage chunk: the chunk_extra comes before the usage", async () => {
    const events = await streamOf(sse([...answer, { ...head, choices: [], usage, moderation: MODERATION }]));
    expect(events.slice(2).map((event) => event[0])).toEqual(["finish", "chunk-extra", "usage"]);
  });

  it("fields of the chunks up to the start stay on response_start, and are not sent again when repeated on every chunk (Perplexity)", async () => {
    const citations = ["https://example.com/a"];
    const events = await streamOf(sse(answer.map((chunk) => ({ ...chunk, citations, search_results: [{ url: "https://example.com/a" }] }))));
    expect(events.some((event) => event[0] === "chunk-extra")).toBe(false);
    const adapter = adapterFor(replayTransport({ headers: { "content-type": "text/event-stream" }, body: sse(answer.map((chunk) => ({ ...chunk, citations }))) }), { type: "openai-compatible", baseUrl: "https://pplx.example" });
    const [start] = await collect(adapter.stream(chatInput({ messages: [user("hi")] }), callOptions("sonar")));
    expect(start?.event.case === "responseStart" ? start.event.value.extra : undefined).toEqual({ citations });
  });
});
