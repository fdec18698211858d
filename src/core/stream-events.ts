import type { ChatStreamResponse } from "../../gen/switchyard/v1/chat_service_pb.js";
import type { Annotation, FinishReason, TokenLogprob, Usage } from "../../gen/switchyard/v1/chat_pb.js";
import type { JsonObject } from "@bufbuild/protobuf";

/*
 * Builders for stream events as plain protobuf-es message literals. They are on the hot path of
 * every streamed chunk, so they avoid create()'s reflection; the shapes match the generated types.
 */

/** What a provider may say about the whole answer in its first chunk ("" when it does not). */
export interface AnswerFacts {
  readonly systemFingerprint?: string;
  readonly serviceTier?: string;
  /** The provider's top-level fields the gateway does not model (ResponseStart.extra). */
  readonly extra?: JsonObject;
}

/** A response_start event. */
export function responseStartEvent(id: string, model: string, created: bigint, warnings: string[] = [], facts: AnswerFacts = {}): ChatStreamResponse {
  return {
    $typeName: "switchyard.v1.ChatStreamResponse",
    event: { case: "responseStart", value: { $typeName: "switchyard.v1.ResponseStart", id, model, provider: "", created, warnings, systemFingerprint: facts.systemFingerprint ?? "", serviceTier: facts.serviceTier ?? "", ...(facts.extra ? { extra: facts.extra } : {}) } },
  };
}

/** A text_delta event. */
export function textDeltaEvent(choiceIndex: number, text: string, logprobs: TokenLogprob[] = []): ChatStreamResponse {
  return { $typeName: "switchyard.v1.ChatStreamResponse", event: { case: "textDelta", value: { $typeName: "switchyard.v1.TextDelta", choiceIndex, text, logprobs } } };
}

/** A refusal_delta event. */
export function refusalDeltaEvent(choiceIndex: number, text: string, logprobs: TokenLogprob[] = []): ChatStreamResponse {
  return { $typeName: "switchyard.v1.ChatStreamResponse", event: { case: "refusalDelta", value: { $typeName: "switchyard.v1.RefusalDelta", choiceIndex, text, logprobs } } };
}

/** A reasoning_delta event. */
export function reasoningDeltaEvent(choiceIndex: number, text: string, signature = "", redactedData = ""): ChatStreamResponse {
  return { $typeName: "switchyard.v1.ChatStreamResponse", event: { case: "reasoningDelta", value: { $typeName: "switchyard.v1.ReasoningDelta", choiceIndex, text, signature, redactedData } } };
}

/** A tool_call_start event. */
export function toolCallStartEvent(choiceIndex: number, index: number, id: string, name: string, extraContent?: JsonObject, custom = false): ChatStreamResponse {
  return {
    $typeName: "switchyard.v1.ChatStreamResponse",
    event: { case: "toolCallStart", value: { $typeName: "switchyard.v1.ToolCallStart", choiceIndex, index, id, name, custom, ...(extraContent ? { extraContent } : {}) } },
  };
}

/** A tool_call_delta event. */
export function toolCallDeltaEvent(choiceIndex: number, index: number, argumentsText: string): ChatStreamResponse {
  return { $typeName: "switchyard.v1.ChatStreamResponse", event: { case: "toolCallDelta", value: { $typeName: "switchyard.v1.ToolCallDelta", choiceIndex, index, arguments: argumentsText } } };
}

/** A finish event. */
export function finishEvent(choiceIndex: number, finishReason: FinishReason, rawFinishReason: string): ChatStreamResponse {
  return { $typeName: "switchyard.v1.ChatStreamResponse", event: { case: "finish", value: { $typeName: "switchyard.v1.Finish", choiceIndex, finishReason, rawFinishReason } } };
}

