import type { JsonObject } from "@bufbuild/protobuf";
import { ResponseFormatType, ToolChoiceMode, type ChatInput, type ResponseFormat, type Tool, type ToolChoice } from "../../../gen/switchyard/v1/chat_pb.js";
import { invalidRequest, unsupportedFeature } from "../../core/errors.js";
import { FUNCTION_FIELDS } from "../../core/unmodelled-fields.js";
import {
  checkJsonDepth, isObject, readArray, readBoolean, readCacheControl, readExtraFields, readInt32, readInteger, readJsonObject, readNumber, readObject, readString, rejectUnknownKeys, requireString, wrongType,
} from "./request-fields.js";
import { toProtoMessage } from "./to-proto-messages.js";

/** A chat request as the REST front door understood it. */
export interface RestChatRequest {
  readonly input: ChatInput;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  /** The request declared legacy `functions`: the answer speaks `function_call` back. */
  readonly legacyFunctions: boolean;
}

/** The fields of a legacy `functions[i]` entry the gateway reads: a function's, and its cache_control breakpoint. */
const LEGACY_FUNCTION_FIELDS: ReadonlySet<string> = new Set([...FUNCTION_FIELDS, "cache_control"]);

/** Top-level fields the translator reads; every other field is forwarded via provider_options.openai. */
const KNOWN_FIELDS = new Set([
  "model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens", "temperature", "top_p",
  "frequency_penalty", "presence_penalty", "stop", "seed", "n", "logprobs", "top_logprobs", "logit_bias",
  "response_format", "tools", "tool_choice", "parallel_tool_calls", "user", "functions", "function_call",
  "fallbacks", "provider_options", "reasoning_effort",
]);

/** One tool with its `cache_control` breakpoint (`tools[i].cache_control`), when it has one. */
function toTool(raw: unknown, param: string, legacy: boolean): Tool {
  const tool = toToolValue(raw, param, legacy);
  // A legacy `functions[i]` entry is the function itself: its cache_control sits beside name and parameters.
  const cacheControl = readCacheControl((raw as Record<string, unknown>).cache_control, `${param}.cache_control`);
  if (cacheControl) tool.cacheControl = cacheControl;
  return tool;
}

function toToolValue(raw: unknown, param: string, legacy: boolean): Tool {
  if (!isObject(raw)) wrongType(param, "an object", raw);
  let fn: Record<string, unknown> = raw;
  if (!legacy) {
    const type = requireString(raw.type, `${param}.type`);
    if (type === "custom") return toCustomTool(raw, param);
    if (type !== "function") throw unsupportedFeature(`Invalid value for '${param}.type': only 'function' and 'custom' tools are supported by the gateway.`, `${param}.type`);
    fn = readObject(raw.function, `${param}.function`) ?? {};
    param = `${param}.function`;
  }
  const parameters = readJsonObject(fn.parameters, `${param}.parameters`);
  const strict = readBoolean(fn.strict, `${param}.strict`);
  const extra = readExtraFields(fn, legacy ? LEGACY_FUNCTION_FIELDS : FUNCTION_FIELDS, param);
  return {
    $typeName: "switchyard.v1.Tool",
    name: requireString(fn.name, `${param}.name`),
    description: readString(fn.description, `${param}.description`) ?? "",
    ...(parameters ? { parameters } : {}),
    ...(strict !== undefined ? { strict } : {}),
    ...(extra ? { extra } : {}),
  };
}

/** A custom tool (OpenAI `{type: "custom", custom: {name, description?, format?}}`): called with free text. */
function toCustomTool(raw: Record<string, unknown>, param: string): Tool {
  const custom = readObject(raw.custom, `${param}.custom`);
  if (!custom) throw invalidRequest(`Missing required parameter: '${param}.custom'.`, `${param}.custom`);
  const format = readJsonObject(custom.format, `${param}.custom.format`);
  return {
    $typeName: "switchyard.v1.Tool",
    name: requireString(custom.name, `${param}.custom.name`),
    description: readString(custom.description, `${param}.custom.description`) ?? "",
    custom: { $typeName: "switchyard.v1.CustomTool", ...(format ? { format } : {}) },
  };
}

