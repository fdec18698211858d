import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ChatService } from "../../gen/switchyard/v1/chat_service_pb.js";
import { buildApp, type BuiltApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";
import { jsonAnswer, sseAnswer, startFakeUpstream, type FakeUpstream } from "../support/fake-upstream.js";
import { readFixture } from "../support/replay-transport.js";

/*
 * Answer fields beyond text and tool calls, through a listening gateway to the official openai SDK
 * (and the Connect client): spoken answers (`audio`), web citations (`annotations`),
 * `service_tier`, `system_fingerprint` in every chunk, and the audio and predicted-output token
 * counts. The upstream bodies are hand-made in OpenAI's documented shapes (no recording has them).
 */

const MODEL = "oai/gpt-4o-audio-preview";
let upstream: FakeUpstream;
let built: BuiltApp;
let client: OpenAI;
let origin: string;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  // A short first-token bound: a stream that only speaks must not time out waiting for text.
  const yaml = `server: { host: 127.0.0.1, port: 0 }
providers:
  oai: { type: openai, api_key: k, base_url: "${upstream.baseUrl}", models: [{ name: gpt-4o-audio-preview, timeouts: { first_token_ms: 400 } }] }
logging: { level: silent }
`;
  built = await buildApp({ config: parseConfigText(yaml, "fields.yaml", {}) });
  await built.app.listen({ host: "127.0.0.1", port: 0 });
  origin = `http://127.0.0.1:${(built.app.server.address() as AddressInfo).port}`;
  client = new OpenAI({ apiKey: "unused", baseURL: `${origin}/v1`, maxRetries: 0, timeout: 10_000 });
});

afterAll(async () => {
  await built?.app.close();
  await upstream?.close();
});

beforeEach(() => upstream.reset());

const USAGE = {
  prompt_tokens: 30,
  completion_tokens: 90,
  total_tokens: 120,
  prompt_tokens_details: { cached_tokens: 0, audio_tokens: 12 },
  completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 70, accepted_prediction_tokens: 5, rejected_prediction_tokens: 3 },
};
const AUDIO = { id: "audio_abc123", data: "UklGRiQAAABXQVZF", expires_at: 1_729_018_505, transcript: "Hello there." };
const CITATION = { type: "url_citation", url_citation: { url: "https://example.test/a", title: "A source", start_index: 0, end_index: 5 } };

function completion(message: Record<string, unknown>): Record<string, unknown> {
  return {
    id: "chatcmpl-fields",
    object: "chat.completion",
    created: 1_729_000_000,
    model: "gpt-4o-audio-preview",
    choices: [{ index: 0, message: { role: "assistant", refusal: null, annotations: [], ...message }, logprobs: null, finish_reason: "stop" }],
    usage: USAGE,
    service_tier: "default",
    system_fingerprint: "fp_fields",
  };
}

