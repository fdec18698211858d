/**
 * The same official-OpenAI-SDK suite, run against all three providers through a real listening
 * gateway: accounts openai-main (type openai), anthropic-main (type anthropic) and internal-google
 * (type gemini) each point at a dialect upstream (test/support/dialect-upstream.ts) that answers
 * from what it receives in its own wire format. A caller must not be able to tell the providers
 * apart by behaviour: every feature works the same, or fails with a clear 400 before any upstream
 * call, or works with a warning in `x-switchyard-warnings`.
 */
import OpenAI, { type APIError } from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Dialect, Json } from "../support/dialect-answers.js";
import { flatParts, type NormalPart, type NormalRequest } from "../support/dialect-requests.js";
import { geminiSignatureFor, startDialectUpstream, type DialectRequest, type DialectUpstream } from "../support/dialect-upstream.js";
import {
  ACCOUNTS, GATEWAY_KEY, KEYS, MODELS, MP4, PARAMETER_ROWS, PNG, startGateway, TIME_TOOL, WAV, WEATHER_TOOL, type Params, type Part, type Running,
} from "./providers-sdk-setup.js";

let upstreams: Record<Dialect, DialectUpstream>;
let mediaServer: DialectUpstream;
let gateway: Running;
let client: OpenAI;
let mediaUrls: { cat: string; clip: string };

beforeAll(async () => {
  const options = { keys: KEYS, models: { openai: [MODELS.openai], anthropic: [MODELS.anthropic], gemini: [MODELS.gemini] } };
  upstreams = { openai: await startDialectUpstream(options), anthropic: await startDialectUpstream(options), gemini: await startDialectUpstream(options) };
  mediaServer = await startDialectUpstream(options);
  mediaUrls = { cat: mediaServer.serveMedia("cat.png", PNG, "image/png"), clip: mediaServer.serveMedia("clip.mp4", MP4, "video/mp4") };
  // Media URLs point at 127.0.0.1, so this gateway must allow private networks (the default refuses them; see the last suite).
  gateway = await startGateway(upstreams, "media: { allow_private_network: true, max_bytes: 1048576, timeout_ms: 5000 }");
  client = new OpenAI({ apiKey: GATEWAY_KEY, baseURL: `${gateway.origin}/v1`, maxRetries: 0, timeout: 15_000 });
});

afterAll(async () => {
  await gateway?.built.app.close();
  for (const server of [...Object.values(upstreams ?? {}), mediaServer]) await server?.close();
});

beforeEach(() => {
  for (const server of [...Object.values(upstreams), mediaServer]) server.reset();
});

/** Runs `call` and returns what it threw (failing when it does not throw). */
async function thrown(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to throw");
}

const PROVIDERS = (["openai", "anthropic", "gemini"] as const).map((dialect) => ({ dialect, label: ACCOUNTS[dialect], model: `${ACCOUNTS[dialect]}/${MODELS[dialect]}` }));

