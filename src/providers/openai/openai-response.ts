import { FinishReason, Role, type Annotation, type ContentPart, type Logprobs, type TokenLogprob, type ToolCall, type Usage } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ChatResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import type { JsonObject } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { gatewayError, type GatewayError, Reason } from "../../core/errors.js";
import { choiceIndexOf, tokenCount, usageOf } from "../../core/stream-events.js";
import { distinctToolCallId, newToolCallId } from "../generated-ids.js";
import { annotationExtras, answerExtras, CHOICE_KEYS, COMPLETION_KEYS, MESSAGE_KEYS, usageExtras } from "./openai-extras.js";
import type { OpenAITokenLogprob, OpenAIUsage } from "../../wire/openai-chat-completions.js";

/** The largest value of a proto int32. */
const INT32_MAX = 2 ** 31 - 1;

/**
 * Maps an OpenAI finish_reason to the normalised enum; Mistral's `model_length` (the context window
 * ran out) is LENGTH; another value OpenAI does not define (text-generation-inference's
 * `eos_token`) is TOOL_CALLS when the choice called tools (`calledTools`), else STOP. A value OpenAI
 * defines keeps its meaning: its `stop` with tool calls (a forced tool_choice) stays STOP.
 * @see https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices
 */
export function mapOpenAIFinishReason(value: string | null | undefined, { calledTools = false }: { readonly calledTools?: boolean } = {}): FinishReason {
  switch (value) {
    case "stop":
      return FinishReason.STOP;
    case "length":
    case "model_length":
      return FinishReason.LENGTH;
    case "tool_calls":
    case "function_call":
      return FinishReason.TOOL_CALLS;
    case "content_filter":
      return FinishReason.CONTENT_FILTER;
    case null:
    case undefined:
    case "":
      return FinishReason.UNSPECIFIED;
    default:
      return calledTools ? FinishReason.TOOL_CALLS : FinishReason.STOP;
  }
}

/** Finish reasons with which OpenAI-compatible servers say a server failure cut the output: Mistral's `error`, DeepSeek's `insufficient_system_resource`. */
const FAILED_FINISH_REASONS: ReadonlySet<unknown> = new Set(["error", "insufficient_system_resource", "abort"]);

/**
 * The failure a choice's finish_reason reports, or undefined for an ordinary finish. An output a
 * server failure cut is not a complete answer: it fails the attempt as unavailable (failover, and
 * within a stream the mid-stream recovery of a cut), never a `stop` the caller would take as whole.
 * @see https://docs.mistral.ai/api/#tag/chat/operation/chat_completion_v1_chat_completions_post
 * @see https://api-docs.deepseek.com/api/create-chat-completion
 * vLLM's `abort`: its engine gave the request up (shutdown, scale-down, an abort request).
 */
export function failedFinishError(finishReason: unknown, provider: string, choiceIndex: number, streaming: boolean): GatewayError | undefined {
  if (!FAILED_FINISH_REASONS.has(finishReason)) return undefined;
  const message = `provider "${provider}" cut choice ${choiceIndex} short with finish_reason "${String(finishReason)}" (a failure on its side)`;
  return streaming
    ? gatewayError(Code.Unavailable, Reason.STREAM_INTERRUPTED, message, { provider, afterFirstByte: true })
    : gatewayError(Code.Unavailable, Reason.PROVIDER_UNAVAILABLE, message, { provider });
}

/**
 * A `created` timestamp (Unix seconds) as the proto's int64: the upstream's when it is a positive
 * number a double holds exactly, else now. A value JSON parses to Infinity (`1e400`) or beyond
 * 2^53 is a provider's nonsense, not a reason to fail the answer.
 */
export function createdSeconds(value: unknown): bigint {
  return BigInt(typeof value === "number" && value > 0 && value <= Number.MAX_SAFE_INTEGER ? Math.floor(value) : Math.floor(Date.now() / 1000));
}

