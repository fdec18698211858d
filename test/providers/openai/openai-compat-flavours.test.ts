import { describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { FinishReason, Role } from "../../../gen/switchyard/v1/chat_pb.js";
import { Reason } from "../../../src/core/errors.js";
import { toRestError } from "../../../src/http/openai-compat/error-response.js";
import { postChat, sseFrames, testApp } from "../../http/rest-test-setup.js";
import { STREAM_OPTIONS_REFUSED_WARNING } from "../../../src/providers/openai/openai-adapter.js";
import { callOptions, developer, toolResult, user } from "../../support/proto-builders.js";
import { replayTransport } from "../../support/replay-transport.js";
import { collect, collectUntilError } from "../../support/stream-collectors.js";
import { usage } from "../../support/usage-summary.js";
import { adapterFor, chatInput, chunk, sse, summarize, type EventSummary } from "./openai-test-setup.js";

/*
 * Quirks of particular OpenAI-compatible servers. The error bodies are hand-made, copied from the
 * answers quoted in public issue threads (no recording of them is in ../shared/fixtures/upstream).
 */

const MISTRAL = { name: "mistral", type: "openai-compatible", apiKey: "mistral-TESTKEY0123456789abcdef", baseUrl: "https://api.mistral.ai/v1" } as const;

/** Mistral's 422 for `stream_options` (openai/openai-agents-python#442, avante.nvim#2347): `message` is an object. */
const MISTRAL_STREAM_OPTIONS_422 = {
  object: "error",
  message: { detail: [{ type: "extra_forbidden", loc: ["body", "stream_options", "include_usage"], msg: "Extra inputs are not permitted", input: true }] },
  type: "invalid_request_error",
  param: null,
  code: null,
};

/** Azure OpenAI before api-version 2024-09-01 (langchain-ai/langchain#23552). */
const AZURE_STREAM_OPTIONS_400 = { error: { code: null, message: "Unrecognized request argument supplied: stream_options", param: null, type: "invalid_request_error" } };

/** A Mistral-style stream: usage on the finish chunk, without being asked. */
const mistralStream = sse([chunk({ role: "assistant", content: "Bonjour" }, { id: "cmpl-m" }), chunk({}, { id: "cmpl-m", finish: "stop", usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 } })]);

const streamed: EventSummary[] = [
  ["start", "cmpl-m"],
  ["text", 0, "Bonjour"],
  ["finish", 0, FinishReason.STOP, "stop"],
  ["usage", usage({ prompt: 7, completion: 2 })],
];

