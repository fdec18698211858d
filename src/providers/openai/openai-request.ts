import { createHash } from "node:crypto";
import type { JsonObject } from "@bufbuild/protobuf";
import { ImageDetail, ResponseFormatType, Role, ToolChoiceMode, type ChatInput, type ContentPart, type Media, type Message } from "../../../gen/switchyard/v1/chat_pb.js";
import { readDataUrl } from "../../core/data-url.js";
import { invalidRequest, unsupportedFeature } from "../../core/errors.js";
import { hasCacheControl } from "../../core/cache-control.js";
import { mediaKindOf, mediaOf, type MediaKind } from "../../core/media-types.js";
import type { Json, OpenAIChatRequest, OpenAIContentPart, OpenAIMessage, OpenAITool, OpenAIToolCall } from "../../wire/openai-chat-completions.js";

/** Dialect differences between OpenAI itself and OpenAI-compatible servers. */
export interface OpenAIDialect {
  /** Send the token limit as `max_completion_tokens` (OpenAI; required by reasoning models) instead of `max_tokens`. */
  readonly maxCompletionTokens: boolean;
  /**
   * Send `developer` messages with their own role (OpenAI). Compatible servers get `system`, which
   * the spec treats it as: many refuse the newer role (vLLM with a chat template that has no branch
   * for it: "Unexpected message role.", other OpenAI-compatible gateways: "developer is not one of").
   */
  readonly developerRole: boolean;
  /**
   * Send tool-call ids as exactly 9 letters and digits (Mistral's rule: "Tool call id was call_… but
   * must be a-z, A-Z, 0-9, with a length of 9"); other ids are mapped consistently.
   */
  readonly nineCharToolCallIds?: boolean;
  /**
   * Send an assistant message's reasoning as `reasoning_content` (the field compatible servers
   * answer it in): DeepSeek and Moonshot refuse a tool loop in thinking mode whose assistant
   * tool-call turns come back without it ("Missing `reasoning_content` field"). OpenAI's own API
   * has no such input.
   */
  readonly reasoningContent?: boolean;
  /** Send the seed as `random_seed` (Mistral's name; it refuses `seed` as an extra input). */
  readonly randomSeed?: boolean;
  /**
   * Send a tool call's `extra_content` (Gemini's thought signature, which Gemini's own
   * OpenAI-compatible endpoint wants back). OpenAI's API refuses it ("Unknown parameter:
   * 'messages[1].tool_calls[0].extra_content'").
   */
  readonly toolCallExtraContent?: boolean;
}

const NINE_ALPHANUMERIC = /^[a-zA-Z0-9]{9}$/;
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/**
 * A tool-call id as 9 letters and digits: one that already is stays; another becomes 9 base62
 * characters of its SHA-256, so a call and its result (and every later turn) map alike.
 */
export function nineCharToolCallId(id: string): string {
  if (NINE_ALPHANUMERIC.test(id)) return id;
  const digest = createHash("sha256").update(id).digest();
  let out = "";
  for (let i = 0; i < 9; i++) out += BASE62[(digest[i] ?? 0) % 62];
  return out;
}

/** An upstream request body plus what the translation had to drop. */
export interface TranslatedRequest {
  readonly body: OpenAIChatRequest;
  readonly warnings: string[];
}

const ROLE_NAMES: Partial<Record<Role, OpenAIMessage["role"]>> = {
  [Role.SYSTEM]: "system",
  [Role.DEVELOPER]: "developer",
  [Role.USER]: "user",
  [Role.ASSISTANT]: "assistant",
  [Role.TOOL]: "tool",
};

const DETAIL_NAMES: Partial<Record<ImageDetail, "auto" | "low" | "high">> = {
  [ImageDetail.AUTO]: "auto",
  [ImageDetail.LOW]: "low",
  [ImageDetail.HIGH]: "high",
};

/** The media as base64 with its type, or undefined for a URL that is not a data URL. */
function inlineMedia(media: Media, param: string): { mimeType: string; base64: string } | undefined {
  if (media.source.case !== "url") return { mimeType: media.mimeType, base64: Buffer.from(media.source.value ?? new Uint8Array()).toString("base64") };
  const inline = readDataUrl(media.source.value, param);
  return inline && { mimeType: media.mimeType || inline.mimeType, base64: inline.base64 };
}

/** The media's URL: data URLs (and bytes) as `data:<type>;base64,<standard base64>`, as REST callers' arrive; other URLs as they are. */
function mediaUrl(media: Media, param: string): string {
  const inline = inlineMedia(media, param);
  return inline ? `data:${inline.mimeType};base64,${inline.base64}` : (media.source.value as string);
}

