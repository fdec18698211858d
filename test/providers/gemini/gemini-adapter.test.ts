import { describe, expect, it } from "vitest";
import { FinishReason } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import { finishEvent, reasoningDeltaEvent, responseStartEvent, textDeltaEvent, toolCallDeltaEvent, toolCallStartEvent, usageEvent, usageOf } from "../../../src/core/stream-events.js";
import type { MediaFetcher } from "../../../src/media/guarded-media-fetch.js";
import { createGeminiAdapter, type GeminiAdapterOptions } from "../../../src/providers/gemini/gemini-adapter.js";
import type { UpstreamTransport } from "../../../src/providers/upstream-http.js";
import { readRecordedRequest, type RecordedExchangeWithRequest } from "../../support/recorded-exchange.js";
import { readFixture, readJsonFixture, replayTransport } from "../../support/replay-transport.js";
import { assistant, callOptions, media, system, toolCall, toolResult, user } from "../../support/proto-builders.js";
import { chatInput, geminiConfig } from "./gemini-inputs.js";
import { DEFAULT_TIMEOUTS } from "../../../src/config/gateway-config.js";

const KEY = "AIzaTestKey-0123456789abcdefghij";
const NOW = 1_750_000_000_000;
const CREATED = BigInt(Math.floor(NOW / 1000));
const SSE = { "content-type": "text/event-stream" };

const refuseFetch: MediaFetcher = async () => {
  throw new Error("no media fetch expected");
};

function adapterWith(transport: UpstreamTransport, options: GeminiAdapterOptions = {}, account: Record<string, unknown> = {}) {
  const config = geminiConfig(account);
  const google = config.providers.google;
  if (!google) throw new Error("no account");
  return createGeminiAdapter({ account: google, transport, config }, { fetchMedia: refuseFetch, now: () => NOW, ...options });
}

async function events(stream: AsyncIterable<ChatStreamResponse>): Promise<ChatStreamResponse[]> {
  const out: ChatStreamResponse[] = [];
  for await (const event of stream) out.push(event);
  return out;
}

/** Slicings every streamed fixture is replayed with: the default awkward cycle, and one byte at a time. */
const SLICINGS: [string, readonly number[] | undefined][] = [
  ["awkward slices", undefined],
  ["1-byte slices", [1]],
];

