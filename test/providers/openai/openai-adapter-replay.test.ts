import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { FinishReason, Role } from "../../../gen/switchyard/v1/chat_pb.js";
import { Reason } from "../../../src/core/errors.js";
import { toRestError } from "../../../src/http/openai-compat/error-response.js";
import { getCapital, ukCall, ukQuestion } from "../../support/capital-tool-inputs.js";
import { autoToolChoice, callOptions, textMessage, toolResult, user } from "../../support/proto-builders.js";
import { asGatewaySendsTools, readExchange, readRecordedRequest } from "../../support/recorded-exchange.js";
import { FIXTURES_DIR, readFixture, readJsonFixture, replayTransport, sseFromChunks } from "../../support/replay-transport.js";
import { collect, collectUntilError } from "../../support/stream-collectors.js";
import { usage } from "../../support/usage-summary.js";
import { adapterFor, chatInput, summarize, TEST_API_KEY, type EventSummary } from "./openai-test-setup.js";

const OPENAI_URL = "https://api.openai.com/v1/chat/completions";

/** Every fixture file this suite replays; a new file in the folders fails the coverage test until it is added. */
const COVERED = new Set([
  "openai/chat-nonstream-text.json",
  "openai/chat-nonstream-tool-call.json",
  "openai/chat-stream-content-logprobs.sse.txt",
  "openai/chat-stream-finish-length.sse.txt",
  "openai/chat-stream-text-after-tool-result-include-usage.request.json",
  "openai/chat-stream-text-after-tool-result-include-usage.sse.txt",
  "openai/chat-stream-tool-call-include-usage.request.json",
  "openai/chat-stream-tool-call-include-usage.sse.txt",
  "openai/error-400-invalid-value-content-block-type.json",
  "openai/error-400-unsupported-parameter.json",
  "openai/error-400-unsupported-value.json",
  "openai-compatible/anthropic-openai-compat-stream-tool-call.sse.txt",
  "openai-compatible/groq-error-400-tool-use-failed.json",
  "openai-compatible/groq-stream-tool-call.chunks.txt",
]);

function expectOutgoing(replay: ReturnType<typeof replayTransport>, url: string, accept: string, key: string | null = TEST_API_KEY): Record<string, unknown> {
  expect(replay.requests).toHaveLength(1);
  const sent = replay.requests[0];
  expect(sent?.url).toBe(url);
  expect(sent?.method).toBe("POST");
  expect(sent?.headers.authorization).toBe(key === null ? undefined : `Bearer ${key}`);
  expect(sent?.headers["content-type"]).toBe("application/json");
  expect(sent?.headers.accept).toBe(accept);
  return sent?.json as Record<string, unknown>;
}

describe("OpenAI adapter fixture coverage", () => {
  it("replays every recorded file of openai/ and openai-compatible/", () => {
    const files = ["openai", "openai-compatible"].flatMap((folder) => readdirSync(join(FIXTURES_DIR, folder)).map((name) => `${folder}/${name}`));
    expect(files.filter((file) => !COVERED.has(file))).toEqual([]);
    expect([...COVERED].filter((file) => !files.includes(file))).toEqual([]);
  });
});