/**
 * Maps OpenAI usage (already in OpenAI's conventions) to proto Usage, leniently: missing or
 * malformed counters are 0, and the total defaults to prompt + completion. Cache writes are
 * OpenRouter's `prompt_tokens_details.cache_write_tokens` (part of its prompt_tokens, as the
 * proto's are); unmodelled fields, those of the two details objects included, go to `extra`
 * ({@link usageExtras}).
 * @see https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage
 */
export function fromOpenAIUsage(usage: OpenAIUsage): Usage {
  const prompt = tokenCount(usage.prompt_tokens);
  const completion = tokenCount(usage.completion_tokens);
  const out = usageOf({
    prompt,
    completion,
    total: typeof usage.total_tokens === "number" ? tokenCount(usage.total_tokens) : prompt + completion,
    cached: tokenCount(usage.prompt_tokens_details?.cached_tokens),
    cacheWrite: tokenCount(usage.prompt_tokens_details?.cache_write_tokens),
    reasoning: tokenCount(usage.completion_tokens_details?.reasoning_tokens),
    audioPrompt: usage.prompt_tokens_details?.audio_tokens,
    audioCompletion: usage.completion_tokens_details?.audio_tokens,
    acceptedPrediction: usage.completion_tokens_details?.accepted_prediction_tokens,
    rejectedPrediction: usage.completion_tokens_details?.rejected_prediction_tokens,
  });
  const extra = usageExtras(usage as unknown as Record<string, unknown>);
  if (extra) out.extra = extra;
  return out;
}

/** Maps OpenAI token logprobs to proto TokenLogprobs (a logprob a server left out or null is -9999, OpenAI's "no meaningful probability", never 0). */
export function fromOpenAILogprobs(entries: readonly OpenAITokenLogprob[] | null | undefined): TokenLogprob[] {
  if (!Array.isArray(entries)) return [];
  return entries.filter((entry) => typeof entry === "object" && entry !== null).map((entry) => ({
    $typeName: "switchyard.v1.TokenLogprob",
    token: String(entry.token ?? ""),
    logprob: typeof entry.logprob === "number" ? entry.logprob : NO_MEANINGFUL_LOGPROB,
    bytes: Array.isArray(entry.bytes) ? Uint8Array.from(entry.bytes) : new Uint8Array(),
    topLogprobs: (Array.isArray(entry.top_logprobs) ? entry.top_logprobs : []).filter((top: unknown) => typeof top === "object" && top !== null).map((top: { token: string; logprob: number; bytes: number[] | null }) => ({
      $typeName: "switchyard.v1.TopLogprob",
      token: String(top.token ?? ""),
      logprob: typeof top.logprob === "number" ? top.logprob : NO_MEANINGFUL_LOGPROB,
      bytes: Array.isArray(top.bytes) ? Uint8Array.from(top.bytes) : new Uint8Array(),
    })),
  }));
}

/** A JSON object: not an array, not null (what a proto Struct field holds). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The text of a Mistral `thinking` chunk: a string, or `[{type: "text", text}]`. */
function thinkingText(value: unknown): string {
  if (typeof value === "string") return value;
  if (!Array.isArray(value)) return "";
  let text = "";
  for (const entry of value) if (isRecord(entry) && typeof entry.text === "string") text += entry.text;
  return text;
}

/**
 * The answer text and reasoning of a `content` that is an array of chunks instead of a string:
 * Mistral's reasoning models answer `[{type: "thinking", thinking: [{type: "text", text}]},
 * {type: "text", text}]`, streamed and not; OpenAI-style `{type: "text", text}` parts read the same.
 * Other chunk types carry no text. A string content is the caller's fast path, not this one.
 * @see https://docs.mistral.ai/capabilities/reasoning/
 */
export function chunkedContent(value: unknown): { text: string; reasoning: string } {
  let text = "";
  let reasoning = "";
  if (!Array.isArray(value)) return { text, reasoning };
  for (const chunk of value) {
    if (!isRecord(chunk)) continue;
    if (chunk.type === "text" && typeof chunk.text === "string") text += chunk.text;
    else if (chunk.type === "thinking") reasoning += thinkingText(chunk.thinking);
  }
  return { text, reasoning };
}