function audioFormat(mimeType: string): string | undefined {
  if (mimeType === "audio/wav" || mimeType === "audio/x-wav" || mimeType === "audio/wave") return "wav";
  if (mimeType === "audio/mp3" || mimeType === "audio/mpeg") return "mp3";
  return undefined;
}

/**
 * OpenAI refuses `file_data` without a `filename`; a document that came without one (gRPC callers,
 * other dialects) gets `part-<index>.<ext>`, the extension taken from its MIME type.
 */
function defaultFilename(mimeType: string, partIndex: number): string {
  const subtype = /^[a-z]+\/([a-z0-9.+-]+)$/i.exec(mimeType)?.[1]?.toLowerCase();
  const extension = subtype === undefined ? "bin" : subtype === "plain" ? "txt" : subtype.replace(/^x-/, "").replace(/[^a-z0-9]/g, "") || "bin";
  return `part-${partIndex}.${extension}`;
}

function toOpenAIPart(part: ContentPart, param: string, partIndex: number): OpenAIContentPart | undefined {
  const out = toOpenAIPartFields(part, param, partIndex);
  const media = mediaOf(part);
  return out && (part.extra || media?.extra) ? withPartExtra(out, part.extra, media?.extra) : out;
}

/**
 * The part with the fields the gateway does not model put back where the caller had them: the
 * part's own (ContentPart.extra) beside its keys, its typed object's (Media.extra) inside the object
 * it goes as (a PDF given by `image_url` goes as `file`); the modelled fields win.
 */
function withPartExtra(out: OpenAIContentPart, extra: JsonObject | undefined, mediaExtra: JsonObject | undefined): OpenAIContentPart {
  const merged: Record<string, unknown> = { ...extra, ...out };
  const typed = (out as Record<string, unknown>)[out.type];
  if (mediaExtra && typed !== null && typeof typed === "object") merged[out.type] = { ...mediaExtra, ...typed };
  return merged as OpenAIContentPart;
}

function toOpenAIPartFields(part: ContentPart, param: string, partIndex: number): OpenAIContentPart | undefined {
  switch (part.part.case) {
    case "text":
      return { type: "text", text: part.part.value };
    case "refusal":
      return { type: "refusal", refusal: part.part.value };
    case "image":
    case "audio":
    case "video":
    case "file": {
      const media = part.part.value;
      // An explicit mime_type decides the kind (chat.proto Media.mime_type), whichever field carries the media.
      return toOpenAIMediaPart(media.mimeType ? mediaKindOf(media.mimeType) : part.part.case, media, param, partIndex);
    }
    default:
      return undefined;
  }
}

function toOpenAIMediaPart(kind: MediaKind, media: Media, param: string, partIndex: number): OpenAIContentPart {
  switch (kind) {
    case "image": {
      const detail = DETAIL_NAMES[media.detail];
      return { type: "image_url", image_url: { url: mediaUrl(media, param), ...(detail ? { detail } : {}) } };
    }
    case "audio": {
      const inline = inlineMedia(media, param);
      const format = audioFormat(inline?.mimeType ?? "");
      if (!inline || !format) {
        throw unsupportedFeature(`OpenAI-dialect providers take audio only inline as wav or mp3 (input_audio); this part is ${inline ? inline.mimeType : "a URL"}.`, param);
      }
      return { type: "input_audio", input_audio: { data: inline.base64, format } };
    }
    case "file": {
      const inline = inlineMedia(media, param);
      if (!inline) throw unsupportedFeature("OpenAI-dialect providers take files only inline (file_data); this part is a URL.", param);
      return { type: "file", file: { file_data: `data:${inline.mimeType};base64,${inline.base64}`, filename: media.filename || defaultFilename(inline.mimeType, partIndex) } };
    }
    case "video":
      throw unsupportedFeature("OpenAI-dialect providers do not accept video input.", param);
  }
}

/** One text part travels as a plain string; several parts stay parts (joining them would merge words). */
function contentOf(parts: readonly OpenAIContentPart[], empty: "" | null): string | OpenAIContentPart[] | null {
  if (parts.length === 0) return empty;
  const only = parts[0];
  // One plain text part is the string form; one that carries other fields stays a part.
  if (parts.length === 1 && only?.type === "text" && Object.keys(only).length === 2) return only.text;
  return [...parts];
}