describe("OpenAI-compatible servers that refuse stream_options", () => {
  it("hand-made: Mistral's 422 for the stream_options the gateway added is answered by sending the stream again without it, and the account is not sent it again", async () => {
    const replay = replayTransport({ status: 422, headers: { "content-type": "application/json" }, body: JSON.stringify(MISTRAL_STREAM_OPTIONS_422) }, { headers: { "content-type": "text/event-stream" }, body: mistralStream });
    const adapter = adapterFor(replay, MISTRAL);
    const input = chatInput({ model: "mistral/mistral-small-latest", messages: [user("Salut")] });
    const events = await collect(adapter.stream(input, callOptions("mistral-small-latest")));
    expect(summarize(events)).toEqual(streamed);
    expect(events[0]?.event.case === "responseStart" ? events[0].event.value.warnings : []).toContain(STREAM_OPTIONS_REFUSED_WARNING);
    expect(replay.requests.map((request) => request.json)).toEqual([
      { model: "mistral-small-latest", messages: [{ role: "user", content: "Salut" }], stream: true, stream_options: { include_usage: true } },
      { model: "mistral-small-latest", messages: [{ role: "user", content: "Salut" }], stream: true },
    ]);

    const again = await collect(adapter.stream(input, callOptions("mistral-small-latest")));
    expect(summarize(again)).toEqual(streamed);
    expect(replay.requests).toHaveLength(3);
    expect(replay.requests[2]?.json).not.toHaveProperty("stream_options");
  });

  it("hand-made: Azure's 400 'Unrecognized request argument supplied: stream_options' is answered the same way", async () => {
    const replay = replayTransport({ status: 400, body: JSON.stringify(AZURE_STREAM_OPTIONS_400) }, { headers: { "content-type": "text/event-stream" }, body: mistralStream });
    const adapter = adapterFor(replay, { name: "azure", type: "openai-compatible", baseUrl: "https://r.openai.azure.com/openai/deployments/gpt4o?api-version=2024-06-01" });
    const events = await collect(adapter.stream(chatInput({ messages: [user("hi")] }), callOptions("gpt-4o")));
    expect(summarize(events)).toEqual(streamed);
    expect(replay.requests.map((request) => request.url)).toEqual(Array(2).fill("https://r.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-06-01"));
    expect(replay.requests[1]?.json).not.toHaveProperty("stream_options");
  });

  it("hand-made: a 400 about something else is the caller's error, with no second request", async () => {
    const replay = replayTransport({ status: 400, body: JSON.stringify({ error: { message: "Invalid value for 'temperature'", type: "invalid_request_error", param: "temperature", code: "invalid_value" } }) });
    const { items, error } = await collectUntilError(adapterFor(replay, MISTRAL).stream(chatInput({ messages: [user("hi")], temperature: 9 }), callOptions("m")));
    expect(items).toEqual([]);
    expect(error).toMatchObject({ code: Code.InvalidArgument, reason: Reason.UPSTREAM_INVALID_REQUEST, facts: { param: "temperature", upstreamStatus: 400 } });
    expect((error as Error).message).toContain("Invalid value for 'temperature'");
    expect(replay.requests).toHaveLength(1);
  });

  it("hand-made: a 400 for another reason that echoes the request (stream_options included) is returned, and later streams still ask for usage", async () => {
    // A pydantic-style validation error quoting the whole body, as vLLM's FastAPI layer writes them.
    const echoing = { object: "error", message: "1 validation error: messages.0.role: Input should be 'user' [type=literal_error, input_value={'model': 'm', 'stream': True, 'stream_options': {'include_usage': True}}]", type: "BadRequestError", param: null, code: 400 };
    const refusal = { status: 400, headers: { "content-type": "application/json" }, body: JSON.stringify(echoing) };
    const replay = replayTransport(refusal, refusal, { headers: { "content-type": "text/event-stream" }, body: mistralStream });
    const adapter = adapterFor(replay, MISTRAL);
    const { error } = await collectUntilError(adapter.stream(chatInput({ messages: [user("hi")] }), callOptions("m")));
    expect(error).toMatchObject({ reason: Reason.UPSTREAM_INVALID_REQUEST, facts: { upstreamStatus: 400 } });
    expect(replay.requests).toHaveLength(2);
    const later = await collect(adapter.stream(chatInput({ messages: [user("hi")] }), callOptions("m")));
    expect(summarize(later)).toEqual(streamed);
    expect(replay.requests[2]?.json).toMatchObject({ stream_options: { include_usage: true } });
    expect(later[0]?.event.case === "responseStart" ? later[0].event.value.warnings : ["?"]).not.toContain(STREAM_OPTIONS_REFUSED_WARNING);
  });

  it("hand-made: stream_options the caller set in provider_options.openai are the caller's: a refusal is returned, not worked around", async () => {
    const replay = replayTransport({ status: 422, body: JSON.stringify(MISTRAL_STREAM_OPTIONS_422) });
    const input = chatInput({ messages: [user("hi")], providerOptions: { openai: { stream_options: { include_usage: true, include_obfuscation: false } } } });
    const { error } = await collectUntilError(adapterFor(replay, MISTRAL).stream(input, callOptions("m")));
    expect(error).toMatchObject({ reason: Reason.UPSTREAM_INVALID_REQUEST, facts: { upstreamStatus: 422 } });
    expect(replay.requests).toHaveLength(1);
    expect(replay.requests[0]?.json).toMatchObject({ stream_options: { include_usage: true, include_obfuscation: false } });
  });
});

