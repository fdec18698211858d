import { describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { FinishReason } from "../../../gen/switchyard/v1/chat_pb.js";
import { Reason } from "../../../src/core/errors.js";
import { toRestError } from "../../../src/http/openai-compat/error-response.js";
import type { UpstreamTransport } from "../../../src/providers/upstream-http.js";
import { replayTransport, type ReplayTransport } from "../../support/replay-transport.js";
import { callOptions, user } from "../../support/proto-builders.js";
import { collect, collectUntilError } from "../../support/stream-collectors.js";
import { usage } from "../../support/usage-summary.js";
import { adapterFor, chatInput, chunk, sse, summarize, TEST_API_KEY, type EventSummary } from "./openai-test-setup.js";

const input = chatInput({ messages: [user("hi")] });
const usageBody = { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 };

async function streamOf(replay: ReplayTransport): Promise<EventSummary[]> {
  return summarize(await collect(adapterFor(replay).stream(input, callOptions("gpt-4o-mini"))));
}

describe("OpenAI adapter: hand-made streams", () => {
  it("hand-made: a mid-stream data: {\"error\":…} throws after the events already delivered", async () => {
    const body = sse([chunk({ role: "assistant", content: "Hel" }), { error: { message: "The server had an error while processing your request.", type: "server_error", param: null, code: null } }], false);
    const { items, error } = await collectUntilError(adapterFor(replayTransport({ body })).stream(input, callOptions("gpt-4o-mini")));
    expect(summarize(items)).toEqual<EventSummary[]>([["start", "chatcmpl-hand"], ["text", 0, "Hel"]]);
    expect(error).toMatchObject({ code: Code.Unavailable, reason: Reason.PROVIDER_UNAVAILABLE, facts: { provider: "openai-main", afterFirstByte: true, upstreamCode: "server_error" } });
    expect(error.message).toContain("The server had an error");
  });

  it.each([
    ["a rate limit", { type: "rate_limit_error", code: "rate_limit_exceeded", message: "slow down" }, Reason.RATE_LIMIT_EXCEEDED, Code.ResourceExhausted],
    ["an invalid request", { type: "invalid_request_error", message: "bad" }, Reason.UPSTREAM_INVALID_REQUEST, Code.InvalidArgument],
    ["vLLM's numeric 400 code", { object: "error", type: "BadRequestError", code: 400, message: "bad" }, Reason.UPSTREAM_INVALID_REQUEST, Code.InvalidArgument],
    ["a context overflow", { type: "invalid_request_error", code: "context_length_exceeded", message: "too long" }, Reason.CONTEXT_LENGTH_EXCEEDED, Code.InvalidArgument],
    ["a bare string", "boom", Reason.PROVIDER_UNAVAILABLE, Code.Unavailable],
  ])("hand-made: a mid-stream error with %s maps by its structured fields", async (_name, error, reason, code) => {
    const body = sse([chunk({ content: "x" }), { error }], false);
    const result = await collectUntilError(adapterFor(replayTransport({ body })).stream(input, callOptions("m")));
    expect(result.error).toMatchObject({ code, reason, facts: { afterFirstByte: true } });
  });

  it("hand-made: a stream that ends without [DONE] but after a finish is finalised with its usage", async () => {
    const body = sse([chunk({ role: "assistant", content: "Hi" }), chunk({}, { finish: "stop" }), { ...chunk({}), choices: [], usage: usageBody }], false);
    expect(await streamOf(replayTransport({ body }))).toEqual<EventSummary[]>([
      ["start", "chatcmpl-hand"],
      ["text", 0, "Hi"],
      ["finish", 0, FinishReason.STOP, "stop"],
      ["usage", usage({ prompt: 5, completion: 2 })],
    ]);
  });

  it("hand-made: a stream cut before its finish emits no finish (the core reports it as interrupted)", async () => {
    const body = sse([chunk({ role: "assistant", content: "Hi" }), chunk({ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: '{"a"' } }] })], false);
    expect(await streamOf(replayTransport({ body }))).toEqual<EventSummary[]>([
      ["start", "chatcmpl-hand"],
      ["text", 0, "Hi"],
      ["tool_start", 0, 0, "call_1", "f"],
      ["tool_delta", 0, 0, '{"a"'],
    ]);
  });

  it("hand-made: a connection reset mid-body throws PROVIDER_UNREACHABLE after the first byte", async () => {
    const transport: UpstreamTransport = async () => ({
      status: 200,
      header: () => undefined,
      body: (async function* () {
        yield new TextEncoder().encode(sse([chunk({ content: "Hi" })], false));
        throw new Error("read ECONNRESET");
      })(),
    });
    const { items, error } = await collectUntilError(adapterFor({ transport, requests: [] }).stream(input, callOptions("m")));
    expect(summarize(items)).toEqual<EventSummary[]>([["start", "chatcmpl-hand"], ["text", 0, "Hi"]]);
    expect(error).toMatchObject({ code: Code.Unavailable, reason: Reason.PROVIDER_UNREACHABLE, facts: { afterFirstByte: true } });
  });

  it("hand-made: an upstream that sends only [DONE] is STREAM_INTERRUPTED", async () => {
    const { items, error } = await collectUntilError(adapterFor(replayTransport({ body: sse([]) })).stream(input, callOptions("m")));
    expect(items).toEqual([]);
    expect(error.reason).toBe(Reason.STREAM_INTERRUPTED);
  });

  it("hand-made: JSON that is not a chunk object, empty data, comments and pings are skipped", async () => {
    const body = `: ping\n\ndata:\n\n${sse([chunk({ content: "A" })], false)}data: [1,2]\n\ndata: null\n\nevent: ping\ndata: {}\n\n${sse([chunk({}, { finish: "stop" })])}`;
    expect(await streamOf(replayTransport({ body }))).toEqual<EventSummary[]>([["start", "chatcmpl-hand"], ["text", 0, "A"], ["finish", 0, FinishReason.STOP, "stop"]]);
  });

  it("hand-made: a vLLM-style error object without the {error} wrapper mid-stream is the provider's error (here: context length), with its status", async () => {
    const body = `${sse([chunk({ content: "Hel" })], false)}data: {"object":"error","message":"This model's maximum context length is 4096 tokens.","type":"BadRequestError","param":null,"code":400}\n\n`;
    const { items, error } = await collectUntilError(adapterFor(replayTransport({ body })).stream(input, callOptions("gpt-4o-mini")));
    expect(summarize(items)).toEqual<EventSummary[]>([["start", "chatcmpl-hand"], ["text", 0, "Hel"]]);
    expect(error).toMatchObject({ code: Code.InvalidArgument, reason: Reason.CONTEXT_LENGTH_EXCEEDED, facts: { provider: "openai-main", afterFirstByte: true, upstreamStatus: 400 } });
    expect(error.rawMessage).toContain("maximum context length");
  });

  it("hand-made: a chunk that is not JSON (cut or garbled) fails the stream as INVALID_PROVIDER_RESPONSE instead of losing its text", async () => {
    const body = `${sse([chunk({ content: "The answer is " })], false)}data: {"id":"chatcmpl-hand","choices":[{"index":0,"delta":{"content":"NOT 4\n\n${sse([chunk({ content: "." }), chunk({}, { finish: "stop" })])}`;
    const { items, error } = await collectUntilError(adapterFor(replayTransport({ body })).stream(input, callOptions("gpt-4o-mini")));
    expect(summarize(items)).toEqual<EventSummary[]>([["start", "chatcmpl-hand"], ["text", 0, "The answer is "]]);
    // The upstream HTTP status of the answer the event came in, as for a whole answer that is not JSON (below).
    expect(error).toMatchObject({ code: Code.Internal, reason: Reason.INVALID_PROVIDER_RESPONSE, facts: { provider: "openai-main", afterFirstByte: true, upstreamStatus: 200 } });
  });

  it("hand-made: an Azure-style first chunk with empty id and choices does not become the response id", async () => {
    const azureFirst = { id: "", object: "", created: 0, model: "", choices: [], prompt_filter_results: [{ prompt_index: 0 }] };
    const body = sse([azureFirst, chunk({ role: "assistant", content: "A" }, { id: "chatcmpl-azure" }), chunk({}, { finish: "content_filter", id: "chatcmpl-azure" })]);
    expect(await streamOf(replayTransport({ body }))).toEqual<EventSummary[]>([
      ["start", "chatcmpl-azure"],
      ["text", 0, "A"],
      ["finish", 0, FinishReason.CONTENT_FILTER, "content_filter"],
    ]);
  });

  it("hand-made: Mistral-style tool deltas without index arrive with finish and usage in one chunk; indexes follow first appearance of each id", async () => {
    const body = sse([
      chunk({ role: "assistant", content: "" }),
      {
        ...chunk({ content: "", tool_calls: [{ id: "abc123xyz", function: { name: "get_weather", arguments: '{"city": "Paris"}' } }, { id: "def456uvw", function: { name: "get_time", arguments: "" } }] }, { finish: "tool_calls" }),
        usage: usageBody,
      },
    ]);
    expect(await streamOf(replayTransport({ body }))).toEqual<EventSummary[]>([
      ["start", "chatcmpl-hand"],
      ["tool_start", 0, 0, "abc123xyz", "get_weather"],
      ["tool_delta", 0, 0, '{"city": "Paris"}'],
      ["tool_start", 0, 1, "def456uvw", "get_time"],
      ["tool_delta", 0, 1, "{}"],
      ["finish", 0, FinishReason.TOOL_CALLS, "tool_calls"],
      ["usage", usage({ prompt: 5, completion: 2 })],
    ]);
  });

  it("hand-made: index-less fragments continue the last call; a repeated id continues its own call", async () => {
    const body = sse([
      chunk({ tool_calls: [{ id: "a", function: { name: "f", arguments: '{"x":' } }] }),
      chunk({ tool_calls: [{ function: { arguments: "1}" } }] }),
      chunk({ tool_calls: [{ id: "b", function: { name: "g", arguments: "{" } }] }),
      chunk({ tool_calls: [{ id: "a", function: { arguments: "" } }, { id: "b", function: { arguments: "}" } }] }),
      chunk({}, { finish: "tool_calls" }),
    ]);
    expect(await streamOf(replayTransport({ body }))).toEqual<EventSummary[]>([
      ["start", "chatcmpl-hand"],
      ["tool_start", 0, 0, "a", "f"],
      ["tool_delta", 0, 0, '{"x":'],
      ["tool_delta", 0, 0, "1}"],
      ["tool_start", 0, 1, "b", "g"],
      ["tool_delta", 0, 1, "{"],
      ["tool_delta", 0, 1, "}"],
      ["finish", 0, FinishReason.TOOL_CALLS, "tool_calls"],
    ]);
  });

  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ["neither index nor id", {}, {}],
    ["both at index 0 without ids", { index: 0 }, { index: 0 }],
    ["both at index 0 with one id", { index: 0, id: "dup" }, { index: 0, id: "dup" }],
    ["the same function twice, neither index nor id", {}, {}],
  ])("hand-made: parallel calls with %s stay two calls, each with its own id", async (name, first, second) => {
    const secondName = name.startsWith("the same") ? "a" : "b";
    const body = sse([
      chunk({ tool_calls: [{ ...first, function: { name: "a", arguments: '{"x":' } }] }),
      chunk({ tool_calls: [{ ...first, function: { arguments: "1}" } }] }),
      chunk({ tool_calls: [{ ...second, function: { name: secondName, arguments: '{"y":2}' } }] }),
      chunk({}, { finish: "tool_calls" }),
    ]);
    const events = await streamOf(replayTransport({ body }));
    const starts = events.filter((event) => event[0] === "tool_start");
    expect(starts.map((event) => [event[2], event[4]])).toEqual([[0, "a"], [1, secondName]]);
    expect(new Set(starts.map((event) => event[3])).size).toBe(2);
    expect(events.filter((event) => event[0] === "tool_delta")).toEqual([["tool_delta", 0, 0, '{"x":'], ["tool_delta", 0, 0, "1}"], ["tool_delta", 0, 1, '{"y":2}']]);
  });

  it("hand-made: a streamed legacy function_call (whole, or name then argument fragments) is the choice's tool call", async () => {
    for (const deltas of [
      [{ role: "assistant", content: null, function_call: { name: "get_weather", arguments: '{"city":"Paris"}' } }],
      [{ role: "assistant", content: null, function_call: { name: "get_weather", arguments: "" } }, { function_call: { arguments: '{"city":' } }, { function_call: { arguments: '"Paris"}' } }],
    ]) {
      const body = sse([...deltas.map((delta) => chunk(delta)), chunk({}, { finish: "function_call" })]);
      const events = await streamOf(replayTransport({ body }));
      const start = events.find((event) => event[0] === "tool_start");
      expect(start?.[4]).toBe("get_weather");
      expect(events.filter((event) => event[0] === "tool_delta").map((event) => event[3]).join("")).toBe('{"city":"Paris"}');
      expect(events.find((event) => event[0] === "finish")?.[2]).toBe(FinishReason.TOOL_CALLS);
    }
  });

  it("hand-made: reasoning in 'reasoning' is read when 'reasoning_content' is there but empty", async () => {
    const events = await streamOf(replayTransport({ body: sse([chunk({ role: "assistant", content: "", reasoning_content: "", reasoning: "deep" }), chunk({ content: "A" }), chunk({}, { finish: "stop" })]) }));
    expect(events).toContainEqual(["reasoning", 0, "deep"]);
  });

  it("hand-made: a streamed refusal keeps its logprobs (logprobs.refusal)", async () => {
    const refusalChunk = { ...chunk({ refusal: "I can't" }), choices: [{ index: 0, delta: { refusal: "I can't" }, logprobs: { content: null, refusal: [{ token: "I can't", logprob: -0.25, bytes: [73], top_logprobs: [] }] }, finish_reason: null }] };
    const events = await collect(adapterFor(replayTransport({ body: sse([chunk({ role: "assistant" }), refusalChunk, chunk({}, { finish: "stop" })]) })).stream(chatInput({ messages: [user("hi")], logprobs: true }), callOptions("gpt-4o-mini")));
    const refusal = events.find((event) => event.event.case === "refusalDelta");
    expect(refusal?.event.case === "refusalDelta" ? refusal.event.value.logprobs.map((entry) => [entry.token, entry.logprob]) : []).toEqual([["I can't", -0.25]]);
  });

  it("hand-made: a token that is part of a character comes with empty text; its logprobs are kept (content and refusal)", async () => {
    const lp = (token: string, bytes: number[]) => ({ token, logprob: -0.5, bytes, top_logprobs: [] });
    const body = sse([
      chunk({ role: "assistant", content: "" }),
      { ...chunk({ content: "Foo" }), choices: [{ index: 0, delta: { content: "Foo" }, logprobs: { content: [lp("Foo", [70, 111, 111])] }, finish_reason: null }] },
      { ...chunk({ content: "" }), choices: [{ index: 0, delta: { content: "" }, logprobs: { content: [lp("\\xf0\\x9f", [240, 159])] }, finish_reason: null }] },
      { ...chunk({ content: "😀" }), choices: [{ index: 0, delta: { content: "😀" }, logprobs: { content: [lp("\\x98\\x80", [152, 128])] }, finish_reason: null }] },
      chunk({}, { finish: "stop" }),
    ]);
    const events = await collect(adapterFor(replayTransport({ body })).stream(chatInput({ messages: [user("hi")], logprobs: true }), callOptions("gpt-4o-mini")));
    const bytes = events.flatMap((event) => (event.event.case === "textDelta" ? event.event.value.logprobs.map((entry) => Array.from(entry.bytes)) : []));
    expect(bytes).toEqual([[70, 111, 111], [240, 159], [152, 128]]);
    const refusal = { ...chunk({ refusal: "" }), choices: [{ index: 0, delta: { refusal: "" }, logprobs: { content: null, refusal: [lp("\\xf0", [240])] }, finish_reason: null }] };
    const refused = await collect(adapterFor(replayTransport({ body: sse([chunk({ role: "assistant" }), refusal, chunk({}, { finish: "stop" })]) })).stream(chatInput({ messages: [user("hi")], logprobs: true }), callOptions("gpt-4o-mini")));
    expect(refused.filter((event) => event.event.case === "refusalDelta")).toHaveLength(1);
  });

  it("hand-made: a server that repeats the name on every delta of one call still sends one call", async () => {
    const body = sse([
      chunk({ tool_calls: [{ index: 0, id: "c1", function: { name: "a", arguments: '{"x":' } }] }),
      chunk({ tool_calls: [{ index: 0, id: "c1", function: { name: "a", arguments: "1}" } }] }),
      chunk({}, { finish: "tool_calls" }),
    ]);
    expect(await streamOf(replayTransport({ body }))).toEqual<EventSummary[]>([
      ["start", "chatcmpl-hand"],
      ["tool_start", 0, 0, "c1", "a"],
      ["tool_delta", 0, 0, '{"x":'],
      ["tool_delta", 0, 0, "1}"],
      ["finish", 0, FinishReason.TOOL_CALLS, "tool_calls"],
    ]);
  });

  it("hand-made: a name that comes after the call's first delta is held for, arguments included", async () => {
    const body = sse([
      chunk({ tool_calls: [{ index: 0, type: "function", function: { arguments: "" } }] }),
      chunk({ tool_calls: [{ index: 0, id: "call_late", function: { arguments: '{"city":' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { name: "get_weather", arguments: '"Paris"' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: "}" } }, { index: 1, id: "call_nameless", function: { arguments: "{}" } }] }),
      chunk({}, { finish: "tool_calls" }),
    ]);
    expect(await streamOf(replayTransport({ body }))).toEqual<EventSummary[]>([
      ["start", "chatcmpl-hand"],
      ["tool_start", 0, 0, "call_late", "get_weather"],
      ["tool_delta", 0, 0, '{"city":'],
      ["tool_delta", 0, 0, '"Paris"'],
      ["tool_delta", 0, 0, "}"],
      // A name that never comes: the call still goes out, unnamed, with its arguments, at the finish.
      ["tool_start", 0, 1, "call_nameless", ""],
      ["tool_delta", 0, 1, "{}"],
      ["finish", 0, FinishReason.TOOL_CALLS, "tool_calls"],
    ]);
  });

  it("hand-made: a server that numbers every call 0 but gives each its own id gets dense separate calls", async () => {
    const body = sse([
      chunk({ tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "f", arguments: "{}" } }] }),
      chunk({ tool_calls: [{ index: 0, id: "call_b", type: "function", function: { name: "g", arguments: '{"y":2}' } }] }),
      chunk({}, { finish: "tool_calls" }),
    ]);
    expect(await streamOf(replayTransport({ body }))).toEqual<EventSummary[]>([
      ["start", "chatcmpl-hand"],
      ["tool_start", 0, 0, "call_a", "f"],
      ["tool_delta", 0, 0, "{}"],
      ["tool_start", 0, 1, "call_b", "g"],
      ["tool_delta", 0, 1, '{"y":2}'],
      ["finish", 0, FinishReason.TOOL_CALLS, "tool_calls"],
    ]);
  });

  it("hand-made: arguments sent as an object become JSON text; a call with no arguments ends as '{}'; a missing id is generated once", async () => {
    const body = sse([
      chunk({ tool_calls: [{ index: 3, id: "call_obj", function: { name: "f", arguments: { city: "Paris", days: 2 } } }] }),
      chunk({ tool_calls: [{ index: 5, function: { name: "noargs" } }] }),
      chunk({ tool_calls: [{ index: 5 }] }),
      chunk({}, { finish: "tool_calls" }),
    ]);
    const events = await streamOf(replayTransport({ body }));
    expect(events.slice(0, 3)).toEqual<EventSummary[]>([["start", "chatcmpl-hand"], ["tool_start", 0, 0, "call_obj", "f"], ["tool_delta", 0, 0, '{"city":"Paris","days":2}']]);
    expect(events[3]).toEqual(["tool_start", 0, 1, expect.stringMatching(/^call_[0-9A-Za-z]{24}$/), "noargs"]);
    expect(events.slice(4)).toEqual<EventSummary[]>([["tool_delta", 0, 1, "{}"], ["finish", 0, FinishReason.TOOL_CALLS, "tool_calls"]]);
  });

  it("hand-made: with n=2 each choice has its own dense tool indexes, its own finish, and one usage at the end", async () => {
    const body = sse([
      chunk({ tool_calls: [{ index: 0, id: "c0", function: { name: "f", arguments: "{}" } }] }, { index: 1 }),
      chunk({ content: "zero" }, { index: 0 }),
      chunk({}, { index: 1, finish: "tool_calls" }),
      chunk({}, { index: 0, finish: "stop" }),
      { ...chunk({}), choices: [], usage: usageBody },
    ]);
    expect(await streamOf(replayTransport({ body }))).toEqual<EventSummary[]>([
      ["start", "chatcmpl-hand"],
      ["tool_start", 1, 0, "c0", "f"],
      ["tool_delta", 1, 0, "{}"],
      ["text", 0, "zero"],
      ["finish", 1, FinishReason.TOOL_CALLS, "tool_calls"],
      ["finish", 0, FinishReason.STOP, "stop"],
      ["usage", usage({ prompt: 5, completion: 2 })],
    ]);
  });

  it("hand-made: reasoning_content and refusal deltas become their own events", async () => {
    const body = sse([chunk({ reasoning_content: "thinking" }), chunk({ refusal: "I can't" }), chunk({}, { finish: "stop" })]);
    expect(await streamOf(replayTransport({ body }))).toEqual<EventSummary[]>([
      ["start", "chatcmpl-hand"],
      ["reasoning", 0, "thinking"],
      ["refusal", 0, "I can't"],
      ["finish", 0, FinishReason.STOP, "stop"],
    ]);
  });
});

