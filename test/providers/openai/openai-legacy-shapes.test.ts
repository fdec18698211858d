import { describe, expect, it } from "vitest";
import { FinishReason } from "../../../gen/switchyard/v1/chat_pb.js";
import { callOptions, user } from "../../support/proto-builders.js";
import { replayTransport } from "../../support/replay-transport.js";
import { collect } from "../../support/stream-collectors.js";
import { adapterFor, chatInput, chunk, summarize, type EventSummary } from "./openai-test-setup.js";

/*
 * Older shapes that OpenAI-compatible servers still send (hand-made from the servers' sources and
 * samples of their time; no recording of them is in ../shared/fixtures/upstream). Each was lost or
 * failed before: the stream's `[DONE]` with a trailing blank, text-generation-inference 1.4–2.0's
 * `tool_calls` as one object with `parameters`, and older vLLM chat answers' logprobs in the
 * completions API's shape.
 */

const COMPATIBLE = { type: "openai-compatible", baseUrl: "https://llm.internal.example/v1" } as const;
const input = chatInput({ messages: [user("hi")] });

/** SSE frames exactly as given (the helper's `sse` always writes a clean `[DONE]`). */
function frames(payloads: readonly (object | string)[], separator = "\n\n"): string {
  return payloads.map((payload) => `data: ${typeof payload === "string" ? payload : JSON.stringify(payload)}${separator}`).join("");
}

describe("the end marker", () => {
  it.each([
    ["a trailing space", "[DONE] ", "\n\n"],
    ["a trailing tab, CRLF framing", "[DONE]\t", "\r\n\r\n"],
  ])("hand-made: `data: [DONE]` with %s ends the answer as the SDKs read it (FastAPI servers, Azure's sample)", async (_, done, separator) => {
    const body = frames([chunk({ role: "assistant", content: "" }), chunk({ content: "Hello there" }), chunk({}, { finish: "stop" }), done], separator);
    const events = await collect(adapterFor(replayTransport({ body }), COMPATIBLE).stream(input, callOptions("m")));
    expect(summarize(events).filter(([kind]) => kind !== "usage")).toEqual<EventSummary[]>([["start", "chatcmpl-hand"], ["text", 0, "Hello there"], ["finish", 0, FinishReason.STOP, "stop"]]);
  });
});