function toOpenAIMessage(message: Message, index: number, dialect: OpenAIDialect): OpenAIMessage {
  const callId = dialect.nineCharToolCallIds ? nineCharToolCallId : (id: string) => id;
  const param = `messages[${index}]`;
  const role = message.role === Role.DEVELOPER && !dialect.developerRole ? "system" : (ROLE_NAMES[message.role] ?? "user");
  const out: OpenAIMessage = { role };
  const parts = message.content
    .map((part, partIndex) => toOpenAIPart(part, `${param}.content[${partIndex}]`, partIndex))
    .filter((part): part is OpenAIContentPart => part !== undefined);
  if (role === "assistant") {
    const refusals = parts.filter((part) => part.type === "refusal").map((part) => part.refusal);
    out.content = contentOf(parts.filter((part) => part.type !== "refusal"), null);
    if (refusals.length > 0) out.refusal = refusals.join("");
  } else {
    out.content = contentOf(parts, "");
  }
  if (message.name) out.name = message.name;
  if (role === "assistant" && dialect.reasoningContent) {
    const reasoning = message.content.map((part) => (part.part.case === "reasoning" ? part.part.value.text : "")).join("");
    if (reasoning) out.reasoning_content = reasoning;
  }
  if (message.toolCalls.length > 0) {
    out.tool_calls = message.toolCalls.map((call): OpenAIToolCall =>
      call.custom
        ? { id: callId(call.id), type: "custom", custom: { name: call.name, input: call.arguments } }
        : {
            id: callId(call.id),
            type: "function",
            function: { name: call.name, arguments: call.arguments || "{}" },
            ...(dialect.toolCallExtraContent && call.extraContent && Object.keys(call.extraContent).length > 0 ? { extra_content: call.extraContent as { [key: string]: Json } } : {}),
          },
    );
  }
  if (role === "tool") out.tool_call_id = callId(message.toolCallId);
  if (role === "assistant" && message.audio?.id) out.audio = { id: message.audio.id };
  // Fields the gateway does not model (a provider's extension, such as `prefix`) go as the caller gave them; the modelled ones win.
  return message.extra ? { ...(message.extra as { [key: string]: Json }), ...out } : out;
}

/**
 * Translates a ChatInput into an OpenAI Chat Completions request body (pure). Every typed knob is
 * forwarded as is; `provider_options.openai` is merged at the top level; other families'
 * options are reported as ignored; cache_control breakpoints are never sent (a warning says so).
 * Streaming requests ask for usage unless `streamUsage` is false.
 * @see https://platform.openai.com/docs/api-reference/chat/create
 */