/**
 * The reasoning a message or delta carries: `reasoning_content` (DeepSeek's name, and vLLM's before
 * it was renamed), else `reasoning` (vLLM's and OpenRouter's now); the first that is a non-empty
 * string, since some servers send both, one of them empty.
 */
export function reasoningTextOf(value: { reasoning_content?: unknown; reasoning?: unknown }): string {
  if (typeof value.reasoning_content === "string" && value.reasoning_content !== "") return value.reasoning_content;
  return typeof value.reasoning === "string" ? value.reasoning : "";
}

/** Tool-call arguments as text: some compatible servers send an object instead of a string. */
export function argumentsText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === undefined || value === null) return "";
  return JSON.stringify(value);
}

// Older shapes of OpenAI-compatible answers that servers still send, read as today's (shared with the stream translator).
/**
 * The tool calls of a message or delta as a list: an array as it is, and a single call object as a
 * list of one (text-generation-inference 1.4–2.0 sent `tool_calls` as one object); anything else none.
 */
export function toolCallList(value: unknown): readonly unknown[] {
  if (Array.isArray(value)) return value;
  return isRecord(value) ? [value] : [];
}

/** A call's arguments as text: `arguments`, or the `parameters` object older text-generation-inference sent instead. */
export function callArgumentsText(fn: { readonly arguments?: unknown; readonly parameters?: unknown }): string {
  return argumentsText(fn.arguments ?? fn.parameters);
}

/**
 * The logprob OpenAI gives a token with no meaningful probability ("the value -9999.0 is used to
 * signify that the token is very unlikely"); a completions-shape token whose logprob is null (the
 * first token of an echoed prompt, a server that did not compute it) gets it rather than 0, which
 * would claim certainty.
 * @see https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices
 */
const NO_MEANINGFUL_LOGPROB = -9999;

/**
 * A choice's token logprobs for its content: `logprobs.content`, or the completions API's shape
 * (`tokens`, `token_logprobs`, `top_logprobs` as one token → logprob object per position) that
 * older vLLM chat answers carry, converted (a token without a logprob gets -9999, never 0);
 * undefined when neither is there.
 */
export function contentLogprobsOf(logprobs: unknown): readonly OpenAITokenLogprob[] | null | undefined {
  if (!isRecord(logprobs)) return undefined;
  if (logprobs.content !== undefined || !Array.isArray(logprobs.tokens)) return logprobs.content as readonly OpenAITokenLogprob[] | null | undefined;
  const values = Array.isArray(logprobs.token_logprobs) ? logprobs.token_logprobs : [];
  const tops = Array.isArray(logprobs.top_logprobs) ? logprobs.top_logprobs : [];
  return logprobs.tokens.map((token: unknown, position: number) => {
    const top = tops[position];
    return {
      token: String(token ?? ""),
      logprob: typeof values[position] === "number" ? (values[position] as number) : NO_MEANINGFUL_LOGPROB,
      bytes: null,
      // An alternative without a logprob is still one of the alternatives (-9999, as for the token).
      top_logprobs: isRecord(top) ? Object.entries(top).map(([name, logprob]) => ({ token: name, logprob: typeof logprob === "number" ? logprob : NO_MEANINGFUL_LOGPROB, bytes: null })) : [],
    };
  });
}

/** The provider's spoken answer (`message.audio`, or a stream's `delta.audio` fragment) as proto fields; undefined when it is not an object. */
export function audioFieldsOf(value: unknown): { id: string; data: string; transcript: string; expiresAt: bigint } | undefined {
  if (!isRecord(value)) return undefined;
  const text = (field: unknown) => (typeof field === "string" ? field : "");
  const expires = value.expires_at;
  const expiresAt = typeof expires === "number" && Number.isInteger(expires) && expires > 0 && expires <= Number.MAX_SAFE_INTEGER ? BigInt(expires) : 0n;
  return { id: text(value.id), data: text(value.data), transcript: text(value.transcript), expiresAt };
}