function toToolChoice(raw: unknown, param: string, legacy: boolean): ToolChoice | undefined {
  if (raw === undefined || raw === null) return undefined;
  const mode = (value: ToolChoiceMode): ToolChoice => ({ $typeName: "switchyard.v1.ToolChoice", choice: { case: "mode", value } });
  if (typeof raw === "string") {
    if (raw === "none") return mode(ToolChoiceMode.NONE);
    if (raw === "auto") return mode(ToolChoiceMode.AUTO);
    if (raw === "required" && !legacy) return mode(ToolChoiceMode.REQUIRED);
    throw invalidRequest(`Invalid value for '${param}': '${raw}' is not one of ${legacy ? "'none', 'auto'" : "'none', 'auto', 'required'"} or a function.`, param);
  }
  if (!isObject(raw)) wrongType(param, "a string or an object", raw);
  if (legacy) return { $typeName: "switchyard.v1.ToolChoice", choice: { case: "functionName", value: requireString(raw.name, `${param}.name`) } };
  const type = requireString(raw.type, `${param}.type`);
  if (type === "allowed_tools") return toAllowedTools(raw.allowed_tools, `${param}.allowed_tools`);
  if (type === "custom") return { $typeName: "switchyard.v1.ToolChoice", choice: { case: "functionName", value: requireString((readObject(raw.custom, `${param}.custom`) ?? {}).name, `${param}.custom.name`) } };
  if (type !== "function") throw unsupportedFeature(`Invalid value for '${param}.type': '${type}' tool choice is not supported; use 'function' or 'allowed_tools'.`, `${param}.type`);
  const fn = readObject(raw.function, `${param}.function`) ?? {};
  return { $typeName: "switchyard.v1.ToolChoice", choice: { case: "functionName", value: requireString(fn.name, `${param}.function.name`) } };
}

/** `{type: "allowed_tools", allowed_tools: {mode: "auto" | "required", tools: [{type: "function", function: {name}}]}}`. */
function toAllowedTools(raw: unknown, param: string): ToolChoice {
  const allowed = readObject(raw, param);
  if (!allowed) throw invalidRequest(`Missing required parameter: '${param}'.`, param);
  const modeName = requireString(allowed.mode, `${param}.mode`);
  const mode = modeName === "auto" ? ToolChoiceMode.AUTO : modeName === "required" ? ToolChoiceMode.REQUIRED : undefined;
  if (mode === undefined) throw invalidRequest(`Invalid value for '${param}.mode': '${modeName}' is not one of 'auto', 'required'.`, `${param}.mode`);
  const tools = readArray(allowed.tools, `${param}.tools`) ?? [];
  if (tools.length === 0) throw invalidRequest(`Invalid '${param}.tools': name at least one tool.`, `${param}.tools`);
  const functionNames = tools.map((tool, index) => {
    const toolParam = `${param}.tools[${index}]`;
    const entry = readObject(tool, toolParam) ?? {};
    const type = requireString(entry.type, `${toolParam}.type`);
    if (type !== "function" && type !== "custom") throw unsupportedFeature(`Invalid value for '${toolParam}.type': '${type}' tools are not supported; use 'function' or 'custom'.`, `${toolParam}.type`);
    return requireString((readObject(entry[type], `${toolParam}.${type}`) ?? {}).name, `${toolParam}.${type}.name`);
  });
  return { $typeName: "switchyard.v1.ToolChoice", choice: { case: "allowedTools", value: { $typeName: "switchyard.v1.AllowedTools", mode, functionNames } } };
}

function toResponseFormat(raw: unknown): ResponseFormat | undefined {
  const format = readObject(raw, "response_format");
  if (!format) return undefined;
  const type = requireString(format.type, "response_format.type");
  if (type === "text") return { $typeName: "switchyard.v1.ResponseFormat", type: ResponseFormatType.TEXT };
  if (type === "json_object") return { $typeName: "switchyard.v1.ResponseFormat", type: ResponseFormatType.JSON_OBJECT };
  if (type !== "json_schema") throw invalidRequest(`Invalid value for 'response_format.type': '${type}' is not one of 'text', 'json_object', 'json_schema'.`, "response_format.type");
  const spec = readObject(format.json_schema, "response_format.json_schema");
  if (!spec) throw invalidRequest("Missing required parameter: 'response_format.json_schema'.", "response_format.json_schema");
  const schema = readJsonObject(spec.schema, "response_format.json_schema.schema");
  const strict = readBoolean(spec.strict, "response_format.json_schema.strict");
  return {
    $typeName: "switchyard.v1.ResponseFormat",
    type: ResponseFormatType.JSON_SCHEMA,
    jsonSchema: {
      $typeName: "switchyard.v1.JsonSchemaFormat",
      name: requireString(spec.name, "response_format.json_schema.name"),
      description: readString(spec.description, "response_format.json_schema.description") ?? "",
      ...(schema ? { schema } : {}),
      ...(strict !== undefined ? { strict } : {}),
    },
  };
}

function toStop(raw: unknown): string[] {
  if (raw === undefined || raw === null) return [];
  if (typeof raw === "string") return [raw];
  if (!Array.isArray(raw)) wrongType("stop", "a string or an array of strings", raw);
  return raw.map((entry, index) => requireString(entry, `stop[${index}]`));
}

