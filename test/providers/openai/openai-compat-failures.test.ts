import { describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { FinishReason } from "../../../gen/switchyard/v1/chat_pb.js";
import { Reason } from "../../../src/core/errors.js";
import { toRestError } from "../../../src/http/openai-compat/error-response.js";
import { callOptions, user } from "../../support/proto-builders.js";
import { replayTransport } from "../../support/replay-transport.js";
import { collect, collectUntilError } from "../../support/stream-collectors.js";
import { usage } from "../../support/usage-summary.js";
import { adapterFor, chatInput, chunk, sse, summarize, type EventSummary } from "./openai-test-setup.js";

/*
 * How OpenAI-compatible servers say that they failed, in ways OpenAI itself does not. The bodies are
 * hand-made from the servers' sources and docs (no recording of them is in ../shared/fixtures/upstream).
 */

const COMPATIBLE = { type: "openai-compatible", baseUrl: "https://llm.internal.example/v1" } as const;
const input = chatInput({ messages: [user("hi")] });

function whole(finishReason: string): string {
  return JSON.stringify({ id: "cmpl-x", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "partial" }, finish_reason: finishReason }] });
}

async function failureOf(status: number, body: object, account: object = COMPATIBLE) {
  const replay = replayTransport({ status, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const error = await adapterFor(replay, account).generate(input, callOptions("m")).then(() => undefined, (thrown: unknown) => thrown);
  return { error, replay };
}

describe("finish reasons that are not OpenAI's", () => {
  it("hand-made: Mistral's model_length (the context window ran out) is LENGTH, whole and streamed", async () => {
    const answer = await adapterFor(replayTransport({ body: whole("model_length") }), COMPATIBLE).generate(input, callOptions("m"));
    expect(answer.choices[0]).toMatchObject({ finishReason: FinishReason.LENGTH, rawFinishReason: "model_length" });
    const events = await collect(adapterFor(replayTransport({ body: sse([chunk({ role: "assistant", content: "par" }), chunk({}, { finish: "model_length" })]) }), COMPATIBLE).stream(input, callOptions("m")));
    expect(summarize(events)).toContainEqual<EventSummary>(["finish", 0, FinishReason.LENGTH, "model_length"]);
  });

  it.each(["error", "insufficient_system_resource", "abort"])("hand-made: finish_reason %s (a failure cut the output: Mistral, DeepSeek, vLLM) fails the attempt, never a stop", async (reason) => {
    const error = await adapterFor(replayTransport({ body: whole(reason) }), COMPATIBLE).generate(input, callOptions("m")).then(() => undefined, (thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: Code.Unavailable, reason: Reason.PROVIDER_UNAVAILABLE });
    expect((error as Error).message).toContain(`finish_reason "${reason}"`);
    expect(toRestError(error as never).status).toBe(503);

    const streamed = await collectUntilError(adapterFor(replayTransport({ body: sse([chunk({ role: "assistant", content: "par" }), chunk({}, { finish: reason })]) }), COMPATIBLE).stream(input, callOptions("m")));
    expect(summarize(streamed.items)).toEqual<EventSummary[]>([["start", "chatcmpl-hand"], ["text", 0, "par"]]);
    expect(streamed.error).toMatchObject({ code: Code.Unavailable, reason: Reason.STREAM_INTERRUPTED, facts: { afterFirstByte: true } });
  });
});

describe("error answers of compatible servers", () => {
  it("hand-made: 402 (out of credit: OpenRouter, DeepSeek's 'Insufficient Balance') is INSUFFICIENT_QUOTA, a 429 that fails over", async () => {
    const { error } = await failureOf(402, { error: { code: 402, message: "Insufficient credits. Add more using https://openrouter.ai/credits" } });
    expect(error).toMatchObject({ code: Code.ResourceExhausted, reason: Reason.INSUFFICIENT_QUOTA, facts: { upstreamStatus: 402 } });
    expect(toRestError(error as never)).toMatchObject({ status: 429, body: { error: { code: "insufficient_quota" } } });
  });

  it.each([
    ["llama.cpp's exceed_context_size_error", { error: { code: 400, message: "request (4476 tokens) exceeds the available context size (4096 tokens), try increasing it", type: "exceed_context_size_error", n_prompt_tokens: 4476, n_ctx: 4096 } }],
    ["Mistral's wording", { object: "error", message: "Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum context length", type: "invalid_request_error", param: null, code: null }],
  ])("hand-made: %s is CONTEXT_LENGTH_EXCEEDED", async (_name, body) => {
    const { error } = await failureOf(400, body);
    expect(error).toMatchObject({ code: Code.InvalidArgument, reason: Reason.CONTEXT_LENGTH_EXCEEDED, facts: { upstreamStatus: 400 } });
  });

  it("hand-made: the server's x-request-id is the failure's upstreamRequestId (the edges' x-upstream-request-id), unless the body named one", async () => {
    const replay = replayTransport({ status: 400, headers: { "content-type": "application/json", "x-request-id": "req_0a1b2c3d4e5f" }, body: JSON.stringify({ error: { message: "Invalid value for 'temperature'", type: "invalid_request_error", param: "temperature", code: "invalid_value" } }) });
    const error = await adapterFor(replay, COMPATIBLE).generate(input, callOptions("m")).then(() => undefined, (thrown: unknown) => thrown);
    expect(error).toMatchObject({ reason: Reason.UPSTREAM_INVALID_REQUEST, facts: { upstreamRequestId: "req_0a1b2c3d4e5f" } });
    expect(toRestError(error as never).headers).toMatchObject({ "x-upstream-request-id": "req_0a1b2c3d4e5f" });
  });

  it("hand-made: vLLM's \"'max_tokens' or 'max_completion_tokens' is too large\" is answered once, not sent again as max_completion_tokens", async () => {
    const replay = replayTransport({ status: 400, headers: { "content-type": "application/json" }, body: JSON.stringify({ object: "error", message: "'max_tokens' or 'max_completion_tokens' is too large: 1000. This model's maximum context length is 4096 tokens and your request has 3500 input tokens (1000 > 4096 - 3500).", type: "BadRequestError", param: null, code: 400 }) });
    const error = await adapterFor(replay, COMPATIBLE).generate(chatInput({ messages: [user("hi")], maxTokens: 1000 }), callOptions("m")).then(() => undefined, (thrown: unknown) => thrown);
    expect(error).toMatchObject({ reason: Reason.CONTEXT_LENGTH_EXCEEDED });
    expect(replay.requests.map((request) => request.json)).toEqual([{ model: "m", messages: [{ role: "user", content: "hi" }], max_tokens: 1000 }]);
  });
});

describe("llama.cpp's stream errors", () => {
  it("hand-made: an `error:` field (llama.cpp's server_sent_event) then [DONE] is that error, mapped by its code, not an empty stream", async () => {
    const body = 'error: {"code":503,"message":"Loading model","type":"unavailable_error"}\n\ndata: [DONE]\n\n';
    const { error } = await collectUntilError(adapterFor(replayTransport({ body }), COMPATIBLE).stream(input, callOptions("m")));
    expect(error).toMatchObject({ code: Code.Unavailable, reason: Reason.PROVIDER_UNAVAILABLE, facts: { upstreamStatus: 503, afterFirstByte: true } });
    expect(error.message).toContain("Loading model");
  });
});

describe("an error event whose numeric code is an HTTP status (OpenRouter's once its 200 is out)", () => {
  it.each([
    [401, Reason.PROVIDER_AUTH_FAILED],
    [408, Reason.UPSTREAM_TIMEOUT],
    [409, Reason.PROVIDER_UNAVAILABLE],
    [413, Reason.REQUEST_TOO_LARGE],
    [425, Reason.PROVIDER_UNAVAILABLE],
  ])("hand-made: code %i reads as that status does in an error answer, not as the caller's 400", async (code, reason) => {
    const body = `data: ${JSON.stringify({ error: { message: `upstream says ${code}`, code, metadata: { org: "org-ACME" } } })}\n\n`;
    const { error } = await collectUntilError(adapterFor(replayTransport({ body }), COMPATIBLE).stream(input, callOptions("m")));
    expect(error).toMatchObject({ reason, facts: { upstreamStatus: code, afterFirstByte: true } });
    // A rejected credential repeats neither the provider's text nor its fields.
    if (code === 401) {
      expect(error.message).not.toContain("upstream says");
      expect(error.facts.upstreamExtra).toBeUndefined();
    }
  });
});

describe("tool-call deltas that repeat everything", () => {
  it("hand-made: index, id and name repeated with empty arguments after the call is whole (vLLM, LocalAI) add no call", async () => {
    const body = sse([
      chunk({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "delete_file", arguments: '{"path":' } }] }),
      chunk({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "delete_file", arguments: '"/tmp/a"}' } }] }),
      chunk({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "delete_file", arguments: "" } }] }),
      chunk({}, { finish: "tool_calls" }),
    ]);
    expect(summarize(await collect(adapterFor(replayTransport({ body }), COMPATIBLE).stream(input, callOptions("m"))))).toEqual<EventSummary[]>([
      ["start", "chatcmpl-hand"],
      ["tool_start", 0, 0, "call_1", "delete_file"],
      ["tool_delta", 0, 0, '{"path":'],
      ["tool_delta", 0, 0, '"/tmp/a"}'],
      ["finish", 0, FinishReason.TOOL_CALLS, "tool_calls"],
    ]);
  });

  it("hand-made: a second call to the same function under one index (its name alone, then its arguments) is still a second call", async () => {
    const body = sse([
      chunk({ tool_calls: [{ index: 0, function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { name: "get_weather", arguments: "" } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":"Rome"}' } }] }),
      chunk({}, { finish: "tool_calls" }),
    ]);
    const events = summarize(await collect(adapterFor(replayTransport({ body }), COMPATIBLE).stream(input, callOptions("m"))));
    expect(events.filter((event) => event[0] === "tool_start").map((event) => [event[2], event[4]])).toEqual([
      [0, "get_weather"],
      [1, "get_weather"],
    ]);
    expect(events.filter((event) => event[0] === "tool_delta")).toEqual([
      ["tool_delta", 0, 0, '{"city":"Paris"}'],
      ["tool_delta", 0, 1, '{"city":"Rome"}'],
    ]);
  });
});

describe("a connection cut in the middle of an event", () => {
  it("hand-made: is an interrupted stream (retried, recovered), not an unreadable event", async () => {
    const before = await collectUntilError(adapterFor(replayTransport({ body: 'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hel' }), COMPATIBLE).stream(input, callOptions("m")));
    expect(before.error).toMatchObject({ code: Code.Unavailable, reason: Reason.STREAM_INTERRUPTED });
    // After content: the events before the cut, and no finish (which the core reports as an interrupted stream).
    const after = await collect(adapterFor(replayTransport({ body: `${sse([chunk({ role: "assistant", content: "Hel" })], false)}data: {"id":"c","choices":[{"index":0,"delta":{"content":"lo th` }), COMPATIBLE).stream(input, callOptions("m")));
    expect(summarize(after)).toEqual<EventSummary[]>([["start", "chatcmpl-hand"], ["text", 0, "Hel"]]);
  });
});

describe("deltas after a choice's finish", () => {
  it("hand-made: are not part of the answer: text and a second finish after it are dropped", async () => {
    const body = sse([chunk({ role: "assistant", content: "Done." }), chunk({}, { finish: "stop" }), chunk({ content: " EXTRA AFTER FINISH" }), chunk({}, { finish: "error" })]);
    expect(summarize(await collect(adapterFor(replayTransport({ body }), COMPATIBLE).stream(input, callOptions("m"))))).toEqual<EventSummary[]>([
      ["start", "chatcmpl-hand"],
      ["text", 0, "Done."],
      ["finish", 0, FinishReason.STOP, "stop"],
    ]);
  });
});

describe("usage on the finish chunk (Groq, Mistral, vLLM)", () => {
  it("hand-made: goes out as soon as every choice asked for has finished, once, whatever the server sends after", async () => {
    const body = sse([chunk({ role: "assistant", content: "hi" }), chunk({}, { finish: "stop", usage: { prompt_tokens: 33, completion_tokens: 11, total_tokens: 44 } }), { id: "x", choices: [], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }], false);
    const events = summarize(await collect(adapterFor(replayTransport({ body }), COMPATIBLE).stream(input, callOptions("m"))));
    expect(events.slice(-2)).toEqual<EventSummary[]>([
      ["finish", 0, FinishReason.STOP, "stop"],
      ["usage", usage({ prompt: 33, completion: 11 })],
    ]);
  });

  it("hand-made: with n = 2, waits for both choices", async () => {
    const body = sse([chunk({ role: "assistant", content: "a" }), chunk({}, { finish: "stop", usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 } }), chunk({ content: "b" }, { index: 1 }), chunk({}, { index: 1, finish: "stop" })], false);
    const events = summarize(await collect(adapterFor(replayTransport({ body }), COMPATIBLE).stream(chatInput({ messages: [user("hi")], n: 2 }), callOptions("m"))));
    expect(events.map((event) => event[0])).toEqual(["start", "text", "finish", "text", "finish", "usage"]);
  });
});
