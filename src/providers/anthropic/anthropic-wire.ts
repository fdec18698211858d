/**
 * Types of the Anthropic Messages wire format, and lenient parsers for what the upstream sends.
 * Request types are strict (we build them); response and event parsers keep only the fields the
 * adapter reads, tolerate null or missing optional fields, and throw INVALID_PROVIDER_RESPONSE
 * only when a payload is unusable.
 * @see https://docs.claude.com/en/api/messages
 * @see https://docs.claude.com/en/docs/build-with-claude/streaming
 */
import { Code } from "@connectrpc/connect";
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { gatewayError, type GatewayError, Reason } from "../../core/errors.js";

/** The Anthropic adapter's provider family: the provider_options key it reads; its reasoning signatures go out untagged. */
export const ANTHROPIC_FAMILY = "anthropic";

/** A prompt-caching breakpoint: Anthropic caches the prompt up to and including the block it is on. */
export interface AnthropicCacheControl {
  type: "ephemeral";
  ttl?: "5m" | "1h";
}

/** A text block; Anthropic rejects empty text. */
export interface AnthropicTextBlock {
  type: "text";
  text: string;
  cache_control?: AnthropicCacheControl;
}

/** Where an image or document comes from. */
export type AnthropicMediaSource =
  | { type: "base64"; media_type: string; data: string }
  | { type: "url"; url: string }
  | { type: "text"; media_type: "text/plain"; data: string };

/** An image input block (jpeg, png, gif or webp). */
export interface AnthropicImageBlock {
  type: "image";
  source: Extract<AnthropicMediaSource, { type: "base64" | "url" }>;
  cache_control?: AnthropicCacheControl;
}

/** A document input block: a PDF (base64 or url) or plain text. */
export interface AnthropicDocumentBlock {
  type: "document";
  source: AnthropicMediaSource;
  title?: string;
  cache_control?: AnthropicCacheControl;
}

/** A tool call the assistant made, replayed in history. */
export interface AnthropicToolUseBlock {
  type: "tool_use";
  id: string;
  name: string;
  input: JsonObject;
  cache_control?: AnthropicCacheControl;
}

/** The result of one tool call, inside a user turn. */
export interface AnthropicToolResultBlock {
  type: "tool_result";
  tool_use_id: string;
  content?: string | (AnthropicTextBlock | AnthropicImageBlock | AnthropicDocumentBlock)[];
  cache_control?: AnthropicCacheControl;
}

/** A signed thinking block, sent back unchanged on the next turn. */
export interface AnthropicThinkingBlock {
  type: "thinking";
  thinking: string;
  signature: string;
}

/** An encrypted thinking block, sent back unchanged on the next turn. */
export interface AnthropicRedactedThinkingBlock {
  type: "redacted_thinking";
  data: string;
}

/** Any block of a request message. */
export type AnthropicContentBlock =
  | AnthropicTextBlock
  | AnthropicImageBlock
  | AnthropicDocumentBlock
  | AnthropicToolUseBlock
  | AnthropicToolResultBlock
  | AnthropicThinkingBlock
  | AnthropicRedactedThinkingBlock;

/** One turn of the request conversation; roles alternate after merging. */
export interface AnthropicMessageParam {
  role: "user" | "assistant";
  content: AnthropicContentBlock[];
}

/** A client tool declaration. */
export interface AnthropicTool {
  name: string;
  /** Absent when the caller gave none (Anthropic makes it optional). */
  description?: string;
  input_schema: JsonObject;
  /** Schema-validated calls (models with structured outputs only). */
  strict?: boolean;
  cache_control?: AnthropicCacheControl;
}

/** Native structured output: the answer text is JSON matching the schema. */
export interface AnthropicOutputFormat {
  type: "json_schema";
  schema: JsonObject;
}

/**
 * Thinking as the request asks for it: a token budget (models before 4.6), adaptive (4.6 and later;
 * `display: "summarized"` where thinking is otherwise omitted), or disabled (models that think by default).
 */
export type AnthropicThinking = { type: "enabled"; budget_tokens: number } | { type: "adaptive"; display?: "summarized" } | { type: "disabled" };

/** `output_config.effort`: how much the model works (and, with adaptive thinking, thinks). */
export type AnthropicEffort = "low" | "medium" | "high" | "xhigh" | "max";

/** How the model may use the tools. */
export type AnthropicToolChoice =
  | { type: "auto"; disable_parallel_tool_use?: boolean }
  | { type: "any"; disable_parallel_tool_use?: boolean }
  | { type: "tool"; name: string; disable_parallel_tool_use?: boolean }
  | { type: "none" };

/**
 * The body of POST /v1/messages. Keys from provider_options.anthropic are merged in, so the type
 * admits extra keys.
 */
