import { describe, expect, it } from "vitest";
import { FinishReason } from "../../../gen/switchyard/v1/chat_pb.js";
import { GatewayError } from "../../../src/core/errors.js";
import { fromGeminiResponse, mapGeminiFinishReason, toProtoUsage } from "../../../src/providers/gemini/gemini-response.js";
import { parseGeminiResponse } from "../../../src/providers/gemini/gemini-wire.js";

const context = { upstreamModel: "gemini-x", warnings: ["w"], now: () => 1_700_000_000_500, onToolCall: () => {} };

describe("mapGeminiFinishReason", () => {
  it.each<[string, boolean, FinishReason]>([
    ["STOP", false, FinishReason.STOP],
    ["STOP", true, FinishReason.TOOL_CALLS],
    ["MAX_TOKENS", true, FinishReason.LENGTH],
    ["SAFETY", false, FinishReason.CONTENT_FILTER],
    ["RECITATION", false, FinishReason.CONTENT_FILTER],
    ["BLOCKLIST", false, FinishReason.CONTENT_FILTER],
    ["PROHIBITED_CONTENT", false, FinishReason.CONTENT_FILTER],
    ["SPII", false, FinishReason.CONTENT_FILTER],
    ["IMAGE_SAFETY", false, FinishReason.CONTENT_FILTER],
    ["MALFORMED_FUNCTION_CALL", true, FinishReason.STOP],
    ["OTHER", false, FinishReason.STOP],
    ["SOMETHING_NEW", false, FinishReason.STOP],
  ])("%s (tool calls: %s)", (raw, hasToolCalls, expected) => {
    expect(mapGeminiFinishReason(raw, hasToolCalls)).toBe(expected);
  });
});

describe("toProtoUsage", () => {
  it.each<[string, Record<string, number> | undefined, Record<string, number>]>([
    ["counts thoughts inside completion and as reasoning", { promptTokenCount: 18, candidatesTokenCount: 80, thoughtsTokenCount: 35, totalTokenCount: 133 }, { promptTokens: 18, completionTokens: 115, totalTokens: 133, reasoningTokens: 35, cachedPromptTokens: 0 }],
    ["adds tool-use prompt tokens and reports cached tokens", { promptTokenCount: 100, toolUsePromptTokenCount: 7, cachedContentTokenCount: 64, candidatesTokenCount: 3, totalTokenCount: 110 }, { promptTokens: 107, completionTokens: 3, totalTokens: 110, reasoningTokens: 0, cachedPromptTokens: 64 }],
    ["tolerates a missing candidatesTokenCount", { promptTokenCount: 15, totalTokenCount: 15 }, { promptTokens: 15, completionTokens: 0, totalTokens: 15, reasoningTokens: 0, cachedPromptTokens: 0 }],
    ["falls back to prompt + completion without a total", { promptTokenCount: 2, candidatesTokenCount: 3 }, { promptTokens: 2, completionTokens: 3, totalTokens: 5, reasoningTokens: 0, cachedPromptTokens: 0 }],
    ["is all zero without usage", undefined, { promptTokens: 0, completionTokens: 0, totalTokens: 0, reasoningTokens: 0, cachedPromptTokens: 0 }],
  ])("%s", (_name, usage, expected) => {
    expect(toProtoUsage(usage)).toMatchObject(expected);
  });
});

describe("usageMetadata token details", () => {
  it("reads the AUDIO entries of promptTokensDetails and candidatesTokensDetails as audio tokens", () => {
    const parsed = parseGeminiResponse({
      candidates: [],
      usageMetadata: {
        promptTokenCount: 40,
        candidatesTokenCount: 9,
        totalTokenCount: 49,
        promptTokensDetails: [{ modality: "TEXT", tokenCount: 30 }, { modality: "AUDIO", tokenCount: 10 }],
        candidatesTokensDetails: [{ modality: "AUDIO", tokenCount: 4 }],
      },
    });
    expect(toProtoUsage(parsed.usageMetadata)).toMatchObject({ promptTokens: 40, completionTokens: 9, promptAudioTokens: 10, completionAudioTokens: 4 });
    expect(toProtoUsage(parseGeminiResponse({ usageMetadata: { promptTokenCount: 3, promptTokensDetails: [{ modality: "TEXT", tokenCount: 3 }] } }).usageMetadata)).toMatchObject({ promptAudioTokens: 0, completionAudioTokens: 0 });
  });
});