describe("error bodies whose message is not a string", () => {
  it("hand-made: Mistral's 422 with a structured message keeps its detail in the caller's message", async () => {
    const body = { ...MISTRAL_STREAM_OPTIONS_422, message: { detail: [{ type: "extra_forbidden", loc: ["body", "logit_bias"], msg: "Extra inputs are not permitted", input: { "50256": -100 } }] } };
    const replay = replayTransport({ status: 422, body: JSON.stringify(body) });
    const error = await adapterFor(replay, MISTRAL).generate(chatInput({ messages: [user("hi")], logitBias: { "50256": -100 } }), callOptions("m")).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ reason: Reason.UPSTREAM_INVALID_REQUEST, facts: { upstreamStatus: 422 } });
    expect((error as Error).message).toContain('"loc":["body","logit_bias"],"msg":"Extra inputs are not permitted"');
  });

  it("hand-made: a FastAPI-style {detail} body (no message) is relayed, bounded", async () => {
    const replay = replayTransport({ status: 422, body: JSON.stringify({ detail: [{ loc: ["body", "messages", 0, "role"], msg: "Input should be a valid role. ".repeat(200), type: "value_error" }] }) });
    const error = await adapterFor(replay, MISTRAL).generate(chatInput({ messages: [user("hi")] }), callOptions("m")).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ reason: Reason.UPSTREAM_INVALID_REQUEST, facts: { upstreamStatus: 422 } });
    expect((error as Error).message).toContain('[{"loc":["body","messages",0,"role"],"msg":"Input should be a valid role. Input');
    expect((error as Error).message.length).toBeLessThan(1200);
  });
});

describe("the developer role", () => {
  it("goes to an OpenAI-compatible server as system (vLLM's chat templates answer 'Unexpected message role.' to developer), to OpenAI as developer", async () => {
    const answer = { headers: { "content-type": "application/json" }, body: JSON.stringify({ id: "c", choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }] }) };
    const input = chatInput({ messages: [developer("Be brief."), user("hi")] });
    const vllm = replayTransport(answer);
    await adapterFor(vllm, { name: "local-vllm", type: "openai-compatible", apiKey: undefined, baseUrl: "http://127.0.0.1:8000/v1" }).generate(input, callOptions("Qwen/Qwen3-8B"));
    expect(vllm.requests[0]?.json).toEqual({ model: "Qwen/Qwen3-8B", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "hi" }] });
    const openai = replayTransport(answer);
    await adapterFor(openai).generate(input, callOptions("o3-mini"));
    expect(openai.requests[0]?.json).toEqual({ model: "o3-mini", messages: [{ role: "developer", content: "Be brief." }, { role: "user", content: "hi" }] });
  });
});

