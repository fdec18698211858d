import OpenAI, { APIError } from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  errorAnswer, exchangeFixtureAnswer, jsonFixtureAnswer, longTextStreamAnswer, sseAnswer, sseFixtureAnswer,
} from "../support/fake-upstream.js";
import { readJsonFixture } from "../support/replay-transport.js";
import { thrown } from "../support/thrown.js";
import { GATEWAY_KEY, MODEL, startGateway, UPSTREAM_KEY, type RunningGateway } from "./gateway-harness.js";

let gateway: RunningGateway;
let client: OpenAI;

beforeAll(async () => {
  gateway = await startGateway();
  client = new OpenAI({ apiKey: GATEWAY_KEY, baseURL: `${gateway.origin}/v1`, maxRetries: 0, timeout: 15_000 });
});

afterAll(async () => {
  await gateway?.close();
});

beforeEach(() => {
  gateway.upstream.reset();
});

/** The body the fake upstream received for the most recent call. */
function upstreamBody(): Record<string, unknown> {
  return gateway.upstream.lastRequest().body as Record<string, unknown>;
}

describe("the official openai SDK against the listening gateway", () => {
  it("answers a chat completion and forwards it to {base_url}/chat/completions with the account key", async () => {
    gateway.upstream.enqueue(jsonFixtureAnswer("openai/chat-nonstream-text.json"));
    const fixture = readJsonFixture<{ id: string; choices: { message: { content: string } }[]; usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } }>("openai/chat-nonstream-text.json");

    const completion = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Invent a holiday." }] });

    expect(completion.object).toBe("chat.completion");
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0]?.message.role).toBe("assistant");
    expect(completion.choices[0]?.message.content).toBe(fixture.choices[0]?.message.content);
    expect(completion.choices[0]?.finish_reason).toBe("stop");
    expect(completion.usage).toMatchObject({ prompt_tokens: 16, completion_tokens: 363, total_tokens: 379 });

    const request = gateway.upstream.lastRequest();
    expect(request.method).toBe("POST");
    expect(request.url).toBe("/v1/chat/completions");
    expect(request.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(request.headers.authorization).not.toContain(GATEWAY_KEY);
    expect(upstreamBody()).toMatchObject({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Invent a holiday." }] });
    expect(upstreamBody().stream).toBeUndefined();
  });

  it("keeps the system prompt first and in order", async () => {
    gateway.upstream.enqueue(jsonFixtureAnswer("openai/chat-nonstream-text.json"));
    await client.chat.completions.create({
      model: MODEL,
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello." },
        { role: "user", content: "Again" },
      ],
    });
    expect(upstreamBody().messages).toEqual([
      { role: "system", content: "You are terse." },
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello." },
      { role: "user", content: "Again" },
    ]);
  });

  it("forwards an image URL and a base64 data-URL image with their detail", async () => {
    const pngBase64 = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]).toString("base64");
    gateway.upstream.enqueue(jsonFixtureAnswer("openai/chat-nonstream-text.json"));
    await client.chat.completions.create({
      model: MODEL,
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Compare these." },
            { type: "image_url", image_url: { url: "https://example.com/cat.jpg", detail: "low" } },
            { type: "image_url", image_url: { url: `data:image/png;base64,${pngBase64}` } },
          ],
        },
      ],
    });
    const messages = upstreamBody().messages as { content: unknown }[];
    expect(messages[0]?.content).toEqual([
      { type: "text", text: "Compare these." },
      { type: "image_url", image_url: { url: "https://example.com/cat.jpg", detail: "low" } },
      { type: "image_url", image_url: { url: `data:image/png;base64,${pngBase64}` } },
    ]);
  });

  it("forwards sampling parameters, including zero values, to the upstream", async () => {
    gateway.upstream.enqueue(jsonFixtureAnswer("openai/chat-nonstream-text.json"));
    await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "Numbers" }],
      temperature: 0,
      top_p: 0.5,
      max_tokens: 64,
      frequency_penalty: 0.25,
      presence_penalty: -0.5,
      stop: ["END", "STOP"],
      seed: 42,
      n: 1,
      logprobs: true,
      top_logprobs: 2,
      user: "user-7",
      response_format: { type: "json_object" },
    });
    expect(upstreamBody()).toMatchObject({
      model: "gpt-4o-mini",
      temperature: 0,
      top_p: 0.5,
      // type: openai accounts send the token limit as max_completion_tokens.
      max_completion_tokens: 64,
      frequency_penalty: 0.25,
      presence_penalty: -0.5,
      stop: ["END", "STOP"],
      seed: 42,
      n: 1,
      logprobs: true,
      top_logprobs: 2,
      user: "user-7",
      response_format: { type: "json_object" },
    });
    expect(upstreamBody().max_tokens).toBeUndefined();
  });

  it("sends tools and returns the model's tool call (non-streaming)", async () => {
    gateway.upstream.enqueue(exchangeFixtureAnswer("openai/chat-nonstream-tool-call.json"));
    const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
      {
        type: "function",
        function: {
          name: "get_capital",
          description: "The capital of a country.",
          parameters: { type: "object", properties: { country: { type: "string" } }, required: ["country"], additionalProperties: false },
          strict: true,
        },
      },
    ];
    const completion = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Capital of England?" }], tools, tool_choice: "auto" });

    const choice = completion.choices[0];
    expect(choice?.finish_reason).toBe("tool_calls");
    expect(choice?.message.content).toBeNull();
    expect(choice?.message.tool_calls).toEqual([
      { id: "call_SkEQ3ZGSJC8m6AvaIGNuuKdm", type: "function", function: { name: "get_capital", arguments: '{"country":"England"}' } },
    ]);
    expect(completion.usage).toMatchObject({ prompt_tokens: 104, completion_tokens: 16, total_tokens: 120 });
    expect(upstreamBody().tools).toEqual(tools);
    expect(upstreamBody().tool_choice).toBe("auto");
  });

  it("streams text: role first, the deltas in order, finish_reason, and no usage chunk unless asked", async () => {
    gateway.upstream.enqueue(sseFixtureAnswer("openai/chat-stream-text-after-tool-result-include-usage.sse.txt", { chunkDelayMs: 2 }));
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Capital of the UK?" }], stream: true });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);

    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant");
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
    expect(chunks.every((chunk) => chunk.object === "chat.completion.chunk")).toBe(true);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe("The capital of the UK is London.");
    expect(chunks.map((chunk) => chunk.choices[0]?.finish_reason).filter(Boolean)).toEqual(["stop"]);
    expect(chunks.some((chunk) => chunk.usage)).toBe(false);
    expect(upstreamBody()).toMatchObject({ model: "gpt-4o-mini", stream: true });
  });

  it("streams tool calls with include_usage: assembled arguments and a final usage chunk", async () => {
    gateway.upstream.enqueue(sseFixtureAnswer("openai/chat-stream-tool-call-include-usage.sse.txt", { chunkDelayMs: 2 }));
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "What is the capital of the UK? Use the tool, then answer." }],
      tools: [{ type: "function", function: { name: "get_capital", parameters: { type: "object", properties: { country: { type: "string" } } } } }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const calls = new Map<number, { id?: string; name?: string; arguments: string }>();
    const finishes: string[] = [];
    let usage: OpenAI.CompletionUsage | undefined;
    let usageChunkChoices: number | undefined;
    for await (const chunk of stream) {
      if (chunk.usage) {
        usage = chunk.usage;
        usageChunkChoices = chunk.choices.length;
      }
      for (const choice of chunk.choices) {
        if (choice.finish_reason) finishes.push(choice.finish_reason);
        for (const delta of choice.delta.tool_calls ?? []) {
          const call = calls.get(delta.index) ?? { arguments: "" };
          if (delta.id) call.id = delta.id;
          if (delta.function?.name) call.name = delta.function.name;
          call.arguments += delta.function?.arguments ?? "";
          calls.set(delta.index, call);
        }
      }
    }
    expect([...calls.entries()]).toEqual([[0, { id: "call_ZR5UUuTt3pf61kjwAJIYdVMj", name: "get_capital", arguments: '{"country":"UK"}' }]]);
    expect(JSON.parse(calls.get(0)?.arguments ?? "")).toEqual({ country: "UK" });
    expect(finishes).toEqual(["tool_calls"]);
    expect(usage).toMatchObject({ prompt_tokens: 53, completion_tokens: 15, total_tokens: 68 });
    expect(usageChunkChoices).toBe(0);
    expect(upstreamBody()).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  describe("errors map to the SDK's exception classes", () => {
    it("400 BadRequestError for invalid input, without calling the upstream", async () => {
      const error = await thrown(() => client.chat.completions.create({ model: MODEL, messages: [{ role: "wizard" as "user", content: "hi" }] }));
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as APIError).status).toBe(400);
      expect((error as APIError).type).toBe("invalid_request_error");
      expect(gateway.upstream.requests).toHaveLength(0);
    });

    it("400 BadRequestError when the upstream rejects the request (recorded error body)", async () => {
      gateway.upstream.setDefault(jsonFixtureAnswer("openai/error-400-unsupported-parameter.json", { status: 400 }));
      const error = await thrown(() => client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 5 }));
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as APIError).status).toBe(400);
      expect((error as APIError).message).toContain("max_completion_tokens");
      expect((error as APIError).param).toBe("max_tokens");
    });

    it("401 AuthenticationError for a bad gateway key, without calling the upstream", async () => {
      const badClient = new OpenAI({ apiKey: "not-the-key", baseURL: `${gateway.origin}/v1`, maxRetries: 0 });
      const error = await thrown(() => badClient.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] }));
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((error as APIError).status).toBe(401);
      expect((error as APIError).code).toBe("invalid_api_key");
      expect(gateway.upstream.requests).toHaveLength(0);
    });

    it("404 NotFoundError for an unknown provider account", async () => {
      const error = await thrown(() => client.chat.completions.create({ model: "no-such-account/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }));
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect((error as APIError).status).toBe(404);
      expect((error as APIError).code).toBe("model_not_found");
      expect(gateway.upstream.requests).toHaveLength(0);
    });

    it("429 RateLimitError with Retry-After forwarded when the upstream keeps rate limiting", async () => {
      gateway.upstream.setDefault(errorAnswer(429, { message: "Rate limit reached for gpt-4o-mini", type: "requests", code: "rate_limit_exceeded" }, { "retry-after": "1" }));
      const error = await thrown(() => client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] }));
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      expect((error as APIError).status).toBe(429);
      expect((error as APIError).headers?.get("retry-after")).toBe("1");
      expect(gateway.upstream.requests.length).toBeGreaterThanOrEqual(1);
    });

    it("502 InternalServerError when the gateway's provider credential is rejected", async () => {
      gateway.upstream.setDefault(errorAnswer(401, { message: "Incorrect API key provided: sk-upstr****", type: "invalid_request_error", code: "invalid_api_key" }));
      const error = await thrown(() => client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] }));
      expect(error).toBeInstanceOf(OpenAI.InternalServerError);
      expect((error as APIError).status).toBe(502);
      expect((error as APIError).code).toBe("provider_auth_failed");
      expect((error as APIError).message).not.toContain("sk-upstr");
    });

    it("503 InternalServerError when the upstream is unavailable", async () => {
      gateway.upstream.setDefault(errorAnswer(503, { message: "The server is overloaded", type: "server_error" }));
      const error = await thrown(() => client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] }));
      expect(error).toBeInstanceOf(OpenAI.InternalServerError);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect((error as APIError).status).toBe(503);
      expect((error as APIError).type).toBe("server_error");
    });

    it("a failure after the stream began arrives as an error frame and the SDK stream throws APIError", async () => {
      const base = { id: "chatcmpl-mid", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini" };
      gateway.upstream.enqueue(
        sseAnswer([
          `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "Hel" }, finish_reason: null }] })}\n\n`,
          `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: "lo" }, finish_reason: null }] })}\n\n`,
          `data: ${JSON.stringify({ error: { message: "The server had an error while processing your request.", type: "server_error", param: null, code: null } })}\n\n`,
        ]),
      );
      const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }], stream: true });
      let text = "";
      const error = await thrown(async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
      });
      expect(text).toBe("Hello");
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect((error as APIError).message).toContain("server had an error");
    });
  });

  it("aborting an SDK stream after the first chunk closes the upstream connection promptly", async () => {
    gateway.upstream.enqueue(longTextStreamAnswer(300, 20));
    const controller = new AbortController();
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Count" }], stream: true }, { signal: controller.signal });
    let received = 0;
    // openai-node ends the iteration quietly when its own signal aborts the stream.
    for await (const chunk of stream) {
      received++;
      if (chunk.choices[0]?.delta.content) controller.abort();
    }
    expect(received).toBeGreaterThanOrEqual(1);
    expect(received).toBeLessThan(10);
    const abortedAt = Date.now();
    const request = gateway.upstream.lastRequest();
    await gateway.upstream.waitSettled(request, 3_000);
    expect(Date.now() - abortedAt).toBeLessThan(3_000);
    expect(request.closedEarly).toBe(true);
    expect(request.chunksWritten).toBeLessThan(100);
  });

  it("lists the configured models", async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    expect(models.map((model) => model.id)).toContain(MODEL);
  });
});
