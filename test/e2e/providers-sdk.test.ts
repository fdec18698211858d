/**
 * The same official-OpenAI-SDK suite, run against all three providers through a real listening
 * gateway: accounts openai-main (type openai), anthropic-main (type anthropic) and internal-google
 * (type gemini) each point at a dialect upstream (test/support/dialect-upstream.ts) that answers
 * from what it receives in its own wire format. A caller must not be able to tell the providers
 * apart by behaviour: every feature works the same, or fails with a clear 400 before any upstream
 * call, or works with a warning in `x-switchyard-warnings`.
 *
 * This file: chat basics, sampling parameters, usage and the "\n" stop sequence; the media, tool and
 * error suites are providers-sdk-media / -tools / -errors.test.ts (set-up in providers-sdk-harness.ts).
 */
import OpenAI, { type APIError } from "openai";
import { describe, expect, it } from "vitest";
import { flatParts, type NormalPart } from "../support/dialect-requests.js";
import { thrown } from "../support/thrown.js";
import { providerCalls, PROVIDERS, useProvidersSdkWorld } from "./providers-sdk-harness.js";
import { ACCOUNTS, MODELS, PARAMETER_ROWS, PNG } from "./providers-sdk-setup.js";

const sdk = useProvidersSdkWorld();

describe.each(PROVIDERS)("OpenAI SDK -> gateway -> $label", ({ dialect, model }) => {
  const { only, view, raw, noUpstreamCall, warningsOf, create } = providerCalls(sdk, dialect, model);

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
      const { data } = await create({ messages: [{ role: "user", content: [{ type: "text", text: "Compare these." }, { type: "image_url", image_url: { url: sdk.mediaUrls.cat } }, { type: "image_url", image_url: { url: dataUrl } }] }] });
      const media = flatParts(view()).map(({ part }) => part).filter((part) => part.kind !== "text");
      const inline: NormalPart = { kind: "media-data", mimeType: "image/png", base64: PNG.toString("base64") };
      if (dialect === "gemini") {
        // Gemini cannot fetch arbitrary URLs: the gateway fetched it (guarded) and inlined the bytes.
        expect(media).toEqual([inline, inline]);
        expect(sdk.mediaServer.requests.map((request) => request.url)).toEqual(["/media/cat.png"]);
        expect(data.choices[0]?.message.content).toBe("Echo: Compare these. [media: image/png, image/png]");
      } else {
        expect(media).toEqual([{ kind: "media-url", url: sdk.mediaUrls.cat }, inline]);
        expect(sdk.mediaServer.requests).toHaveLength(0);
      }
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
      // claude-sonnet-4-5 refuses temperature together with top_p: top_p is dropped there, with a warning.
      expect(params).toMatchObject({ temperature: 0.3, ...(dialect === "anthropic" ? {} : { topP: 0.9 }), maxTokens: 50, stop: ["END"] });
      const body = raw();
      const warnings = warningsOf(response);
      if (dialect === "openai") {
        expect(body).toMatchObject({ temperature: 0.3, top_p: 0.9, max_completion_tokens: 50, stop: ["END"], frequency_penalty: 0.5, presence_penalty: 0.25, seed: 7, user: "user-7" });
        expect(warnings).toBe("");
      }
      if (dialect === "anthropic") {
        expect(body).toMatchObject({ temperature: 0.3, max_tokens: 50, stop_sequences: ["END"], metadata: { user_id: "user-7" } });
        expect(body).not.toHaveProperty("top_p");
        expect(warnings).toContain("top_p 0.9 was dropped: claude-sonnet-4-5 does not accept top_p together with temperature");
        for (const dropped of ["frequency_penalty", "presence_penalty", "seed"]) {
          expect(body).not.toHaveProperty(dropped);
          expect(warnings).toContain(`${dropped} is not supported by Anthropic and was dropped`);
        }
      }
      if (dialect === "gemini") {
        // gemini-2.5-flash refuses any non-zero penalty ("Penalty is not enabled for models/…"): dropped, with a warning.
        expect(body.generationConfig).toEqual({ temperature: 0.3, topP: 0.9, maxOutputTokens: 50, stopSequences: ["END"], seed: 7 });
        expect(warnings).toContain("presence_penalty and frequency_penalty are not supported by gemini-2.5-flash; dropped");
        expect(warnings).toContain("user is not supported by Gemini; dropped");
      }
    });

    it("applies max_tokens like the provider: finish_reason length", async () => {
      const { data } = await create({ messages: [{ role: "user", content: "one two three four five six seven" }], max_tokens: 3 });
      expect(data.choices[0]?.finish_reason).toBe("length");
      expect(data.choices[0]?.message.content).toBe("Echo: one two");
    });


    it.each(["auto", "required"] as const)("restricts the model to allowed_tools (%s)", async (mode) => {
      const fn = (name: string) => ({ type: "function" as const, function: { name, parameters: { type: "object", properties: {} } } });
      await create({
        messages: [{ role: "user", content: "Pick a tool" }],
        tools: [fn("alpha"), fn("beta"), fn("gamma")],
        tool_choice: { type: "allowed_tools", allowed_tools: { mode, tools: [{ type: "function", function: { name: "beta" } }, { type: "function", function: { name: "gamma" } }] } },
      } as unknown as Parameters<typeof create>[0]);
      const body = raw();
      if (dialect === "openai") {
        expect(body.tool_choice).toEqual({ type: "allowed_tools", allowed_tools: { mode, tools: [{ type: "function", function: { name: "beta" } }, { type: "function", function: { name: "gamma" } }] } });
        expect((body.tools as unknown[]).length).toBe(3);
      }
      if (dialect === "anthropic") {
        expect((body.tools as { name: string }[]).map((tool) => tool.name)).toEqual(["beta", "gamma"]);
        expect(body.tool_choice).toEqual({ type: mode === "required" ? "any" : "auto" });
      }
      if (dialect === "gemini") {
        const declared = (body.tools as { functionDeclarations: { name: string }[] }[])[0]?.functionDeclarations.map((declaration) => declaration.name);
        const config = (body.toolConfig as { functionCallingConfig: unknown }).functionCallingConfig;
        if (mode === "required") {
          expect(declared).toEqual(["alpha", "beta", "gamma"]);
          expect(config).toEqual({ mode: "ANY", allowedFunctionNames: ["beta", "gamma"] });
        } else {
          expect(declared).toEqual(["beta", "gamma"]);
          expect(config).toEqual({ mode: "AUTO" });
        }
      }
    });

    it("takes custom tools where the provider has them (OpenAI) and refuses them with a 400 elsewhere, before any upstream call", async () => {
      const call = () => create({ messages: [{ role: "user", content: "Patch it" }], tools: [{ type: "custom", custom: { name: "apply_patch" } }] } as unknown as Parameters<typeof create>[0]);
      if (dialect === "openai") {
        await call();
        expect(raw().tools).toEqual([{ type: "custom", custom: { name: "apply_patch" } }]);
        return;
      }
      const error = await thrown(call);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as APIError).param).toBe("tools[0]");
      noUpstreamCall();
    });

    it("refuses allowed_tools naming an undeclared function, before any upstream call", async () => {
      const error = await thrown(() =>
        create({
          messages: [{ role: "user", content: "Pick a tool" }],
          tools: [{ type: "function", function: { name: "alpha" } }],
          tool_choice: { type: "allowed_tools", allowed_tools: { mode: "auto", tools: [{ type: "function", function: { name: "omega" } }] } },
        } as unknown as Parameters<typeof create>[0]),
      );
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as APIError).param).toBe("tool_choice.allowed_tools.tools[0]");
      noUpstreamCall();
    });

    it("sends an earlier spoken answer back by its audio id where the provider has audio ids, and says so where it has not", async () => {
      const { response } = await create({ messages: [{ role: "user", content: "Say hi" }, { role: "assistant", audio: { id: "audio_abc123" } }, { role: "user", content: "Again" }] });
      const body = raw();
      if (dialect === "openai") {
        expect((body.messages as unknown[])[1]).toEqual({ role: "assistant", content: null, audio: { id: "audio_abc123" } });
        expect(warningsOf(response)).toBe("");
      } else {
        expect(JSON.stringify(body)).not.toContain("audio_abc123");
        expect(warningsOf(response)).toMatch(/audio.*(cannot be sent|dropped)/);
      }
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

  describe("usage", () => {
    it("streams one final usage chunk with stream_options.include_usage, in OpenAI's conventions", async () => {
      const stream = await sdk.client.chat.completions.create({ model, stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content: "Count the words in this prompt" }] });
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
      const { data: stream, response } = await sdk.client.chat.completions.create({ model, messages, stop: ["\n"], stream: true }).withResponse();
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
});
