import { create, type JsonObject } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { FinishReason, Role, type ContentPart, type TokenLogprob, type ToolCall, type Usage } from "../../../gen/switchyard/v1/chat_pb.js";
import { ChatResponseSchema, type ChatResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import { gatewayError, Reason } from "../../core/errors.js";
import { choiceIndexOf, usageOf } from "../../core/stream-events.js";
import { newToolCallId, randomBase62 } from "../generated-ids.js";
import { tagSignature } from "../reasoning-signatures.js";
import { ANSWER_SIGNATURE_PREFIX, GEMINI_FAMILY, type GeminiCandidate, type GeminiLogprobsResult, type GeminiResponse, type GeminiResponsePart, type GeminiUsageMetadata } from "./gemini-wire.js";

const CONTENT_FILTER_REASONS = new Set([
  "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
  "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "LANGUAGE", "MODEL_ARMOR",
]);

/** Finish reasons that mean the model (or our replay) produced something malformed; reported as warnings. */
const MALFORMED_REASONS = new Set(["MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS", "MALFORMED_RESPONSE", "MISSING_THOUGHT_SIGNATURE"]);

/**
 * Maps Gemini's finishReason: STOP is tool_calls when the candidate called a function, else stop;
 * MAX_TOKENS is length; the safety, recitation and block reasons are content_filter; everything
 * else (OTHER, malformed calls, unknown values) is stop. Callers keep the raw value beside it.
 * @see https://ai.google.dev/api/generate-content#FinishReason
 */
export function mapGeminiFinishReason(raw: string, hasToolCalls: boolean): FinishReason {
  if (raw === "MAX_TOKENS") return FinishReason.LENGTH;
  if (CONTENT_FILTER_REASONS.has(raw)) return FinishReason.CONTENT_FILTER;
  if (raw === "STOP" && hasToolCalls) return FinishReason.TOOL_CALLS;
  return FinishReason.STOP;
}

/** A warning for finish reasons that signal a malformed call or replay; undefined for normal ones. */
export function finishWarning(raw: string, choiceIndex: number): string | undefined {
  return MALFORMED_REASONS.has(raw) ? `Gemini ended choice ${choiceIndex} with ${raw}` : undefined;
}

/**
 * Maps usageMetadata to OpenAI conventions: prompt = promptTokenCount + toolUsePromptTokenCount
 * (cached tokens are already inside); completion = candidates + thoughts; reasoning = thoughts;
 * cached = cachedContentTokenCount; audio = the AUDIO entries of promptTokensDetails and
 * candidatesTokensDetails; total = totalTokenCount (else prompt + completion).
 * @see https://ai.google.dev/api/generate-content#UsageMetadata
 */
export function toProtoUsage(usage: GeminiUsageMetadata | undefined): Usage {
  const prompt = (usage?.promptTokenCount ?? 0) + (usage?.toolUsePromptTokenCount ?? 0);
  const thoughts = usage?.thoughtsTokenCount ?? 0;
  const completion = (usage?.candidatesTokenCount ?? 0) + thoughts;
  return usageOf({
    prompt,
    completion,
    ...(usage?.totalTokenCount !== undefined ? { total: usage.totalTokenCount } : {}),
    cached: usage?.cachedContentTokenCount ?? 0,
    reasoning: thoughts,
    audioPrompt: usage?.promptAudioTokenCount,
    audioCompletion: usage?.candidatesAudioTokenCount,
  });
}

/**
 * The warning for the parts of an answer the gateway dropped (code execution, images and files the
 * OpenAI format has no place for, part kinds newer than this code); undefined when none were.
 */
export function droppedPartsWarning(candidates: readonly GeminiCandidate[]): string | undefined {
  const kinds = new Set(candidates.flatMap((candidate) => candidate.parts.flatMap((part) => (part.unsupported ? [part.unsupported] : []))));
  if (kinds.size === 0) return undefined;
  return `Gemini answered with parts the gateway does not translate (${[...kinds].sort().join(", ")}); dropped`;
}

/** The id for a functionCall: Gemini's own when it sends a portable one, else a fresh one. */
export function toolCallIdOf(call: { readonly id?: string }): string {
  return call.id && /^[A-Za-z0-9_-]{1,40}$/.test(call.id) ? call.id : newToolCallId();
}

/**
 * The reasoning signature of a thought part, or of an answer part (text, or an empty part: marked
 * with {@link ANSWER_SIGNATURE_PREFIX}), as the gateway emits it: tagged with the Gemini family, so
 * that any Gemini account or process replays it where it came and other providers leave it out
 * (empty: none). A function call's signature is not one: it goes raw in the call's extra_content.
 */
export function reasoningSignatureOf(part: GeminiResponsePart): string {
  const signature = part.thoughtSignature ?? "";
  return tagSignature(GEMINI_FAMILY, signature && part.thought !== true ? `${ANSWER_SIGNATURE_PREFIX}${signature}` : signature);
}

/** `extra_content` for a tool call that carried a thought signature (raw: the container is Gemini's own). */
export function thoughtSignatureExtra(signature: string): JsonObject {
  return { google: { thought_signature: signature } };
}

/** Gemini logprobsResult -> proto token logprobs (bytes are the token's UTF-8). */
export function toProtoTokenLogprobs(result: GeminiLogprobsResult | undefined): TokenLogprob[] {
  if (!result) return [];
  const encoder = new TextEncoder();
  return result.chosenCandidates.map((chosen, position) => ({
    $typeName: "switchyard.v1.TokenLogprob",
    token: chosen.token,
    logprob: chosen.logProbability,
    bytes: encoder.encode(chosen.token),
    topLogprobs: (result.topCandidates[position] ?? []).map((top) => ({ $typeName: "switchyard.v1.TopLogprob", token: top.token, logprob: top.logProbability, bytes: encoder.encode(top.token) })),
  }));
}

/** Called for every tool call the gateway emits with a signature, so the adapter can remember it. */
export type ToolCallObserver = (callId: string, signature: string) => void;

interface ChoiceParts {
  readonly content: ContentPart[];
  readonly toolCalls: ToolCall[];
}

function choicePartsOf(parts: readonly GeminiResponsePart[], onToolCall: ToolCallObserver): ChoiceParts {
  const content: ContentPart[] = [];
  const toolCalls: ToolCall[] = [];
  let text = "";
  const flushText = () => {
    if (text) content.push({ $typeName: "switchyard.v1.ContentPart", part: { case: "text", value: text } });
    text = "";
  };
  for (const part of parts) {
    if (part.functionCall) {
      const id = toolCallIdOf(part.functionCall);
      const signature = part.thoughtSignature;
      if (signature) onToolCall(id, signature);
      toolCalls.push({
        $typeName: "switchyard.v1.ToolCall",
        id,
        custom: false,
        name: part.functionCall.name,
        arguments: JSON.stringify(part.functionCall.args),
        ...(signature ? { extraContent: thoughtSignatureExtra(signature) } : {}),
      });
    } else if (part.thought === true || part.thoughtSignature) {
      flushText();
      const signature = reasoningSignatureOf(part);
      // The reasoning's text: an answer part's signature (Gemini 3 signs its text) closes the thoughts before it, or stands alone before the text.
      const reasoningText = part.thought === true ? (part.text ?? "") : "";
      // Thought parts run on until one carries the signature (it may come alone, in an empty part): one block, as a stream gives it.
      const last = content[content.length - 1]?.part;
      if (last?.case === "reasoning" && !last.value.signature && !last.value.redactedData) {
        last.value.text += reasoningText;
        last.value.signature = signature;
      } else {
        content.push({ $typeName: "switchyard.v1.ContentPart", part: { case: "reasoning", value: { $typeName: "switchyard.v1.Reasoning", text: reasoningText, signature, redactedData: "" } } });
      }
      if (part.thought !== true && part.text) text += part.text;
    } else if (part.text) {
      text += part.text;
    }
  }
  flushText();
  return { content, toolCalls };
}

/** What {@link fromGeminiResponse} needs besides the parsed body. */
export interface GeminiResponseContext {
  /** Fallback for responseId and modelVersion. */
  readonly upstreamModel: string;
  /** Warnings from the request translation. */
  readonly warnings: readonly string[];
  /** Current time in ms (for `created`). */
  readonly now: () => number;
  readonly onToolCall: ToolCallObserver;
}

function candidateIndex(candidate: GeminiCandidate, position: number): number {
  return choiceIndexOf(candidate.index, position);
}

/**
 * Translates a generateContent response into a ChatResponse. Guarantees: one choice per candidate
 * (index = candidate.index, else position); text parts joined, thought parts as Reasoning parts
 * (a run of them up to the one that carries the signature as one part, its signature tagged
 * `gemini:`, see {@link reasoningSignatureOf}),
 * functionCall parts as tool calls with unique ids, `"{}"`-style JSON arguments and
 * extra_content.google.thought_signature; executable code, image and file outputs and part kinds
 * newer than this code dropped with a warning naming them (grounding metadata is dropped); a
 * blocked prompt (no candidates, promptFeedback.blockReason) is one content_filter choice with the
 * block reason as raw finish reason; usage per {@link toProtoUsage}. Throws INVALID_PROVIDER_RESPONSE
 * when there is neither a candidate nor a block reason.
 * @see https://ai.google.dev/api/generate-content#generatecontentresponse
 */
export function fromGeminiResponse(response: GeminiResponse, context: GeminiResponseContext): ChatResponse {
  const warnings = [...context.warnings];
  const choices = response.candidates.map((candidate, position) => {
    const index = candidateIndex(candidate, position);
    const { content, toolCalls } = choicePartsOf(candidate.parts, context.onToolCall);
    const raw = candidate.finishReason ?? "";
    const warning = finishWarning(raw, index);
    if (warning) warnings.push(warning);
    const logprobs = toProtoTokenLogprobs(candidate.logprobsResult);
    return {
      index,
      message: { role: Role.ASSISTANT, content, toolCalls },
      finishReason: raw ? mapGeminiFinishReason(raw, toolCalls.length > 0) : FinishReason.UNSPECIFIED,
      rawFinishReason: raw,
      ...(candidate.logprobsResult ? { logprobs: { content: logprobs } } : {}),
    };
  });
  const dropped = droppedPartsWarning(response.candidates);
  if (dropped) warnings.push(dropped);
  if (choices.length === 0) {
    if (!response.blockReason) throw gatewayError(Code.Internal, Reason.INVALID_PROVIDER_RESPONSE, "Gemini returned no candidates and no block reason");
    choices.push({ index: 0, message: { role: Role.ASSISTANT, content: [], toolCalls: [] }, finishReason: FinishReason.CONTENT_FILTER, rawFinishReason: response.blockReason });
  }
  return create(ChatResponseSchema, {
    id: response.responseId ?? `gemini-${randomBase62(24)}`,
    model: response.modelVersion ?? context.upstreamModel,
    choices,
    // None from the provider: the gateway estimates it (and says so), as for a stream.
    ...(response.usageMetadata ? { usage: toProtoUsage(response.usageMetadata) } : {}),
    created: BigInt(response.createdSeconds ?? Math.floor(context.now() / 1000)),
    warnings,
  });
}
