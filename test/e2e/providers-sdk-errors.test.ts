/**
 * The providers SDK suite (see providers-sdk.test.ts), errors: provider and gateway failures as
 * the SDK's typed errors, before the first byte and mid-stream.
 */
import OpenAI, { type APIError } from "openai";
import { describe, expect, it } from "vitest";
import { thrown } from "../support/thrown.js";
import { providerCalls, PROVIDERS, useProvidersSdkWorld } from "./providers-sdk-harness.js";
import { ACCOUNTS, KEYS } from "./providers-sdk-setup.js";

const sdk = useProvidersSdkWorld();

describe.each(PROVIDERS)("OpenAI SDK -> gateway -> $label", ({ dialect, model }) => {
  const { only, noUpstreamCall, create } = providerCalls(sdk, dialect, model);

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
      const stranger = new OpenAI({ apiKey: "sy-wrong-key", baseURL: `${sdk.gateway.origin}/v1`, maxRetries: 0 });
      const error = await thrown(() => stranger.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] }));
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      noUpstreamCall();
    });

    it("404 for a model the provider does not have", async () => {
      const error = await thrown(() => sdk.client.chat.completions.create({ model: `${ACCOUNTS[dialect]}/no-such-model`, messages: [{ role: "user", content: "hi" }] }));
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect(only().status).toBe(404);
    });

    it("404 for an account the gateway does not have, before any upstream call", async () => {
      const error = await thrown(() => sdk.client.chat.completions.create({ model: "no-such-account/x", messages: [{ role: "user", content: "hi" }] }));
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
      const error = await thrown(() => sdk.client.chat.completions.create({ model, stream: true, messages: [{ role: "user", content: "[[error:429]]" }] }));
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
      const stream = await sdk.client.chat.completions.create({ model, stream: true, messages: [{ role: "user", content: "please fail [[midstream-error]]" }] });
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
      const stream = await sdk.client.chat.completions.create({ model, stream: true, messages: [{ role: "user", content: "cut me [[truncate]]" }] });
      const error = await thrown(async () => {
        for await (const chunk of stream) void chunk;
      });
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect((error as APIError).code).toBe("stream_interrupted");
    });
  });
});
