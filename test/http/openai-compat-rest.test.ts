import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { readFixture, readJsonFixture, sseFromChunks } from "../support/replay-transport.js";
import { GATEWAY_KEY, postChat, sseFrames, testApp, UPSTREAM_KEY, upstreamSse, type TestApp } from "./rest-test-setup.js";

let current: TestApp | undefined;
async function appWith(...answers: Parameters<typeof testApp>): Promise<TestApp> {
  current = await testApp(...answers);
  return current;
}
afterEach(async () => {
  await current?.app.close();
  current = undefined;
});

const model = "openai-main/gpt-4o-mini";
const hello = { model, messages: [{ role: "user", content: "hi" }] };
const chunk = (delta: object, finish: string | null = null) => ({ id: "chatcmpl-u", object: "chat.completion.chunk", created: 1_700_000_000, model: "gpt-4o-mini", choices: [{ index: 0, delta, finish_reason: finish }] });
const envelopeKeys = ["code", "message", "param", "type"];

interface Chunk {
  id: string;
  object: string;
  model: string;
  choices: { index: number; delta: Record<string, unknown>; finish_reason: string | null }[];
  usage?: unknown;
}

describe("POST /v1/chat/completions (JSON)", () => {
  it("answers a chat.completion from the recorded upstream body and forwards with the provider key", async () => {
    const { app, replay } = await appWith({ headers: { "content-type": "application/json" }, body: readFixture("openai/chat-nonstream-text.json") });
    const response = await postChat(app, { model: "openai-main/gpt-4.1-nano", messages: [{ role: "system", content: "Be creative." }, { role: "user", content: "Invent a holiday" }], max_tokens: 500 });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toMatch(/^application\/json/);
    expect(response.headers["x-switchyard-model"]).toBe("openai-main/gpt-4.1-nano");
    expect(response.headers["x-switchyard-provider"]).toBe("openai-main");
    const body = response.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      id: "chatcmpl-D8Z5f52zQqikDBEKQMQoYcWMcWPeU",
      object: "chat.completion",
      created: 1770933883,
      model: "openai-main/gpt-4.1-nano",
      choices: [{ index: 0, message: { role: "assistant", refusal: null }, logprobs: null, finish_reason: "stop" }],
      usage: { prompt_tokens: 16, completion_tokens: 363, total_tokens: 379 },
      system_fingerprint: "fp_de604bd877",
    });
    expect((body.choices as { message: { content: string } }[])[0]?.message.content).toMatch(/^\*\*Holiday Name:\*\* Galaxy Day/);
    const sent = replay.requests[0];
    expect(sent?.url).toBe("https://api.openai.com/v1/chat/completions");
    expect(sent?.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(sent?.json).toEqual({ model: "gpt-4.1-nano", messages: [{ role: "system", content: "Be creative." }, { role: "user", content: "Invent a holiday" }], max_completion_tokens: 500 });
  });

  it("answers a tool call with content null and tool_calls", async () => {
    const exchange = readJsonFixture<{ response: { body: unknown } }>("openai/chat-nonstream-tool-call.json");
    const { app } = await appWith({ body: JSON.stringify(exchange.response.body) });
    const response = await postChat(app, { ...hello, tools: [{ type: "function", function: { name: "get_capital", parameters: { type: "object" } } }] });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      choices: [{ message: { content: null, tool_calls: [{ id: "call_SkEQ3ZGSJC8m6AvaIGNuuKdm", type: "function", function: { name: "get_capital", arguments: '{"country":"England"}' } }] }, finish_reason: "tool_calls" }],
    });
  });

  it("lists the configured accounts' models on GET /v1/models behind the key", async () => {
    const { app } = await appWith();
    expect((await app.inject({ method: "GET", url: "/v1/models" })).statusCode).toBe(401);
    const response = await app.inject({ method: "GET", url: "/v1/models", headers: { authorization: `Bearer ${GATEWAY_KEY}` } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ object: "list" });
  });
});