describe("answer fields beyond text, through the gateway", () => {
  it("keeps a spoken answer, citations, service_tier and the audio and prediction token counts (JSON), and sends the audio id back", async () => {
    upstream.enqueue(jsonAnswer(completion({ content: null, audio: AUDIO, annotations: [CITATION] })));
    const answer = await client.chat.completions.create({ model: MODEL, modalities: ["text", "audio"], audio: { voice: "alloy", format: "wav" }, messages: [{ role: "user", content: "Say hello" }] });
    const message = answer.choices[0]?.message;
    expect(message?.audio).toEqual(AUDIO);
    expect(message?.content).toBeNull();
    expect(message?.annotations).toEqual([CITATION]);
    expect(answer.service_tier).toBe("default");
    expect(answer.system_fingerprint).toBe("fp_fields");
    expect(answer.usage?.prompt_tokens_details).toMatchObject({ audio_tokens: 12 });
    expect(answer.usage?.completion_tokens_details).toMatchObject({ audio_tokens: 70, accepted_prediction_tokens: 5, rejected_prediction_tokens: 3 });

    // The next turn refers to the spoken answer by its id, as OpenAI documents.
    upstream.enqueue(jsonAnswer(completion({ content: "Sure." })));
    await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "Say hello" }, { role: "assistant", audio: { id: AUDIO.id } }, { role: "user", content: "Again, in text" }],
    });
    expect((upstream.lastRequest().body as { messages: unknown[] }).messages[1]).toEqual({ role: "assistant", content: null, audio: { id: AUDIO.id } });
  });

  it("answers \"\" (not null) for an empty answer", async () => {
    upstream.enqueue(jsonAnswer(completion({ content: "" })));
    const answer = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Say nothing" }] });
    expect(answer.choices[0]?.message.content).toBe("");
  });

  it("streams audio fragments (not held back as 'no token yet'), citations, service_tier and system_fingerprint on every chunk", async () => {
    const base = { id: "chatcmpl-s", object: "chat.completion.chunk", created: 1_729_000_000, model: "gpt-4o-audio-preview", service_tier: "default", system_fingerprint: "fp_stream" };
    const frame = (choice: Record<string, unknown> | undefined, extra: Record<string, unknown> = {}) => `data: ${JSON.stringify({ ...base, choices: choice ? [{ index: 0, logprobs: null, finish_reason: null, ...choice }] : [], ...extra })}\n\n`;
    upstream.enqueue(
      sseAnswer(
        [
          frame({ delta: { role: "assistant", content: null, audio: { id: AUDIO.id, transcript: "Hello" } } }),
          // Longer than the first-token bound before anything else: the audio already counted as the first token.
          frame({ delta: { audio: { data: "UklGRiQA" } } }),
          frame({ delta: { audio: { transcript: " there.", data: "AABXQVZF" } } }),
          frame({ delta: { audio: { expires_at: AUDIO.expires_at } } }),
          frame({ delta: { annotations: [CITATION] } }),
          frame({ delta: {}, finish_reason: "stop" }),
          frame(undefined, { usage: USAGE }),
          "data: [DONE]\n\n",
        ],
        { chunkDelayMs: 150 },
      ),
    );
    const stream = await client.chat.completions.create({ model: MODEL, stream: true, stream_options: { include_usage: true }, modalities: ["text", "audio"], audio: { voice: "alloy", format: "pcm16" }, messages: [{ role: "user", content: "Say hello" }] });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    type AudioFragment = { id?: string; data?: string; transcript?: string; expires_at?: number };
    const audio = chunks.map((chunk) => (chunk.choices[0]?.delta as { audio?: AudioFragment } | undefined)?.audio).filter((fragment): fragment is AudioFragment => fragment !== undefined);
    expect(audio.map((fragment) => fragment.transcript ?? "").join("")).toBe("Hello there.");
    expect(audio.map((fragment) => fragment.data ?? "").join("")).toBe("UklGRiQAAABXQVZF");
    expect(audio.find((fragment) => fragment.id)?.id).toBe(AUDIO.id);
    expect(audio.find((fragment) => fragment.expires_at)?.expires_at).toBe(AUDIO.expires_at);
    expect(chunks.flatMap((chunk) => (chunk.choices[0]?.delta as { annotations?: unknown[] } | undefined)?.annotations ?? [])).toEqual([CITATION]);
    expect(chunks.every((chunk) => chunk.system_fingerprint === "fp_stream" && chunk.service_tier === "default")).toBe(true);
    expect(chunks.map((chunk) => chunk.choices[0]?.finish_reason).filter(Boolean)).toEqual(["stop"]);
    expect(chunks.at(-1)?.usage?.completion_tokens_details).toMatchObject({ audio_tokens: 70 });
  });

  it("logprobs through the SDK's stream helper: each token once in finalChatCompletion (recorded OpenAI stream)", async () => {
    upstream.enqueue(sseAnswer([readFixture("openai/chat-stream-content-logprobs.sse.txt")]));
    const stream = client.chat.completions.stream({ model: MODEL, messages: [{ role: "user", content: "Say Foo!" }], logprobs: true, top_logprobs: 0 });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]?.message.content).toBe("Foo!");
    expect(final.choices[0]?.logprobs?.content?.map((entry) => entry.token)).toEqual(["Foo", "!"]);
  });

  it("citations of several text blocks: all of them in finalChatCompletion (the SDK keeps only the last annotations delta)", async () => {
    const base = { id: "chatcmpl-c", object: "chat.completion.chunk", created: 1_729_000_000, model: "gpt-4o-search-preview" };
    const frame = (delta: Record<string, unknown>, finish: string | null = null) => `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
    const second = { type: "url_citation", url_citation: { url: "https://example.test/b", title: "B", start_index: 7, end_index: 12 } };
    upstream.enqueue(sseAnswer([frame({ role: "assistant", content: "First. " }), frame({ annotations: [CITATION] }), frame({ content: "Then." }), frame({ annotations: [second] }), frame({}, "stop"), "data: [DONE]\n\n"]));
    const final = await client.chat.completions.stream({ model: MODEL, messages: [{ role: "user", content: "Search" }] }).finalChatCompletion();
    expect(final.choices[0]?.message.content).toBe("First. Then.");
    expect(final.choices[0]?.message.annotations).toEqual([CITATION, second]);
  });

  it.each([
    ["a refusal (with logprobs)", [{ role: "assistant", content: null, refusal: "" }, { refusal: "I'm sorry" }]],
    ["a spoken answer", [{ role: "assistant", content: null, audio: { id: AUDIO.id, transcript: "Hello" } }, { audio: { data: "UklGRiQA" } }]],
  ])("streamed, %s starts with content null, as the whole answer has it (a client that starts the message from the first delta keeps null)", async (_label, deltas) => {
    const base = { id: "chatcmpl-n", object: "chat.completion.chunk", created: 1_729_000_000, model: "gpt-4o" };
    const logprobs = (delta: Record<string, unknown>) => (typeof delta.refusal === "string" && delta.refusal !== "" ? { content: null, refusal: [{ token: delta.refusal, logprob: -0.01, bytes: null, top_logprobs: [] }] } : null);
    const frame = (delta: Record<string, unknown>, finish: string | null = null) => `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: logprobs(delta), finish_reason: finish }] })}\n\n`;
    upstream.enqueue(sseAnswer([...deltas.map((delta) => frame(delta)), frame({}, "stop"), "data: [DONE]\n\n"]));
    const stream = await client.chat.completions.create({ model: MODEL, stream: true, messages: [{ role: "user", content: "Hi" }], logprobs: true });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const first = chunks[0]?.choices[0]?.delta;
    expect(first?.role).toBe("assistant");
    expect(first?.content).toBeNull();
    expect(chunks.every((chunk) => (chunk.choices[0]?.delta.content ?? null) === null)).toBe(true);
  });

  it("custom tools: declared, forced, called (JSON and stream) and replayed as OpenAI's type custom", async () => {
    const grammar = { type: "grammar", grammar: { syntax: "lark", definition: "start: /[a-z]+/" } };
    const tools = [{ type: "custom", custom: { name: "apply_patch", description: "Apply a patch.", format: grammar } }, { type: "function", function: { name: "f", parameters: { type: "object", properties: {} } } }];
    upstream.enqueue(jsonAnswer(completion({ content: null, tool_calls: [{ id: "call_c1", type: "custom", custom: { name: "apply_patch", input: "*** Begin Patch" } }] })));
    const answer = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Fix it" }], tools, tool_choice: { type: "custom", custom: { name: "apply_patch" } } } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming);
    expect(answer.choices[0]?.message.tool_calls).toEqual([{ id: "call_c1", type: "custom", custom: { name: "apply_patch", input: "*** Begin Patch" } }]);
    const sent = upstream.lastRequest().body as { tools: unknown[]; tool_choice: unknown };
    expect(sent.tools).toEqual([{ type: "custom", custom: { name: "apply_patch", description: "Apply a patch.", format: grammar } }, { type: "function", function: { name: "f", parameters: { type: "object", properties: {} } } }]);
    expect(sent.tool_choice).toEqual({ type: "custom", custom: { name: "apply_patch" } });
    upstream.enqueue(jsonAnswer(completion({ content: "ok" })));
    const allowed = { type: "allowed_tools", allowed_tools: { mode: "required", tools: [{ type: "custom", custom: { name: "apply_patch" } }, { type: "function", function: { name: "f" } }] } };
    await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Fix it" }], tools, tool_choice: allowed } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming);
    expect((upstream.lastRequest().body as { tool_choice: unknown }).tool_choice).toEqual(allowed);

    const base = { id: "chatcmpl-c", object: "chat.completion.chunk", created: 1_729_000_000, model: "gpt-4o-audio-preview" };
    const frame = (delta: Record<string, unknown>, finish: string | null = null) => `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
    upstream.enqueue(
      sseAnswer([
        frame({ role: "assistant", content: null, tool_calls: [{ index: 0, id: "call_c2", type: "custom", custom: { name: "apply_patch", input: "" } }] }),
        frame({ tool_calls: [{ index: 0, custom: { input: "*** Begin" } }] }),
        frame({ tool_calls: [{ index: 0, custom: { input: " Patch" } }] }),
        frame({}, "tool_calls"),
        "data: [DONE]\n\n",
      ]),
    );
    const stream = await client.chat.completions.create({ model: MODEL, stream: true, messages: [{ role: "user", content: "Fix it" }], tools } as unknown as OpenAI.ChatCompletionCreateParamsStreaming);
    type CustomDelta = { index: number; id?: string; type?: string; custom?: { name?: string; input?: string } };
    const deltas: CustomDelta[] = [];
    for await (const chunk of stream) deltas.push(...((chunk.choices[0]?.delta.tool_calls ?? []) as unknown as CustomDelta[]));
    expect(deltas[0]).toEqual({ index: 0, id: "call_c2", type: "custom", custom: { name: "apply_patch", input: "" } });
    expect(deltas.map((delta) => delta.custom?.input ?? "").join("")).toBe("*** Begin Patch");
    expect(deltas.some((delta) => "function" in delta)).toBe(false);

    // The call goes back to OpenAI as it came, with its result.
    upstream.enqueue(jsonAnswer(completion({ content: "Done." })));
    await client.chat.completions.create({
      model: MODEL,
      tools,
      messages: [{ role: "user", content: "Fix it" }, { role: "assistant", content: null, tool_calls: [{ id: "call_c2", type: "custom", custom: { name: "apply_patch", input: "*** Begin Patch" } }] }, { role: "tool", tool_call_id: "call_c2", content: "applied" }],
    } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming);
    expect((upstream.lastRequest().body as { messages: unknown[] }).messages[1]).toEqual({ role: "assistant", content: null, tool_calls: [{ id: "call_c2", type: "custom", custom: { name: "apply_patch", input: "*** Begin Patch" } }] });
  });

  it("carries the same fields in the typed protobuf answer (Connect)", async () => {
    upstream.enqueue(jsonAnswer(completion({ content: "Hi", audio: AUDIO, annotations: [CITATION] })));
    const connect = createClient(ChatService, createConnectTransport({ baseUrl: origin, httpVersion: "1.1" }));
    const response = await connect.chat({ input: { model: MODEL, messages: [{ role: 1, content: [{ part: { case: "text", value: "Say hello" } }] }] } });
    expect(response.serviceTier).toBe("default");
    expect(response.choices[0]?.message?.audio).toMatchObject({ id: AUDIO.id, data: AUDIO.data, transcript: AUDIO.transcript, expiresAt: BigInt(AUDIO.expires_at) });
    expect(response.choices[0]?.message?.annotations[0]).toMatchObject({ type: "url_citation", urlCitation: { url: "https://example.test/a", title: "A source", startIndex: 0, endIndex: 5 } });
    expect(response.usage).toMatchObject({ promptAudioTokens: 12, completionAudioTokens: 70, acceptedPredictionTokens: 5, rejectedPredictionTokens: 3 });
  });
});