describe("OpenAI adapter: hand-made HTTP errors", () => {
  it("hand-made: 429 with Retry-After becomes RATE_LIMIT_EXCEEDED with retryAfterMs, forwarded as retry-after on REST", async () => {
    const replay = replayTransport({ status: 429, headers: { "Retry-After": "7" }, body: JSON.stringify({ error: { message: "Rate limit reached for gpt-4o-mini", type: "requests", code: "rate_limit_exceeded" } }) });
    const { error } = await collectUntilError(adapterFor(replay).stream(input, callOptions("gpt-4o-mini")));
    expect(error).toMatchObject({ code: Code.ResourceExhausted, reason: Reason.RATE_LIMIT_EXCEEDED, facts: { retryAfterMs: 7000, upstreamStatus: 429 } });
    expect(toRestError(error)).toMatchObject({ status: 429, headers: { "retry-after": "7" }, body: { error: { type: "rate_limit_error", code: "rate_limit_exceeded" } } });
  });

  it("hand-made: 429 with retry-after-ms and insufficient_quota becomes INSUFFICIENT_QUOTA", async () => {
    const replay = replayTransport({ status: 429, headers: { "retry-after-ms": "1500" }, body: JSON.stringify({ error: { message: "You exceeded your current quota", type: "insufficient_quota", code: "insufficient_quota" } }) });
    const error = await adapterFor(replay).generate(input, callOptions("m")).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: Code.ResourceExhausted, reason: Reason.INSUFFICIENT_QUOTA, facts: { retryAfterMs: 1500 } });
  });

  it("hand-made: a vLLM 400 'maximum context length' without OpenAI's code is CONTEXT_LENGTH_EXCEEDED (fails over)", async () => {
    const replay = replayTransport({ status: 400, body: JSON.stringify({ object: "error", message: "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the messages, 1000 in the completion).", type: "BadRequestError", param: null, code: 400 }) });
    const error = await adapterFor(replay).generate(input, callOptions("m")).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: Code.InvalidArgument, reason: Reason.CONTEXT_LENGTH_EXCEEDED, facts: { upstreamStatus: 400 } });
  });

  it("hand-made: 401 becomes PROVIDER_AUTH_FAILED (REST 502) and the message carries no part of the key", async () => {
    const echoed = `Incorrect API key provided: ${TEST_API_KEY.slice(0, 8)}************************${TEST_API_KEY.slice(-6)}. You can find your API key at https://platform.openai.com/account/api-keys.`;
    const replay = replayTransport({ status: 401, body: JSON.stringify({ error: { message: echoed, type: "invalid_request_error", param: null, code: "invalid_api_key" } }) });
    const error = await adapterFor(replay).generate(input, callOptions("m")).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: Code.Internal, reason: Reason.PROVIDER_AUTH_FAILED, facts: { upstreamStatus: 401 } });
    const message = (error as Error).message;
    for (const fragment of [TEST_API_KEY, TEST_API_KEY.slice(0, 8), TEST_API_KEY.slice(-6), "Incorrect API key"]) expect(message).not.toContain(fragment);
    expect(toRestError(error as never).status).toBe(502);
  });

  it.each([
    [500, "server_error", Code.Unavailable, Reason.PROVIDER_UNAVAILABLE, 503],
    [503, "overloaded", Code.Unavailable, Reason.PROVIDER_UNAVAILABLE, 503],
    [504, "timeout", Code.DeadlineExceeded, Reason.UPSTREAM_TIMEOUT, 504],
    [404, "model_not_found", Code.NotFound, Reason.MODEL_NOT_FOUND, 404],
    [422, "unprocessable", Code.InvalidArgument, Reason.UPSTREAM_INVALID_REQUEST, 400],
    [403, "forbidden", Code.Internal, Reason.PROVIDER_AUTH_FAILED, 502],
    // A lock timeout ("Please retry", which the OpenAI SDKs retry) and Too Early are the provider's, not the request's.
    [409, "server_error", Code.Unavailable, Reason.PROVIDER_UNAVAILABLE, 503],
    [425, "too_early", Code.Unavailable, Reason.PROVIDER_UNAVAILABLE, 503],
    [413, "request_too_large", Code.ResourceExhausted, Reason.REQUEST_TOO_LARGE, 413],
  ])("hand-made: HTTP %i maps to its class", async (status, code, connectCode, reason, restStatus) => {
    const replay = replayTransport({ status, body: JSON.stringify({ error: { message: `failure ${code}`, type: code, code } }) });
    const error = await adapterFor(replay).generate(input, callOptions("m")).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: connectCode, reason, facts: { upstreamStatus: status } });
    expect(toRestError(error as never).status).toBe(restStatus);
  });

  it("hand-made: an error body that is not JSON keeps a bounded, scrubbed message", async () => {
    const replay = replayTransport({ status: 502, body: `<html>Bad gateway ${"x".repeat(2000)}</html>` });
    const error = await adapterFor(replay).generate(input, callOptions("m")).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ reason: Reason.PROVIDER_UNAVAILABLE });
    expect((error as Error).message.length).toBeLessThan(700);
  });

  it("hand-made: a 200 non-streaming body that is not JSON is INVALID_PROVIDER_RESPONSE (REST 502)", async () => {
    const error = await adapterFor(replayTransport({ body: "<html>oops</html>" })).generate(input, callOptions("m")).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ code: Code.Internal, reason: Reason.INVALID_PROVIDER_RESPONSE, facts: { upstreamStatus: 200 } });
    expect(toRestError(error as never).status).toBe(502);
  });

  it("hand-made: a non-streaming zero-argument call gets '{}' and object arguments become JSON text", async () => {
    const body = {
      id: "chatcmpl-x",
      created: 1,
      choices: [null, { index: 0, message: { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "ping", arguments: "" } }, { id: "c2", function: { name: "f", arguments: { a: 1 } } }] }, finish_reason: "tool_calls" }],
    };
    const response = await adapterFor(replayTransport({ body: JSON.stringify(body) })).generate(input, callOptions("m"));
    expect(response.choices[0]?.message?.toolCalls.map((call) => [call.id, call.name, call.arguments])).toEqual([["c1", "ping", "{}"], ["c2", "f", '{"a":1}']]);
  });

  it("hand-made: an account without base_url fails cleanly before any request", async () => {
    const replay = replayTransport({ body: "" });
    const error = await adapterFor(replay, { type: "openai-compatible", baseUrl: undefined }).generate(input, callOptions("m")).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ reason: Reason.INTERNAL_ERROR });
    expect(replay.requests).toEqual([]);
  });
});