describe("createGeminiAdapter: replaying recorded streams", () => {
  it.each(SLICINGS)("stream-text-system-instruction (%s): exact request, CRLF events, last usage only", async (_name, sliceSizes) => {
    const expected = readRecordedRequest("gemini/stream-text-system-instruction.request.json");
    const replay = replayTransport({ body: readFixture("gemini/stream-text-system-instruction.sse.txt"), headers: SSE, ...(sliceSizes ? { sliceSizes } : {}) });
    const input = chatInput({ messages: [system("You are a helpful chatbot."), user("What is the capital of France?")], temperature: 0 });
    const out = await events(adapterWith(replay.transport).stream(input, callOptions("gemini-2.0-flash-exp")));

    const request = replay.requests[0];
    expect(request?.method).toBe(expected.method);
    expect(request?.url).toBe(expected.url);
    expect(request?.headers["x-goog-api-key"]).toBe(KEY);
    expect(request?.url).not.toMatch(/[?&]key=/);
    expect(request?.json).toEqual(expected.body);
    expect(out).toEqual([
      responseStartEvent("w1peaMz6INOvnvgPgYfPiQY", "gemini-2.0-flash-exp", CREATED, []),
      textDeltaEvent(0, "The"),
      textDeltaEvent(0, " capital of France"),
      textDeltaEvent(0, " is Paris.\n"),
      finishEvent(0, FinishReason.STOP, "STOP"),
      usageEvent(usageOf({ prompt: 13, completion: 8, total: 21 })),
    ]);
  });

  it.each(SLICINGS)("stream-text-usage-every-chunk (%s): responseModalities via provider_options, thoughts counted in completion", async (_name, sliceSizes) => {
    const expected = readRecordedRequest("gemini/stream-text-usage-every-chunk.request.json");
    const replay = replayTransport({ body: readFixture("gemini/stream-text-usage-every-chunk.sse.txt"), headers: SSE, ...(sliceSizes ? { sliceSizes } : {}) });
    const input = chatInput({ messages: [user("Count from 1 to 30, one number per line, digits only.")], providerOptions: { gemini: { generationConfig: { responseModalities: ["TEXT"] } } } });
    const out = await events(adapterWith(replay.transport).stream(input, callOptions("gemini-2.5-flash")));

    expect(replay.requests[0]?.url).toBe(expected.url);
    expect(replay.requests[0]?.json).toEqual(expected.body);
    const text = out.flatMap((event) => (event.event.case === "textDelta" ? [event.event.value.text] : [])).join("");
    expect(text).toBe(Array.from({ length: 30 }, (_, i) => String(i + 1)).join("\n"));
    expect(out.slice(-2)).toEqual([finishEvent(0, FinishReason.STOP, "STOP"), usageEvent(usageOf({ prompt: 18, completion: 115, total: 133, reasoning: 35 }))]);
    expect(out.filter((event) => event.event.case === "usage")).toHaveLength(1);
  });

  it.each(SLICINGS)("stream-function-call-single-chunk (%s): exact request with two declarations, one tool call with '{}'-style JSON args", async (_name, sliceSizes) => {
    const expected = readRecordedRequest("gemini/stream-function-call-single-chunk.request.json");
    const replay = replayTransport({ body: readFixture("gemini/stream-function-call-single-chunk.sse.txt"), headers: SSE, ...(sliceSizes ? { sliceSizes } : {}) });
    const param = (name: string, description: string) => ({ type: "object", properties: { [name]: { type: "string", description } }, required: [name] });
    const input = chatInput({
      messages: [system("You are a helpful chatbot."), user("What is the temperature of the capital of France?")],
      tools: [
        { name: "get_capital", description: "Get the capital of a country.", parameters: param("country", "The country name.") },
        { name: "get_temperature", description: "Get the temperature in a city.", parameters: param("city", "The city name.") },
      ],
    });
    const out = await events(adapterWith(replay.transport).stream(input, callOptions("gemini-2.0-flash")));

    expect(replay.requests[0]?.url).toBe(expected.url);
    expect(replay.requests[0]?.json).toEqual(expected.body);
    const start = out[1]?.event;
    expect(start?.case).toBe("toolCallStart");
    const id = start?.case === "toolCallStart" ? start.value.id : "";
    expect(id).toMatch(/^call_[0-9A-Za-z]{24}$/);
    expect(out).toEqual([
      responseStartEvent("1lpeaMTxIpW1nvgP-O3vwQY", "gemini-2.0-flash", CREATED, []),
      toolCallStartEvent(0, 0, id, "get_capital"),
      toolCallDeltaEvent(0, 0, '{"country":"France"}'),
      finishEvent(0, FinishReason.TOOL_CALLS, "STOP"),
      usageEvent(usageOf({ prompt: 52, completion: 5, total: 57 })),
    ]);
  });

  it.each(SLICINGS)(
    "stream-gemini3-after-function-response (%s): replayed functionCall with id and signature matches exactly; the tool schema goes as recorded (parametersJsonSchema, the REST API's camelCase of parameters_json_schema); subset only: our functionResponse says {output} not pydantic's {return_value}",
    async (_name, sliceSizes) => {
      const expected = readRecordedRequest("gemini/stream-gemini3-after-function-response.request.json");
      const contents = expected.body.contents as { role: string; parts: Record<string, Record<string, unknown>>[] }[];
      const recordedCall = contents[1]?.parts[0];
      const signature = recordedCall?.thoughtSignature as unknown as string;
      const callId = recordedCall?.functionCall?.id as string;
      const replay = replayTransport({ body: readFixture("gemini/stream-gemini3-after-function-response.sse.txt"), headers: SSE, ...(sliceSizes ? { sliceSizes } : {}) });
      const input = chatInput({
        messages: [
          user("What is the capital of the user country? Call the tool"),
          assistant("", [toolCall(callId, "get_country", "{}", { google: { thought_signature: signature } })]),
          toolResult(callId, "Mexico"),
        ],
        tools: [{ name: "get_country", parameters: { additionalProperties: false, properties: {}, type: "object" } }],
        providerOptions: { gemini: { generationConfig: { responseModalities: ["TEXT"] } } },
      });
      const out = await events(adapterWith(replay.transport).stream(input, callOptions("gemini-3-pro-preview")));

      const sent = replay.requests[0]?.json as Record<string, unknown> & { contents: unknown[] };
      expect(replay.requests[0]?.url).toBe(expected.url);
      expect(sent.contents.slice(0, 2)).toEqual(contents.slice(0, 2));
      expect(sent.contents[2]).toEqual({ role: "user", parts: [{ functionResponse: { id: callId, name: "get_country", response: { output: "Mexico" } } }] });
      expect(sent.generationConfig).toEqual(expected.body.generationConfig);
      const recordedTools = expected.body.tools as { functionDeclarations: { parameters_json_schema: unknown }[] }[];
      expect(sent.tools).toEqual([{ functionDeclarations: [{ name: "get_country", parametersJsonSchema: recordedTools[0]?.functionDeclarations[0]?.parameters_json_schema }] }]);
      expect(out).toEqual([
        responseStartEvent("REVVabaiCdq4qtsPnZu96Qo", "gemini-3-pro-preview", CREATED, []),
        textDeltaEvent(0, "The capital of Mexico"),
        textDeltaEvent(0, " is Mexico City."),
        finishEvent(0, FinishReason.STOP, "STOP"),
        usageEvent(usageOf({ prompt: 257, completion: 8, total: 265 })),
      ]);
    },
  );

  it("stream-no-alt-sse JSON array (content-type application/json) parses; thought -> reasoning, signed call -> extra_content; request subset only: we always add alt=sse, send the tool schema as parametersJsonSchema (2.5), and safetySettings and thinkingConfig come through provider_options", async () => {
    const expected = readRecordedRequest("gemini/stream-no-alt-sse-json-array-thought-and-function-call.request.json");
    const replay = replayTransport({ body: readFixture("gemini/stream-no-alt-sse-json-array-thought-and-function-call.json"), headers: { "content-type": "application/json; charset=UTF-8" } });
    const input = chatInput({
      messages: [user("Two names for a pet pelican")],
      tools: [{ name: "pelican_name_generator", parameters: { properties: {}, type: "object" } }],
      providerOptions: { gemini: { safetySettings: expected.body.safetySettings as never, generationConfig: { thinkingConfig: { includeThoughts: true } } } },
    });
    const out = await events(adapterWith(replay.transport).stream(input, callOptions("gemini-2.5-flash")));

    const sent = replay.requests[0]?.json as Record<string, unknown>;
    expect(replay.requests[0]?.url).toBe(`${expected.url}?alt=sse`);
    expect(sent.contents).toEqual(expected.body.contents);
    expect(sent.safetySettings).toEqual(expected.body.safetySettings);
    expect(sent.generationConfig).toEqual(expected.body.generationConfig);
    expect(sent.tools).toEqual([{ functionDeclarations: [{ name: "pelican_name_generator", parametersJsonSchema: { properties: {}, type: "object" } }] }]);
    const start = out.find((event) => event.event.case === "toolCallStart");
    const id = start?.event.case === "toolCallStart" ? start.event.value.id : "";
    expect(out).toEqual([
      responseStartEvent("OYpyaqycKd2V_uMP65TsgA0", "gemini-2.5-flash", CREATED, []),
      reasoningDeltaEvent(0, expect.stringContaining("**Generating Pelican Names**") as unknown as string),
      toolCallStartEvent(0, 0, id, "pelican_name_generator", { google: { thought_signature: expect.stringMatching(/^ClgBEU0yD8z3/) as unknown as string } }),
      toolCallDeltaEvent(0, 0, "{}"),
      finishEvent(0, FinishReason.TOOL_CALLS, "STOP"),
      usageEvent(usageOf({ prompt: 32, completion: 54, total: 86, reasoning: 42 })),
    ]);
  });

  it("remembers emitted thought signatures and replays them when the client drops extra_content", async () => {
    const replay = replayTransport(
      { body: readFixture("gemini/stream-no-alt-sse-json-array-thought-and-function-call.json"), headers: { "content-type": "application/json" } },
      { body: readFixture("gemini/stream-text-system-instruction.sse.txt"), headers: SSE },
    );
    const adapter = adapterWith(replay.transport);
    const first = await events(adapter.stream(chatInput({ messages: [user("Two names for a pet pelican")] }), callOptions("gemini-2.5-flash")));
    const start = first.find((event) => event.event.case === "toolCallStart");
    if (start?.event.case !== "toolCallStart") throw new Error("no tool call");
    const { id, extraContent } = start.event.value;
    const signature = (extraContent?.google as { thought_signature: string }).thought_signature;

    await events(adapter.stream(chatInput({ messages: [user("Two names for a pet pelican"), assistant("", [toolCall(id, "pelican_name_generator", "{}")]), toolResult(id, "Percy")] }), callOptions("gemini-2.5-flash")));
    const replayed = (replay.requests[1]?.json as { contents: { parts: Record<string, unknown>[] }[] }).contents[1]?.parts[0];
    expect(replayed).toEqual({ functionCall: { name: "pelican_name_generator", args: {}, id }, thoughtSignature: signature });
  });
});