describe("fromGeminiResponse", () => {
  it("maps text, thoughts (signatures tagged gemini:) and function calls of each candidate, with raw signatures in extra_content", () => {
    const seen: [string, string][] = [];
    const response = fromGeminiResponse(
      parseGeminiResponse({
        responseId: "r1",
        modelVersion: "gemini-3-pro",
        candidates: [
          {
            index: 0,
            content: {
              role: "model",
              parts: [
                { text: "plan", thought: true, thoughtSignature: "dGhvdWdodA==" },
                { text: "Calling " },
                { text: "tools." },
                { functionCall: { name: "a", args: { x: 1 } }, thoughtSignature: "c2lnQQ==" },
                { functionCall: { name: "b" } },
                { executableCode: { code: "print(1)" } },
              ],
            },
            finishReason: "STOP",
          },
          { index: 1, content: { parts: [{ text: "second" }] }, finishReason: "MAX_TOKENS" },
        ],
        usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 6, thoughtsTokenCount: 2, totalTokenCount: 13 },
      }),
      { ...context, onToolCall: (id, signature) => seen.push([id, signature]) },
    );
    expect(response.id).toBe("r1");
    expect(response.created).toBe(1_700_000_000n);
    expect(response.warnings).toEqual(["w", "Gemini answered with parts the gateway does not translate (executableCode); dropped"]);
    const [first, second] = response.choices;
    expect(first?.finishReason).toBe(FinishReason.TOOL_CALLS);
    expect(first?.rawFinishReason).toBe("STOP");
    expect(first?.message?.content.map((part) => part.part)).toEqual([
      // A thought's signature is tagged with the family that issued it; a call's goes raw in extra_content.
      { case: "reasoning", value: expect.objectContaining({ text: "plan", signature: "gemini:dGhvdWdodA==" }) },
      { case: "text", value: "Calling tools." },
    ]);
    const calls = first?.message?.toolCalls ?? [];
    expect(calls.map((call) => [call.name, call.arguments, call.extraContent])).toEqual([
      ["a", '{"x":1}', { google: { thought_signature: "c2lnQQ==" } }],
      ["b", "{}", undefined],
    ]);
    expect(calls[0]?.id).not.toBe(calls[1]?.id);
    expect(seen).toEqual([[calls[0]?.id, "c2lnQQ=="]]);
    expect(second?.index).toBe(1);
    expect(second?.finishReason).toBe(FinishReason.LENGTH);
    expect(response.usage).toMatchObject({ promptTokens: 5, completionTokens: 8, totalTokens: 13, reasoningTokens: 2 });
  });

  it("keeps a portable id Gemini sends and replaces an unportable one", () => {
    const response = fromGeminiResponse(
      parseGeminiResponse({ candidates: [{ content: { parts: [{ functionCall: { name: "a", id: "fc_1", args: {} } }, { functionCall: { name: "b", id: "bad id:with.dots", args: {} } }] }, finishReason: "STOP" }] }),
      context,
    );
    const ids = response.choices[0]?.message?.toolCalls.map((call) => call.id);
    expect(ids?.[0]).toBe("fc_1");
    expect(ids?.[1]).toMatch(/^call_/);
  });

  it("leaves usage out when Gemini sent no usageMetadata, so the gateway estimates it (not a zero usage)", () => {
    const response = fromGeminiResponse(parseGeminiResponse({ candidates: [{ content: { parts: [{ text: "hello there" }] }, finishReason: "STOP" }] }), context);
    expect(response.usage).toBeUndefined();
  });

  it("answers a blocked prompt with one content_filter choice", () => {
    const response = fromGeminiResponse(parseGeminiResponse({ promptFeedback: { blockReason: "PROHIBITED_CONTENT" }, usageMetadata: { promptTokenCount: 9, totalTokenCount: 9 } }), context);
    expect(response.choices).toHaveLength(1);
    expect(response.choices[0]).toMatchObject({ index: 0, finishReason: FinishReason.CONTENT_FILTER, rawFinishReason: "PROHIBITED_CONTENT" });
    expect(response.choices[0]?.message?.content).toEqual([]);
    expect(response.usage?.promptTokens).toBe(9);
  });

  it("warns about malformed function call finishes", () => {
    const response = fromGeminiResponse(parseGeminiResponse({ candidates: [{ content: {}, finishReason: "MALFORMED_FUNCTION_CALL" }] }), context);
    expect(response.warnings).toEqual(["w", "Gemini ended choice 0 with MALFORMED_FUNCTION_CALL"]);
  });

  it("maps logprobs, with UTF-8 bytes", () => {
    const response = fromGeminiResponse(
      parseGeminiResponse({
        candidates: [{ content: { parts: [{ text: "Hé" }] }, finishReason: "STOP", logprobsResult: { chosenCandidates: [{ token: "Hé", logProbability: -0.1 }], topCandidates: [{ candidates: [{ token: "Hé", logProbability: -0.1 }, { token: "Hi", logProbability: -2.5 }] }] } }],
      }),
      context,
    );
    const token = response.choices[0]?.logprobs?.content[0];
    expect(token?.token).toBe("Hé");
    expect(token?.bytes).toEqual(new Uint8Array([72, 195, 169]));
    expect(token?.topLogprobs.map((top) => [top.token, top.logprob])).toEqual([["Hé", -0.1], ["Hi", -2.5]]);
  });

  it("rejects a response with neither candidates nor a block reason", () => {
    expect(() => fromGeminiResponse(parseGeminiResponse({ usageMetadata: {} }), context)).toThrow(GatewayError);
  });
});

describe("created", () => {
  const answer = { candidates: [{ content: { role: "model", parts: [{ text: "ok" }] }, finishReason: "STOP", index: 0 }] };
  it("is Vertex's createTime when the answer has one, else the gateway's clock", () => {
    expect(fromGeminiResponse(parseGeminiResponse({ ...answer, createTime: "2026-07-22T23:37:37.029264Z" }), context).created).toBe(1784763457n);
    expect(fromGeminiResponse(parseGeminiResponse({ ...answer, createTime: "yesterday" }), context).created).toBe(1_700_000_000n);
    expect(fromGeminiResponse(parseGeminiResponse(answer), context).created).toBe(1_700_000_000n);
  });
});