export function toOpenAIRequest(input: ChatInput, upstreamModel: string, options: { stream: boolean; streamUsage?: boolean; dialect: OpenAIDialect }): TranslatedRequest {
  const warnings: string[] = [];
  const body: OpenAIChatRequest = { model: upstreamModel, messages: input.messages.map((message, index) => toOpenAIMessage(message, index, options.dialect)) };
  let reasoning = false;
  let textless = false;
  for (const message of input.messages) {
    for (const part of message.content) {
      if (part.part.case !== "reasoning") continue;
      reasoning = true;
      if (part.part.value.text === "") textless = true;
    }
  }
  if (reasoning && !options.dialect.reasoningContent) {
    warnings.push("reasoning parts in the conversation history were not sent: OpenAI-dialect providers take no reasoning input");
  } else if (textless) {
    warnings.push("reasoning parts without text (redacted, or a signature alone) in the conversation history were not sent: reasoning_content carries text only");
  }
  if (!options.dialect.toolCallExtraContent && input.messages.some((message) => message.toolCalls.some((call) => call.extraContent && Object.keys(call.extraContent).length > 0))) {
    warnings.push("tool_calls[].extra_content in the conversation history was not sent: OpenAI takes none (it carries another provider's thought signatures)");
  }
  // OpenAI caches prompt prefixes by itself; its API (and many compatible servers) take no cache_control.
  if (hasCacheControl(input)) warnings.push("cache_control was not sent: OpenAI-dialect providers cache prompt prefixes automatically and take no breakpoints");
  if (options.stream) {
    body.stream = true;
    // Left out (streamUsage false) for a server known to refuse it; the usage is then estimated if it sends none.
    if (options.streamUsage !== false) body.stream_options = { include_usage: true };
  }
  if (input.maxTokens !== undefined) {
    if (options.dialect.maxCompletionTokens) body.max_completion_tokens = input.maxTokens;
    else body.max_tokens = input.maxTokens;
  }
  if (input.temperature !== undefined) body.temperature = input.temperature;
  if (input.topP !== undefined) body.top_p = input.topP;
  if (input.frequencyPenalty !== undefined) body.frequency_penalty = input.frequencyPenalty;
  if (input.presencePenalty !== undefined) body.presence_penalty = input.presencePenalty;
  if (input.stop.length > 0) body.stop = [...input.stop];
  if (input.seed !== undefined) {
    if (options.dialect.randomSeed) body.random_seed = Number(input.seed);
    else body.seed = Number(input.seed);
  }
  if (input.n !== undefined) body.n = input.n;
  if (input.logprobs !== undefined) body.logprobs = input.logprobs;
  if (input.topLogprobs !== undefined) body.top_logprobs = input.topLogprobs;
  if (Object.keys(input.logitBias).length > 0) body.logit_bias = { ...input.logitBias };
  if (input.parallelToolCalls !== undefined) body.parallel_tool_calls = input.parallelToolCalls;
  if (input.user !== undefined) body.user = input.user;
  if (input.reasoningEffort !== undefined) body.reasoning_effort = input.reasoningEffort;
  const format = input.responseFormat;
  if (format) {
    if (format.type === ResponseFormatType.JSON_OBJECT) body.response_format = { type: "json_object" };
    else if (format.type === ResponseFormatType.TEXT) body.response_format = { type: "text" };
    else if (format.type === ResponseFormatType.JSON_SCHEMA && format.jsonSchema) {
      const schema = format.jsonSchema;
      // OpenAI requires a name; REST callers always give one, typed callers may not.
      if (!schema.name) warnings.push('response_format.json_schema.name was not set; sent as "response" (OpenAI requires a name)');
      body.response_format = {
        type: "json_schema",
        json_schema: {
          name: schema.name || "response",
          ...(schema.description ? { description: schema.description } : {}),
          ...(schema.schema ? { schema: schema.schema as { [key: string]: Json } } : {}),
          ...(schema.strict !== undefined ? { strict: schema.strict } : {}),
        },
      };
    }
  }
  if (input.tools.length > 0) {
    body.tools = input.tools.map((tool): OpenAITool =>
      tool.custom
        ? { type: "custom", custom: { name: tool.name, ...(tool.description ? { description: tool.description } : {}), ...(tool.custom.format ? { format: tool.custom.format as { [key: string]: Json } } : {}) } }
        : {
            type: "function",
            function: {
              ...(tool.extra as { [key: string]: Json } | undefined),
              name: tool.name,
              // None when the caller gave none or "" (a proto string cannot tell the two apart): chat
              // templates of OpenAI-compatible servers render an empty description, unlike a missing one.
              ...(tool.description ? { description: tool.description } : {}),
              ...(tool.parameters ? { parameters: tool.parameters as { [key: string]: Json } } : {}),
              ...(tool.strict !== undefined ? { strict: tool.strict } : {}),
            },
          },
    );
  }
  const choice = input.toolChoice?.choice;
  // Names of custom tools: a choice naming one says type "custom".
  const customNames = new Set(input.tools.filter((tool) => tool.custom).map((tool) => tool.name));
  if (choice?.case === "functionName") body.tool_choice = customNames.has(choice.value) ? { type: "custom", custom: { name: choice.value } } : { type: "function", function: { name: choice.value } };
  else if (choice?.case === "allowedTools") {
    const tools = choice.value.functionNames.map((name) => (customNames.has(name) ? { type: "custom" as const, custom: { name } } : { type: "function" as const, function: { name } }));
    body.tool_choice = { type: "allowed_tools", allowed_tools: { mode: choice.value.mode === ToolChoiceMode.REQUIRED ? "required" : "auto", tools } };
  }
  else if (choice?.case === "mode") {
    const mode = ({ [ToolChoiceMode.NONE]: "none", [ToolChoiceMode.AUTO]: "auto", [ToolChoiceMode.REQUIRED]: "required" } as const)[choice.value as 1 | 2 | 3];
    if (mode) body.tool_choice = mode;
  }
  for (const [family, extra] of Object.entries(input.providerOptions)) {
    if (family === "openai") mergeExtra(body, extra);
    else warnings.push(`provider_options.${family} ignored: this target is an OpenAI-dialect provider`);
  }
  return { body, warnings };
}

/** Fields the gateway sets from the request itself: in `provider_options.openai` one would be lost or override the route. */
const RESERVED_BODY_KEYS: ReadonlySet<string> = new Set(["model", "messages", "stream"]);

function mergeExtra(body: OpenAIChatRequest, extra: JsonObject): void {
  for (const [key, value] of Object.entries(extra)) {
    if (RESERVED_BODY_KEYS.has(key)) throw invalidRequest(`Invalid 'provider_options.openai.${key}': the gateway sets '${key}' itself.`, `provider_options.openai.${key}`);
    body[key] = value;
  }
}
