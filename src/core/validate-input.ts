import type { JsonObject } from "@bufbuild/protobuf";
import { ImageDetail, ResponseFormatType, Role, ToolChoiceMode, type ChatInput, type Media } from "../../gen/switchyard/v1/chat_pb.js";
import { checkCacheControls } from "./cache-control.js";
import { readDataUrl } from "./data-url.js";
import { mediaKindOf } from "./media-types.js";
import { FUNCTION_FIELDS, MEDIA_FIELDS, MESSAGE_FIELDS, modelledKeyIn, PART_FIELDS } from "./unmodelled-fields.js";
import { invalidRequest } from "./errors.js";
import { SAMPLING_RANGES, type SamplingRange } from "./sampling-ranges.js";
import { nestsDeeperThan } from "../providers/json-nesting.js";

const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const LOGIT_BIAS_RANGE: SamplingRange = { min: -100, max: 100 };
const MAX_MESSAGES = 10_000;
const MAX_TOOLS = 512;

function checkRange(value: number | undefined, { min, max }: SamplingRange, param: string): void {
  if (value === undefined) return;
  if (!Number.isFinite(value) || value < min || value > max) {
    throw invalidRequest(`Invalid '${param}': ${value} is not between ${min} and ${max}.`, param);
  }
}

/** Whether `value` is a member of a generated proto enum (protobuf keeps unknown numbers as they came). */
function isKnown(enumObject: Readonly<Record<number, string>>, value: number): boolean {
  return enumObject[value] !== undefined;
}

/** Control characters, which no model or target name has (they would also break response headers). */
const CONTROL_CHARACTERS = /[\x00-\x1f\x7f]/;
/**
 * The longest model name (`<account>/<model>`, a virtual name, a fallback) taken. Real ones are far
 * shorter (Hugging Face ids are at most 193); the name is echoed in response headers, which
 * clients bound (undici, hence the OpenAI SDK, at 16 KiB in all), and keys per-target routing state.
 */
export const MAX_MODEL_NAME_LENGTH = 256;

/** Most models a request's `fallbacks` may list: each one is at least one more upstream call (with its retries). */
export const MAX_FALLBACKS = 16;

/** Throws 400 for a model name with a control character or beyond {@link MAX_MODEL_NAME_LENGTH}. */
function checkModelName(name: string, param: string): void {
  if (CONTROL_CHARACTERS.test(name)) throw invalidRequest(`Invalid '${param}': it contains a control character.`, param);
  if (name.length > MAX_MODEL_NAME_LENGTH) throw invalidRequest(`Invalid '${param}': longer than ${MAX_MODEL_NAME_LENGTH} characters.`, param);
}

/** Throws 400 for unmodelled fields that name a field the gateway models (set those through their own fields). */
function checkExtra(extra: JsonObject | undefined, known: ReadonlySet<string>, param: string): void {
  const key = modelledKeyIn(extra, known);
  if (key !== undefined) throw invalidRequest(`Invalid '${param}': '${key}' is not an extra field; set it through its own field.`, `${param}.${key}`);
}

/**
 * Throws 400 for a NaN or an infinity in free-form JSON (a Struct a binary-protobuf caller filled):
 * JSON cannot carry one, so it would reach the provider as null, a changed request. And for a
 * `__proto__` key, which the REST edge refuses too: code that copies such an object by assignment
 * would set its prototype instead of a key, silently dropping it.
 */
function checkFreeFormJson(value: unknown, param: string): void {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw invalidRequest(`Invalid '${param}': ${value} is not a number JSON can carry.`, param);
    return;
  }
  if (value === null || typeof value !== "object") return;
  if (Array.isArray(value)) value.forEach((item, index) => checkFreeFormJson(item, `${param}[${index}]`));
  else {
    for (const key of Object.keys(value)) {
      if (key === "__proto__") throw invalidRequest(`Invalid '${param}': a "__proto__" key is not accepted.`, param);
      checkFreeFormJson((value as Record<string, unknown>)[key], `${param}.${key}`);
    }
  }
}