describe("createGeminiAdapter: replaying recorded non-streaming exchanges", () => {
  it("nonstream-finish-safety: exact request (safetySettings via provider_options), empty content -> content_filter", async () => {
    const exchange = readJsonFixture<RecordedExchangeWithRequest>("gemini/nonstream-finish-safety.json");
    const replay = replayTransport({ status: exchange.response.status, body: JSON.stringify(exchange.response.body), headers: { "content-type": "application/json" } });
    const input = chatInput({ messages: [system("You hate the world!"), user("Tell me a joke about a Brazilians.")], providerOptions: { gemini: { safetySettings: exchange.request.body.safetySettings as never } } });
    const response = await adapterWith(replay.transport).generate(input, callOptions("gemini-1.5-flash"));

    expect(replay.requests[0]?.url).toBe(exchange.request.url);
    expect(replay.requests[0]?.json).toEqual(exchange.request.body);
    expect(response.id).toBe("5lpeaLOIBf__698Pv8HGgAg");
    expect(response.choices).toHaveLength(1);
    expect(response.choices[0]).toMatchObject({ index: 0, finishReason: FinishReason.CONTENT_FILTER, rawFinishReason: "SAFETY" });
    expect(response.choices[0]?.message?.content).toEqual([]);
    expect(response.usage).toMatchObject({ promptTokens: 14, completionTokens: 0, totalTokens: 14 });
  });

  it("nonstream-finish-max-tokens: exact request (thinkingConfig and responseModalities via provider_options), MAX_TOKENS -> length", async () => {
    const exchange = readJsonFixture<RecordedExchangeWithRequest>("gemini/nonstream-finish-max-tokens.json");
    const replay = replayTransport({ status: exchange.response.status, body: JSON.stringify(exchange.response.body) });
    const input = chatInput({
      messages: [system("You are a helpful chatbot."), user("What is the capital of France?")],
      maxTokens: 5,
      providerOptions: { gemini: { generationConfig: { responseModalities: ["TEXT"], thinkingConfig: { thinking_budget: 0 } } } },
    });
    const response = await adapterWith(replay.transport).generate(input, callOptions("gemini-2.5-flash"));

    expect(replay.requests[0]?.url).toBe(exchange.request.url);
    expect(replay.requests[0]?.headers["x-goog-api-key"]).toBe(KEY);
    expect(replay.requests[0]?.json).toEqual(exchange.request.body);
    expect(response.choices[0]).toMatchObject({ finishReason: FinishReason.LENGTH, rawFinishReason: "MAX_TOKENS" });
    expect(response.choices[0]?.message?.content.map((part) => part.part)).toEqual([{ case: "text", value: "The capital of France is" }]);
    expect(response.usage).toMatchObject({ promptTokens: 15, completionTokens: 5, totalTokens: 20 });
    expect(response.created).toBe(CREATED);
  });

  it("uses the account's base_url and headers", async () => {
    const replay = replayTransport({ body: JSON.stringify({ candidates: [{ content: { parts: [{ text: "ok" }] }, finishReason: "STOP" }] }) });
    await adapterWith(replay.transport, {}, { base_url: "http://127.0.0.1:8089/", headers: { "x-extra": "1" } }).generate(chatInput({ messages: [user("hi")] }), callOptions("models/gemini-2.5-flash"));
    expect(replay.requests[0]?.url).toBe("http://127.0.0.1:8089/v1beta/models/gemini-2.5-flash:generateContent");
    expect(replay.requests[0]?.headers).toMatchObject({ "x-extra": "1", "x-goog-api-key": KEY, "content-type": "application/json" });
  });

  it("sends a tuned model to its own collection, and takes a base_url written with /v1beta", async () => {
    const replay = replayTransport({ body: JSON.stringify({ candidates: [{ content: { parts: [{ text: "ok" }] }, finishReason: "STOP" }] }) });
    const adapter = adapterWith(replay.transport, {}, { base_url: "http://127.0.0.1:8089/v1beta/" });
    await adapter.generate(chatInput({ messages: [user("hi")] }), callOptions("tunedModels/my-model-abc123"));
    await adapter.generate(chatInput({ messages: [user("hi")] }), callOptions("gemini-2.5-flash"));
    expect(replay.requests.map((request) => request.url)).toEqual([
      "http://127.0.0.1:8089/v1beta/tunedModels/my-model-abc123:generateContent",
      "http://127.0.0.1:8089/v1beta/models/gemini-2.5-flash:generateContent",
    ]);
  });
});