export interface AnthropicMessagesRequest {
  model: string;
  max_tokens: number;
  messages: AnthropicMessageParam[];
  system?: AnthropicTextBlock[];
  temperature?: number;
  top_p?: number;
  stop_sequences?: string[];
  /** The client's tools, then any provider_options.anthropic tools (server tools, as the caller wrote them). */
  tools?: (AnthropicTool | JsonValue)[];
  tool_choice?: AnthropicToolChoice;
  metadata?: { user_id: string };
  output_config?: { format?: AnthropicOutputFormat; effort?: AnthropicEffort; [extra: string]: unknown };
  thinking?: AnthropicThinking;
  stream: boolean;
  [extra: string]: unknown;
}

/** Token counts as Anthropic reports them; input_tokens excludes both cache counters. */
export interface AnthropicUsage {
  inputTokens?: number;
  outputTokens?: number;
  cacheCreationInputTokens?: number;
  cacheReadInputTokens?: number;
  thinkingTokens?: number;
}

/** A web source a text block cites: a web search result, or a search_result block's source. */
export interface AnthropicCitedSource {
  url: string;
  title: string;
}

/** A block of a response message, reduced to the kinds the adapter maps. */
export type AnthropicResponseBlock =
  | { type: "text"; text: string; sources: AnthropicCitedSource[] }
  | { type: "tool_use"; id: string; name: string; input: JsonValue }
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "redacted_thinking"; data: string }
  | { type: "other"; rawType: string };

/** Why the model stopped, with refusal details when the stop was a refusal. */
export interface AnthropicStop {
  stopReason?: string;
  stopSequence?: string;
  explanation?: string;
}

/** A non-streaming response message. */
export interface AnthropicMessage extends AnthropicStop {
  id: string;
  model: string;
  content: AnthropicResponseBlock[];
  /** Absent when the server sent none (compatible servers may not): the gateway then estimates. */
  usage: AnthropicUsage | undefined;
}

/** A content_block_delta payload, reduced to the kinds the adapter maps. */
export type AnthropicDelta =
  | { type: "text_delta"; text: string }
  | { type: "input_json_delta"; partialJson: string }
  | { type: "thinking_delta"; thinking: string }
  | { type: "signature_delta"; signature: string }
  | { type: "citations_delta"; source?: AnthropicCitedSource }
  | { type: "other"; rawType: string };

/** An upstream error object: `{type, message}`. */
export interface AnthropicErrorObject {
  type?: string;
  message?: string;
}

/** One parsed stream event. Event kinds the adapter does not know are not represented. */
export type AnthropicStreamEvent =
  | { type: "message_start"; id: string; model: string; usage: AnthropicUsage | undefined; content: AnthropicResponseBlock[]; stop: AnthropicStop }
  | { type: "content_block_start"; index: number; block: AnthropicResponseBlock }
  | { type: "content_block_delta"; index: number; delta: AnthropicDelta }
  | { type: "content_block_stop"; index: number }
  | { type: "message_delta"; stop: AnthropicStop; usage: AnthropicUsage | undefined }
  | { type: "message_stop" }
  | { type: "ping" }
  | { type: "error"; error: AnthropicErrorObject };

type JsonRecord = { readonly [key: string]: unknown };