describe("POST /v1/chat/completions (SSE)", () => {
  it("streams a tool call with include_usage: headers, role on the first chunk, id/name once, usage:null until one usage chunk, then [DONE]", async () => {
    const { app, replay } = await appWith({ body: readFixture("openai/chat-stream-tool-call-include-usage.sse.txt") });
    const response = await postChat(app, {
      ...hello,
      stream: true,
      stream_options: { include_usage: true },
      tools: [{ type: "function", function: { name: "get_capital", parameters: { type: "object", properties: { country: { type: "string" } } } } }],
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(response.headers["cache-control"]).toBe("no-cache");
    expect(response.headers["x-switchyard-model"]).toBe(model);
    const frames = sseFrames(response.body);
    expect(frames.at(-1)).toBe("[DONE]");
    const chunks = frames.slice(0, -1).map((frame) => JSON.parse(frame) as Chunk);
    expect(new Set(chunks.map((c) => c.id))).toEqual(new Set(["chatcmpl-Dx0XpqH8w09uBXwq1zFGYdETjtnEl"]));
    expect(chunks.every((c) => c.object === "chat.completion.chunk" && c.model === model)).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.delta ?? null)).toEqual([
      { role: "assistant", content: null, tool_calls: [{ index: 0, id: "call_ZR5UUuTt3pf61kjwAJIYdVMj", type: "function", function: { name: "get_capital", arguments: "" } }] },
      ...['{"', "country", '":"', "UK", '"}'].map((args) => ({ tool_calls: [{ index: 0, function: { arguments: args } }] })),
      {},
      null,
    ]);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("tool_calls");
    expect(chunks.slice(0, -1).map((c) => c.usage)).toEqual(Array(chunks.length - 1).fill(null));
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 53, completion_tokens: 15, total_tokens: 68 } });
    expect(replay.requests[0]?.json).toMatchObject({ model: "gpt-4o-mini", stream: true, stream_options: { include_usage: true } });
  });

  it("streams text without include_usage: no usage anywhere, and the text reassembles", async () => {
    const { app } = await appWith({ body: readFixture("openai/chat-stream-text-after-tool-result-include-usage.sse.txt") });
    const response = await postChat(app, { ...hello, stream: true });
    const frames = sseFrames(response.body);
    expect(frames.at(-1)).toBe("[DONE]");
    const chunks = frames.slice(0, -1).map((frame) => JSON.parse(frame) as Chunk);
    expect(chunks.every((c) => !("usage" in c))).toBe(true);
    expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant");
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("The capital of the UK is London.");
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("stop");
  });

  it("moves Groq's finish-chunk usage into a trailing usage chunk", async () => {
    const { app, replay } = await appWith({ body: sseFromChunks(readFixture("openai-compatible/groq-stream-tool-call.chunks.txt")) });
    const response = await postChat(app, { model: "groq/llama-3.3-70b-versatile", messages: [{ role: "user", content: "weather?" }], max_tokens: 50, stream: true, stream_options: { include_usage: true } });
    const chunks = sseFrames(response.body).slice(0, -1).map((frame) => JSON.parse(frame) as Chunk);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe("tool_calls");
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 210, completion_tokens: 15, total_tokens: 225 } });
    expect(replay.requests[0]?.url).toBe("https://api.groq.com/openai/v1/chat/completions");
    expect(replay.requests[0]?.json).toMatchObject({ model: "llama-3.3-70b-versatile", max_tokens: 50 });
  });

  it("ends with a data: {\"error\":…} frame and no [DONE] when the upstream fails mid-stream (hand-made upstream)", async () => {
    const body = upstreamSse([chunk({ role: "assistant", content: "Hel" }), { error: { message: "The server had an error while processing your request.", type: "server_error" } } as object], false);
    const { app } = await appWith({ body });
    const response = await postChat(app, { ...hello, stream: true });
    expect(response.statusCode).toBe(200);
    const frames = sseFrames(response.body);
    expect(frames).not.toContain("[DONE]");
    expect(JSON.parse(frames[0] ?? "{}")).toMatchObject({ choices: [{ delta: { role: "assistant", content: "Hel" } }] });
    const last = JSON.parse(frames.at(-1) ?? "{}") as { error: Record<string, unknown> };
    expect(Object.keys(last.error).sort()).toEqual(envelopeKeys);
    // The routing core wraps a failure after content was sent as STREAM_INTERRUPTED naming the upstream's error.
    expect(last.error).toMatchObject({ type: "server_error", code: "stream_interrupted" });
    expect(last.error.message).toContain("PROVIDER_UNAVAILABLE: provider \"openai-main\" reported an error mid-stream: The server had an error");
  });

  it("ends with an error frame when the upstream stream stops before its finish (hand-made upstream)", async () => {
    const { app } = await appWith({ body: upstreamSse([chunk({ role: "assistant", content: "Hel" })], false) });
    const frames = sseFrames((await postChat(app, { ...hello, stream: true })).body);
    expect(frames).not.toContain("[DONE]");
    expect(JSON.parse(frames.at(-1) ?? "{}")).toMatchObject({ error: { code: "stream_interrupted" } });
  });

  it("answers a failure before the first event as a JSON error with its status, not as SSE", async () => {
    const { app } = await appWith({ status: 429, headers: { "retry-after": "3" }, body: JSON.stringify({ error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } }) });
    const response = await postChat(app, { ...hello, stream: true });
    expect(response.statusCode).toBe(429);
    expect(response.headers["content-type"]).toMatch(/^application\/json/);
    expect(response.headers["retry-after"]).toBe("3");
    expect(response.json()).toMatchObject({ error: { type: "rate_limit_error", code: "rate_limit_exceeded" } });
  });

  it("aborts the upstream request when the client disconnects mid-stream", async () => {
    const many = Array.from({ length: 200 }, (_, index) => chunk({ content: `t${index} ` }));
    const { app, replay } = await appWith({ body: upstreamSse([...many, chunk({}, "stop")]), sliceSizes: [8] });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const { port } = app.server.address() as AddressInfo;
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port, method: "POST", path: "/v1/chat/completions", headers: { "content-type": "application/json", authorization: `Bearer ${GATEWAY_KEY}` } }, (res) => {
        res.once("data", () => {
          req.destroy();
          resolve();
        });
      });
      req.on("error", () => undefined);
      req.once("error", reject);
      req.end(JSON.stringify({ ...hello, stream: true }));
    });
    await expect.poll(() => replay.requests[0]?.signal.aborted, { timeout: 5000 }).toBe(true);
  });
});

