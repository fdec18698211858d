import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { FinishReason, Role } from "../../gen/switchyard/v1/chat_pb.js";
import { ChatResponseSchema, type ChatStreamResponse } from "../../gen/switchyard/v1/chat_service_pb.js";
import {
  annotationDeltaEvent, audioDeltaEvent, choiceExtraEvent, finishEvent, reasoningDeltaEvent, refusalDeltaEvent, responseStartEvent, textDeltaEvent, toolCallDeltaEvent, toolCallStartEvent, usageEvent, usageOf,
} from "../../src/core/stream-events.js";
import { OpenAIChunkEncoder } from "../../src/http/openai-compat/chunk-encoder.js";
import { toOpenAICompletion } from "../../src/http/openai-compat/from-proto.js";

const start = responseStartEvent("chatcmpl-1", "openai-main/gpt-4o-mini", 1_700_000_000n);
const usage = usageEvent(usageOf({ prompt: 10, completion: 5, cached: 2, reasoning: 1 }));
const openAIUsage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, prompt_tokens_details: { cached_tokens: 2 }, completion_tokens_details: { reasoning_tokens: 1 } };

function encodeAll(events: readonly ChatStreamResponse[], includeUsage: boolean): Record<string, unknown>[] {
  const encoder = new OpenAIChunkEncoder(includeUsage);
  return events.flatMap((event) => encoder.encode(event)).map((text) => JSON.parse(text) as Record<string, unknown>);
}

const choicesOf = (chunk: Record<string, unknown>) => chunk.choices as { index: number; delta: Record<string, unknown>; finish_reason: string | null; logprobs: unknown }[];