function isRecord(value: unknown): value is JsonRecord {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringOf(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function numberOf(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

function malformed(what: string): GatewayError {
  return gatewayError(Code.Internal, Reason.INVALID_PROVIDER_RESPONSE, `Anthropic sent a malformed ${what}`);
}

function isJsonValue(value: unknown): value is JsonValue {
  return value === null || ["string", "number", "boolean", "object"].includes(typeof value);
}

/** Reads a usage object; every counter is optional and null counts as absent; undefined when the answer has no usage object. */
export function parseAnthropicUsage(value: unknown): AnthropicUsage | undefined {
  if (!isRecord(value)) return undefined;
  const details = isRecord(value.output_tokens_details) ? value.output_tokens_details : {};
  const usage: AnthropicUsage = {};
  const assign = (key: keyof AnthropicUsage, raw: unknown) => {
    const number = numberOf(raw);
    if (number !== undefined) usage[key] = number;
  };
  assign("inputTokens", value.input_tokens);
  assign("outputTokens", value.output_tokens);
  assign("cacheCreationInputTokens", value.cache_creation_input_tokens);
  assign("cacheReadInputTokens", value.cache_read_input_tokens);
  assign("thinkingTokens", details.thinking_tokens);
  return usage;
}

/**
 * Reads a citation as a web source: `web_search_result_location` (its url) and
 * `search_result_location` (its source). Document citations (char, page, content-block locations)
 * have no URL and give undefined.
 */
export function parseCitedSource(value: unknown): AnthropicCitedSource | undefined {
  if (!isRecord(value)) return undefined;
  const url = value.type === "web_search_result_location" ? stringOf(value.url) : value.type === "search_result_location" ? stringOf(value.source) : undefined;
  return url ? { url, title: stringOf(value.title) ?? "" } : undefined;
}

function citedSources(value: unknown): AnthropicCitedSource[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((citation) => parseCitedSource(citation) ?? []);
}

/** Reads one response content block; unknown kinds become `{type:"other"}` so callers can skip them. */
export function parseAnthropicBlock(value: unknown): AnthropicResponseBlock {
  if (!isRecord(value)) throw malformed("content block");
  const type = stringOf(value.type) ?? "";
  switch (type) {
    case "text":
      return { type, text: stringOf(value.text) ?? "", sources: citedSources(value.citations) };
    case "tool_use": {
      const id = stringOf(value.id);
      const name = stringOf(value.name);
      if (id === undefined || name === undefined) throw malformed("tool_use block");
      return { type, id, name, input: isJsonValue(value.input) ? value.input : {} };
    }
    case "thinking":
      return { type, thinking: stringOf(value.thinking) ?? "", signature: stringOf(value.signature) ?? "" };
    case "redacted_thinking":
      return { type, data: stringOf(value.data) ?? "" };
    default:
      return { type: "other", rawType: type };
  }
}

function parseStop(value: JsonRecord): AnthropicStop {
  const stop: AnthropicStop = {};
  const stopReason = stringOf(value.stop_reason);
  const stopSequence = stringOf(value.stop_sequence);
  const explanation = isRecord(value.stop_details) ? stringOf(value.stop_details.explanation) : undefined;
  if (stopReason !== undefined) stop.stopReason = stopReason;
  if (stopSequence !== undefined) stop.stopSequence = stopSequence;
  if (explanation !== undefined) stop.explanation = explanation;
  return stop;
}

/** Reads a non-streaming response body (already JSON-parsed). Throws INVALID_PROVIDER_RESPONSE when it is not a message. */
export function parseAnthropicMessage(value: unknown): AnthropicMessage {
  if (!isRecord(value) || !Array.isArray(value.content)) throw malformed("message");
  return {
    id: stringOf(value.id) ?? "",
    model: stringOf(value.model) ?? "",
    content: value.content.map(parseAnthropicBlock),
    usage: parseAnthropicUsage(value.usage),
    ...parseStop(value),
  };
}

function parseDelta(value: unknown): AnthropicDelta {
  if (!isRecord(value)) throw malformed("content_block_delta");
  const type = stringOf(value.type) ?? "";
  switch (type) {
    case "text_delta":
      return { type, text: stringOf(value.text) ?? "" };
    case "input_json_delta":
      return { type, partialJson: stringOf(value.partial_json) ?? "" };
    case "thinking_delta":
      return { type, thinking: stringOf(value.thinking) ?? "" };
    case "signature_delta":
      return { type, signature: stringOf(value.signature) ?? "" };
    case "citations_delta": {
      const source = parseCitedSource(value.citation);
      return source ? { type, source } : { type };
    }
    default:
      return { type: "other", rawType: type };
  }
}

function indexOf(value: JsonRecord, type: string): number {
  const index = numberOf(value.index);
  if (index === undefined) throw malformed(`${type} event (no index)`);
  return index;
}

/** Reads an error object `{type, message}`; anything missing stays undefined. */
export function parseAnthropicErrorObject(value: unknown): AnthropicErrorObject {
  if (!isRecord(value)) return {};
  const error: AnthropicErrorObject = {};
  const type = stringOf(value.type);
  const message = stringOf(value.message);
  if (type !== undefined) error.type = type;
  if (message !== undefined) error.message = message;
  return error;
}

/**
 * Parses the data of one SSE event (the JSON may carry whitespace padding). Dispatches on
 * `data.type`, never on the SSE event name. Returns undefined for event kinds we do not know
 * (Anthropic may add new ones); throws INVALID_PROVIDER_RESPONSE for unreadable JSON.
 */
export function parseAnthropicStreamEvent(data: string): AnthropicStreamEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch (error) {
    throw gatewayError(Code.Internal, Reason.INVALID_PROVIDER_RESPONSE, "Anthropic sent a stream event that is not JSON", {}, error);
  }
  if (!isRecord(value)) throw malformed("stream event");
  const type = stringOf(value.type);
  switch (type) {
    case "message_start": {
      const message = isRecord(value.message) ? value.message : {};
      // `content` and `stop_reason` are normally empty here, but a resumed turn (programmatic tool calling) may start with blocks already written.
      const content = Array.isArray(message.content) ? message.content.map(parseAnthropicBlock) : [];
      return { type, id: stringOf(message.id) ?? "", model: stringOf(message.model) ?? "", usage: parseAnthropicUsage(message.usage), content, stop: parseStop(message) };
    }
    case "content_block_start":
      return { type, index: indexOf(value, type), block: parseAnthropicBlock(value.content_block) };
    case "content_block_delta":
      return { type, index: indexOf(value, type), delta: parseDelta(value.delta) };
    case "content_block_stop":
      return { type, index: indexOf(value, type) };
    case "message_delta":
      return { type, stop: parseStop(isRecord(value.delta) ? value.delta : {}), usage: parseAnthropicUsage(value.usage) };
    case "message_stop":
    case "ping":
      return { type };
    case "error":
      return { type, error: parseAnthropicErrorObject(value.error) };
    default:
      return undefined;
  }
}