/**
 * The provider's annotations (`message.annotations` or `delta.annotations`) as proto Annotations:
 * url_citation read; the fields the gateway does not model (other types' bodies, a url_citation's
 * extra keys) kept in `extra` ({@link annotationExtras}).
 */
export function annotationsOf(value: unknown): Annotation[] {
  if (!Array.isArray(value)) return [];
  const offset = (field: unknown) => (typeof field === "number" && Number.isInteger(field) && field >= 0 && field <= INT32_MAX ? field : 0);
  return value.filter(isRecord).map((entry) => {
    const citation = isRecord(entry.url_citation) ? entry.url_citation : undefined;
    const extra = annotationExtras(entry);
    return {
      $typeName: "switchyard.v1.Annotation",
      type: typeof entry.type === "string" ? entry.type : "",
      ...(extra ? { extra } : {}),
      ...(citation
        ? {
            urlCitation: {
              $typeName: "switchyard.v1.UrlCitation",
              url: typeof citation.url === "string" ? citation.url : "",
              title: typeof citation.title === "string" ? citation.title : "",
              startIndex: offset(citation.start_index),
              endIndex: offset(citation.end_index),
            },
          }
        : {}),
    };
  });
}

interface LenientChoice {
  index?: number;
  message?: { content?: unknown; refusal?: unknown; tool_calls?: unknown; function_call?: unknown; reasoning_content?: unknown; reasoning?: unknown; audio?: unknown; annotations?: unknown };
  finish_reason?: unknown;
  logprobs?: { content?: OpenAITokenLogprob[] | null; refusal?: OpenAITokenLogprob[] | null } | null;
}

interface LenientToolCall {
  id?: unknown;
  type?: unknown;
  function?: { name?: unknown; arguments?: unknown; parameters?: unknown } | null;
  custom?: { name?: unknown; input?: unknown } | null;
  extra_content?: unknown;
}

function textPart(text: string): ContentPart {
  return { $typeName: "switchyard.v1.ContentPart", part: { case: "text", value: text } };
}

/**
 * Translates an OpenAI chat.completion body (parsed JSON, read leniently) into a ChatResponse.
 * Each tool call of a choice gets an id none of the choice's other calls has: a call without one,
 * or with one an earlier call has (parallel calls some servers send with one id), gets a generated
 * one, as in a stream (see {@link distinctToolCallId}). Throws INVALID_PROVIDER_RESPONSE when it has no choices array or an empty one, and the {@link failedFinishError}
 * of a choice a server failure cut short.
 * @see https://platform.openai.com/docs/api-reference/chat/object
 */