describe("a 200 answer that is an error (OpenRouter, once its 200 is out)", () => {
  const OPENROUTER = { name: "openrouter", type: "openai-compatible", apiKey: "sk-or-v1-TESTKEY0123456789abcdef", baseUrl: "https://openrouter.ai/api/v1" } as const;
  const generate = async (body: object) => {
    const replay = replayTransport({ headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return adapterFor(replay, OPENROUTER).generate(chatInput({ messages: [user("hi")] }), callOptions("google/gemini-2.0-flash-exp:free")).catch((thrown: unknown) => thrown);
  };

  it("hand-made: its numeric code is read as the status: 429 is a rate limit, not a malformed answer (the body quoted in Aider-AI/aider#3550)", async () => {
    const error = await generate({ error: { message: "Rate limit exceeded: free-models-per-day", code: 429, metadata: { headers: { "X-RateLimit-Limit": "200", "X-RateLimit-Remaining": "0" }, provider_name: "Google AI Studio" } }, user_id: "user_X" });
    expect(error).toMatchObject({ code: Code.ResourceExhausted, reason: Reason.RATE_LIMIT_EXCEEDED, facts: { provider: "openrouter", upstreamStatus: 429 } });
    expect((error as Error).message).toContain("Rate limit exceeded: free-models-per-day");
    expect(toRestError(error as never)).toMatchObject({ status: 429, body: { error: { code: "rate_limit_exceeded" } } });
  });

  it("hand-made: an over-long prompt is CONTEXT_LENGTH_EXCEEDED; 404 and 502 follow their status", async () => {
    expect(await generate({ error: { message: "This endpoint's maximum context length is 8192 tokens. However, you requested about 9000 tokens.", code: 400 } })).toMatchObject({ reason: Reason.CONTEXT_LENGTH_EXCEEDED });
    expect(await generate({ error: { message: "No endpoints found that support image input", code: 404 } })).toMatchObject({ reason: Reason.MODEL_NOT_FOUND });
    expect(await generate({ error: { message: "Provider returned error", code: 502 } })).toMatchObject({ reason: Reason.PROVIDER_UNAVAILABLE, facts: { upstreamStatus: 502 } });
  });

  it("hand-made: without a numeric code the structured type decides; a body with neither error nor choices is still a malformed answer", async () => {
    expect(await generate({ error: { message: "overloaded", type: "server_error" } })).toMatchObject({ reason: Reason.PROVIDER_UNAVAILABLE, facts: { upstreamCode: "server_error" } });
    expect(await generate({ error: { message: "bad", type: "invalid_request_error" } })).toMatchObject({ reason: Reason.UPSTREAM_INVALID_REQUEST });
    expect(await generate({ id: "x" })).toMatchObject({ reason: Reason.INVALID_PROVIDER_RESPONSE });
  });
});

describe("content sent as an array of chunks (Mistral's reasoning models)", () => {
  const thinking = (text: string) => ({ type: "thinking", thinking: [{ type: "text", text }] });

  it("hand-made: streamed thinking chunks become reasoning and text chunks text, none of it lost", async () => {
    const body = sse([
      chunk({ role: "assistant", content: [thinking("The user greets")] }, { id: "cmpl-r" }),
      chunk({ content: [thinking(" me in French.")] }, { id: "cmpl-r" }),
      chunk({ content: [{ type: "text", text: "Bonjour" }] }, { id: "cmpl-r" }),
      chunk({ content: " !" }, { id: "cmpl-r" }),
      chunk({}, { id: "cmpl-r", finish: "stop", usage: { prompt_tokens: 9, completion_tokens: 20, total_tokens: 29 } }),
    ]);
    const replay = replayTransport({ headers: { "content-type": "text/event-stream" }, body });
    const events = summarize(await collect(adapterFor(replay, MISTRAL).stream(chatInput({ messages: [user("Salut")], reasoningEffort: "high" }), callOptions("magistral-medium-latest"))));
    expect(events).toEqual<EventSummary[]>([
      ["start", "cmpl-r"],
      ["reasoning", 0, "The user greets"],
      ["reasoning", 0, " me in French."],
      ["text", 0, "Bonjour"],
      ["text", 0, " !"],
      ["finish", 0, FinishReason.STOP, "stop"],
      ["usage", usage({ prompt: 9, completion: 20 })],
    ]);
  });

  it("hand-made: a whole answer's chunked content keeps its reasoning and its text", async () => {
    const answer = { id: "cmpl-r", choices: [{ index: 0, message: { role: "assistant", content: [thinking("Short."), { type: "text", text: "Bonjour !" }] }, finish_reason: "stop" }] };
    const replay = replayTransport({ headers: { "content-type": "application/json" }, body: JSON.stringify(answer) });
    const response = await adapterFor(replay, MISTRAL).generate(chatInput({ messages: [user("Salut")] }), callOptions("magistral-medium-latest"));
    expect(response.choices[0]?.message?.content.map((part) => part.part)).toEqual([
      { case: "reasoning", value: expect.objectContaining({ text: "Short." }) },
      { case: "text", value: "Bonjour !" },
    ]);
  });
});

describe("Azure OpenAI's prompt filter", () => {
  it("hand-made: a 400 with code content_filter (the body of Azure's content-filtering docs) is CONTENT_FILTER, a 400 naming the prompt", async () => {
    const body = {
      error: {
        message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
        type: null,
        param: "prompt",
        code: "content_filter",
        status: 400,
        innererror: { code: "ResponsibleAIPolicyViolation", content_filter_result: { hate: { filtered: true, severity: "high" } } },
      },
    };
    const replay = replayTransport({ status: 400, body: JSON.stringify(body) });
    const adapter = adapterFor(replay, { name: "azure", type: "openai-compatible", baseUrl: "https://r.openai.azure.com/openai/deployments/gpt4o?api-version=2024-10-21" });
    const { error } = await collectUntilError(adapter.stream(chatInput({ messages: [user("something hateful")] }), callOptions("gpt-4o")));
    expect(error).toMatchObject({ code: Code.InvalidArgument, reason: Reason.CONTENT_FILTER, facts: { upstreamStatus: 400, upstreamCode: "content_filter", param: "prompt" } });
    expect(toRestError(error as never)).toMatchObject({ status: 400, body: { error: { type: "invalid_request_error", param: "prompt", code: "content_filter" } } });
    expect(replay.requests).toHaveLength(1);
  });
});

describe("tool-call ids a server wants as 9 letters and digits (Mistral)", () => {
  it("hand-made: Mistral's 400 'Tool call id was … with a length of 9' is answered by sending the ids mapped consistently, from then on", async () => {
    // The error body Mistral answers (nearai/ironclaw#1241); a legacy `functions` history carries the gateway's own ids.
    const refusal = { object: "error", message: "Tool call id was call_legacy_get_weather but must be a-z, A-Z, 0-9, with a length of 9.", type: "invalid_function_call", param: null, code: "3280" };
    const answer = { headers: { "content-type": "application/json" }, body: JSON.stringify({ id: "c", choices: [{ index: 0, message: { role: "assistant", content: "Sunny." }, finish_reason: "stop" }] }) };
    const replay = replayTransport({ status: 400, body: JSON.stringify(refusal) }, answer);
    const adapter = adapterFor(replay, MISTRAL);
    const history = chatInput({
      messages: [
        user("Weather?"),
        { role: Role.ASSISTANT, toolCalls: [{ id: "call_legacy_get_weather", name: "get_weather", arguments: "{}" }, { id: "AbCdE1234", name: "get_time", arguments: "{}" }] },
        toolResult("call_legacy_get_weather", "sunny"),
        toolResult("AbCdE1234", "noon"),
      ],
    });
    const response = await adapter.generate(history, callOptions("mistral-large-latest"));
    expect(response.choices[0]?.message?.content.map((part) => part.part.value)).toEqual(["Sunny."]);
    const ids = (json: unknown) => ((json as { messages: { tool_calls?: { id: string }[]; tool_call_id?: string }[] }).messages).flatMap((message) => [...(message.tool_calls ?? []).map((call) => call.id), ...(message.tool_call_id ? [message.tool_call_id] : [])]);
    expect(ids(replay.requests[0]?.json)).toEqual(["call_legacy_get_weather", "AbCdE1234", "call_legacy_get_weather", "AbCdE1234"]);
    const mapped = ids(replay.requests[1]?.json);
    expect(mapped[0]).toMatch(/^[a-zA-Z0-9]{9}$/);
    expect(mapped).toEqual([mapped[0], "AbCdE1234", mapped[0], "AbCdE1234"]);
    await adapter.generate(history, callOptions("mistral-large-latest"));
    expect(replay.requests).toHaveLength(3);
    expect(ids(replay.requests[2]?.json)).toEqual(mapped);
  });

  it("hand-made: the same refusal for a request without tool calls is returned, not retried", async () => {
    const replay = replayTransport({ status: 400, body: JSON.stringify({ object: "error", message: "Tool call id was x but must be a-z, A-Z, 0-9, with a length of 9.", type: "invalid_function_call", param: null, code: "3280" }) });
    const error = await adapterFor(replay, MISTRAL).generate(chatInput({ messages: [user("hi")] }), callOptions("m")).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ reason: Reason.UPSTREAM_INVALID_REQUEST });
    expect(replay.requests).toHaveLength(1);
  });
});

