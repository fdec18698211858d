import { describe, expect, it } from "vitest";
import { FinishReason, Role } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ChatResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import { fromAnthropicResponse, fromAnthropicUsage, mapAnthropicStopReason } from "../../../src/providers/anthropic/anthropic-response.js";
import { parseAnthropicMessage } from "../../../src/providers/anthropic/anthropic-wire.js";
import { readJsonFixture, readFixture, replayTransport } from "../../support/replay-transport.js";
import { callOptions, user } from "../../support/proto-builders.js";
import { usage, usageSummary } from "../../support/usage-summary.js";
import { adapterFor, chatInput } from "./anthropic-test-setup.js";

const context = { warnings: [], localStopSequences: [], created: 1_700_000_000n };

/** The choice of a response as plain data. */
function choiceOf(response: ChatResponse) {
  const choice = response.choices[0];
  return {
    content: choice?.message?.content.map((part) => (part.part.case === "reasoning" ? { reasoning: { text: part.part.value.text, signature: part.part.value.signature, redactedData: part.part.value.redactedData } } : { [String(part.part.case)]: part.part.value })),
    toolCalls: choice?.message?.toolCalls.map((call) => ({ id: call.id, name: call.name, arguments: call.arguments })),
    finishReason: choice?.finishReason,
    raw: choice?.rawFinishReason,
  };
}

