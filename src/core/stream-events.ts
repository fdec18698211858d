import type { ChatStreamResponse } from "../../gen/switchyard/v1/chat_service_pb.js";
import type { FinishReason, TokenLogprob, Usage } from "../../gen/switchyard/v1/chat_pb.js";
import type { JsonObject } from "@bufbuild/protobuf";

/*
 * Builders for stream events as plain protobuf-es message literals. They are on the hot path of
 * every streamed chunk, so they avoid create()'s reflection; the shapes match the generated types.
 */

/** A response_start event. */
export function responseStartEvent(id: string, model: string, created: bigint, warnings: string[] = []): ChatStreamResponse {
  return { $typeName: "switchyard.v1.ChatStreamResponse", event: { case: "responseStart", value: { $typeName: "switchyard.v1.ResponseStart", id, model, provider: "", created, warnings } } };
}

/** A text_delta event. */
export function textDeltaEvent(choiceIndex: number, text: string, logprobs: TokenLogprob[] = []): ChatStreamResponse {
  return { $typeName: "switchyard.v1.ChatStreamResponse", event: { case: "textDelta", value: { $typeName: "switchyard.v1.TextDelta", choiceIndex, text, logprobs } } };
}

/** A refusal_delta event. */
export function refusalDeltaEvent(choiceIndex: number, text: string): ChatStreamResponse {
  return { $typeName: "switchyard.v1.ChatStreamResponse", event: { case: "refusalDelta", value: { $typeName: "switchyard.v1.RefusalDelta", choiceIndex, text } } };
}

/** A reasoning_delta event. */
export function reasoningDeltaEvent(choiceIndex: number, text: string, signature = "", redactedData = ""): ChatStreamResponse {
  return { $typeName: "switchyard.v1.ChatStreamResponse", event: { case: "reasoningDelta", value: { $typeName: "switchyard.v1.ReasoningDelta", choiceIndex, text, signature, redactedData } } };
}

/** A tool_call_start event. */
export function toolCallStartEvent(choiceIndex: number, index: number, id: string, name: string, extraContent?: JsonObject): ChatStreamResponse {
  return {
    $typeName: "switchyard.v1.ChatStreamResponse",
    event: { case: "toolCallStart", value: { $typeName: "switchyard.v1.ToolCallStart", choiceIndex, index, id, name, ...(extraContent ? { extraContent } : {}) } },
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

/** A usage event. */
export function usageEvent(usage: Usage): ChatStreamResponse {
  return { $typeName: "switchyard.v1.ChatStreamResponse", event: { case: "usage", value: usage } };
}

/** A Usage message literal; total defaults to prompt + completion. */
export function usageOf(fields: { prompt: number; completion: number; total?: number; cached?: number; reasoning?: number; cacheWrite?: number; estimated?: boolean }): Usage {
  return {
    $typeName: "switchyard.v1.Usage",
    promptTokens: fields.prompt,
    completionTokens: fields.completion,
    totalTokens: fields.total ?? fields.prompt + fields.completion,
    cachedPromptTokens: fields.cached ?? 0,
    reasoningTokens: fields.reasoning ?? 0,
    cacheWritePromptTokens: fields.cacheWrite ?? 0,
    estimated: fields.estimated ?? false,
  };
}