describe("OpenAIChunkEncoder", () => {
  it("gives the first chunk role assistant and keeps id, created and model on every chunk", () => {
    const chunks = encodeAll([start, textDeltaEvent(0, "Hel"), textDeltaEvent(0, "lo"), finishEvent(0, FinishReason.STOP, "stop")], false);
    expect(chunks.map((chunk) => [chunk.id, chunk.object, chunk.created, chunk.model])).toEqual(Array(3).fill(["chatcmpl-1", "chat.completion.chunk", 1_700_000_000, "openai-main/gpt-4o-mini"]));
    expect(chunks.map((chunk) => choicesOf(chunk))).toEqual([
      [{ index: 0, delta: { role: "assistant", content: "Hel" }, logprobs: null, finish_reason: null }],
      [{ index: 0, delta: { content: "lo" }, logprobs: null, finish_reason: null }],
      [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }],
    ]);
    expect(chunks.every((chunk) => !("usage" in chunk))).toBe(true);
  });

  it("sends reasoning as reasoning_content, and every signed or redacted block of a choice together in one thinking_blocks delta before its finish", () => {
    const chunks = encodeAll(
      [start, reasoningDeltaEvent(0, "Let me "), reasoningDeltaEvent(0, "think."), reasoningDeltaEvent(0, "", "sig-1"), reasoningDeltaEvent(0, "", "", "opaque=="), reasoningDeltaEvent(0, ""), reasoningDeltaEvent(0, "Again.", "sig-2"), textDeltaEvent(0, "Done."), finishEvent(0, FinishReason.STOP, "stop")],
      false,
    );
    expect(chunks.map((chunk) => choicesOf(chunk)[0]?.delta)).toEqual([
      { role: "assistant", content: "", reasoning_content: "Let me " },
      { reasoning_content: "think." },
      { reasoning_signature: "sig-1" },
      { reasoning_content: "Again.", reasoning_signature: "sig-2" },
      { content: "Done." },
      {
        thinking_blocks: [
          { type: "thinking", thinking: "Let me think.", signature: "sig-1" },
          { type: "redacted_thinking", data: "opaque==" },
          { type: "thinking", thinking: "Again.", signature: "sig-2" },
        ],
      },
      {},
    ]);
    expect(choicesOf(chunks[6] ?? {})[0]?.finish_reason).toBe("stop");
  });

  it("sends reasoning no signature closed (an OpenAI-compatible server's, Gemini thoughts signed on a call) whole in the thinking_blocks delta too, unsigned: the SDK's accumulator keeps only the last reasoning_content fragment", () => {
    const chunks = encodeAll([start, reasoningDeltaEvent(0, "Thinking about "), reasoningDeltaEvent(0, "turn 0."), textDeltaEvent(0, "Done."), finishEvent(0, FinishReason.STOP, "stop")], false);
    expect(chunks.map((chunk) => choicesOf(chunk)[0]?.delta)).toEqual([
      { role: "assistant", content: "", reasoning_content: "Thinking about " },
      { reasoning_content: "turn 0." },
      { content: "Done." },
      { thinking_blocks: [{ type: "thinking", thinking: "Thinking about turn 0." }] },
      {},
    ]);
  });

  it("gives the first delta content null when the answer starts elsewhere (a refusal, audio) or is withheld (content_filter), \"\" otherwise", () => {
    const firstDelta = (events: ChatStreamResponse[]) => choicesOf(encodeAll([start, ...events], false)[0] ?? {})[0]?.delta;
    expect(firstDelta([refusalDeltaEvent(0, "No.")])).toEqual({ role: "assistant", content: null, refusal: "No." });
    expect(firstDelta([refusalDeltaEvent(0, "No.", [{ $typeName: "switchyard.v1.TokenLogprob", token: "No.", logprob: -1, bytes: new Uint8Array(), topLogprobs: [] }])])).toEqual({ role: "assistant", content: null });
    expect(firstDelta([audioDeltaEvent(0, { id: "audio_1", transcript: "Hi" })])).toEqual({ role: "assistant", content: null, audio: { id: "audio_1", transcript: "Hi" } });
    expect(firstDelta([finishEvent(0, FinishReason.CONTENT_FILTER, "PROHIBITED_CONTENT")])).toEqual({ role: "assistant", content: null });
    expect(firstDelta([finishEvent(0, FinishReason.STOP, "stop")])).toEqual({ role: "assistant", content: "" });
  });

  it("sends id, type and name only on a tool call's first delta, and index on every delta", () => {
    const chunks = encodeAll([start, toolCallStartEvent(0, 0, "call_1", "get_weather"), toolCallDeltaEvent(0, 0, '{"ci'), toolCallDeltaEvent(0, 0, 'ty":"Paris"}'), toolCallStartEvent(0, 1, "call_2", "get_time"), toolCallDeltaEvent(0, 1, "{}"), finishEvent(0, FinishReason.TOOL_CALLS, "tool_calls")], false);
    expect(chunks.map((chunk) => choicesOf(chunk)[0]?.delta)).toEqual([
      { role: "assistant", content: null, tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "get_weather", arguments: "" } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{"ci' } }] },
      { tool_calls: [{ index: 0, function: { arguments: 'ty":"Paris"}' } }] },
      { tool_calls: [{ index: 1, id: "call_2", type: "function", function: { name: "get_time", arguments: "" } }] },
      { tool_calls: [{ index: 1, function: { arguments: "{}" } }] },
      {},
    ]);
    expect(choicesOf(chunks[5] ?? {})[0]?.finish_reason).toBe("tool_calls");
  });

  it("with include_usage puts usage:null on every chunk and ends with one empty-choices usage chunk", () => {
    const chunks = encodeAll([start, textDeltaEvent(0, "Hi"), finishEvent(0, FinishReason.STOP, "stop"), usage], true);
    expect(chunks.slice(0, -1).map((chunk) => chunk.usage)).toEqual([null, null]);
    expect(chunks.at(-1)).toEqual({ id: "chatcmpl-1", object: "chat.completion.chunk", created: 1_700_000_000, model: "openai-main/gpt-4o-mini", system_fingerprint: null, choices: [], usage: openAIUsage });
  });

  it("drops the usage event without include_usage", () => {
    expect(encodeAll([start, finishEvent(0, FinishReason.LENGTH, "length"), usage], false)).toHaveLength(1);
  });

  it("gives each choice of n>1 its own role chunk and finish", () => {
    const chunks = encodeAll([start, textDeltaEvent(1, "b"), textDeltaEvent(0, "a"), finishEvent(1, FinishReason.STOP, "stop"), finishEvent(0, FinishReason.LENGTH, "length")], false);
    expect(chunks.map((chunk) => choicesOf(chunk)[0])).toEqual([
      { index: 1, delta: { role: "assistant", content: "b" }, logprobs: null, finish_reason: null },
      { index: 0, delta: { role: "assistant", content: "a" }, logprobs: null, finish_reason: null },
      { index: 1, delta: {}, logprobs: null, finish_reason: "stop" },
      { index: 0, delta: {}, logprobs: null, finish_reason: "length" },
    ]);
  });

  it("carries logprobs on content chunks and refusals as refusal deltas", () => {
    const logprobs = [{ $typeName: "switchyard.v1.TokenLogprob" as const, token: "Hi", logprob: -0.5, bytes: new Uint8Array([72, 105]), topLogprobs: [] }];
    const chunks = encodeAll([start, textDeltaEvent(0, "Hi", logprobs), textDeltaEvent(0, "!", logprobs), refusalDeltaEvent(0, "no")], false);
    // The role goes alone first, as OpenAI sends it: the OpenAI SDK counts a first chunk's logprobs twice.
    expect(choicesOf(chunks[0] ?? {})[0]).toEqual({ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null });
    expect(choicesOf(chunks[1] ?? {})[0]?.delta).toEqual({ content: "Hi" });
    expect(choicesOf(chunks[1] ?? {})[0]?.logprobs).toEqual({ content: [{ token: "Hi", logprob: -0.5, bytes: [72, 105], top_logprobs: [] }] });
    expect(choicesOf(chunks[2] ?? {})[0]?.delta).toEqual({ content: "!" });
    expect(choicesOf(chunks[3] ?? {})[0]?.delta).toEqual({ refusal: "no" });
    expect(choicesOf(chunks[3] ?? {})[0]?.logprobs).toBeNull();
    const refused = encodeAll([start, refusalDeltaEvent(0, "No", [{ ...logprobs[0], token: "No", bytes: new Uint8Array([78, 111]) } as (typeof logprobs)[0]])], false);
    expect(choicesOf(refused[1] ?? {})[0]?.logprobs).toEqual({ content: null, refusal: [{ token: "No", logprob: -0.5, bytes: [78, 111], top_logprobs: [] }] });
  });

  it("answers an empty completion with a role chunk that is also the finish", () => {
    expect(encodeAll([start, finishEvent(0, FinishReason.STOP, "stop")], false).map((chunk) => choicesOf(chunk)[0])).toEqual([
      { index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: "stop" },
    ]);
  });
});