describe("text-generation-inference 1.4–2.0: tool_calls as one object, arguments as `parameters`", () => {
  it("hand-made (router/src/lib.rs of that era): a whole answer's call is read, its parameters as the arguments", async () => {
    const body = JSON.stringify({
      id: "",
      object: "text_completion",
      created: 1712861283,
      model: "mistralai/Mistral-7B-Instruct-v0.2",
      choices: [{ index: 0, message: { role: "assistant", tool_calls: { id: 0, type: "function", function: { description: null, name: "get_current_weather", parameters: { location: "Paris" } } } }, logprobs: null, finish_reason: "eos_token" }],
      usage: { prompt_tokens: 19, completion_tokens: 31, total_tokens: 50 },
    });
    const answer = await adapterFor(replayTransport({ body }), COMPATIBLE).generate(input, callOptions("m"));
    const calls = answer.choices[0]?.message?.toolCalls ?? [];
    expect(calls.map((call) => [call.name, call.arguments])).toEqual([["get_current_weather", '{"location":"Paris"}']]);
    expect(calls[0]?.id).toMatch(/^call_/);
    expect(answer.choices[0]).toMatchObject({ finishReason: FinishReason.TOOL_CALLS, rawFinishReason: "eos_token" });
  });

  it("hand-made: a streamed call object is a call, not a silent empty answer", async () => {
    const tool = (args: string) => ({ tool_calls: { index: 0, id: "", type: "function", function: { name: null, arguments: args } } });
    const body = frames([chunk({ role: "assistant", ...tool('{"location":') }), chunk(tool(' "Paris"}')), chunk(tool(""), { finish: "eos_token" }), "[DONE]"]);
    const events = summarize(await collect(adapterFor(replayTransport({ body }), COMPATIBLE).stream(input, callOptions("m"))));
    expect(events.filter(([kind]) => kind === "tool_delta").map((event) => event[3]).join("")).toBe('{"location": "Paris"}');
    expect(events.filter(([kind]) => kind === "finish")).toEqual<EventSummary[]>([["finish", 0, FinishReason.TOOL_CALLS, "eos_token"]]);
  });

  const call = { tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: "{}" } }] };
  it.each([
    ["eos_token", "tool_calls", FinishReason.TOOL_CALLS],
    ["eos_token", "text", FinishReason.STOP],
    ["some_new_reason", "tool_calls", FinishReason.TOOL_CALLS],
    // OpenAI answers `stop` when tool_choice forced a function: a value OpenAI defines keeps its meaning.
    ["stop", "tool_calls", FinishReason.STOP],
    ["length", "tool_calls", FinishReason.LENGTH],
  ] as const)("finish_reason %s on a choice with %s: a value OpenAI does not define is tool_calls when the choice called tools, one it defines keeps its meaning (whole and streamed)", async (raw, output, expected) => {
    const message = output === "tool_calls" ? { role: "assistant", content: null, ...call } : { role: "assistant", content: "Hi" };
    const body = JSON.stringify({ id: "x1", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message, logprobs: null, finish_reason: raw }] });
    const answer = await adapterFor(replayTransport({ body }), COMPATIBLE).generate(input, callOptions("m"));
    expect(answer.choices[0]).toMatchObject({ finishReason: expected, rawFinishReason: raw });
    const delta = output === "tool_calls" ? { role: "assistant", ...call } : { role: "assistant", content: "Hi" };
    const events = summarize(await collect(adapterFor(replayTransport({ body: frames([chunk(delta), chunk({}, { finish: raw }), "[DONE]"]) }), COMPATIBLE).stream(input, callOptions("m"))));
    expect(events.filter(([kind]) => kind === "finish")).toEqual<EventSummary[]>([["finish", 0, expected, raw]]);
  });
});

describe("older vLLM chat answers: logprobs in the completions API's shape", () => {
  const legacy = (tokens: string[], values: number[]) => ({ text_offset: tokens.map((_, i) => i), token_logprobs: values, tokens, top_logprobs: tokens.map((token, i) => ({ [token]: values[i], " else": -3 })) });
  const top = (token: string, logprob: number) => [{ token, logprob }, { token: " else", logprob: -3 }];

  it("hand-made: a whole answer's are read as the chat shape, not an empty list", async () => {
    const body = JSON.stringify({ id: "cmpl-v", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "Hello!" }, logprobs: legacy(["Hello", "!"], [-0.1, -0.2]), finish_reason: "stop" }] });
    const answer = await adapterFor(replayTransport({ body }), COMPATIBLE).generate(input, callOptions("m"));
    const content = answer.choices[0]?.logprobs?.content ?? [];
    expect(content.map((entry) => [entry.token, entry.logprob, entry.topLogprobs.map((t) => ({ token: t.token, logprob: t.logprob }))])).toEqual([
      ["Hello", -0.1, top("Hello", -0.1)],
      ["!", -0.2, top("!", -0.2)],
    ]);
  });

  it("hand-made: a stream's are too", async () => {
    const body = frames([
      { ...chunk({ role: "assistant", content: "Hello" }), choices: [{ index: 0, delta: { role: "assistant", content: "Hello" }, logprobs: legacy(["Hello"], [-0.1]), finish_reason: null }] },
      { ...chunk({ content: "!" }), choices: [{ index: 0, delta: { content: "!" }, logprobs: legacy(["!"], [-0.2]), finish_reason: "stop" }] },
      "[DONE]",
    ]);
    const events = summarize(await collect(adapterFor(replayTransport({ body }), COMPATIBLE).stream(input, callOptions("m"))));
    expect(events.filter(([kind]) => kind === "text+logprobs")).toEqual<EventSummary[]>([
      ["text+logprobs", 0, "Hello", [{ token: "Hello", logprob: -0.1, bytes: [], top: top("Hello", -0.1) }]],
      ["text+logprobs", 0, "!", [{ token: "!", logprob: -0.2, bytes: [], top: top("!", -0.2) }]],
    ]);
  });

  it("hand-made: a token whose logprob is null gets OpenAI's -9999 (no meaningful probability), not 0 (certainty)", async () => {
    const logprobs = { tokens: ["Hi", " there"], token_logprobs: [-0.1, null], top_logprobs: [{ Hi: -0.1, " else": null }, null] };
    const body = JSON.stringify({ id: "cmpl-v", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "Hi there" }, logprobs, finish_reason: "stop" }] });
    const answer = await adapterFor(replayTransport({ body }), COMPATIBLE).generate(input, callOptions("m"));
    const content = answer.choices[0]?.logprobs?.content ?? [];
    expect(content.map((entry) => [entry.token, entry.logprob, entry.topLogprobs.length])).toEqual([
      ["Hi", -0.1, 2],
      [" there", -9999, 0],
    ]);
    // An alternative without a logprob is kept, at -9999, as in the chat shape.
    expect(content[0]?.topLogprobs.map((top) => [top.token, top.logprob])).toEqual([
      ["Hi", -0.1],
      [" else", -9999],
    ]);
  });
});