function checkMedia(media: Media, param: string): void {
  if (media.source.case === undefined) throw invalidRequest(`Invalid '${param}': media needs a url or data.`, param);
  if (media.source.case === "url" && media.source.value.length === 0) throw invalidRequest(`Invalid '${param}': the url is empty.`, param);
  if (media.source.case === "url" && !/^(?:(?:https?|gs):\/\/|data:)/i.test(media.source.value)) {
    throw invalidRequest(`Invalid '${param}': expected an http(s) URL, a gs:// URL or a data URL.`, param);
  }
  // One that does not parse (a port over 65535, a space in the host) is the caller's mistake too, whichever adapter would use it (not repeated: it may hold a signed token).
  if (media.source.case === "url" && !/^data:/i.test(media.source.value) && !URL.canParse(media.source.value)) {
    throw invalidRequest(`Invalid '${param}': the URL does not parse.`, param);
  }
  // Malformed base64 or escapes in a data URL are the caller's fault, whichever adapter reads them.
  if (media.source.case === "url") readDataUrl(media.source.value, param);
  if (!isKnown(ImageDetail, media.detail)) throw invalidRequest(`Invalid '${param}.detail': ${media.detail} is not an ImageDetail value.`, `${param}.detail`);
  if (media.source.case === "data" && media.source.value.length === 0) throw invalidRequest(`Invalid '${param}': the media's data is empty.`, param);
  if (media.source.case === "data" && !media.mimeType) throw invalidRequest(`Invalid '${param}': media given as data needs a mime_type.`, param);
  // MIME types are case-insensitive (RFC 9110 §8.3.1): one spelling for every adapter, as the REST edge reads them.
  if (media.mimeType) media.mimeType = media.mimeType.trim().toLowerCase();
  if (media.mimeType && !/^[a-z]+\/[a-z0-9.+_-]+$/.test(media.mimeType)) {
    throw invalidRequest(`Invalid '${param}': '${media.mimeType}' is not a MIME type.`, param);
  }
}

/** Deepest nesting of arrays and objects accepted in free-form JSON a caller sends (schemas, pass-through fields, tool arguments). */
export const MAX_JSON_DEPTH = 100;

/**
 * Checks a ChatInput the same way for every front door before any routing: model and messages
 * present (model names without control characters, at most 256 characters), roles and every enum value known, tool results naming a
 * call, media well formed (http(s), gs:// or data URLs), a seed a JSON number holds exactly, every sampling knob in its
 * range, a named, allowed-subset or required tool_choice with declared tools to call, every
 * cache_control breakpoint a known type and ttl, tool-call arguments nested at most
 * {@link MAX_JSON_DEPTH} levels, no field the gateway models in an `extra` (message, content part,
 * media, tool), and no NaN or infinity in free-form JSON (extras, tool parameters, the json_schema,
 * provider_options). Throws INVALID_ARGUMENT / INVALID_REQUEST naming the field (OpenAI-style path).
 * Media MIME types are written in lower case in place (they are case-insensitive).
 */
