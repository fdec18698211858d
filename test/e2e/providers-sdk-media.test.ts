/**
 * The providers SDK suite (see providers-sdk.test.ts), media: audio and video parts per provider,
 * and the default config refusing private-network media URLs.
 */
import OpenAI, { type APIError } from "openai";
import { afterAll, describe, expect, it } from "vitest";
import type { Dialect } from "../support/dialect-answers.js";
import { flatParts } from "../support/dialect-requests.js";
import { thrown } from "../support/thrown.js";
import { providerCalls, PROVIDERS, useProvidersSdkWorld } from "./providers-sdk-harness.js";
import { GATEWAY_KEY, MODELS, MP4, startGateway, WAV, type Part, type Running } from "./providers-sdk-setup.js";

const sdk = useProvidersSdkWorld();

describe.each(PROVIDERS)("OpenAI SDK -> gateway -> $label", ({ dialect, model }) => {
  const { view, noUpstreamCall, create } = providerCalls(sdk, dialect, model);

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
      const videoPart = { type: "image_url", image_url: { url: sdk.mediaUrls.clip, mime_type: "video/mp4" } } as unknown as Part;
      const youTube = { type: "image_url", image_url: { url: "https://www.youtube.com/watch?v=9hE5-98ZeCg", mime_type: "video/mp4" } } as unknown as Part;
      const call = () => create({ messages: [{ role: "user", content: [{ type: "text", text: "Describe." }, videoPart, youTube] }] });
      if (VIDEO[dialect] === "400") {
        const error = await thrown(call);
        expect(error).toBeInstanceOf(OpenAI.BadRequestError);
        expect((error as APIError).message).toMatch(/video/i);
        noUpstreamCall();
        expect(sdk.mediaServer.requests).toHaveLength(0);
        return;
      }
      const { data } = await call();
      const media = flatParts(view()).map(({ part }) => part).filter((part) => part.kind !== "text");
      expect(media).toEqual([
        { kind: "media-data", mimeType: "video/mp4", base64: MP4.toString("base64") },
        { kind: "media-url", url: "https://www.youtube.com/watch?v=9hE5-98ZeCg", mimeType: "video/mp4" },
      ]);
      expect(sdk.mediaServer.requests.map((request) => request.url)).toEqual(["/media/clip.mp4"]);
      expect(data.choices[0]?.message.content).toBe("Echo: Describe. [media: video/mp4, video/mp4]");
    });
  });
});

describe("media fetching with the default config", () => {
  let strict: Running | undefined;
  afterAll(async () => {
    await strict?.built.app.close();
  });

  it("refuses a private-network media URL with a 400, without fetching it or calling Gemini", async () => {
    strict = await startGateway(sdk.upstreams, "");
    const strictClient = new OpenAI({ apiKey: GATEWAY_KEY, baseURL: `${strict.origin}/v1`, maxRetries: 0 });
    const error = await thrown(() =>
      strictClient.chat.completions.create({ model: `internal-google/${MODELS.gemini}`, messages: [{ role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: sdk.mediaUrls.cat } }] }] }),
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as APIError).param).toBe("messages[0].content[1]");
    expect(sdk.upstreams.gemini.chatRequests()).toHaveLength(0);
    expect(sdk.mediaServer.requests).toHaveLength(0);
  });
});