describe("POST /v1/chat/completions errors", () => {
  const upstreamError = (status: number, error: object, headers: Record<string, string> = {}) => ({ status, headers, body: JSON.stringify({ error }) });

  it.each<[string, Parameters<typeof testApp>, unknown, { authorization?: string | null }, number, Record<string, unknown>]>([
    ["400 for invalid input, naming the param", [], { ...hello, temperature: "hot" }, {}, 400, { type: "invalid_request_error", code: "invalid_request", param: "temperature" }],
    ["400 for an upstream rejection with the upstream's param", [upstreamError(400, readJsonFixture<{ error: object }>("openai/error-400-unsupported-parameter.json").error)], hello, {}, 400, { type: "invalid_request_error", code: "upstream_invalid_request", param: "max_tokens" }],
    ["401 for a missing key", [], hello, { authorization: null }, 401, { type: "authentication_error", code: "invalid_api_key" }],
    ["401 for a wrong key", [], hello, { authorization: "Bearer sy-wrong" }, 401, { type: "authentication_error", code: "invalid_api_key" }],
    ["401 for a malformed Authorization header", [], hello, { authorization: "Basic abc" }, 401, { type: "authentication_error", code: "invalid_api_key" }],
    ["404 model_not_found for an unknown account", [], { ...hello, model: "nope/gpt-4o" }, {}, 404, { type: "invalid_request_error", code: "model_not_found", param: "model" }],
    ["502 provider_auth_failed when the upstream rejects the gateway's key", [upstreamError(401, { message: `Incorrect API key provided: ${UPSTREAM_KEY}`, code: "invalid_api_key" })], hello, {}, 502, { type: "server_error", code: "provider_auth_failed" }],
    ["503 provider_unavailable for an upstream 500", [upstreamError(500, { message: "boom", type: "server_error" })], hello, {}, 503, { type: "server_error", code: "provider_unavailable" }],
    ["504 upstream_timeout for an upstream 504", [upstreamError(504, { message: "slow" })], hello, {}, 504, { type: "server_error", code: "upstream_timeout" }],
  ])("answers %s", async (_name, answers, body, options, status, error) => {
    const { app, replay } = await appWith(...answers);
    const response = await postChat(app, body, options);
    expect(response.statusCode).toBe(status);
    const json = response.json<{ error: Record<string, unknown> }>();
    expect(Object.keys(json.error).sort()).toEqual(envelopeKeys);
    expect(json.error).toMatchObject(error);
    expect(response.body).not.toContain(UPSTREAM_KEY);
    expect(response.body).not.toContain(GATEWAY_KEY);
    if (status === 401 || status === 404) expect(replay.requests).toEqual([]);
  });

  it("answers 429 with retry-after forwarded", async () => {
    const { app } = await appWith(upstreamError(429, { message: "Rate limit reached", code: "rate_limit_exceeded" }, { "retry-after": "12" }));
    const response = await postChat(app, hello);
    expect(response.statusCode).toBe(429);
    expect(response.headers["retry-after"]).toBe("12");
    expect(response.json()).toMatchObject({ error: { type: "rate_limit_error", code: "rate_limit_exceeded" } });
  });

  it("answers 413 for a body over the limit", async () => {
    const { app, replay } = await appWith();
    const response = await postChat(app, { ...hello, messages: [{ role: "user", content: "x".repeat(70 * 1024) }] });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toMatchObject({ error: { type: "invalid_request_error", code: "request_too_large" } });
    expect(replay.requests).toEqual([]);
  });
});
