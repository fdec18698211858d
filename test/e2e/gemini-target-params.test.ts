/**
 * A virtual model's target params on a Gemini target. Every generation setting of Gemini sits in
 * `generationConfig`, so a native param such as `top_k` goes there (as `topK`), merged with the
 * caller's own `provider_options.gemini.generationConfig`. It used to be refused as an unknown
 * top-level provider option: every request got a 400 that blamed the caller, and the fallback
 * target was never tried.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withGeminiTargetParams } from "../../src/providers/gemini/gemini-request.js";
import { jsonAnswer, startFakeUpstream, type FakeUpstream } from "../support/fake-upstream.js";
import { listenApp, type ListeningApp } from "../support/listening-app.js";

const ANSWER = { candidates: [{ content: { role: "model", parts: [{ text: "hi" }] }, finishReason: "STOP", index: 0 }], usageMetadata: { promptTokenCount: 2, candidatesTokenCount: 1, totalTokenCount: 3 } };

let upstream: FakeUpstream;
let gateway: ListeningApp;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  upstream.setDefault(jsonAnswer(ANSWER));
  gateway = await listenApp(
    [
      "providers:",
      `  gem: { type: gemini, api_key: "AIzaTargetParams0123456789", base_url: "${upstream.baseUrl}" }`,
      "models:",
      "  tuned:",
      "    strategy: fallback",
      "    targets:",
      "      - { model: gem/gemini-2.0-flash, params: { top_k: 5, temperature: 0.3, response_mime_type: text/plain } }",
      "routing: { retry: { max_retries: 0 } }",
      "logging: { level: silent }",
      "",
    ].join("\n"),
    "gemini-target-params.yaml",
  );
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

describe("Gemini target params", () => {
  it("go into generationConfig under their camelCase names, merged with the caller's provider options", async () => {
    const client = new OpenAI({ baseURL: `${gateway.origin}/v1`, apiKey: "unused", maxRetries: 0 });
    const body = { model: "tuned", messages: [{ role: "user" as const, content: "hi" }], max_tokens: 20, temperature: 1, provider_options: { gemini: { generationConfig: { topK: 40, candidateCount: 1 } } } };
    const completion = await client.chat.completions.create(body as OpenAI.ChatCompletionCreateParamsNonStreaming);
    expect(completion.choices[0]?.message.content).toBe("hi");
    const sent = upstream.lastRequest().body as { generationConfig: Record<string, unknown> };
    expect(sent.generationConfig).toEqual({ maxOutputTokens: 20, temperature: 0.3, topK: 5, candidateCount: 1, responseMimeType: "text/plain" });
  });

  it("keep the caller's other provider options", () => {
    expect(withGeminiTargetParams({ safetySettings: [], generationConfig: { seed: 1 } }, { topK: 3 })).toEqual({ safetySettings: [], generationConfig: { seed: 1, topK: 3 } });
    expect(withGeminiTargetParams(undefined, { top_k: 3, presence_penalty: 0.5 })).toEqual({ generationConfig: { topK: 3, presencePenalty: 0.5 } });
    // A field of the request itself stays at the top level (it worked there before params went into generationConfig).
    expect(withGeminiTargetParams(undefined, { cached_content: "cachedContents/abc" })).toEqual({ cachedContent: "cachedContents/abc" });
    expect(withGeminiTargetParams({ generationConfig: { seed: 1 } }, { cachedContent: "cachedContents/abc", top_k: 2 })).toEqual({ cachedContent: "cachedContents/abc", generationConfig: { seed: 1, topK: 2 } });
  });
});