describe("createGeminiAdapter: media", () => {
  it("fetches plain https media through the injected fetcher and inlines it; YouTube goes by reference", async () => {
    const fetched: string[] = [];
    const fetchMedia: MediaFetcher = async ({ url, param }) => {
      fetched.push(`${param} ${url}`);
      return { bytes: new Uint8Array([1, 2, 3]), mimeType: "image/jpeg" };
    };
    const replay = replayTransport({ body: JSON.stringify({ candidates: [{ content: { parts: [{ text: "a cat" }] }, finishReason: "STOP" }] }) });
    const input = chatInput({ messages: [user("what is this?", media("image", { url: "https://example.com/cat.jpg" }), media("video", { url: "https://youtu.be/abc" }))] });
    await adapterWith(replay.transport, { fetchMedia }).generate(input, callOptions("gemini-2.5-flash"));
    expect(fetched).toEqual(["messages[0].content[1] https://example.com/cat.jpg"]);
    expect((replay.requests[0]?.json as { contents: unknown }).contents).toEqual([
      { role: "user", parts: [{ text: "what is this?" }, { inlineData: { mimeType: "image/jpeg", data: "AQID" } }, { fileData: { fileUri: "https://youtu.be/abc" } }] },
    ]);
  });

  it("downloads a request's media once for all its attempts (a retry, a fallback to another Gemini account); a failed download is fetched again", async () => {
    let calls = 0;
    let failNext = false;
    const fetchMedia: MediaFetcher = async () => {
      calls++;
      if (failNext) {
        failNext = false;
        throw new Error("stalled");
      }
      return { bytes: new Uint8Array([1, 2, 3]), mimeType: "image/jpeg" };
    };
    const answer = { body: JSON.stringify({ candidates: [{ content: { parts: [{ text: "a cat" }] }, finishReason: "STOP" }] }) };
    const replay = replayTransport(answer, answer, answer, answer);
    const input = chatInput({ messages: [user("what is this?", media("image", { url: "https://example.com/cat.jpg" }))] });
    // The core passes every attempt of one request the same CallOptions.request.
    const request = { onEnd: () => {} };
    await adapterWith(replay.transport, { fetchMedia }).generate(input, { ...callOptions("gemini-2.5-flash"), request });
    await adapterWith(replay.transport, { fetchMedia }).generate({ ...input, temperature: 0.5 }, { ...callOptions("gemini-2.0-flash"), request });
    expect(calls).toBe(1);
    // Another request downloads again.
    await adapterWith(replay.transport, { fetchMedia }).generate(input, { ...callOptions("gemini-2.5-flash"), request: { onEnd: () => {} } });
    expect(calls).toBe(2);
    const retried = { onEnd: () => {} };
    failNext = true;
    await expect(adapterWith(replay.transport, { fetchMedia }).generate(input, { ...callOptions("gemini-2.5-flash"), request: retried })).rejects.toThrow();
    await adapterWith(replay.transport, { fetchMedia }).generate(input, { ...callOptions("gemini-2.5-flash"), request: retried });
    expect(calls).toBe(4);
  });

  it("marks a timeout at what the media downloads left of total_ms as tightened: the provider had less than its own bound", async () => {
    const fetchMedia: MediaFetcher = async () => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      return { bytes: new Uint8Array([1, 2, 3]), mimeType: "image/jpeg" };
    };
    // A provider that has not answered when the rest of total_ms runs out.
    const silent: UpstreamTransport = (request) => new Promise((_resolve, reject) => request.signal.addEventListener("abort", () => reject(new Error("aborted"))));
    const input = chatInput({ messages: [user("what is this?", media("image", { url: "https://example.com/cat.jpg" }))] });
    // The downloads (150 ms) take more than half of total_ms.
    const timeouts = { ...DEFAULT_TIMEOUTS, totalMs: 280 };
    const error = await adapterWith(silent, { fetchMedia, now: Date.now }).generate(input, { ...callOptions("gemini-2.5-flash"), timeouts }).then(() => undefined, (thrown: unknown) => thrown);
    expect(error).toMatchObject({ reason: "UPSTREAM_TIMEOUT", facts: { timeoutBound: "totalMs", tightenedBound: true } });
    // Without media, a timeout at total_ms is the provider's.
    const plain = await adapterWith(silent, { now: Date.now }).generate(chatInput({ messages: [user("hi")] }), { ...callOptions("gemini-2.5-flash"), timeouts }).then(() => undefined, (thrown: unknown) => thrown);
    expect(plain).toMatchObject({ reason: "UPSTREAM_TIMEOUT", facts: { timeoutBound: "totalMs" } });
    expect((plain as { facts: { tightenedBound?: boolean } }).facts.tightenedBound).toBeUndefined();
    // Downloads that took a small share leave the provider most of its bound: its timeout is its own.
    const roomy = { ...DEFAULT_TIMEOUTS, totalMs: 700 };
    const mostly = await adapterWith(silent, { fetchMedia, now: Date.now }).generate(input, { ...callOptions("gemini-2.5-flash"), timeouts: roomy }).then(() => undefined, (thrown: unknown) => thrown);
    expect(mostly).toMatchObject({ reason: "UPSTREAM_TIMEOUT", facts: { timeoutBound: "totalMs" } });
    expect((mostly as { facts: { tightenedBound?: boolean } }).facts.tightenedBound).toBeUndefined();
  });

  it("refuses a fetched URL that served another kind of media than the part (a login page for an image); a file part takes any type", async () => {
    const served: Record<string, string> = { "https://example.com/cat.png": "text/html", "https://example.com/noext": "audio/mpeg", "https://example.com/doc": "text/html" };
    const fetchMedia: MediaFetcher = async ({ url }) => ({ bytes: new Uint8Array([1, 2, 3]), mimeType: served[url] ?? "" });
    const answer = { body: JSON.stringify({ candidates: [{ content: { parts: [{ text: "ok" }] }, finishReason: "STOP" }] }) };
    const replay = replayTransport(answer);
    for (const url of ["https://example.com/cat.png", "https://example.com/noext"]) {
      const input = chatInput({ messages: [user("see", media("image", { url }))] });
      await expect(adapterWith(replay.transport, { fetchMedia }).generate(input, callOptions("gemini-2.5-flash"))).rejects.toMatchObject({ reason: "INVALID_REQUEST", facts: { param: "messages[0].content[1]" } });
    }
    await expect(adapterWith(replay.transport, { fetchMedia }).generate(chatInput({ messages: [user("see", media("image", { url: "https://example.com/cat.png" }))] }), callOptions("gemini-2.5-flash"))).rejects.toThrow("the server sent text/html, not an image");
    expect(replay.requests).toHaveLength(0);
    await adapterWith(replay.transport, { fetchMedia }).generate(chatInput({ messages: [user("read", media("file", { url: "https://example.com/doc" }))] }), callOptions("gemini-2.5-flash"));
    expect((replay.requests[0]?.json as { contents: { parts: unknown[] }[] }).contents[0]?.parts[1]).toEqual({ inlineData: { mimeType: "text/html", data: "AQID" } });
  });

  it("sends image/jpg (data URL, mime_type or a server's Content-Type) as image/jpeg, which Gemini requires", async () => {
    const fetchMedia: MediaFetcher = async () => ({ bytes: new Uint8Array([1, 2, 3]), mimeType: "image/jpg" });
    const answer = { body: JSON.stringify({ candidates: [{ content: { parts: [{ text: "ok" }] }, finishReason: "STOP" }] }) };
    const replay = replayTransport(answer);
    const input = chatInput({ messages: [user("see", media("image", { url: "data:image/jpg;base64,AQID" }), media("image", { url: "https://example.com/a" }), media("image", { url: "https://example.com/b.bin" }, "IMAGE/JPG"))] });
    await adapterWith(replay.transport, { fetchMedia }).generate(input, callOptions("gemini-2.5-flash"));
    const parts = (replay.requests[0]?.json as { contents: { parts: { inlineData?: { mimeType: string } }[] }[] }).contents[0]?.parts ?? [];
    expect(parts.slice(1).map((part) => part.inlineData?.mimeType)).toEqual(["image/jpeg", "image/jpeg", "image/jpeg"]);
  });

  it("stops the other downloads of a request when one fails: they are not left to run to their own timeouts", async () => {
    const stopped: string[] = [];
    const fetchMedia: MediaFetcher = ({ url, signal }) =>
      new Promise((_resolve, reject) => {
        if (url.endsWith("/missing.png")) {
          setTimeout(() => reject(new Error("HTTP 404")), 5);
          return;
        }
        signal.addEventListener("abort", () => {
          stopped.push(url);
          reject(new Error("aborted"));
        });
      });
    const replay = replayTransport({ body: "{}" });
    const input = chatInput({ messages: [user("see", media("image", { url: "https://example.com/slow-1.png" }), media("image", { url: "https://example.com/missing.png" }), media("image", { url: "https://example.com/slow-2.png" }))] });
    await expect(adapterWith(replay.transport, { fetchMedia }).generate(input, callOptions("gemini-2.5-flash"))).rejects.toThrow("HTTP 404");
    expect(stopped.sort()).toEqual(["https://example.com/slow-1.png", "https://example.com/slow-2.png"]);
    expect(replay.requests).toHaveLength(0);
  });

  it("by default guards media fetches with config.media: a loopback URL is a 400 on the part and Gemini is never called", async () => {
    const replay = replayTransport({ body: "{}" });
    const config = geminiConfig();
    const google = config.providers.google;
    if (!google) throw new Error("no account");
    const adapter = createGeminiAdapter({ account: google, transport: replay.transport, config }, { now: () => NOW });
    const input = chatInput({ messages: [user("see", media("image", { url: "http://127.0.0.1:9/secret.png?token=abc" }))] });
    await expect(adapter.generate(input, callOptions("gemini-2.5-flash"))).rejects.toMatchObject({ reason: "INVALID_REQUEST", facts: { param: "messages[0].content[1]" } });
    expect(replay.requests).toHaveLength(0);
  });
});
