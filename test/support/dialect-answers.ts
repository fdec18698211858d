/**
 * Writers of provider answers in each upstream dialect (OpenAI chat completions, Anthropic
 * Messages, Gemini generateContent), from one canonical answer. Shared by the adapter contract
 * suite (hand-made replay bodies) and the dialect upstream server (answers derived from requests).
 * Every body here is HAND-MADE in the documented wire shape; recorded traffic lives in the fixtures.
 */

/** JSON values. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** A JSON object. */
export type JsonMap = { [key: string]: Json };

/** The upstream wire formats the gateway speaks. */
export type Dialect = "openai" | "anthropic" | "gemini";

/** Token counts in OpenAI's conventions: prompt includes cached (and cache writes), completion includes reasoning. */
export interface CanonicalUsage {
  readonly prompt: number;
  readonly cached: number;
  readonly completion: number;
  readonly reasoning: number;
  /** Anthropic-only prompt-cache writes (part of prompt). */
  readonly cacheWrite?: number;
}

/** One tool call of an answer; Gemini sends no id unless `geminiSendsIds`. */
export interface CanonicalToolCall {
  readonly id: string;
  readonly name: string;
  readonly arguments: JsonMap;
}

/** Why the answer ended, in neutral words. */
export type CanonicalFinish = "stop" | "stop_sequence" | "length" | "tool_calls" | "content_filter";

/** An assistant answer, independent of any dialect. */
export interface CanonicalAnswer {
  readonly id: string;
  readonly model: string;
  readonly text: string;
  readonly reasoning?: string;
  readonly reasoningSignature?: string;
  readonly toolCalls?: readonly CanonicalToolCall[];
  readonly finish: CanonicalFinish;
  readonly usage: CanonicalUsage;
  /** Explanation of a content-filter finish (Anthropic refusal stop_details). */
  readonly refusal?: string;
  /** Texts of further choices (n > 1; OpenAI and Gemini non-streaming only). */
  readonly extraChoices?: readonly string[];
  /** Stream text in pieces of this many characters (default: word by word). */
  readonly pieceSize?: number;
}

/** A native HTTP answer. */
export interface NativeHttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** A native stream, as SSE frames: everything up to the terminal frames, and the terminal frames. */
export interface NativeStream {
  readonly headers: Record<string, string>;
  /** Start and content frames (a stream cut after these is truncated: no finish). */
  readonly content: string[];
  /** Finish, usage and end-of-stream frames. */
  readonly terminal: string[];
}

/** Upstream failures the writers can phrase. */
export type ErrorKind = "400" | "401" | "404" | "429" | "500" | "503" | "overload";

const CREATED = 1_750_000_000;

function pieces(text: string, size: number | undefined): string[] {
  if (text === "") return [];
  if (size !== undefined) {
    const out: string[] = [];
    for (let at = 0; at < text.length; at += size) out.push(text.slice(at, at + size));
    return out;
  }
  return text.match(/\S+\s*|\s+/g) ?? [text];
}

/** Splits a JSON text into 2-3 fragments, the way providers stream tool arguments. */
function argumentFragments(json: string): string[] {
  if (json.length < 4) return [json];
  const third = Math.max(1, Math.floor(json.length / 3));
  return [json.slice(0, third), json.slice(third, 2 * third), json.slice(2 * third)];
}

// ---------- OpenAI ----------

const OPENAI_FINISH: Record<CanonicalFinish, string> = { stop: "stop", stop_sequence: "stop", length: "length", tool_calls: "tool_calls", content_filter: "content_filter" };

