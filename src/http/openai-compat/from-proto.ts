import { FinishReason, type Annotation, type Choice, type TokenLogprob, type Usage } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ChatResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import type { JsonObject } from "@bufbuild/protobuf";
import type { Json, OpenAITokenLogprob, OpenAIToolCall, OpenAIUsage } from "../../wire/openai-chat-completions.js";

const FINISH_NAMES: Readonly<Record<FinishReason, string | null>> = {
  [FinishReason.UNSPECIFIED]: "stop",
  [FinishReason.STOP]: "stop",
  [FinishReason.LENGTH]: "length",
  [FinishReason.TOOL_CALLS]: "tool_calls",
  [FinishReason.CONTENT_FILTER]: "content_filter",
};

/** The unmodelled keys a provider put in an object it nests (usage's details, an annotation's url_citation), which an `extra` keeps under that object's key. */
function nestedExtra(extra: JsonObject | undefined, key: string): JsonObject | undefined {
  const details = extra?.[key];
  return typeof details === "object" && details !== null && !Array.isArray(details) ? details : undefined;
}

/**
 * OpenAI usage JSON from proto Usage (cache writes appear as prompt_tokens_details.cache_write_tokens
 * when non-zero; an estimate carries `estimated: true`, a field OpenAI does not have). The
 * provider's unmodelled fields (Usage.extra) go back where it put them, the details objects' own
 * inside those objects.
 */
export function toOpenAIUsage(usage: Usage): OpenAIUsage {
  return {
    ...usage.extra,
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.totalTokens,
    prompt_tokens_details: {
      ...nestedExtra(usage.extra, "prompt_tokens_details"),
      cached_tokens: usage.cachedPromptTokens,
      ...(usage.promptAudioTokens ? { audio_tokens: usage.promptAudioTokens } : {}),
      ...(usage.cacheWritePromptTokens ? { cache_write_tokens: usage.cacheWritePromptTokens } : {}),
    },
    completion_tokens_details: {
      ...nestedExtra(usage.extra, "completion_tokens_details"),
      reasoning_tokens: usage.reasoningTokens,
      ...(usage.completionAudioTokens ? { audio_tokens: usage.completionAudioTokens } : {}),
      ...(usage.acceptedPredictionTokens ? { accepted_prediction_tokens: usage.acceptedPredictionTokens } : {}),
      ...(usage.rejectedPredictionTokens ? { rejected_prediction_tokens: usage.rejectedPredictionTokens } : {}),
    },
    ...(usage.estimated ? { estimated: true } : {}),
  };
}

/**
 * OpenAI annotation JSON from proto Annotations: url_citation with its fields, and the provider's
 * unmodelled fields (Annotation.extra) where it put them, a url_citation's own inside it.
 */
export function toOpenAIAnnotations(annotations: readonly Annotation[]): Record<string, unknown>[] {
  return annotations.map((annotation) => {
    const citation = annotation.urlCitation;
    return citation
      ? { type: annotation.type, ...annotation.extra, url_citation: { ...nestedExtra(annotation.extra, "url_citation"), url: citation.url, title: citation.title, start_index: citation.startIndex, end_index: citation.endIndex } }
      : { type: annotation.type, ...annotation.extra };
  });
}

/** OpenAI `audio` JSON from a proto AudioOutput or AudioDelta: the fields it carries (a stream fragment carries some of them). */
export function toOpenAIAudio(audio: { id: string; data: string; transcript: string; expiresAt: bigint }, whole: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (audio.id || whole) out.id = audio.id;
  if (audio.data || whole) out.data = audio.data;
  if (audio.expiresAt || whole) out.expires_at = Number(audio.expiresAt);
  if (audio.transcript || whole) out.transcript = audio.transcript;
  return out;
}

function bytesOf(bytes: Uint8Array): number[] | null {
  return bytes.length > 0 ? Array.from(bytes) : null;
}

/** OpenAI logprob entries from proto TokenLogprobs. */
export function toOpenAILogprobs(entries: readonly TokenLogprob[]): OpenAITokenLogprob[] {
  return entries.map((entry) => ({
    token: entry.token,
    logprob: entry.logprob,
    bytes: bytesOf(entry.bytes),
    top_logprobs: entry.topLogprobs.map((top) => ({ token: top.token, logprob: top.logprob, bytes: bytesOf(top.bytes) })),
  }));
}