describe("OpenAIChunkEncoder, a provider's unmodelled choice and delta fields (choice_extra)", () => {
  const FILTER = { hate: { filtered: false, severity: "safe" } };

  it("puts them into the next chunk of their choice (the choice's beside delta, the delta's inside it), the event's own fields winning a clash", () => {
    const chunks = encodeAll([start, choiceExtraEvent(0, { content_filter_results: FILTER }, { reasoning_details: [{ type: "reasoning.text" }], content: "clash" }, false), textDeltaEvent(0, "Hi"), textDeltaEvent(0, "!"), finishEvent(0, FinishReason.STOP, "stop")], false);
    expect(chunks.map((chunk) => choicesOf(chunk))).toEqual([
      [{ index: 0, content_filter_results: FILTER, delta: { role: "assistant", content: "Hi", reasoning_details: [{ type: "reasoning.text" }] }, logprobs: null, finish_reason: null }],
      [{ index: 0, delta: { content: "!" }, logprobs: null, finish_reason: null }],
      [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }],
    ]);
  });

  it("puts them into the content chunk, not into the role chunk written ahead of a first delta with logprobs", () => {
    const logprobs = [{ $typeName: "switchyard.v1.TokenLogprob" as const, token: "Hi", logprob: -0.5, bytes: new Uint8Array([72, 105]), topLogprobs: [] }];
    const chunks = encodeAll([start, choiceExtraEvent(0, { content_filter_results: FILTER }, undefined, false), textDeltaEvent(0, "Hi", logprobs)], false);
    expect(chunks.map((chunk) => choicesOf(chunk)[0])).toEqual([
      { index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null },
      expect.objectContaining({ index: 0, content_filter_results: FILTER, delta: { content: "Hi" } }),
    ]);
  });

  it("writes a standalone one as a chunk of its own, with the role when it is the choice's first, after the finish too", () => {
    const encoder = new OpenAIChunkEncoder(true);
    const chunks = [start, choiceExtraEvent(0, { content_filter_results: {} }, undefined, true), textDeltaEvent(0, "Hi"), finishEvent(0, FinishReason.STOP, "stop"), choiceExtraEvent(0, { content_filter_offsets: { check_offset: 2 } }, { own: 1 }, true), usage].flatMap((event) => encoder.encode(event));
    expect(chunks[0]).toBe('{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"openai-main/gpt-4o-mini","system_fingerprint":null,"choices":[{"index":0,"content_filter_results":{},"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}');
    expect(chunks.slice(1).map((chunk) => choicesOf(JSON.parse(chunk) as Record<string, unknown>))).toEqual([
      [{ index: 0, delta: { content: "Hi" }, logprobs: null, finish_reason: null }],
      [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }],
      [{ index: 0, content_filter_offsets: { check_offset: 2 }, delta: { own: 1 }, logprobs: null, finish_reason: null }],
      [],
    ]);
  });

  it("writes one still held alone when the next comes for its choice, or when usage ends the answer (with or without include_usage)", () => {
    // The annotation waits for the finish, so the first extra's own chunk wrote nothing for the choice.
    const citation = { type: "url_citation", url_citation: { url: "https://a.example/", title: "A", start_index: 0, end_index: 1 } };
    const annotations = [{ $typeName: "switchyard.v1.Annotation" as const, type: "url_citation", urlCitation: { $typeName: "switchyard.v1.UrlCitation" as const, url: "https://a.example/", title: "A", startIndex: 0, endIndex: 1 } }];
    const events = [start, choiceExtraEvent(0, { n: 1 }, undefined, false), annotationDeltaEvent(0, annotations), choiceExtraEvent(0, { n: 2 }, undefined, false), finishEvent(0, FinishReason.STOP, "stop"), choiceExtraEvent(1, { n: 3 }, undefined, false), usage];
    for (const includeUsage of [true, false]) {
      expect(encodeAll(events, includeUsage).map((chunk) => choicesOf(chunk))).toEqual([
        [{ index: 0, n: 1, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }],
        [{ index: 0, delta: { annotations: [citation] }, logprobs: null, finish_reason: null }],
        [{ index: 0, n: 2, delta: {}, logprobs: null, finish_reason: "stop" }],
        [{ index: 1, n: 3, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }],
        ...(includeUsage ? [[]] : []),
      ]);
    }
  });
});