describe("fromAnthropicResponse", () => {
  it("leaves usage out when the answer has no usage object (a compatible server), so the gateway estimates it", () => {
    const response = fromAnthropicResponse(parseAnthropicMessage({ id: "m", content: [{ type: "text", text: "Hi" }], stop_reason: "end_turn" }), context);
    expect(response.usage).toBeUndefined();
    expect(fromAnthropicResponse(parseAnthropicMessage({ id: "m", content: [], stop_reason: "end_turn", usage: { input_tokens: 2, output_tokens: 1 } }), context).usage?.promptTokens).toBe(2);
  });

  it("maps the recorded non-streaming text message (messages-nonstream-text.json)", () => {
    const response = fromAnthropicResponse(parseAnthropicMessage(readJsonFixture("anthropic/messages-nonstream-text.json")), { ...context, warnings: ["w1"] });
    expect(response.id).toBe("msg_01VdEjxAP5ahtHKrrRdNBteQ");
    expect(response.created).toBe(1_700_000_000n);
    expect(response.warnings).toEqual(["w1"]);
    expect(response.choices).toHaveLength(1);
    expect(response.choices[0]?.index).toBe(0);
    expect(response.choices[0]?.message?.role).toBe(Role.ASSISTANT);
    expect(choiceOf(response)).toEqual({
      content: [{ text: "Hello! I'm doing well, thanks for asking. How are you doing today? Is there anything I can help you with?" }],
      toolCalls: [],
      finishReason: FinishReason.STOP,
      raw: "end_turn",
    });
    expect(usageSummary(response.usage)).toEqual(usage({ prompt: 12, completion: 29 }));
  });

  it("replays messages-nonstream-text.json through generate() and sends the expected request", async () => {
    const replay = replayTransport({ status: 200, headers: { "content-type": "application/json" }, body: readFixture("anthropic/messages-nonstream-text.json") });
    const response = await adapterFor(replay).generate(chatInput({ maxTokens: 100, messages: [user("Hello, how are you?")] }), callOptions("claude-sonnet-4-5"));
    expect(choiceOf(response).content).toEqual([{ text: "Hello! I'm doing well, thanks for asking. How are you doing today? Is there anything I can help you with?" }]);
    expect(replay.requests).toHaveLength(1);
    expect(replay.requests[0]?.url).toBe("https://api.anthropic.com/v1/messages");
    expect(replay.requests[0]?.json).toEqual({ model: "claude-sonnet-4-5", max_tokens: 100, stream: false, messages: [{ role: "user", content: [{ type: "text", text: "Hello, how are you?" }] }] });
  });

  it("maps text, tool_use, thinking and redacted_thinking blocks (hand-made message)", () => {
    const message = parseAnthropicMessage({
      id: "msg_1",
      model: "claude-sonnet-4-5",
      content: [
        { type: "thinking", thinking: "The user wants weather.", signature: "sig-abc" },
        { type: "redacted_thinking", data: "ENCRYPTED" },
        { type: "text", text: "Let me check. " },
        { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
        { type: "text", text: "And time." },
        { type: "tool_use", id: "toolu_2", name: "now", input: {} },
        { type: "server_tool_use", id: "srv", name: "web_search", input: {} },
      ],
      stop_reason: "tool_use",
      stop_sequence: null,
      usage: { input_tokens: 10, output_tokens: 50, cache_read_input_tokens: 100, cache_creation_input_tokens: 5, output_tokens_details: { thinking_tokens: 20 } },
    });
    const response = fromAnthropicResponse(message, context);
    expect(choiceOf(response)).toEqual({
      content: [
        { reasoning: { text: "The user wants weather.", signature: "sig-abc", redactedData: "" } },
        { reasoning: { text: "", signature: "", redactedData: "ENCRYPTED" } },
        { text: "Let me check. And time." },
      ],
      toolCalls: [
        { id: "toolu_1", name: "get_weather", arguments: '{"city":"Paris"}' },
        { id: "toolu_2", name: "now", arguments: "{}" },
      ],
      finishReason: FinishReason.TOOL_CALLS,
      raw: "tool_use",
    });
    expect(usageSummary(response.usage)).toEqual({ prompt: 115, completion: 50, total: 165, cached: 100, reasoning: 20, cacheWrite: 5 });
  });

  it("turns a refusal into content_filter with the explanation as a refusal part (hand-made message)", () => {
    const message = parseAnthropicMessage({
      id: "msg_2",
      content: [],
      stop_reason: "refusal",
      stop_details: { type: "refusal", category: "cyber", explanation: "I can't help with that." },
      usage: { input_tokens: 5, output_tokens: 0 },
    });
    expect(choiceOf(fromAnthropicResponse(message, context))).toEqual({ content: [{ refusal: "I can't help with that." }], toolCalls: [], finishReason: FinishReason.CONTENT_FILTER, raw: "refusal" });
  });

  it("returns the json emulation tool's input as text with finish stop (hand-made message)", () => {
    const message = parseAnthropicMessage({ id: "m", content: [{ type: "tool_use", id: "toolu_j", name: "json", input: { a: 1 } }], stop_reason: "tool_use", usage: {} });
    expect(choiceOf(fromAnthropicResponse(message, { ...context, jsonToolName: "json" }))).toEqual({ content: [{ text: '{"a":1}' }], toolCalls: [], finishReason: FinishReason.STOP, raw: "tool_use" });
  });

  it("cuts the text at the earliest gateway-enforced stop sequence, across blocks, and drops later blocks (hand-made message)", () => {
    const message = parseAnthropicMessage({
      id: "m",
      content: [
        { type: "text", text: "line one\r" },
        { type: "tool_use", id: "toolu_a", name: "before", input: {} },
        { type: "text", text: "\nline two\n" },
        { type: "tool_use", id: "toolu_b", name: "after", input: {} },
      ],
      stop_reason: "tool_use",
      usage: { input_tokens: 1, output_tokens: 2 },
    });
    const response = fromAnthropicResponse(message, { ...context, localStopSequences: ["\n", "\r\n"] });
    expect(choiceOf(response)).toEqual({
      content: [{ text: "line one" }],
      toolCalls: [{ id: "toolu_a", name: "before", arguments: "{}" }],
      finishReason: FinishReason.STOP,
      raw: "stop_sequence",
    });
  });

  it("leaves text alone when no enforced stop sequence occurs", () => {
    const message = parseAnthropicMessage({ id: "m", content: [{ type: "text", text: "one line" }], stop_reason: "max_tokens", usage: {} });
    expect(choiceOf(fromAnthropicResponse(message, { ...context, localStopSequences: ["\n"] }))).toEqual({ content: [{ text: "one line" }], toolCalls: [], finishReason: FinishReason.LENGTH, raw: "max_tokens" });
  });
});

describe("mapAnthropicStopReason", () => {
  it.each([
    ["end_turn", false, FinishReason.STOP],
    ["stop_sequence", false, FinishReason.STOP],
    ["max_tokens", false, FinishReason.LENGTH],
    ["model_context_window_exceeded", false, FinishReason.LENGTH],
    ["tool_use", false, FinishReason.TOOL_CALLS],
    ["tool_use", true, FinishReason.STOP],
    ["refusal", false, FinishReason.CONTENT_FILTER],
    ["pause_turn", false, FinishReason.STOP],
    ["something_new", false, FinishReason.STOP],
    [undefined, false, FinishReason.STOP],
  ])("maps %s (json tool only: %s) to %i", (raw, onlyJsonTool, expected) => {
    expect(mapAnthropicStopReason(raw, { onlyJsonTool })).toBe(expected);
  });
});

describe("fromAnthropicUsage", () => {
  it("counts cache writes and reads into the prompt (messages-stream-cache-write numbers)", () => {
    expect(usageSummary(fromAnthropicUsage({ inputTokens: 3, cacheCreationInputTokens: 18639, cacheReadInputTokens: 0, outputTokens: 1 }))).toEqual({ prompt: 18642, completion: 1, total: 18643, cached: 0, reasoning: 0, cacheWrite: 18639 });
    expect(usageSummary(fromAnthropicUsage({ inputTokens: 3, cacheReadInputTokens: 18639, outputTokens: 7 }))).toEqual({ prompt: 18642, completion: 7, total: 18649, cached: 18639, reasoning: 0, cacheWrite: 0 });
  });
});