export function validateChatInput(input: ChatInput): void {
  if (!input.model) throw invalidRequest("You must provide a model parameter.", "model");
  checkModelName(input.model, "model");
  // A seed travels to providers as a JSON number: beyond 2^53 it would arrive changed.
  if (input.seed !== undefined && (input.seed > BigInt(Number.MAX_SAFE_INTEGER) || input.seed < -BigInt(Number.MAX_SAFE_INTEGER))) {
    throw invalidRequest(`Invalid 'seed': ${input.seed} is out of range (at most 2^53 - 1 in magnitude).`, "seed");
  }
  if (input.messages.length === 0) throw invalidRequest("Invalid 'messages': empty array. Expected an array with minimum length 1.", "messages");
  if (input.messages.length > MAX_MESSAGES) throw invalidRequest(`Invalid 'messages': more than ${MAX_MESSAGES} messages.`, "messages");
  input.messages.forEach((message, index) => {
    const param = `messages[${index}]`;
    if (message.role === Role.UNSPECIFIED) throw invalidRequest(`Invalid '${param}.role': a role is required.`, `${param}.role`);
    if (Role[message.role] === undefined) throw invalidRequest(`Invalid '${param}.role': ${message.role} is not a Role this gateway knows.`, `${param}.role`);
    if (message.role === Role.TOOL && !message.toolCallId) throw invalidRequest(`Missing '${param}.tool_call_id': tool messages must name the call they answer.`, `${param}.tool_call_id`);
    if (message.toolCalls.length > 0 && message.role !== Role.ASSISTANT) throw invalidRequest(`Invalid '${param}.tool_calls': only assistant messages carry tool calls.`, `${param}.tool_calls`);
    // Set on another role, these would be dropped on the way to every provider.
    if (message.toolCallId && message.role !== Role.TOOL) throw invalidRequest(`Invalid '${param}.tool_call_id': only tool messages answer a tool call.`, `${param}.tool_call_id`);
    if (message.audio && message.role !== Role.ASSISTANT) throw invalidRequest(`Invalid '${param}.audio': only assistant messages refer to an earlier spoken answer.`, `${param}.audio`);
    checkExtra(message.extra, MESSAGE_FIELDS, `${param}.extra`);
    if (message.extra) checkFreeFormJson(message.extra, `${param}.extra`);
    message.toolCalls.forEach((call, callIndex) => {
      const callParam = `${param}.tool_calls[${callIndex}]`;
      if (!call.id) throw invalidRequest(`Missing '${callParam}.id'.`, `${callParam}.id`);
      if (!call.name) throw invalidRequest(`Missing '${callParam}.function.name'.`, `${callParam}.function.name`);
      // Adapters parse and write arguments again (Anthropic, Gemini): bounded like any JSON a caller sends.
      if (nestsDeeperThan(call.arguments, MAX_JSON_DEPTH)) {
        throw invalidRequest(`Invalid '${callParam}.function.arguments': JSON nested deeper than ${MAX_JSON_DEPTH} levels.`, `${callParam}.function.arguments`);
      }
    });
    message.content.forEach((part, partIndex) => {
      const partParam = `${param}.content[${partIndex}]`;
      if (part.extra) {
        checkExtra(part.extra, PART_FIELDS, `${partParam}.extra`);
        checkFreeFormJson(part.extra, `${partParam}.extra`);
      }
      if (part.part.case === "text") return;
      switch (part.part.case) {
        case "image":
        case "audio":
        case "video":
        case "file":
          if (message.role !== Role.USER && message.role !== Role.TOOL) throw invalidRequest(`Invalid '${partParam}': media parts are only allowed in user messages.`, partParam);
          checkMedia(part.part.value, partParam);
          if (part.part.value.extra) {
            // The object the part goes as: an explicit mime_type decides the kind, as the OpenAI adapter reads it.
            checkExtra(part.part.value.extra, MEDIA_FIELDS[part.part.value.mimeType ? mediaKindOf(part.part.value.mimeType) : part.part.case], `${partParam}.media.extra`);
            checkFreeFormJson(part.part.value.extra, `${partParam}.media.extra`);
          }
          break;
        case "refusal":
        case "reasoning":
          if (message.role !== Role.ASSISTANT) throw invalidRequest(`Invalid '${partParam}': ${part.part.case} parts are only allowed in assistant messages.`, partParam);
          break;
        default:
          throw invalidRequest(`Invalid '${partParam}': the content part is empty.`, partParam);
      }
    });
  });
  checkRange(input.temperature, SAMPLING_RANGES.temperature, "temperature");
  checkRange(input.topP, SAMPLING_RANGES.top_p, "top_p");
  checkRange(input.frequencyPenalty, SAMPLING_RANGES.frequency_penalty, "frequency_penalty");
  checkRange(input.presencePenalty, SAMPLING_RANGES.presence_penalty, "presence_penalty");
  checkRange(input.maxTokens, SAMPLING_RANGES.max_tokens, "max_tokens");
  checkRange(input.n, SAMPLING_RANGES.n, "n");
  checkRange(input.topLogprobs, SAMPLING_RANGES.top_logprobs, "top_logprobs");
  if (input.topLogprobs !== undefined && input.logprobs !== true) throw invalidRequest("Invalid 'top_logprobs': requires 'logprobs' to be true.", "top_logprobs");
  if (input.stop.length > 4) throw invalidRequest("Invalid 'stop': at most 4 stop sequences are allowed.", "stop");
  input.stop.forEach((stop, index) => {
    if (stop.length === 0) throw invalidRequest(`Invalid 'stop[${index}]': empty stop sequence.`, `stop[${index}]`);
  });
  for (const [token, bias] of Object.entries(input.logitBias)) checkRange(bias, LOGIT_BIAS_RANGE, `logit_bias.${token}`);
  if (input.tools.length > MAX_TOOLS) throw invalidRequest(`Invalid 'tools': at most ${MAX_TOOLS} tools.`, "tools");
  const names = new Set<string>();
  input.tools.forEach((tool, index) => {
    const param = `tools[${index}].function.name`;
    if (!TOOL_NAME.test(tool.name)) throw invalidRequest(`Invalid '${param}': '${tool.name}' must be 1-64 characters of a-z, A-Z, 0-9, '_' and '-'.`, param);
    if (names.has(tool.name)) throw invalidRequest(`Invalid '${param}': duplicate tool name '${tool.name}'.`, param);
    names.add(tool.name);
    checkExtra(tool.extra, FUNCTION_FIELDS, `tools[${index}].extra`);
    if (tool.extra) checkFreeFormJson(tool.extra, `tools[${index}].extra`);
    if (tool.parameters) checkFreeFormJson(tool.parameters, `tools[${index}].function.parameters`);
    // A custom tool is called with free text: a schema or strict for it would be dropped on the way out.
    if (tool.custom && (tool.parameters || tool.strict !== undefined)) throw invalidRequest(`Invalid 'tools[${index}]': a custom tool takes no parameters or strict (its input is free text; constrain it with custom.format).`, `tools[${index}]`);
  });
  const choice = input.toolChoice?.choice;
  if (choice?.case === "mode" && !isKnown(ToolChoiceMode, choice.value)) throw invalidRequest(`Invalid 'tool_choice.mode': ${choice.value} is not a ToolChoiceMode value.`, "tool_choice");
  if (choice?.case === "functionName" && !names.has(choice.value)) {
    throw invalidRequest(`Invalid 'tool_choice': function '${choice.value}' is not among the declared tools.`, "tool_choice");
  }
  if (choice?.case === "allowedTools") {
    if (choice.value.mode !== ToolChoiceMode.AUTO && choice.value.mode !== ToolChoiceMode.REQUIRED) throw invalidRequest("Invalid 'tool_choice.allowed_tools.mode': use auto or required.", "tool_choice.allowed_tools.mode");
    if (choice.value.functionNames.length === 0) throw invalidRequest("Invalid 'tool_choice.allowed_tools.tools': name at least one tool.", "tool_choice.allowed_tools.tools");
    choice.value.functionNames.forEach((name, index) => {
      const param = `tool_choice.allowed_tools.tools[${index}]`;
      if (!names.has(name)) throw invalidRequest(`Invalid '${param}': function '${name}' is not among the declared tools.`, param);
    });
  }
  // "required" with nothing to call cannot be honoured; "auto" and "none" mean the same as no tools.
  if (choice?.case === "mode" && choice.value === ToolChoiceMode.REQUIRED && input.tools.length === 0) {
    throw invalidRequest("Invalid 'tool_choice': 'required' needs at least one tool in 'tools'.", "tool_choice");
  }
  const format = input.responseFormat;
  if (format && !isKnown(ResponseFormatType, format.type)) throw invalidRequest(`Invalid 'response_format.type': ${format.type} is not a ResponseFormatType value.`, "response_format.type");
  if (format?.type === ResponseFormatType.JSON_SCHEMA && !format.jsonSchema?.schema) {
    throw invalidRequest("Invalid 'response_format.json_schema': a schema is required.", "response_format.json_schema.schema");
  }
  // Set with another type (proto3's default, UNSPECIFIED, is easy to leave), the schema would be dropped.
  if (format && format.type !== ResponseFormatType.JSON_SCHEMA && format.jsonSchema) {
    throw invalidRequest("Invalid 'response_format.json_schema': set it only with type RESPONSE_FORMAT_TYPE_JSON_SCHEMA (json_schema).", "response_format.json_schema");
  }
  if (format?.jsonSchema?.schema) checkFreeFormJson(format.jsonSchema.schema, "response_format.json_schema.schema");
  for (const family of Object.keys(input.providerOptions)) checkFreeFormJson(input.providerOptions[family], `provider_options.${family}`);
  checkCacheControls(input);
  if (input.fallbacks.length > MAX_FALLBACKS) throw invalidRequest(`Invalid 'fallbacks': at most ${MAX_FALLBACKS} models.`, "fallbacks");
  input.fallbacks.forEach((fallback, index) => {
    if (!fallback) throw invalidRequest(`Invalid 'fallbacks[${index}]': empty model name.`, `fallbacks[${index}]`);
    checkModelName(fallback, `fallbacks[${index}]`);
  });
}