describe("toOpenAICompletion", () => {
  it("builds a chat.completion with text, tool calls, finish reason and usage", () => {
    const response = create(ChatResponseSchema, {
      id: "chatcmpl-9",
      model: "openai-main/gpt-4o-mini",
      created: 1_700_000_000n,
      systemFingerprint: "fp_1",
      choices: [
        { index: 0, finishReason: FinishReason.TOOL_CALLS, message: { role: Role.ASSISTANT, content: [], toolCalls: [{ id: "call_1", name: "f", arguments: '{"a":1}' }] } },
        { index: 1, finishReason: FinishReason.CONTENT_FILTER, message: { role: Role.ASSISTANT, content: [{ part: { case: "text", value: "Hi" } }, { part: { case: "refusal", value: "no" } }] } },
      ],
      usage: usageOf({ prompt: 10, completion: 5, cached: 2, reasoning: 1 }),
    });
    expect(toOpenAICompletion(response)).toEqual({
      id: "chatcmpl-9",
      object: "chat.completion",
      created: 1_700_000_000,
      model: "openai-main/gpt-4o-mini",
      choices: [
        { index: 0, message: { role: "assistant", content: null, refusal: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: '{"a":1}' } }], annotations: [] }, logprobs: null, finish_reason: "tool_calls" },
        { index: 1, message: { role: "assistant", content: "Hi", refusal: "no", annotations: [] }, logprobs: null, finish_reason: "content_filter" },
      ],
      usage: openAIUsage,
      system_fingerprint: "fp_1",
    });
  });
});