describe("the chat shape's logprobs from a server that leaves one out", () => {
  it("hand-made: a null logprob (the token's or a top one's) is -9999, OpenAI's 'no meaningful probability', not 0 (certainty)", async () => {
    const logprobs = { content: [{ token: "Hi", logprob: null, bytes: null, top_logprobs: [{ token: "Hi", logprob: null, bytes: null }] }] };
    const body = JSON.stringify({ id: "cmpl-n", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "Hi" }, logprobs, finish_reason: "stop" }] });
    const answer = await adapterFor(replayTransport({ body }), COMPATIBLE).generate(input, callOptions("m"));
    const entry = answer.choices[0]?.logprobs?.content[0];
    expect([entry?.logprob, entry?.topLogprobs[0]?.logprob]).toEqual([-9999, -9999]);
  });
});

describe("a running usage on every chunk (vLLM's stream_options.continuous_usage_stats)", () => {
  const running = (completion: number, cached = 0) => ({ prompt_tokens: 5, completion_tokens: completion, total_tokens: 5 + completion, prompt_tokens_details: { cached_tokens: cached } });
  const usageOf = (events: EventSummary[]) => events.filter(([kind]) => kind === "usage");

  it("hand-made: the usage-only chunk after the finishes is the total, not the finish chunk's running count (n = 2: one choice's)", async () => {
    const twoChoices = chatInput({ messages: [user("hi")], n: 2 });
    const body = frames([
      { ...chunk({ role: "assistant", content: "A" }, { index: 0 }), usage: running(1) },
      { ...chunk({ role: "assistant", content: "B" }, { index: 1 }), usage: running(1) },
      { ...chunk({}, { index: 0, finish: "stop" }), usage: running(3) },
      { ...chunk({}, { index: 1, finish: "stop" }), usage: running(2) },
      { id: "chatcmpl-hand", object: "chat.completion.chunk", created: 1_700_000_000, model: "m", choices: [], usage: running(5, 4) },
      "[DONE]",
    ]);
    const events = summarize(await collect(adapterFor(replayTransport({ body }), COMPATIBLE).stream(twoChoices, callOptions("m"))));
    expect(usageOf(events)).toEqual([["usage", expect.objectContaining({ prompt: 5, completion: 5, cached: 4 })]]);
  });

  it("hand-made: usage that rides only on the finish chunk (Mistral, Groq) still goes at the finish", async () => {
    const body = frames([chunk({ role: "assistant", content: "Hi" }), chunk({}, { finish: "stop", usage: running(2) }), "[DONE]"]);
    const events = summarize(await collect(adapterFor(replayTransport({ body }), COMPATIBLE).stream(input, callOptions("m"))));
    expect(usageOf(events)).toEqual([["usage", expect.objectContaining({ prompt: 5, completion: 2 })]]);
  });
});