export function fromOpenAIResponse(body: unknown, provider: string): ChatResponse {
  const completion = (body ?? {}) as { id?: unknown; created?: unknown; choices?: unknown; usage?: OpenAIUsage | null; system_fingerprint?: unknown; service_tier?: unknown };
  // No choices array, or an empty one (no answer at all, as a stream that ends with none is not one): fail over.
  if (!Array.isArray(completion.choices) || completion.choices.length === 0) {
    throw gatewayError(Code.Internal, Reason.INVALID_PROVIDER_RESPONSE, `provider "${provider}" returned a response without choices`, { provider });
  }
  const rawChoices = (completion.choices as unknown[]).filter((choice): choice is LenientChoice => typeof choice === "object" && choice !== null);
  const choices = rawChoices.map((choice, position) => {
    const message = typeof choice.message === "object" && choice.message !== null ? choice.message : {};
    const finishReason = typeof choice.finish_reason === "string" ? choice.finish_reason : undefined;
    const failed = failedFinishError(finishReason, provider, choiceIndexOf(choice.index, position), false);
    if (failed) throw failed;
    const content: ContentPart[] = [];
    const chunked = typeof message.content === "string" ? undefined : chunkedContent(message.content);
    const reasoning = reasoningTextOf(message) + (chunked?.reasoning ?? "");
    if (reasoning) content.push({ $typeName: "switchyard.v1.ContentPart", part: { case: "reasoning", value: { $typeName: "switchyard.v1.Reasoning", text: reasoning, signature: "", redactedData: "" } } });
    const answerText = typeof message.content === "string" ? message.content : (chunked?.text ?? "");
    if (answerText.length > 0) content.push(textPart(answerText));
    if (typeof message.refusal === "string" && message.refusal.length > 0) content.push({ $typeName: "switchyard.v1.ContentPart", part: { case: "refusal", value: message.refusal } });
    let sentIds: Set<string> | undefined;
    const toolCalls: ToolCall[] = toolCallList(message.tool_calls)
      .filter((call): call is LenientToolCall => typeof call === "object" && call !== null)
      .map((call) => {
          // A custom tool's call carries free-text `custom.input` where a function call has JSON `function.arguments`.
          const custom = call.type === "custom" && isRecord(call.custom);
          return {
            $typeName: "switchyard.v1.ToolCall" as const,
            id: distinctToolCallId(call.id, (sentIds ??= new Set())),
            name: String((custom ? call.custom?.name : call.function?.name) ?? ""),
            arguments: custom ? (typeof call.custom?.input === "string" ? call.custom.input : "") : callArgumentsText(call.function ?? {}) || "{}",
            custom,
            ...(isRecord(call.extra_content) ? { extraContent: call.extra_content as JsonObject } : {}),
          };
        });
    // A legacy function_call answer is a tool call, not lost (servers that still answer `functions` that way).
    if (toolCalls.length === 0 && isRecord(message.function_call) && typeof message.function_call.name === "string") {
      toolCalls.push({ $typeName: "switchyard.v1.ToolCall", id: newToolCallId(), name: message.function_call.name, arguments: argumentsText(message.function_call.arguments) || "{}", custom: false });
    }
    const audio = audioFieldsOf(message.audio);
    const messageExtra = answerExtras(message as Record<string, unknown>, MESSAGE_KEYS);
    const choiceExtra = answerExtras(choice as Record<string, unknown>, CHOICE_KEYS);
    const logprobs: Logprobs | undefined = choice.logprobs
      ? { $typeName: "switchyard.v1.Logprobs", content: fromOpenAILogprobs(contentLogprobsOf(choice.logprobs)), refusal: fromOpenAILogprobs(choice.logprobs.refusal) }
      : undefined;
    return {
      $typeName: "switchyard.v1.Choice" as const,
      index: choiceIndexOf(choice.index, position),
      message: {
        $typeName: "switchyard.v1.Message" as const,
        role: Role.ASSISTANT,
        content,
        toolCalls,
        toolCallId: "",
        name: "",
        annotations: annotationsOf(message.annotations),
        ...(audio ? { audio: { $typeName: "switchyard.v1.AudioOutput" as const, ...audio } } : {}),
        ...(messageExtra ? { extra: messageExtra } : {}),
      },
      finishReason: mapOpenAIFinishReason(finishReason, { calledTools: toolCalls.length > 0 }),
      rawFinishReason: finishReason ?? "",
      ...(logprobs ? { logprobs } : {}),
      ...(choiceExtra ? { extra: choiceExtra } : {}),
    };
  });
  const extra = answerExtras(completion as Record<string, unknown>, COMPLETION_KEYS);
  return {
    $typeName: "switchyard.v1.ChatResponse",
    id: typeof completion.id === "string" && completion.id ? completion.id : `chatcmpl-${crypto.randomUUID()}`,
    model: "",
    provider: "",
    choices,
    ...(completion.usage ? { usage: fromOpenAIUsage(completion.usage) } : {}),
    created: createdSeconds(completion.created),
    warnings: [],
    systemFingerprint: typeof completion.system_fingerprint === "string" ? completion.system_fingerprint : "",
    serviceTier: typeof completion.service_tier === "string" ? completion.service_tier : "",
    ...(extra ? { extra } : {}),
  };
}