describe("OpenAI adapter: cancellation", () => {
  it("hand-made: a caller abort mid-stream aborts the upstream request and ends the stream with CANCELED", async () => {
    const body = sse([chunk({ content: "one" }), chunk({ content: "two" }), chunk({ content: "three" }), chunk({}, { finish: "stop" })]);
    const replay = replayTransport({ body, sliceSizes: [16] });
    const controller = new AbortController();
    const seen: string[] = [];
    let caught: unknown;
    try {
      for await (const event of adapterFor(replay).stream(input, callOptions("m", controller.signal))) {
        seen.push(event.event.case ?? "");
        if (event.event.case === "textDelta") controller.abort();
      }
    } catch (error) {
      caught = error;
    }
    expect(seen).toEqual(["responseStart", "textDelta"]);
    expect(caught).toMatchObject({ code: Code.Canceled, reason: Reason.CANCELED });
    expect(replay.requests[0]?.signal.aborted).toBe(true);
  });

  it("hand-made: a consumer that stops reading early releases the upstream request", async () => {
    const replay = replayTransport({ body: sse([chunk({ content: "one" }), chunk({ content: "two" }), chunk({}, { finish: "stop" })]) });
    for await (const event of adapterFor(replay).stream(input, callOptions("m"))) {
      if (event.event.case === "textDelta") break;
    }
    expect(replay.requests[0]?.signal.aborted).toBe(true);
  });

  it("hand-made: a caller abort before the answer aborts a non-streaming request", async () => {
    const replay = replayTransport({ body: JSON.stringify({ id: "x", choices: [] }), sliceSizes: [1] });
    const controller = new AbortController();
    const pending = adapterFor(replay).generate(input, callOptions("m", controller.signal));
    setImmediate(() => controller.abort());
    await expect(pending).rejects.toMatchObject({ code: Code.Canceled });
    expect(replay.requests[0]?.signal.aborted).toBe(true);
  });
});