function toProviderOptions(body: Record<string, unknown>): Record<string, JsonObject> {
  const out: Record<string, JsonObject> = {};
  const explicit = readObject(body.provider_options, "provider_options");
  for (const [family, options] of Object.entries(explicit ?? {})) {
    const value = readJsonObject(options, `provider_options.${family}`);
    if (value) out[family] = value;
  }
  let passthrough: JsonObject | undefined;
  for (const key in body) {
    const value = body[key];
    if (KNOWN_FIELDS.has(key) || value === undefined || !Object.hasOwn(body, key)) continue;
    checkJsonDepth(value, key);
    passthrough ??= {};
    passthrough[key] = value as JsonObject[string];
  }
  if (passthrough) out.openai = { ...passthrough, ...out.openai };
  return out;
}

/** Sets an optional ChatInput field when the body had it. */
function setIfPresent<K extends keyof ChatInput>(input: ChatInput, key: K, value: ChatInput[K] | undefined): void {
  if (value !== undefined) input[key] = value;
}

/**
 * Translates an OpenAI chat-completions request body (parsed JSON) into a ChatInput plus the
 * REST-only stream flags, validating every field's type strictly (400 INVALID_REQUEST naming the
 * field). `max_completion_tokens` wins over `max_tokens`; legacy `functions`/`function_call` become
 * tools; unknown top-level fields travel in provider_options.openai; `fallbacks` is the routing list.
 */
export function toProtoChatRequest(body: unknown): RestChatRequest {
  if (!isObject(body)) throw invalidRequest("The request body must be a JSON object.");
  const model = requireString(body.model, "model");
  const rawMessages = readArray(body.messages, "messages");
  if (!rawMessages) throw invalidRequest("Missing required parameter: 'messages'.", "messages");
  const stream = readBoolean(body.stream, "stream") ?? false;
  const streamOptions = readObject(body.stream_options, "stream_options");
  if (streamOptions && !stream) throw invalidRequest("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options");
  if (streamOptions) rejectUnknownKeys(streamOptions, new Set(["include_usage", "include_obfuscation"]), "stream_options");
  const includeUsage = readBoolean(streamOptions?.include_usage, "stream_options.include_usage") ?? false;

  const tools = (readArray(body.tools, "tools") ?? []).map((tool, index) => toTool(tool, `tools[${index}]`, false));
  const functions = readArray(body.functions, "functions");
  if (functions && tools.length > 0) throw invalidRequest("Send either 'tools' or the legacy 'functions', not both.", "functions");
  if (functions) tools.push(...functions.map((fn, index) => toTool(fn, `functions[${index}]`, true)));
  const toolChoice = body.function_call !== undefined && body.function_call !== null ? toToolChoice(body.function_call, "function_call", true) : toToolChoice(body.tool_choice, "tool_choice", false);

  const legacyMaxTokens = readInt32(body.max_tokens, "max_tokens");
  const maxTokens = readInt32(body.max_completion_tokens, "max_completion_tokens") ?? legacyMaxTokens;
  const logitBias: Record<string, number> = {};
  for (const [token, bias] of Object.entries(readObject(body.logit_bias, "logit_bias") ?? {})) {
    const value = readNumber(bias, `logit_bias.${token}`);
    if (value !== undefined) logitBias[token] = value;
  }
  const fallbacks = (readArray(body.fallbacks, "fallbacks") ?? []).map((entry, index) => requireString(entry, `fallbacks[${index}]`));
  const seed = readInteger(body.seed, "seed");
  const responseFormat = toResponseFormat(body.response_format);
  const input: ChatInput = {
    $typeName: "switchyard.v1.ChatInput",
    model,
    messages: rawMessages.map(toProtoMessage),
    tools,
    ...(toolChoice ? { toolChoice } : {}),
    stop: toStop(body.stop),
    logitBias,
    fallbacks,
    providerOptions: toProviderOptions(body),
    ...(responseFormat ? { responseFormat } : {}),
  };
  // Optional fields are set only when present (proto3 presence).
  setIfPresent(input, "temperature", readNumber(body.temperature, "temperature"));
  setIfPresent(input, "maxTokens", maxTokens);
  setIfPresent(input, "topP", readNumber(body.top_p, "top_p"));
  setIfPresent(input, "frequencyPenalty", readNumber(body.frequency_penalty, "frequency_penalty"));
  setIfPresent(input, "presencePenalty", readNumber(body.presence_penalty, "presence_penalty"));
  setIfPresent(input, "seed", seed === undefined ? undefined : BigInt(seed));
  setIfPresent(input, "n", readInt32(body.n, "n"));
  setIfPresent(input, "logprobs", readBoolean(body.logprobs, "logprobs"));
  setIfPresent(input, "topLogprobs", readInt32(body.top_logprobs, "top_logprobs"));
  setIfPresent(input, "parallelToolCalls", readBoolean(body.parallel_tool_calls, "parallel_tool_calls"));
  setIfPresent(input, "user", readString(body.user, "user"));
  setIfPresent(input, "reasoningEffort", readString(body.reasoning_effort, "reasoning_effort"));
  return { input, stream, includeUsage, legacyFunctions: functions !== undefined };
}