describe("a seed a server takes as random_seed (Mistral)", () => {
  it("hand-made: Mistral's 422 extra_forbidden for seed is answered by sending it as random_seed, from then on", async () => {
    // The shape of Mistral's refusal of an extra input (langchain-azure#82 quotes it for seed on Mistral-Large).
    const refusal = { object: "error", message: { detail: [{ type: "extra_forbidden", loc: ["body", "seed"], msg: "Extra inputs are not permitted", input: 42 }] }, type: "invalid_request_error", param: null, code: null };
    const answer = { headers: { "content-type": "application/json" }, body: JSON.stringify({ id: "c", choices: [{ index: 0, message: { role: "assistant", content: "Bonjour" }, finish_reason: "stop" }] }) };
    const replay = replayTransport({ status: 422, body: JSON.stringify(refusal) }, answer, answer);
    const adapter = adapterFor(replay, MISTRAL);
    const input = chatInput({ seed: 42n, messages: [user("Salut")] });
    const response = await adapter.generate(input, callOptions("mistral-large-latest"));
    expect(response.warnings).toEqual([]);
    expect(replay.requests[0]?.json).toMatchObject({ seed: 42 });
    expect(replay.requests[1]?.json).toMatchObject({ random_seed: 42 });
    expect(replay.requests[1]?.json).not.toHaveProperty("seed");
    await adapter.generate(input, callOptions("mistral-large-latest"));
    expect(replay.requests).toHaveLength(3);
    expect(replay.requests[2]?.json).toMatchObject({ random_seed: 42 });
    // Learned for that model: another model behind the same account (a proxy) still gets seed.
    await adapter.generate(input, callOptions("llama-3.3-70b"));
    expect(replay.requests[3]?.json).toMatchObject({ seed: 42 });
  });

  it("hand-made: a 422 about another field is returned as it is", async () => {
    const refusal = { object: "error", message: { detail: [{ type: "extra_forbidden", loc: ["body", "seedling"], msg: "Extra inputs are not permitted", input: 1 }] }, type: "invalid_request_error", param: null, code: null };
    const replay = replayTransport({ status: 422, body: JSON.stringify(refusal) });
    const error = await adapterFor(replay, MISTRAL).generate(chatInput({ seed: 42n, messages: [user("Salut")] }), callOptions("m")).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ reason: Reason.UPSTREAM_INVALID_REQUEST });
    expect(replay.requests).toHaveLength(1);
  });
});