/** An audio_delta event (fields a fragment does not carry are "" or 0). */
export function audioDeltaEvent(choiceIndex: number, fragment: { id?: string; data?: string; transcript?: string; expiresAt?: bigint }): ChatStreamResponse {
  return {
    $typeName: "switchyard.v1.ChatStreamResponse",
    event: { case: "audioDelta", value: { $typeName: "switchyard.v1.AudioDelta", choiceIndex, id: fragment.id ?? "", data: fragment.data ?? "", transcript: fragment.transcript ?? "", expiresAt: fragment.expiresAt ?? 0n } },
  };
}

/** An annotation_delta event. */
export function annotationDeltaEvent(choiceIndex: number, annotations: Annotation[]): ChatStreamResponse {
  return { $typeName: "switchyard.v1.ChatStreamResponse", event: { case: "annotationDelta", value: { $typeName: "switchyard.v1.AnnotationDelta", choiceIndex, annotations } } };
}

/**
 * A choice_extra event: the fields of one choice of a provider's chunk that the gateway does not
 * model (`extra`), and of its delta (`deltaExtra`); `standalone` when the chunk carried nothing
 * else for the choice (no event of that chunk follows for it).
 */
export function choiceExtraEvent(choiceIndex: number, extra: JsonObject | undefined, deltaExtra: JsonObject | undefined, standalone: boolean): ChatStreamResponse {
  return {
    $typeName: "switchyard.v1.ChatStreamResponse",
    event: { case: "choiceExtra", value: { $typeName: "switchyard.v1.ChoiceExtra", choiceIndex, standalone, ...(extra ? { extra } : {}), ...(deltaExtra ? { deltaExtra } : {}) } },
  };
}

/** A chunk_extra event: top-level fields of a provider's chunk the gateway does not model, new in the stream. */
export function chunkExtraEvent(extra: JsonObject): ChatStreamResponse {
  return { $typeName: "switchyard.v1.ChatStreamResponse", event: { case: "chunkExtra", value: { $typeName: "switchyard.v1.ChunkExtra", extra } } };
}

/** A usage event. */
export function usageEvent(usage: Usage): ChatStreamResponse {
  return { $typeName: "switchyard.v1.ChatStreamResponse", event: { case: "usage", value: usage } };
}

/** The largest value of a proto int32. */
const INT32_MAX = 2 ** 31 - 1;

/**
 * A provider's token count as a proto int32: a finite number of at least 0, rounded, at most
 * 2^31 - 1; anything else (a string, null, NaN, a negative number) is 0. A count the protobuf
 * encoder refuses would otherwise break only the gRPC and Connect answers.
 */
export function tokenCount(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? Math.min(Math.round(value), INT32_MAX) : 0;
}

/** A provider's choice index as a proto int32: an integer from 0 to 2^31 - 1, else `fallback`. */
export function choiceIndexOf(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= INT32_MAX ? value : fallback;
}

/** A Usage message literal; total defaults to prompt + completion; every count is a valid int32 ({@link tokenCount}). */
export function usageOf(fields: {
  prompt: number;
  completion: number;
  total?: number;
  cached?: number;
  reasoning?: number;
  cacheWrite?: number;
  audioPrompt?: unknown;
  audioCompletion?: unknown;
  acceptedPrediction?: unknown;
  rejectedPrediction?: unknown;
  estimated?: boolean;
}): Usage {
  const prompt = tokenCount(fields.prompt);
  const completion = tokenCount(fields.completion);
  return {
    $typeName: "switchyard.v1.Usage",
    promptTokens: prompt,
    completionTokens: completion,
    totalTokens: tokenCount(fields.total ?? prompt + completion),
    cachedPromptTokens: tokenCount(fields.cached),
    reasoningTokens: tokenCount(fields.reasoning),
    cacheWritePromptTokens: tokenCount(fields.cacheWrite),
    estimated: fields.estimated ?? false,
    promptAudioTokens: tokenCount(fields.audioPrompt),
    completionAudioTokens: tokenCount(fields.audioCompletion),
    acceptedPredictionTokens: tokenCount(fields.acceptedPrediction),
    rejectedPredictionTokens: tokenCount(fields.rejectedPrediction),
  };
}