/** The finish_reason of a choice; a legacy `functions` request says "function_call" where others say "tool_calls". */
export function finishName(reason: FinishReason, legacyFunctions: boolean): string {
  if (legacyFunctions && reason === FinishReason.TOOL_CALLS) return "function_call";
  return FINISH_NAMES[reason] ?? "stop";
}

function toOpenAIChoice(choice: Choice, legacyFunctions: boolean): Record<string, unknown> {
  const message = choice.message;
  let text: string | null = null;
  let refusal: string | null = null;
  let reasoning = "";
  const thinkingBlocks: Record<string, string>[] = [];
  for (const part of message?.content ?? []) {
    if (part.part.case === "text") text = (text ?? "") + part.part.value;
    else if (part.part.case === "refusal") refusal = (refusal ?? "") + part.part.value;
    else if (part.part.case === "reasoning") {
      const value = part.part.value;
      reasoning += value.text;
      if (value.redactedData) thinkingBlocks.push({ type: "redacted_thinking", data: value.redactedData });
      else if (value.signature) thinkingBlocks.push({ type: "thinking", thinking: value.text, signature: value.signature });
    }
  }
  const calls = message?.toolCalls ?? [];
  const toolCalls = calls.map(
    (call): OpenAIToolCall =>
      call.custom
        ? { id: call.id, type: "custom", custom: { name: call.name, input: call.arguments } }
        : { id: call.id, type: "function", function: { name: call.name, arguments: call.arguments }, ...(call.extraContent ? { extra_content: call.extraContent as { [key: string]: Json } } : {}) },
  );
  const audio = message?.audio;
  const out: Record<string, unknown> = {
    ...message?.extra,
    role: "assistant",
    // An answer with nothing in it is "" (null stands for "the answer is elsewhere": tool calls, a
    // refusal, audio; or "withheld": a content_filter finish, such as Gemini's blocked prompt).
    content: text ?? (toolCalls.length === 0 && refusal === null && !audio && choice.finishReason !== FinishReason.CONTENT_FILTER ? "" : null),
    refusal,
  };
  // A legacy `functions` client reads one `function_call` (the format has no parallel calls).
  const first = calls[0];
  if (legacyFunctions && first) out.function_call = { name: first.name, arguments: first.arguments };
  else if (toolCalls.length > 0) out.tool_calls = toolCalls;
  if (reasoning) out.reasoning_content = reasoning;
  if (thinkingBlocks.length > 0) out.thinking_blocks = thinkingBlocks;
  out.annotations = toOpenAIAnnotations(message?.annotations ?? []);
  if (audio) out.audio = toOpenAIAudio(audio, true);
  return {
    ...choice.extra,
    index: choice.index,
    message: out,
    logprobs: choice.logprobs ? { content: toOpenAILogprobs(choice.logprobs.content), refusal: choice.logprobs.refusal.length > 0 ? toOpenAILogprobs(choice.logprobs.refusal) : null } : null,
    finish_reason: finishName(choice.finishReason, legacyFunctions),
  };
}

/**
 * Builds the OpenAI `chat.completion` JSON from a ChatResponse (pure). Reasoning appears as
 * `reasoning_content` (and `thinking_blocks` when signed), tool calls keep `extra_content`; for a
 * request with legacy `functions` (`legacyFunctions`), the first call is `function_call` and the
 * finish reason `function_call`.
 * @see https://platform.openai.com/docs/api-reference/chat/object
 */
export function toOpenAICompletion(response: ChatResponse, legacyFunctions = false): Record<string, unknown> {
  return {
    ...response.extra,
    id: response.id,
    object: "chat.completion",
    created: Number(response.created),
    model: response.model,
    choices: response.choices.map((choice) => toOpenAIChoice(choice, legacyFunctions)),
    usage: response.usage ? toOpenAIUsage(response.usage) : null,
    ...(response.serviceTier ? { service_tier: response.serviceTier } : {}),
    system_fingerprint: response.systemFingerprint || null,
  };
}