function openAIUsage(usage: CanonicalUsage): JsonMap {
  return {
    prompt_tokens: usage.prompt,
    completion_tokens: usage.completion,
    total_tokens: usage.prompt + usage.completion,
    prompt_tokens_details: { cached_tokens: usage.cached, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: usage.reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

function openAIBody(answer: CanonicalAnswer): JsonMap {
  const calls = answer.toolCalls ?? [];
  const message: JsonMap = { role: "assistant", content: answer.text === "" ? null : answer.text, refusal: null, annotations: [] };
  if (answer.reasoning) message.reasoning_content = answer.reasoning;
  if (calls.length > 0) message.tool_calls = calls.map((call) => ({ id: call.id, type: "function", function: { name: call.name, arguments: JSON.stringify(call.arguments) } }));
  const first: JsonMap = { index: 0, message, logprobs: null, finish_reason: OPENAI_FINISH[answer.finish] };
  const extra = (answer.extraChoices ?? []).map((text, index): JsonMap => ({ index: index + 1, message: { role: "assistant", content: text, refusal: null }, logprobs: null, finish_reason: "stop" }));
  return { id: answer.id, object: "chat.completion", created: CREATED, model: answer.model, choices: [first, ...extra], usage: openAIUsage(answer.usage), system_fingerprint: "fp_handmade" };
}

function openAIStream(answer: CanonicalAnswer, includeUsage: boolean): NativeStream {
  const frame = (choices: Json[], usage?: Json) => `data: ${JSON.stringify({ id: answer.id, object: "chat.completion.chunk", created: CREATED, model: answer.model, choices, ...(includeUsage ? { usage: usage ?? null } : {}) })}\n\n`;
  const delta = (value: JsonMap, finish: string | null = null): Json => ({ index: 0, delta: value, logprobs: null, finish_reason: finish });
  const content = [frame([delta({ role: "assistant", content: "", refusal: null })])];
  for (const piece of pieces(answer.reasoning ?? "", answer.pieceSize)) content.push(frame([delta({ reasoning_content: piece })]));
  for (const piece of pieces(answer.text, answer.pieceSize)) content.push(frame([delta({ content: piece })]));
  (answer.toolCalls ?? []).forEach((call, index) => {
    content.push(frame([delta({ tool_calls: [{ index, id: call.id, type: "function", function: { name: call.name, arguments: "" } }] })]));
    for (const fragment of argumentFragments(JSON.stringify(call.arguments))) content.push(frame([delta({ tool_calls: [{ index, function: { arguments: fragment } }] })]));
  });
  const terminal = [frame([delta({}, OPENAI_FINISH[answer.finish])])];
  if (includeUsage) terminal.push(frame([], openAIUsage(answer.usage)));
  terminal.push("data: [DONE]\n\n");
  return { headers: { "content-type": "text/event-stream" }, content, terminal };
}

function openAIError(kind: ErrorKind, message: string): NativeHttpAnswer {
  const table: Record<ErrorKind, [number, string, string | null]> = {
    "400": [400, "invalid_request_error", null],
    "401": [401, "invalid_request_error", "invalid_api_key"],
    "404": [404, "invalid_request_error", "model_not_found"],
    "429": [429, "requests", "rate_limit_exceeded"],
    "500": [500, "server_error", null],
    "503": [503, "server_error", null],
    overload: [503, "server_error", null],
  };
  const [status, type, code] = table[kind];
  return { status, headers: { "content-type": "application/json", ...(kind === "429" ? { "retry-after": "7" } : {}) }, body: JSON.stringify({ error: { message, type, param: null, code } }) };
}

// ---------- Anthropic ----------

const ANTHROPIC_STOP: Record<CanonicalFinish, string> = { stop: "end_turn", stop_sequence: "stop_sequence", length: "max_tokens", tool_calls: "tool_use", content_filter: "refusal" };

function anthropicUsage(usage: CanonicalUsage): JsonMap {
  const cacheWrite = usage.cacheWrite ?? 0;
  return {
    input_tokens: usage.prompt - usage.cached - cacheWrite,
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: usage.cached,
    output_tokens: usage.completion,
    ...(usage.reasoning > 0 ? { output_tokens_details: { thinking_tokens: usage.reasoning } } : {}),
  };
}

function anthropicStopFields(answer: CanonicalAnswer, stopSequence: string | null): JsonMap {
  return {
    stop_reason: ANTHROPIC_STOP[answer.finish],
    stop_sequence: stopSequence,
    ...(answer.finish === "content_filter" ? { stop_details: { type: "refusal", category: "cyber", explanation: answer.refusal ?? "This request was refused." } } : {}),
  };
}

function anthropicBody(answer: CanonicalAnswer, stopSequence: string | null): JsonMap {
  const content: Json[] = [];
  if (answer.reasoning) content.push({ type: "thinking", thinking: answer.reasoning, signature: answer.reasoningSignature ?? "sig-handmade" });
  if (answer.text) content.push({ type: "text", text: answer.text });
  for (const call of answer.toolCalls ?? []) content.push({ type: "tool_use", id: call.id, name: call.name, input: call.arguments });
  return { id: answer.id, type: "message", role: "assistant", model: answer.model, content, ...anthropicStopFields(answer, stopSequence), usage: anthropicUsage(answer.usage) };
}

function anthropicStream(answer: CanonicalAnswer, stopSequence: string | null): NativeStream {
  const event = (type: string, data: JsonMap) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const usage = anthropicUsage(answer.usage);
  const content = [
    event("message_start", { message: { id: answer.id, type: "message", role: "assistant", model: answer.model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } }),
    "event: ping\ndata: {\"type\": \"ping\"}\n\n",
  ];
  let index = 0;
  if (answer.reasoning) {
    content.push(event("content_block_start", { index, content_block: { type: "thinking", thinking: "", signature: "" } }));
    for (const piece of pieces(answer.reasoning, answer.pieceSize)) content.push(event("content_block_delta", { index, delta: { type: "thinking_delta", thinking: piece } }));
    content.push(event("content_block_delta", { index, delta: { type: "signature_delta", signature: answer.reasoningSignature ?? "sig-handmade" } }));
    content.push(event("content_block_stop", { index }));
    index++;
  }
  if (answer.text) {
    content.push(event("content_block_start", { index, content_block: { type: "text", text: "" } }));
    for (const piece of pieces(answer.text, answer.pieceSize)) content.push(event("content_block_delta", { index, delta: { type: "text_delta", text: piece } }));
    content.push(event("content_block_stop", { index }));
    index++;
  }
  for (const call of answer.toolCalls ?? []) {
    content.push(event("content_block_start", { index, content_block: { type: "tool_use", id: call.id, name: call.name, input: {} } }));
    content.push(event("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: "" } }));
    // A zero-argument call streams no fragment at all: the gateway must still emit "{}".
    if (Object.keys(call.arguments).length > 0) {
      for (const fragment of argumentFragments(JSON.stringify(call.arguments))) content.push(event("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: fragment } }));
    }
    content.push(event("content_block_stop", { index }));
    index++;
  }
  const terminal = [event("message_delta", { delta: anthropicStopFields(answer, stopSequence), usage }), event("message_stop", {})];
  return { headers: { "content-type": "text/event-stream" }, content, terminal };
}

function anthropicError(kind: ErrorKind, message: string): NativeHttpAnswer {
  const table: Record<ErrorKind, [number, string]> = {
    "400": [400, "invalid_request_error"],
    "401": [401, "authentication_error"],
    "404": [404, "not_found_error"],
    "429": [429, "rate_limit_error"],
    "500": [500, "api_error"],
    "503": [503, "api_error"],
    overload: [529, "overloaded_error"],
  };
  const [status, type] = table[kind];
  return {
    status,
    headers: { "content-type": "application/json", "request-id": "req_handmade", ...(kind === "429" ? { "retry-after": "7" } : {}) },
    body: JSON.stringify({ type: "error", error: { type, message }, request_id: "req_handmade" }),
  };
}

// ---------- Gemini ----------

const GEMINI_FINISH: Record<CanonicalFinish, string> = { stop: "STOP", stop_sequence: "STOP", length: "MAX_TOKENS", tool_calls: "STOP", content_filter: "SAFETY" };

function geminiUsage(usage: CanonicalUsage, completionSoFar: number): JsonMap {
  const candidates = Math.max(0, completionSoFar - usage.reasoning);
  return {
    promptTokenCount: usage.prompt,
    ...(candidates > 0 ? { candidatesTokenCount: candidates } : {}),
    totalTokenCount: usage.prompt + completionSoFar,
    ...(usage.cached > 0 ? { cachedContentTokenCount: usage.cached } : {}),
    ...(usage.reasoning > 0 ? { thoughtsTokenCount: usage.reasoning } : {}),
  };
}

function geminiCallParts(answer: CanonicalAnswer, sendIds: boolean): JsonMap[] {
  return (answer.toolCalls ?? []).map((call, index) => ({
    functionCall: { name: call.name, args: call.arguments, ...(sendIds ? { id: call.id } : {}) },
    ...(index === 0 && answer.reasoningSignature ? { thoughtSignature: answer.reasoningSignature } : {}),
  }));
}

function geminiBody(answer: CanonicalAnswer, sendIds: boolean): JsonMap {
  const parts: Json[] = [];
  if (answer.reasoning) parts.push({ text: answer.reasoning, thought: true });
  if (answer.text) parts.push({ text: answer.text });
  parts.push(...geminiCallParts(answer, sendIds));
  const candidate: JsonMap = { content: answer.finish === "content_filter" && parts.length === 0 ? {} : { role: "model", parts }, finishReason: GEMINI_FINISH[answer.finish], index: 0 };
  if (answer.finish === "content_filter") candidate.safetyRatings = [{ category: "HARM_CATEGORY_DANGEROUS_CONTENT", probability: "HIGH", blocked: true }];
  const extra = (answer.extraChoices ?? []).map((text, index): JsonMap => ({ content: { role: "model", parts: [{ text }] }, finishReason: "STOP", index: index + 1 }));
  return { candidates: [candidate, ...extra], usageMetadata: geminiUsage(answer.usage, answer.usage.completion), modelVersion: answer.model, responseId: answer.id };
}

function geminiStream(answer: CanonicalAnswer, sendIds: boolean): NativeStream {
  const textPieces = pieces(answer.text, answer.pieceSize);
  const chunks: JsonMap[][] = [];
  if (answer.reasoning) chunks.push([{ text: answer.reasoning, thought: true }]);
  for (const piece of textPieces) chunks.push([{ text: piece }]);
  const calls = geminiCallParts(answer, sendIds);
  const total = chunks.length + (calls.length > 0 ? 1 : 0);
  let sent = 0;
  const frame = (parts: JsonMap[], finish: string | undefined): string => {
    sent++;
    // Usage is cumulative on every chunk; the completion count grows with each chunk.
    const completionSoFar = finish ? answer.usage.completion : Math.max(answer.usage.reasoning, Math.floor((answer.usage.completion * sent) / Math.max(total + 1, 1)));
    const candidate: JsonMap = { content: { role: "model", parts }, index: 0, ...(finish ? { finishReason: finish } : {}) };
    return `data: ${JSON.stringify({ candidates: [candidate], usageMetadata: geminiUsage(answer.usage, completionSoFar), modelVersion: answer.model, responseId: answer.id })}\r\n\r\n`;
  };
  const content = chunks.map((parts) => frame(parts, undefined));
  // Gemini sends function calls whole, in one chunk; the finish rides on the last chunk.
  const terminal = [frame(calls.length > 0 ? calls : [{ text: "" }], GEMINI_FINISH[answer.finish])];
  return { headers: { "content-type": "text/event-stream" }, content, terminal };
}

function geminiError(kind: ErrorKind, message: string): NativeHttpAnswer {
  const table: Record<ErrorKind, [number, string, Json[]]> = {
    "400": [400, "INVALID_ARGUMENT", []],
    // Gemini reports a bad API key as 400 INVALID_ARGUMENT with ErrorInfo API_KEY_INVALID.
    "401": [400, "INVALID_ARGUMENT", [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID", domain: "googleapis.com", metadata: { service: "generativelanguage.googleapis.com" } }]],
    "404": [404, "NOT_FOUND", []],
    "429": [429, "RESOURCE_EXHAUSTED", [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "7s" }]],
    "500": [500, "INTERNAL", []],
    "503": [503, "UNAVAILABLE", []],
    overload: [503, "UNAVAILABLE", []],
  };
  const [status, name, details] = table[kind];
  return { status, headers: { "content-type": "application/json; charset=UTF-8" }, body: JSON.stringify({ error: { code: status, message, status: name, ...(details.length > 0 ? { details } : {}) } }) };
}

// ---------- dialect dispatch ----------

/** Options of the writers. */
export interface WriteOptions {
  /** OpenAI: add the final usage chunk (stream_options.include_usage). Default true. */
  readonly includeUsage?: boolean;
  /** Anthropic: the stop sequence that matched (stop_sequence finishes). */
  readonly stopSequence?: string;
  /** Gemini: send functionCall ids (Gemini 3 style). Default false, like the Gemini API. */
  readonly geminiSendsIds?: boolean;
}

/** The non-streaming body of `answer` in `dialect`. */
export function nativeBody(dialect: Dialect, answer: CanonicalAnswer, options: WriteOptions = {}): JsonMap {
  if (dialect === "openai") return openAIBody(answer);
  if (dialect === "anthropic") return anthropicBody(answer, options.stopSequence ?? null);
  return geminiBody(answer, options.geminiSendsIds ?? false);
}

/** The streamed frames of `answer` in `dialect`. */
export function nativeStream(dialect: Dialect, answer: CanonicalAnswer, options: WriteOptions = {}): NativeStream {
  if (dialect === "openai") return openAIStream(answer, options.includeUsage ?? true);
  if (dialect === "anthropic") return anthropicStream(answer, options.stopSequence ?? null);
  return geminiStream(answer, options.geminiSendsIds ?? false);
}

/** A native error answer of `kind` carrying `message`. */
export function nativeError(dialect: Dialect, kind: ErrorKind, message: string): NativeHttpAnswer {
  if (dialect === "openai") return openAIError(kind, message);
  if (dialect === "anthropic") return anthropicError(kind, message);
  return geminiError(kind, message);
}

/** The frame a provider sends when it fails after a 200 (each dialect's in-stream error). */
export function nativeStreamErrorFrame(dialect: Dialect, message: string): string {
  if (dialect === "openai") return `data: ${JSON.stringify({ error: { message, type: "server_error", param: null, code: null } })}\n\n`;
  if (dialect === "anthropic") return `event: error\ndata: ${JSON.stringify({ type: "error", error: { type: "overloaded_error", message } })}\n\n`;
  return `data: ${JSON.stringify({ error: { code: 503, message, status: "UNAVAILABLE" } })}\r\n\r\n`;
}

/** The native finish value each dialect reports for a canonical finish. */
export function nativeFinish(dialect: Dialect, finish: CanonicalFinish): string {
  if (dialect === "openai") return OPENAI_FINISH[finish];
  if (dialect === "anthropic") return ANTHROPIC_STOP[finish];
  return GEMINI_FINISH[finish];
}

/** The upstream status each dialect uses for an overload. */
export const OVERLOAD_STATUS: Readonly<Record<Dialect, number>> = { openai: 503, anthropic: 529, gemini: 503 };