describe("OpenAI adapter: recorded streams", () => {
  it("streams a tool call with include_usage: one start with id and name, argument fragments, finish, then usage (chat-stream-tool-call-include-usage)", async () => {
    const recorded = readRecordedRequest("openai/chat-stream-tool-call-include-usage.request.json");
    const replay = replayTransport({ headers: { "content-type": "text/event-stream" }, body: readFixture("openai/chat-stream-tool-call-include-usage.sse.txt") });
    const input = chatInput({ messages: [ukQuestion], tools: [getCapital], toolChoice: autoToolChoice });
    const events = summarize(await collect(adapterFor(replay).stream(input, callOptions("gpt-4o-mini"))));
    expect(events).toEqual<EventSummary[]>([
      ["start", "chatcmpl-Dx0XpqH8w09uBXwq1zFGYdETjtnEl"],
      ["tool_start", 0, 0, "call_ZR5UUuTt3pf61kjwAJIYdVMj", "get_capital"],
      ["tool_delta", 0, 0, '{"'],
      ["tool_delta", 0, 0, "country"],
      ["tool_delta", 0, 0, '":"'],
      ["tool_delta", 0, 0, "UK"],
      ["tool_delta", 0, 0, '"}'],
      ["finish", 0, FinishReason.TOOL_CALLS, "tool_calls"],
      ["usage", usage({ prompt: 53, completion: 15 })],
    ]);
    expect(recorded.url).toBe(OPENAI_URL);
    expect(expectOutgoing(replay, recorded.url, "text/event-stream")).toEqual(asGatewaySendsTools(recorded.body));
  });

  it("streams text after a tool result and sends the tool-call history as recorded (chat-stream-text-after-tool-result-include-usage)", async () => {
    const recorded = readRecordedRequest("openai/chat-stream-text-after-tool-result-include-usage.request.json");
    const replay = replayTransport({ body: readFixture("openai/chat-stream-text-after-tool-result-include-usage.sse.txt") });
    const input = chatInput({
      messages: [ukQuestion, { role: Role.ASSISTANT, toolCalls: [ukCall] }, toolResult(ukCall.id, "London")],
      tools: [getCapital],
      toolChoice: autoToolChoice,
    });
    const events = summarize(await collect(adapterFor(replay).stream(input, callOptions("gpt-4o-mini"))));
    expect(events).toEqual<EventSummary[]>([
      ["start", "chatcmpl-Dx0Xq5Xx9rHB2ehcHZCRDsnuymUXc"],
      ...["The", " capital", " of", " the", " UK", " is", " London", "."].map((text): EventSummary => ["text", 0, text]),
      ["finish", 0, FinishReason.STOP, "stop"],
      ["usage", usage({ prompt: 78, completion: 9 })],
    ]);
    expect(expectOutgoing(replay, recorded.url, "text/event-stream")).toEqual(asGatewaySendsTools(recorded.body));
  });

  it("maps finish_reason length and sends max_completion_tokens to OpenAI itself (chat-stream-finish-length)", async () => {
    const replay = replayTransport({ body: readFixture("openai/chat-stream-finish-length.sse.txt") });
    const input = chatInput({ messages: [user("Give me JSON")], maxTokens: 1 });
    const events = summarize(await collect(adapterFor(replay).stream(input, callOptions("gpt-4o-2024-08-06"))));
    expect(events).toEqual<EventSummary[]>([
      ["start", "chatcmpl-ABfw3Oqj8RD0z6aJiiX37oTjV2HFh"],
      ["text", 0, '{"'],
      ["finish", 0, FinishReason.LENGTH, "length"],
      ["usage", usage({ prompt: 79, completion: 1 })],
    ]);
    expect(expectOutgoing(replay, OPENAI_URL, "text/event-stream")).toEqual({
      model: "gpt-4o-2024-08-06",
      messages: [{ role: "user", content: "Give me JSON" }],
      stream: true,
      stream_options: { include_usage: true },
      max_completion_tokens: 1,
    });
  });

  it("carries token logprobs on text deltas and forwards logprobs/top_logprobs (chat-stream-content-logprobs)", async () => {
    const replay = replayTransport({ body: readFixture("openai/chat-stream-content-logprobs.sse.txt") });
    const input = chatInput({ messages: [user("Say Foo!")], logprobs: true, topLogprobs: 0 });
    const events = summarize(await collect(adapterFor(replay).stream(input, callOptions("gpt-4o-2024-08-06"))));
    expect(events).toEqual<EventSummary[]>([
      ["start", "chatcmpl-ABfw5EzoqmfXjnnsXY7Yd8OC6tb3c"],
      ["text+logprobs", 0, "Foo", [{ token: "Foo", logprob: -0.0025094282, bytes: [70, 111, 111], top: [] }]],
      ["text+logprobs", 0, "!", [{ token: "!", logprob: -0.26638845, bytes: [33], top: [] }]],
      ["finish", 0, FinishReason.STOP, "stop"],
      ["usage", usage({ prompt: 9, completion: 2 })],
    ]);
    expect(expectOutgoing(replay, OPENAI_URL, "text/event-stream")).toMatchObject({ logprobs: true, top_logprobs: 0 });
  });

  it("takes Groq's usage from the finish chunk and emits it once, after the finish; a complete call in one delta keeps its '{}' (groq-stream-tool-call)", async () => {
    const replay = replayTransport({ body: sseFromChunks(readFixture("openai-compatible/groq-stream-tool-call.chunks.txt")) });
    const adapter = adapterFor(replay, { name: "groq", type: "openai-compatible", apiKey: "gsk_TESTKEY0123456789abcdefGROQ", baseUrl: "https://api.groq.com/openai/v1" });
    const input = chatInput({ model: "groq/llama-3.3-70b-versatile", messages: [user("weather?")], maxTokens: 100, tools: [{ name: "weather", description: "Weather" }] });
    const events = summarize(await collect(adapter.stream(input, callOptions("llama-3.3-70b-versatile"))));
    expect(events).toEqual<EventSummary[]>([
      ["start", "chatcmpl-b610d559-f156-4aca-8827-24b4fe6af54f"],
      ["tool_start", 0, 0, "tk85n1k4m", "weather"],
      ["tool_delta", 0, 0, "{}"],
      ["finish", 0, FinishReason.TOOL_CALLS, "tool_calls"],
      ["usage", usage({ prompt: 210, completion: 15 })],
    ]);
    const body = expectOutgoing(replay, "https://api.groq.com/openai/v1/chat/completions", "text/event-stream", "gsk_TESTKEY0123456789abcdefGROQ");
    expect(body).toMatchObject({ model: "llama-3.3-70b-versatile", max_tokens: 100, stream: true, stream_options: { include_usage: true } });
    expect(body).not.toHaveProperty("max_completion_tokens");
  });

  it("remaps the Anthropic compat endpoint's tool index 1 to 0 and skips the empty arguments delta (anthropic-openai-compat-stream-tool-call)", async () => {
    const replay = replayTransport({ body: readFixture("openai-compatible/anthropic-openai-compat-stream-tool-call.sse.txt") });
    const adapter = adapterFor(replay, { name: "claude-compat", type: "openai-compatible", apiKey: undefined, baseUrl: "http://127.0.0.1:9/v1" });
    const input = chatInput({ model: "claude-compat/claude-haiku-4-5", messages: [user("read a.txt")], tools: [{ name: "read_file" }] });
    const events = summarize(await collect(adapter.stream(input, callOptions("claude-haiku-4-5-20251001"))));
    expect(events).toEqual<EventSummary[]>([
      ["start", "msg_sanitized"],
      ["text", 0, "Reading"],
      ["text", 0, " it."],
      ["tool_start", 0, 0, "toolu_sanitized", "read_file"],
      ["tool_delta", 0, 0, '{"pa'],
      ["tool_delta", 0, 0, 'th": "a.txt"}'],
      ["finish", 0, FinishReason.TOOL_CALLS, "tool_calls"],
    ]);
    expectOutgoing(replay, "http://127.0.0.1:9/v1/chat/completions", "text/event-stream", null);
  });
});