describe.each(PROVIDERS)("OpenAI SDK -> gateway -> $label", ({ dialect, model }) => {
  const upstream = () => upstreams[dialect];
  /** The one chat request the upstream got for the last SDK call. */
  const only = (): DialectRequest => {
    expect(upstream().chatRequests()).toHaveLength(1);
    return upstream().lastChat();
  };
  const view = (): NormalRequest => {
    const request = only();
    if (!request.view) throw new Error("the upstream could not read the request");
    return request.view;
  };
  const raw = () => only().body as Record<string, Json>;
  const noUpstreamCall = () => expect(upstream().chatRequests(), "the upstream got no request").toHaveLength(0);
  const warningsOf = (response: Response) => response.headers.get("x-switchyard-warnings") ?? "";
  const create = (params: Omit<Params, "model">) => client.chat.completions.create({ model, ...params } as Params).withResponse();

  describe("chat basics", () => {
    it("answers a chat completion from the provider's native API", async () => {
      const { data, response } = await create({ messages: [{ role: "user", content: "Hello there" }] });
      expect(data.object).toBe("chat.completion");
      expect(data.model).toBe(model);
      expect(data.choices).toHaveLength(1);
      expect(data.choices[0]?.message).toMatchObject({ role: "assistant", content: "Echo: Hello there" });
      expect(data.choices[0]?.finish_reason).toBe("stop");
      expect(response.headers.get("x-switchyard-provider")).toBe(ACCOUNTS[dialect]);
      const request = only();
      expect(request.dialect).toBe(dialect);
      expect(request.status).toBe(200);
      expect(view().model).toBe(MODELS[dialect]);
      expect(view().stream).toBe(false);
    });

    it("puts the system prompt where the provider wants it", async () => {
      const { data } = await create({ messages: [{ role: "system", content: "You are terse." }, { role: "user", content: "Hi" }] });
      expect(data.choices[0]?.message.content).toBe("Echo: Hi");
      expect(view().system).toEqual(["You are terse."]);
      const body = raw();
      if (dialect === "openai") expect(body.messages).toEqual([{ role: "system", content: "You are terse." }, { role: "user", content: "Hi" }]);
      if (dialect === "anthropic") expect(body.system).toEqual([{ type: "text", text: "You are terse." }]);
      if (dialect === "gemini") expect(body.systemInstruction).toEqual({ role: "user", parts: [{ text: "You are terse." }] });
      expect(flatParts(view()).map(({ part }) => part)).toEqual([{ kind: "text", text: "Hi" }]);
    });

    it("takes an image by URL and by base64 data URL", async () => {
      const dataUrl = `data:image/png;base64,${PNG.toString("base64")}`;
      const { data } = await create({ messages: [{ role: "user", content: [{ type: "text", text: "Compare these." }, { type: "image_url", image_url: { url: mediaUrls.cat } }, { type: "image_url", image_url: { url: dataUrl } }] }] });
      const media = flatParts(view()).map(({ part }) => part).filter((part) => part.kind !== "text");
      const inline: NormalPart = { kind: "media-data", mimeType: "image/png", base64: PNG.toString("base64") };
      if (dialect === "gemini") {
        // Gemini cannot fetch arbitrary URLs: the gateway fetched it (guarded) and inlined the bytes.
        expect(media).toEqual([inline, inline]);
        expect(mediaServer.requests.map((request) => request.url)).toEqual(["/media/cat.png"]);
        expect(data.choices[0]?.message.content).toBe("Echo: Compare these. [media: image/png, image/png]");
      } else {
        expect(media).toEqual([{ kind: "media-url", url: mediaUrls.cat }, inline]);
        expect(mediaServer.requests).toHaveLength(0);
      }
    });
  });

  describe("audio and video as image_url with mime_type", () => {
    const audioPart = { type: "image_url", image_url: { url: `data:audio/wav;base64,${WAV.toString("base64")}`, mime_type: "audio/wav" } } as unknown as Part;
    const AUDIO: Record<Dialect, "native" | "400"> = { openai: "native", anthropic: "400", gemini: "native" };
    const VIDEO: Record<Dialect, "native" | "400"> = { openai: "400", anthropic: "400", gemini: "native" };

    it(`audio: ${AUDIO[dialect] === "native" ? "reaches the provider natively" : "is a 400 before any upstream call"}`, async () => {
      const call = () => create({ messages: [{ role: "user", content: [{ type: "text", text: "Transcribe." }, audioPart] }] });
      if (AUDIO[dialect] === "400") {
        const error = await thrown(call);
        expect(error).toBeInstanceOf(OpenAI.BadRequestError);
        expect((error as APIError).message).toMatch(/audio/i);
        expect((error as APIError).param).toBe("messages[0].content[1]");
        noUpstreamCall();
        return;
      }
      await call();
      const media = flatParts(view()).map(({ part }) => part).filter((part) => part.kind !== "text");
      // OpenAI: input_audio {format: wav}; Gemini: inlineData audio/wav.
      expect(media).toEqual([{ kind: "media-data", mimeType: "audio/wav", base64: WAV.toString("base64") }]);
    });

    it(`video: ${VIDEO[dialect] === "native" ? "by URL is fetched and inlined, YouTube goes by reference" : "is a 400 before any upstream call"}`, async () => {
      const videoPart = { type: "image_url", image_url: { url: mediaUrls.clip, mime_type: "video/mp4" } } as unknown as Part;
      const youTube = { type: "image_url", image_url: { url: "https://www.youtube.com/watch?v=9hE5-98ZeCg", mime_type: "video/mp4" } } as unknown as Part;
      const call = () => create({ messages: [{ role: "user", content: [{ type: "text", text: "Describe." }, videoPart, youTube] }] });
      if (VIDEO[dialect] === "400") {
        const error = await thrown(call);
        expect(error).toBeInstanceOf(OpenAI.BadRequestError);
        expect((error as APIError).message).toMatch(/video/i);
        noUpstreamCall();
        expect(mediaServer.requests).toHaveLength(0);
        return;
      }
      const { data } = await call();
      const media = flatParts(view()).map(({ part }) => part).filter((part) => part.kind !== "text");
      expect(media).toEqual([
        { kind: "media-data", mimeType: "video/mp4", base64: MP4.toString("base64") },
        { kind: "media-url", url: "https://www.youtube.com/watch?v=9hE5-98ZeCg", mimeType: "video/mp4" },
      ]);
      expect(mediaServer.requests.map((request) => request.url)).toEqual(["/media/clip.mp4"]);
      expect(data.choices[0]?.message.content).toBe("Echo: Describe. [media: video/mp4, video/mp4]");
    });
  });

  describe("sampling parameters", () => {
    it("sends temperature, top_p, max_tokens, stop, penalties, seed and user natively, or drops them with a warning", async () => {
      const { data, response } = await create({
        messages: [{ role: "user", content: "Numbers please" }],
        temperature: 0.3, top_p: 0.9, max_tokens: 50, stop: ["END"], frequency_penalty: 0.5, presence_penalty: 0.25, seed: 7, user: "user-7",
      });
      expect(data.choices[0]?.message.content).toBe("Echo: Numbers please");
      const params = view().params;
      expect(params).toMatchObject({ temperature: 0.3, topP: 0.9, maxTokens: 50, stop: ["END"] });
      const body = raw();
      const warnings = warningsOf(response);
      if (dialect === "openai") {
        expect(body).toMatchObject({ temperature: 0.3, top_p: 0.9, max_completion_tokens: 50, stop: ["END"], frequency_penalty: 0.5, presence_penalty: 0.25, seed: 7, user: "user-7" });
        expect(warnings).toBe("");
      }
      if (dialect === "anthropic") {
        expect(body).toMatchObject({ temperature: 0.3, top_p: 0.9, max_tokens: 50, stop_sequences: ["END"], metadata: { user_id: "user-7" } });
        for (const dropped of ["frequency_penalty", "presence_penalty", "seed"]) {
          expect(body).not.toHaveProperty(dropped);
          expect(warnings).toContain(`${dropped} is not supported by Anthropic and was dropped`);
        }
      }
      if (dialect === "gemini") {
        expect(body.generationConfig).toEqual({ temperature: 0.3, topP: 0.9, maxOutputTokens: 50, stopSequences: ["END"], frequencyPenalty: 0.5, presencePenalty: 0.25, seed: 7 });
        expect(warnings).toContain("user is not supported by Gemini; dropped");
      }
    });

    it("applies max_tokens like the provider: finish_reason length", async () => {
      const { data } = await create({ messages: [{ role: "user", content: "one two three four five six seven" }], max_tokens: 3 });
      expect(data.choices[0]?.finish_reason).toBe("length");
      expect(data.choices[0]?.message.content).toBe("Echo: one two");
    });


    it.each(PARAMETER_ROWS)("$name", async (row) => {
      const want = row.expect[dialect];
      const call = () => create({ messages: [{ role: "user", content: row.prompt ?? "Say something." }], ...row.params });
      if (want.kind === "400") {
        const error = await thrown(call);
        expect(error).toBeInstanceOf(OpenAI.BadRequestError);
        expect((error as APIError).param).toBe(want.param);
        expect((error as APIError).message).toContain(want.param);
        noUpstreamCall();
        return;
      }
      const { data, response } = await call();
      want.check(view(), raw(), data);
      if (want.warning) expect(warningsOf(response)).toContain(want.warning);
    });
  });

  describe("the weather tool", () => {
    it("non-streaming: one get_current_weather call with location and unit", async () => {
      const { data } = await create({ messages: [{ role: "user", content: "What's the weather like in Boston today?" }], tools: [WEATHER_TOOL] });
      const choice = data.choices[0];
      expect(choice?.finish_reason).toBe("tool_calls");
      expect(choice?.message.content ?? null).toBeNull();
      const calls = choice?.message.tool_calls ?? [];
      expect(calls).toHaveLength(1);
      const call = calls[0];
      if (call?.type !== "function") throw new Error("expected a function call");
      expect(call.id).toMatch(/^[A-Za-z0-9_-]{1,40}$/);
      expect(call.function.name).toBe("get_current_weather");
      expect(JSON.parse(call.function.arguments)).toEqual({ location: "Boston", unit: "celsius" });
      expect(view().tools.map((tool) => tool.name)).toEqual(["get_current_weather"]);
    });

    it("streaming: parallel calls assemble like a real client (dense indexes, id and name once)", async () => {
      const stream = await client.chat.completions.create({ model, stream: true, messages: [{ role: "user", content: "What's the weather like in Boston, Tokyo and Paris?" }], tools: [WEATHER_TOOL] });
      const calls: { id: string; name: string; arguments: string; idSeen: number; nameSeen: number }[] = [];
      const indexes: number[] = [];
      let firstRole: string | undefined;
      let chunks = 0;
      let finish: string | null | undefined;
      for await (const chunk of stream) {
        const choice = chunk.choices[0];
        if (chunks++ === 0) firstRole = choice?.delta.role;
        for (const delta of choice?.delta.tool_calls ?? []) {
          indexes.push(delta.index);
          const call = (calls[delta.index] ??= { id: "", name: "", arguments: "", idSeen: 0, nameSeen: 0 });
          if (delta.id) { call.id = delta.id; call.idSeen++; }
          if (delta.function?.name) { call.name = delta.function.name; call.nameSeen++; }
          call.arguments += delta.function?.arguments ?? "";
        }
        if (choice?.finish_reason) finish = choice.finish_reason;
      }
      expect(firstRole).toBe("assistant");
      expect(finish).toBe("tool_calls");
      expect([...new Set(indexes)]).toEqual([0, 1, 2]);
      expect(calls.map((call) => ({ idSeen: call.idSeen, nameSeen: call.nameSeen, name: call.name }))).toEqual([0, 1, 2].map(() => ({ idSeen: 1, nameSeen: 1, name: "get_current_weather" })));
      expect(new Set(calls.map((call) => call.id)).size).toBe(3);
      expect(calls.map((call) => JSON.parse(call.arguments))).toEqual(["Boston", "Tokyo", "Paris"].map((location) => ({ location, unit: "celsius" })));
      expect(view().stream).toBe(true);
    });

    it("multi-turn loop: the results go back in the provider's native tool-result shape", async () => {
      const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: "user", content: "What's the weather like in Boston and Tokyo?" }];
      const first = await client.chat.completions.create({ model, messages, tools: [WEATHER_TOOL] });
      const assistantMessage = first.choices[0]?.message;
      if (!assistantMessage) throw new Error("no message");
      const calls = (assistantMessage.tool_calls ?? []).flatMap((call) => (call.type === "function" ? [call] : []));
      expect(calls.map((call) => JSON.parse(call.function.arguments).location)).toEqual(["Boston", "Tokyo"]);
      // Send the assistant message back as the SDK returned it (Gemini's extra_content included), then one result per call.
      messages.push(assistantMessage as OpenAI.Chat.ChatCompletionMessageParam);
      calls.forEach((call, index) => messages.push({ role: "tool", tool_call_id: call.id, content: JSON.stringify({ temperature: 20 + index, unit: "celsius" }) }));
      upstream().reset();

      const stream = await client.chat.completions.create({ model, messages, tools: [WEATHER_TOOL], stream: true });
      let text = "";
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
      expect(text).toBe('Tool results: {"temperature":20,"unit":"celsius"} | {"temperature":21,"unit":"celsius"}');

      const body = raw();
      const ids = calls.map((call) => call.id);
      const output = (index: number) => ({ temperature: 20 + index, unit: "celsius" });
      if (dialect === "openai") {
        const sent = body.messages as Record<string, Json>[];
        expect(sent.map((message) => message.role)).toEqual(["user", "assistant", "tool", "tool"]);
        expect((sent[1]?.tool_calls as { id: string }[]).map((call) => call.id)).toEqual(ids);
        expect(sent.slice(2).map((message) => message.tool_call_id)).toEqual(ids);
      }
      if (dialect === "anthropic") {
        const sent = body.messages as { role: string; content: Record<string, Json>[] }[];
        expect(sent.map((message) => message.role)).toEqual(["user", "assistant", "user"]);
        expect(sent[1]?.content.map((block) => [block.type, block.id])).toEqual(ids.map((id) => ["tool_use", id]));
        expect(sent[2]?.content).toEqual(ids.map((id, index) => ({ type: "tool_result", tool_use_id: id, content: JSON.stringify(output(index)) })));
      }
      if (dialect === "gemini") {
        const sent = body.contents as { role: string; parts: Record<string, Json>[] }[];
        expect(sent.map((content) => content.role)).toEqual(["user", "model", "user"]);
        // The thought signature Gemini put on the first call came back through extra_content.
        expect(sent[1]?.parts[0]?.thoughtSignature).toBe(geminiSignatureFor("get_current_weather"));
        expect(sent[1]?.parts.map((part) => (part.functionCall as { id: string }).id)).toEqual(ids);
        expect(sent[2]?.parts).toEqual(ids.map((id, index) => ({ functionResponse: { name: "get_current_weather", response: { output: output(index) }, id } })));
      }
    });

    it("multi-turn loop from a streamed first turn whose client kept only id, name and arguments", async () => {
      // Many clients rebuild the assistant message from stream deltas and drop extra_content; Gemini 3 still needs its signature.
      const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: "user", content: "What's the weather like in Paris?" }];
      const stream = await client.chat.completions.create({ model, messages, tools: [WEATHER_TOOL], stream: true });
      const calls: { id: string; name: string; arguments: string }[] = [];
      for await (const chunk of stream) {
        for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
          const call = (calls[delta.index] ??= { id: "", name: "", arguments: "" });
          call.id ||= delta.id ?? "";
          call.name ||= delta.function?.name ?? "";
          call.arguments += delta.function?.arguments ?? "";
        }
      }
      expect(calls).toHaveLength(1);
      messages.push({ role: "assistant", content: null, tool_calls: calls.map((call) => ({ id: call.id, type: "function", function: { name: call.name, arguments: call.arguments } })) });
      messages.push({ role: "tool", tool_call_id: calls[0]?.id ?? "", content: "rainy" });
      upstream().reset();
      const { data } = await create({ messages, tools: [WEATHER_TOOL] });
      expect(data.choices[0]?.message.content).toBe("Tool results: rainy");
      if (dialect === "gemini") {
        const sent = raw().contents as { parts: Record<string, Json>[] }[];
        expect(sent[1]?.parts[0]?.thoughtSignature).toBe(geminiSignatureFor("get_current_weather"));
      }
    });
  });

  describe("usage", () => {
    it("streams one final usage chunk with stream_options.include_usage, in OpenAI's conventions", async () => {
      const stream = await client.chat.completions.create({ model, stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "Count the words in this prompt" }] });
      const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
      for await (const chunk of stream) chunks.push(chunk);
      const last = chunks.at(-1);
      expect(last?.choices).toEqual([]);
      expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
      const reported = only().answer?.usage;
      if (!reported) throw new Error("the upstream recorded no usage");
      // Cached tokens are inside prompt_tokens and reasoning inside completion_tokens, whatever the provider's own convention.
      expect(last?.usage).toMatchObject({
        prompt_tokens: reported.prompt,
        completion_tokens: reported.completion,
        total_tokens: reported.prompt + reported.completion,
        prompt_tokens_details: { cached_tokens: reported.cached },
        completion_tokens_details: { reasoning_tokens: reported.reasoning },
      });
      expect(reported.cached).toBeGreaterThan(0);
    });

    it("reports the same usage on a non-streaming answer", async () => {
      const { data } = await create({ messages: [{ role: "user", content: "Count the words in this prompt" }] });
      const reported = only().answer?.usage;
      expect(data.usage).toMatchObject({ prompt_tokens: reported?.prompt, completion_tokens: reported?.completion, prompt_tokens_details: { cached_tokens: reported?.cached }, completion_tokens_details: { reasoning_tokens: reported?.reasoning } });
    });
  });

  describe('the "\\n" stop sequence', () => {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: "user", content: "line one\nline two\nline three" }];
    const checkUpstream = (warnings: string) => {
      if (dialect === "anthropic") {
        // Anthropic rejects whitespace-only stop sequences: the gateway keeps it out and cuts the text itself.
        expect(raw()).not.toHaveProperty("stop_sequences");
        expect(warnings).toContain('stop sequence "\\n" is enforced by the gateway');
      } else {
        expect(view().params.stop).toEqual(["\n"]);
      }
    };

    it("non-streaming: text cut at the first newline, finish_reason stop", async () => {
      const { data, response } = await create({ messages, stop: ["\n"] });
      expect(data.choices[0]?.message.content).toBe("Echo: line one");
      expect(data.choices[0]?.finish_reason).toBe("stop");
      checkUpstream(warningsOf(response));
    });

    it("streaming: text cut at the first newline, finish_reason stop", async () => {
      const { data: stream, response } = await client.chat.completions.create({ model, messages, stop: ["\n"], stream: true }).withResponse();
      let text = "";
      let finish: string | null | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? "";
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      expect(text).toBe("Echo: line one");
      expect(finish).toBe("stop");
      checkUpstream(warningsOf(response));
    });
  });

  describe("errors", () => {
    const ask = (content: string) => create({ messages: [{ role: "user", content }] });

    it("400 from the provider reaches the caller as BadRequestError with the provider's message", async () => {
      const error = await thrown(() => ask("[[error:400]]"));
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as APIError).message).toContain("upstream 400 on demand");
      expect(only().status).toBe(400);
    });

    it("400 from the gateway's own validation, before any upstream call", async () => {
      const error = await thrown(() => create({ messages: [{ role: "user", content: "hi" }], temperature: 5 }));
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as APIError).param).toBe("temperature");
      noUpstreamCall();
    });

    it("401 for a wrong gateway key, before any upstream call", async () => {
      const stranger = new OpenAI({ apiKey: "sy-wrong-key", baseURL: `${gateway.origin}/v1`, maxRetries: 0 });
      const error = await thrown(() => stranger.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] }));
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      noUpstreamCall();
    });

    it("404 for a model the provider does not have", async () => {
      const error = await thrown(() => client.chat.completions.create({ model: `${ACCOUNTS[dialect]}/no-such-model`, messages: [{ role: "user", content: "hi" }] }));
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect(only().status).toBe(404);
    });

    it("404 for an account the gateway does not have, before any upstream call", async () => {
      const error = await thrown(() => client.chat.completions.create({ model: "no-such-account/x", messages: [{ role: "user", content: "hi" }] }));
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      noUpstreamCall();
    });

    it("429 becomes RateLimitError with retry-after", async () => {
      const error = await thrown(() => ask("[[error:429]]"));
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
      expect((error as APIError).headers?.get("retry-after")).toBe("7");
      expect(only().status).toBe(429);
    });

    it("429 on a stream fails the create call (nothing was streamed yet)", async () => {
      const error = await thrown(() => client.chat.completions.create({ model, stream: true, messages: [{ role: "user", content: "[[error:429]]" }] }));
      expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    });

    it("the provider rejecting the gateway's own key is a 502 that leaks no key", async () => {
      const error = await thrown(() => ask("[[error:401]]"));
      expect(error).toBeInstanceOf(OpenAI.InternalServerError);
      expect((error as APIError).status).toBe(502);
      const message = (error as APIError).message;
      expect(message).not.toContain(KEYS[dialect]);
      expect(message).not.toContain("Incorrect API key");
      expect(message).toContain(ACCOUNTS[dialect]);
    });

    it.each([["503", 503], ["overload", dialect === "anthropic" ? 529 : 503], ["500", 500]] as const)("upstream %s becomes 503", async (marker, upstreamStatus) => {
      const error = await thrown(() => ask(`[[error:${marker}]]`));
      expect(error).toBeInstanceOf(OpenAI.InternalServerError);
      expect((error as APIError).status).toBe(503);
      expect(only().status).toBe(upstreamStatus);
    });

    it("a mid-stream provider error makes the SDK throw after the text it already got", async () => {
      const stream = await client.chat.completions.create({ model, stream: true, messages: [{ role: "user", content: "please fail [[midstream-error]]" }] });
      let text = "";
      const error = await thrown(async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
      });
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect((error as APIError).code).toBe("stream_interrupted");
      expect((error as APIError).message).toContain("PROVIDER_UNAVAILABLE");
      expect(text).toBe("Echo: please fail [[midstream-error]]");
    });

    it("an upstream stream that ends without finishing makes the SDK throw", async () => {
      const stream = await client.chat.completions.create({ model, stream: true, messages: [{ role: "user", content: "cut me [[truncate]]" }] });
      const error = await thrown(async () => {
        for await (const chunk of stream) void chunk;
      });
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect((error as APIError).code).toBe("stream_interrupted");
    });
  });
});

describe("media fetching with the default config", () => {
  let strict: Running | undefined;
  afterAll(async () => {
    await strict?.built.app.close();
  });

  it("refuses a private-network media URL with a 400, without fetching it or calling Gemini", async () => {
    strict = await startGateway(upstreams, "");
    const strictClient = new OpenAI({ apiKey: GATEWAY_KEY, baseURL: `${strict.origin}/v1`, maxRetries: 0 });
    const error = await thrown(() =>
      strictClient.chat.completions.create({ model: `internal-google/${MODELS.gemini}`, messages: [{ role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: mediaUrls.cat } }] }] }),
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as APIError).param).toBe("messages[0].content[1]");
    expect(upstreams.gemini.chatRequests()).toHaveLength(0);
    expect(mediaServer.requests).toHaveLength(0);
  });
});
