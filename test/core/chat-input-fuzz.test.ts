import { describe, expect, it } from "vitest";
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { ChatInputSchema, type ImageDetail, type ResponseFormatType, type Role, type ToolChoiceMode } from "../../gen/switchyard/v1/chat_pb.js";
import { ChatResponseSchema, ChatStreamResponseSchema } from "../../gen/switchyard/v1/chat_service_pb.js";
import { buildApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";
import { GatewayError, Reason } from "../../src/core/errors.js";
import { LightAbort } from "../../src/core/light-abort.js";
import { FUZZ_CONFIG, fuzzCases, fuzzRandom, wellBehavedUpstream } from "../support/fuzzing.js";

/*
 * Seeded fuzzing of the typed request the gRPC and Connect edges hand to the core: a ChatInput can
 * carry what the OpenAI JSON cannot (NaN and infinite doubles, negative int32s, int64 extremes,
 * enum values outside the schema, oneofs with no case, media with no source), and the core is
 * the only check between it and every provider's translator. Whatever it holds, the answer is a
 * complete one (that encodes as protobuf) or a GatewayError about the input: never an internal
 * error. For a longer local run: FUZZ_SEED=<n> FUZZ_CASES=<n>.
 */

type Init = MessageInitShape<typeof ChatInputSchema>;

function randomInput(random: () => number): Init {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const maybe = <T>(value: () => T, chance = 0.15): T | undefined => (random() < chance ? value() : undefined);
  const doubles = [Number.NaN, Infinity, -Infinity, -1, 0, 0.5, 1, 2, 3, 1e308, -0];
  const ints = [-(2 ** 31), -1, 0, 1, 2, 5, 20, 2 ** 31 - 1];
  const strings = ["", "x", "hi", "\u0000", "🙂", "a".repeat(2000), "gpt-4o", "f", "call_1"];
  const media = () => ({ source: pick([{ case: "url" as const, value: pick(["https://example.test/a.png", "http://169.254.169.254/x", "", "data:image/png;base64,AAAA", "ftp://x"]) }, { case: "data" as const, value: new Uint8Array([137, 80, 78, 71]) }, { case: undefined }]), mimeType: pick(["image/png", "audio/wav", "video/mp4", "application/pdf", "", "text/plain", "x/y"]), detail: pick([0, 1, 2, 3, 99]) as ImageDetail, filename: pick(["", "a.pdf"]) });
  const part = () =>
    pick([
      { part: { case: "text" as const, value: pick(strings) } },
      { part: { case: "image" as const, value: media() } },
      { part: { case: "audio" as const, value: media() } },
      { part: { case: "video" as const, value: media() } },
      { part: { case: "file" as const, value: media() } },
      { part: { case: "refusal" as const, value: pick(strings) } },
      { part: { case: "reasoning" as const, value: { text: pick(strings), signature: pick(["", "sig"]), redactedData: pick(["", "opaque"]) } } },
      { part: { case: undefined } },
    ]);
  const toolCall = () => ({ id: pick(strings), name: pick(strings), arguments: pick(["{}", '{"a":1}', "", "not json", "[]"]), ...(random() < 0.2 ? { extraContent: { google: { thought_signature: "c2ln" } } } : {}) });
  const message = () => ({ role: pick([0, 1, 2, 3, 3, 3, 4, 4, 5, 99]) as Role, content: Array.from({ length: Math.floor(random() * 3) }, part), toolCalls: random() < 0.25 ? Array.from({ length: 1 + Math.floor(random() * 2) }, toolCall) : [], toolCallId: pick(["", "call_1", "x"]), name: pick(["", "n"]) });
  return {
    model: random() < 0.05 ? pick(["", "nosuch/x", "oai/"]) : pick(["oai/gpt-4o", "oai/o3", "anth/claude-sonnet-4-5", "anth/claude-3-5-haiku", "gem/gemini-2.5-flash", "gem/gemini-3-pro-preview", "gem/gemini-1.5-pro"]),
    // Half the inputs keep a plain user turn, so the rest of the input is what gets checked.
    messages: random() < 0.5 ? [{ role: 3 as Role, content: [{ part: { case: "text" as const, value: "hi" } }] }] : Array.from({ length: Math.floor(random() * 5) }, message),
    tools: random() < 0.3 ? [{ name: pick(strings), description: pick(strings), ...(random() < 0.7 ? { parameters: pick([{ type: "object", properties: { a: { type: "integer" } } }, {}, { type: "string" }]) } : {}), ...(random() < 0.5 ? { strict: random() < 0.5 } : {}) }] : [],
    toolChoice: maybe(() => pick([{ choice: { case: "mode" as const, value: pick([0, 1, 2, 3, 99]) as ToolChoiceMode } }, { choice: { case: "functionName" as const, value: pick(strings) } }, { choice: { case: undefined } }])),
    responseFormat: maybe(() => ({ type: pick([0, 1, 2, 3, 99]) as ResponseFormatType, ...(random() < 0.6 ? { jsonSchema: { name: pick(strings), schema: pick([{ type: "object", properties: { a: { type: "string" } } }, {}, { $ref: "#" }]), ...(random() < 0.5 ? { strict: true } : {}) } } : {}) })),
    temperature: maybe(() => pick(doubles)),
    maxTokens: maybe(() => pick(ints)),
    topP: maybe(() => pick(doubles)),
    frequencyPenalty: maybe(() => pick(doubles)),
    presencePenalty: maybe(() => pick(doubles)),
    stop: random() < 0.2 ? Array.from({ length: pick([1, 4, 5, 100]) }, () => pick(strings)) : [],
    seed: maybe(() => pick([-(2n ** 63n), -1n, 0n, 42n, 2n ** 31n, 2n ** 63n - 1n])),
    n: maybe(() => pick(ints)),
    logprobs: maybe(() => random() < 0.5),
    topLogprobs: maybe(() => pick(ints)),
    parallelToolCalls: maybe(() => random() < 0.5),
    user: maybe(() => pick(strings)),
    logitBias: random() < 0.15 ? { "50256": pick(doubles), x: 1 } : {},
    fallbacks: random() < 0.2 ? [pick(["oai/gpt-4o", "", "nosuch/y", "gem/gemini-2.5-flash"])] : [],
    providerOptions: random() < 0.15 ? { [pick(["openai", "anthropic", "gemini", "x"])]: pick([{ store: true }, { top_k: 3 }, { thinking: { type: "enabled", budget_tokens: 1024 } }, { generationConfig: { topK: 2 } }, { a: [1, { b: null }] }]) } : {},
    reasoningEffort: maybe(() => pick(["", "low", "medium", "high", "minimal", "none", "xhigh", "turbo"])),
  };
}

describe("ChatInput under fuzzing (seeded), as the gRPC and Connect edges hand it to the core", () => {
  it("answers every input completely or with a GatewayError that is not INTERNAL_ERROR", async () => {
    const { gateway } = await buildApp({ config: parseConfigText(FUZZ_CONFIG, "fuzz.yaml", {}), transport: wellBehavedUpstream });
    const random = fuzzRandom(99);
    const seen = { answered: 0, refused: 0 };
    for (let index = 0; index < fuzzCases(600); index++) {
      const input = create(ChatInputSchema, randomInput(random));
      const stream = random() < 0.4;
      try {
        if (stream) for await (const event of gateway.chatStream(input, { signal: new LightAbort() })) toBinary(ChatStreamResponseSchema, event);
        else toBinary(ChatResponseSchema, await gateway.chat(input, { signal: new LightAbort() }));
        seen.answered++;
      } catch (thrown) {
        const context = `case ${index} (${stream ? "stream" : "unary"}): ${String(thrown)}\ninput: ${JSON.stringify(input, (_key, value: unknown) => (typeof value === "bigint" ? String(value) : value)).slice(0, 1500)}`;
        expect(thrown, context).toBeInstanceOf(GatewayError);
        // The upstream always answers well: a failure is about the input, never the gateway or the provider.
        expect([Reason.INTERNAL_ERROR, Reason.INVALID_PROVIDER_RESPONSE], context).not.toContain((thrown as GatewayError).reason);
        seen.refused++;
      }
    }
    expect(seen.answered).toBeGreaterThan(30);
    expect(seen.refused).toBeGreaterThan(100);
  }, 120_000);
});