describe("OpenAI adapter: recorded non-streaming answers", () => {
  it("maps a text completion with usage and system fingerprint (chat-nonstream-text)", async () => {
    const replay = replayTransport({ headers: { "content-type": "application/json" }, body: readFixture("openai/chat-nonstream-text.json") });
    const response = await adapterFor(replay).generate(chatInput({ messages: [user("Invent a holiday")] }), callOptions("gpt-4.1-nano"));
    const recorded = readJsonFixture<{ choices: { message: { content: string } }[] }>("openai/chat-nonstream-text.json");
    expect(response.id).toBe("chatcmpl-D8Z5f52zQqikDBEKQMQoYcWMcWPeU");
    expect(response.created).toBe(1770933883n);
    expect(response.systemFingerprint).toBe("fp_de604bd877");
    expect(response.choices).toHaveLength(1);
    const choice = response.choices[0];
    expect(choice?.finishReason).toBe(FinishReason.STOP);
    expect(choice?.rawFinishReason).toBe("stop");
    expect(choice?.logprobs).toBeUndefined();
    expect(choice?.message?.content.map((part) => part.part)).toEqual([{ case: "text", value: recorded.choices[0]?.message.content }]);
    expect(choice?.message?.toolCalls).toEqual([]);
    expect(response.usage).toMatchObject({ promptTokens: 16, completionTokens: 363, totalTokens: 379, cachedPromptTokens: 0, reasoningTokens: 0 });
    expect(expectOutgoing(replay, OPENAI_URL, "application/json")).toEqual({ model: "gpt-4.1-nano", messages: [{ role: "user", content: "Invent a holiday" }] });
  });

  it("maps a tool-call-only completion and sends the recorded tool-call history (chat-nonstream-tool-call)", async () => {
    const exchange = readExchange("openai/chat-nonstream-tool-call.json");
    const replay = replayTransport({ status: exchange.response.status, body: JSON.stringify(exchange.response.body) });
    const callId = "pyd_ai_504f8147f83f44f3a5f14d87bfd01bda";
    const input = chatInput({
      messages: [
        user("What is the capital of France?"),
        { role: Role.ASSISTANT, toolCalls: [{ id: callId, name: "get_capital", arguments: '{"country":"France"}' }] },
        toolResult(callId, "Paris"),
        textMessage(Role.ASSISTANT, "The capital of France is Paris.\n"),
        user("What is the capital of England?"),
      ],
      n: 1,
      toolChoice: autoToolChoice,
      tools: [{
        name: "get_capital",
        description: "Get the capital of a country.",
        parameters: { additionalProperties: false, properties: { country: { description: "The country name.", type: "string" } }, required: ["country"], type: "object" },
      }],
    });
    const response = await adapterFor(replay).generate(input, callOptions("gpt-4o-mini"));
    expect(response.id).toBe("chatcmpl-BEhL3fZWgTz2Z57jXexYbQPsOBUm3");
    const choice = response.choices[0];
    expect(choice?.finishReason).toBe(FinishReason.TOOL_CALLS);
    expect(choice?.message?.content).toEqual([]);
    expect(choice?.message?.toolCalls.map(({ id, name, arguments: args }) => ({ id, name, args }))).toEqual([{ id: "call_SkEQ3ZGSJC8m6AvaIGNuuKdm", name: "get_capital", args: '{"country":"England"}' }]);
    expect(response.usage).toMatchObject({ promptTokens: 104, completionTokens: 16, totalTokens: 120 });
    // The recorder's client sent `stream: false` and left out an assistant's null content; the gateway
    // omits the default `stream` and states `content: null` next to tool_calls (as OpenAI's SDK does).
    const expected = structuredClone(exchange.request?.body ?? {});
    delete expected.stream;
    (expected.messages as Record<string, unknown>[])[1] = { content: null, ...(expected.messages as Record<string, unknown>[])[1] };
    expect(expectOutgoing(replay, exchange.request?.url ?? "", "application/json")).toEqual(expected);
  });
});