describe("through the REST front door", () => {
  it("hand-made: a compatible server's 422 for stream_options is invisible to the SDK caller but for the warning header; its own usage ends the stream", async () => {
    const { app, replay } = await testApp({ status: 422, body: JSON.stringify(MISTRAL_STREAM_OPTIONS_422) }, { headers: { "content-type": "text/event-stream" }, body: mistralStream });
    try {
      const response = await postChat(app, { model: "groq/mistral-small-latest", messages: [{ role: "developer", content: "Be brief." }, { role: "user", content: "Salut" }], stream: true, stream_options: { include_usage: true } });
      expect(response.statusCode).toBe(200);
      expect(response.headers["x-switchyard-warnings"]).toContain("stream_options.include_usage not sent");
      const frames = sseFrames(response.body);
      expect(frames.at(-1)).toBe("[DONE]");
      expect(JSON.parse(frames.at(-2) ?? "{}")).toMatchObject({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 } });
      expect(replay.requests.map((request) => request.json)).toEqual([
        { model: "mistral-small-latest", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Salut" }], stream: true, stream_options: { include_usage: true } },
        { model: "mistral-small-latest", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Salut" }], stream: true },
      ]);
    } finally {
      await app.close();
    }
  });
});

describe("OpenAI-compatible servers that give parallel calls one id", () => {
  const calls = [
    { id: "dup", type: "function", function: { name: "f", arguments: '{"a":1}' } },
    { id: "dup", type: "function", function: { name: "g", arguments: '{"b":2}' } },
    { id: "", type: "function", function: { name: "h", arguments: "{}" } },
  ];
  const answer = { id: "c", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: null, tool_calls: calls }, finish_reason: "tool_calls" }] };

  it("hand-made: a whole answer's second call with the id gets a generated one, as a streamed answer's does", async () => {
    const input = chatInput({ messages: [user("hi")], tools: [{ name: "f" }, { name: "g" }, { name: "h" }] });
    const whole = await adapterFor(replayTransport({ body: JSON.stringify(answer) }), MISTRAL).generate(input, callOptions("m"));
    const wholeIds = whole.choices[0]?.message?.toolCalls.map((call) => call.id) ?? [];
    const body = sse(calls.map((call, index) => chunk({ tool_calls: [{ index, ...call }] })).concat(chunk({}, { finish: "tool_calls" })));
    const streamedIds = summarize(await collect(adapterFor(replayTransport({ body }), MISTRAL).stream(input, callOptions("m")))).filter((event) => event[0] === "tool_start").map((event) => event[3]);
    for (const ids of [wholeIds, streamedIds]) {
      expect(ids).toHaveLength(3);
      expect(ids[0]).toBe("dup");
      expect(ids[1]).toMatch(/^call_[0-9A-Za-z]{24}$/);
      expect(new Set(ids).size).toBe(3);
    }
    expect(whole.choices[0]?.message?.toolCalls.map((call) => [call.name, call.arguments])).toEqual([["f", '{"a":1}'], ["g", '{"b":2}'], ["h", "{}"]]);
  });
});