describe("OpenAI adapter: recorded errors", () => {
  it("maps unsupported_parameter to UPSTREAM_INVALID_REQUEST naming the param, after the compatible account's max_tokens was sent again as max_completion_tokens (error-400-unsupported-parameter)", async () => {
    const replay = replayTransport({ status: 400, headers: { "content-type": "application/json" }, body: readFixture("openai/error-400-unsupported-parameter.json") });
    const adapter = adapterFor(replay, { type: "openai-compatible", baseUrl: "https://api.openai.com/v1" });
    const input = chatInput({ messages: [user("hi")], maxTokens: 100 });
    const error = await adapter.generate(input, callOptions("o3-mini")).then(() => undefined, (thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: Code.InvalidArgument, reason: Reason.UPSTREAM_INVALID_REQUEST, facts: { provider: "openai-main", upstreamStatus: 400, upstreamCode: "unsupported_parameter", param: "max_tokens" } });
    expect((error as Error).message).toContain("Use 'max_completion_tokens' instead");
    expect(replay.requests.map((request) => request.json)).toEqual([
      { model: "o3-mini", messages: [{ role: "user", content: "hi" }], max_tokens: 100 },
      { model: "o3-mini", messages: [{ role: "user", content: "hi" }], max_completion_tokens: 100 },
    ]);
  });

  it("a compatible server's reasoning model that refuses max_tokens (error-400-unsupported-parameter) gets the limit as max_completion_tokens, from then on", async () => {
    const replay = replayTransport(
      { status: 400, headers: { "content-type": "application/json" }, body: readFixture("openai/error-400-unsupported-parameter.json") },
      { headers: { "content-type": "application/json" }, body: readFixture("openai/chat-nonstream-text.json") },
    );
    const adapter = adapterFor(replay, { name: "azure", type: "openai-compatible", baseUrl: "https://r.openai.azure.com/openai/deployments/o3?api-version=2025-01-01-preview" });
    const input = chatInput({ model: "azure/o3-mini", messages: [user("hi")], maxTokens: 100 });
    const response = await adapter.generate(input, callOptions("o3-mini"));
    expect(response.choices[0]?.finishReason).toBe(FinishReason.STOP);
    expect(response.warnings).toEqual([]);
    // The stream is answered with the JSON body (refused as not a stream): only its request matters here.
    await collectUntilError(adapter.stream(input, callOptions("o3-mini")));
    expect(replay.requests.map((request) => (request.json as Record<string, unknown>).max_tokens ?? `max_completion_tokens ${String((request.json as Record<string, unknown>).max_completion_tokens)}`)).toEqual([100, "max_completion_tokens 100", "max_completion_tokens 100"]);
    // Another model of the same account is still sent max_tokens.
    await adapter.generate(input, callOptions("gpt-4o")).catch(() => undefined);
    expect(replay.requests[3]?.json).toMatchObject({ model: "gpt-4o", max_tokens: 100 });
  });

  it("maps unsupported_value for a system role to a 400 and sends the recorded body (error-400-unsupported-value)", async () => {
    const exchange = readExchange("openai/error-400-unsupported-value.json");
    const replay = replayTransport({ status: exchange.response.status, body: JSON.stringify(exchange.response.body) });
    const input = chatInput({ messages: [textMessage(Role.SYSTEM, "You are a helpful assistant."), user("Hello")], n: 1 });
    const { items, error } = await collectUntilError(adapterFor(replay).stream(input, callOptions("o1-mini")));
    expect(items).toEqual([]);
    expect(error).toMatchObject({ reason: Reason.UPSTREAM_INVALID_REQUEST, facts: { upstreamCode: "unsupported_value", param: "messages[0].role", upstreamStatus: 400 } });
    expect(toRestError(error).status).toBe(400);
    const expected = { ...exchange.request?.body, stream: true, stream_options: { include_usage: true } };
    expect(expectOutgoing(replay, exchange.request?.url ?? "", "text/event-stream")).toEqual(expected);
  });

  it("maps invalid_value for an unsupported content block to a 400 naming the message (error-400-invalid-value-content-block-type)", async () => {
    const exchange = readExchange("openai/error-400-invalid-value-content-block-type.json");
    const replay = replayTransport({ status: exchange.response.status, body: JSON.stringify(exchange.response.body) });
    const error = await adapterFor(replay).generate(chatInput({ messages: [user("hi")] }), callOptions("gpt-5-mini")).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: Code.InvalidArgument, reason: Reason.UPSTREAM_INVALID_REQUEST, facts: { upstreamCode: "invalid_value", param: "messages[3]" } });
    expect((error as Error).message).toContain("Content blocks are expected to be either text or image_url type");
  });

  it("maps Groq's tool_use_failed to a 400-class error and sends the recorded body (groq-error-400-tool-use-failed)", async () => {
    const exchange = readExchange("openai-compatible/groq-error-400-tool-use-failed.json");
    const replay = replayTransport({ status: exchange.response.status, body: JSON.stringify(exchange.response.body) });
    const adapter = adapterFor(replay, { name: "groq", type: "openai-compatible", apiKey: "gsk_TESTKEY0123456789abcdefGROQ", baseUrl: "https://api.groq.com/openai/v1" });
    const input = chatInput({
      model: "groq/openai/gpt-oss-120b",
      messages: [
        textMessage(Role.SYSTEM, "Be concise. Never use pretty double quotes, just regular ones."),
        user('Please call the "get_something_by_name" tool with non-existent parameters to test error handling; on the second try you can use valid args'),
      ],
      n: 1,
      toolChoice: autoToolChoice,
      tools: [{ name: "get_something_by_name", description: "", parameters: { additionalProperties: false, properties: { name: { type: "string" } }, required: ["name"], type: "object" } }],
    });
    const error = await adapter.generate(input, callOptions("openai/gpt-oss-120b")).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: Code.InvalidArgument, reason: Reason.UPSTREAM_INVALID_REQUEST, facts: { provider: "groq", upstreamStatus: 400, upstreamCode: "tool_use_failed" } });
    expect((error as Error).message).toContain("Tool call validation failed");
    expect(toRestError(error as never)).toMatchObject({ status: 400, body: { error: { type: "invalid_request_error", code: "upstream_invalid_request" } } });
    const expected = structuredClone(exchange.request?.body ?? {});
    delete expected.stream;
    expect(expectOutgoing(replay, exchange.request?.url ?? "", "application/json", "gsk_TESTKEY0123456789abcdefGROQ")).toEqual(asGatewaySendsTools(expected));
  });
});
