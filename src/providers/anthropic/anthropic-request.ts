import type { JsonObject } from "@bufbuild/protobuf";
import { ResponseFormatType, ToolChoiceMode, type ChatInput } from "../../../gen/switchyard/v1/chat_pb.js";
import type { CatalogModel } from "../../config/gateway-config.js";
import { invalidRequest, unsupportedFeature } from "../../core/errors.js";
import { checkCacheBreakpoints, EXTENDED_CACHE_TTL_BETA, withCacheControl } from "./anthropic-cache.js";
import { toAnthropicConversation } from "./anthropic-messages.js";
import { partitionStopSequences } from "./anthropic-stop-sequences.js";
import { hasNativeStructuredOutputs, isJsonObject, resolvePointer, toNativeSchema } from "./anthropic-structured-output.js";
import { refusesSamplingParameters } from "./anthropic-models.js";
import { removedSamplingParameters, samplingConflicts, thinkingFor, type ThinkingContext } from "./anthropic-thinking.js";
import { ANTHROPIC_FAMILY, type AnthropicMessagesRequest, type AnthropicOutputFormat, type AnthropicTextBlock, type AnthropicTool, type AnthropicToolChoice } from "./anthropic-wire.js";
import { rejectCustomTools } from "../custom-tools.js";
import { ignoredExtrasWarning, ignoredProviderOptionsWarning } from "../ignored-fields.js";

/** Name of the forced tool that emulates response_format json_schema. */
export const JSON_TOOL_NAME = "json";

/** The system instruction that emulates response_format json_object. */
export const JSON_OBJECT_INSTRUCTION = "Respond with a single valid JSON object and nothing else.";

/** Body keys the adapter owns; provider_options.anthropic may not replace them. */
const RESERVED_BODY_KEYS = new Set(["model", "messages", "stream"]);

/** Per-model max_tokens defaults, first match wins; used when neither the caller nor the catalogue gives one. */
const DEFAULT_MAX_TOKENS: readonly (readonly [RegExp, number])[] = [
  // Later generations than the table knows get the current generation's output limit, not 4,096.
  [/^claude-(?:opus|sonnet|haiku)-[5-9]/, 64_000],
  [/^claude-(?:fable|mythos)-/, 64_000],
  [/^claude-opus-4-[5-9]/, 64_000],
  [/^claude-opus-4/, 32_000],
  [/^claude-(sonnet|haiku)-4/, 64_000],
  [/^claude-3-7-sonnet/, 64_000],
  [/^claude-3-5-/, 8_192],
  [/^claude-3-/, 4_096],
];

/**
 * Claude models that refuse `temperature` and `top_p` in one request: Opus 4.1 and the 4.5
 * generation and later (Opus, Sonnet, Haiku), with or without a date suffix, matched as
 * {@link hasNativeStructuredOutputs} matches the 4.5 generation.
 */
const TEMPERATURE_OR_TOP_P_MODELS = /^claude-(?:opus-4-1|(?:opus|sonnet|haiku)-(?:4-[5-9]|[5-9]))(?![0-9])/;

/** The fallback max_tokens for models the table does not know. */
export const FALLBACK_MAX_TOKENS = 4_096;

/** Facts the core resolved for this call that shape the request. */
export interface AnthropicRequestOptions {
  readonly upstreamModel: string;
  readonly catalogModel?: CatalogModel;
  readonly stream: boolean;
}

/** Everything the adapter needs to send the request and to read the answer. */
export interface AnthropicRequestPlan {
  /** The JSON body of POST /v1/messages. */
  readonly body: AnthropicMessagesRequest;
  /** Parameters dropped or emulated, as plain sentences for ChatResponse/ResponseStart warnings. */
  readonly warnings: string[];
  /** Whitespace-only stop sequences the gateway enforces on the output itself. */
  readonly localStopSequences: string[];
  /** Set when json_schema is emulated: this tool's input is the answer text, not a tool call. */
  readonly jsonToolName?: string;
  /** `anthropic-beta` values the body needs (a 1-hour cache breakpoint), added to the account's own. */
  readonly betas?: readonly string[];
  /** Objects of the body to write as this source text (tool inputs whose numbers a double would change); absent when none. */
  readonly exactSources?: ReadonlyMap<object, string>;
}

/**
 * The max_tokens the adapter sends when the caller gives none: the model's published maximum
 * output for known Claude families, else {@link FALLBACK_MAX_TOKENS}.
 * @see https://docs.claude.com/en/docs/about-claude/models/overview
 */
export function defaultMaxTokensFor(model: string): number {
  for (const [pattern, tokens] of DEFAULT_MAX_TOKENS) if (pattern.test(model)) return tokens;
  return FALLBACK_MAX_TOKENS;
}

function rejectUnsupported(input: ChatInput): void {
  if (input.n !== undefined && input.n > 1) throw unsupportedFeature("Anthropic models return one choice; 'n' greater than 1 is not supported.", "n");
  if (input.logprobs === true) throw unsupportedFeature("Anthropic models do not return log probabilities; 'logprobs' is not supported.", "logprobs");
  if (Object.keys(input.logitBias).length > 0) throw unsupportedFeature("Anthropic models do not support 'logit_bias'.", "logit_bias");
  rejectCustomTools(input, "Anthropic");
  if (input.temperature !== undefined && input.temperature > 1) {
    throw unsupportedFeature(`Anthropic models accept 'temperature' from 0 to 1; got ${input.temperature}.`, "temperature");
  }
}

function droppedParameterWarnings(input: ChatInput): string[] {
  const warnings: string[] = [];
  if (input.frequencyPenalty !== undefined) warnings.push("frequency_penalty is not supported by Anthropic and was dropped.");
  if (input.presencePenalty !== undefined) warnings.push("presence_penalty is not supported by Anthropic and was dropped.");
  if (input.seed !== undefined) warnings.push("seed is not supported by Anthropic and was dropped.");
  return warnings;
}

function toolChoiceFor(input: ChatInput): AnthropicToolChoice | undefined {
  const choice = input.toolChoice?.choice;
  const disableParallel = input.parallelToolCalls === false ? { disable_parallel_tool_use: true } : {};
  if (choice?.case === "functionName") return { type: "tool", name: choice.value, ...disableParallel };
  if (choice?.case === "allowedTools") return choice.value.mode === ToolChoiceMode.REQUIRED ? { type: "any", ...disableParallel } : { type: "auto", ...disableParallel };
  if (choice?.case === "mode") {
    switch (choice.value) {
      case ToolChoiceMode.NONE:
        return { type: "none" };
      case ToolChoiceMode.REQUIRED:
        return { type: "any", ...disableParallel };
      case ToolChoiceMode.AUTO:
        return { type: "auto", ...disableParallel };
      default:
        break;
    }
  }
  return input.parallelToolCalls === false ? { type: "auto", disable_parallel_tool_use: true } : undefined;
}

function removedWarning(where: string, removed: readonly string[]): string {
  return `${where}: Anthropic structured outputs do not support ${removed.join(", ")}; the gateway removed them from the schema, so they are not enforced.`;
}

/**
 * The client's tools as Anthropic tools; `strict` is kept on models with structured outputs when
 * the schema allows it, and a tool's cache_control breakpoint goes on its declaration (its request
 * path is recorded in `breakpoints`). Anthropic has no "allowed subset" choice: with `allowed_tools`
 * only the allowed ones are declared (the model cannot call the others either).
 */
function clientTools(input: ChatInput, native: boolean, warnings: string[], breakpoints: Map<object, string>): AnthropicTool[] {
  const choice = input.toolChoice?.choice;
  const allowed = choice?.case === "allowedTools" ? new Set(choice.value.functionNames) : undefined;
  return input.tools.flatMap((tool, index) => {
    if (allowed && !allowed.has(tool.name)) {
      if (tool.cacheControl) warnings.push(`tools[${index}].cache_control dropped: the tool is not in tool_choice.allowed_tools, so it is not declared.`);
      return [];
    }
    const plain = withCacheControl<AnthropicTool>({ name: tool.name, ...(tool.description ? { description: tool.description } : {}), input_schema: inputSchema(tool.parameters) }, tool.cacheControl);
    const declared = declaredTool(plain, tool.strict === true, native, index, warnings);
    if (tool.cacheControl) breakpoints.set(declared, `tools[${index}].cache_control`);
    return declared;
  });
}

/**
 * A function's parameters as Anthropic's `input_schema`, which must say `type: "object"`: none
 * (a function without arguments) is the empty object schema, and a schema that names no type
 * (`{}`, or bare `properties`, which OpenAI takes) gets `type: "object"` added.
 */
function inputSchema(parameters: JsonObject | undefined): JsonObject {
  if (!parameters) return { type: "object", properties: {} };
  return "type" in parameters ? parameters : { type: "object", ...parameters };
}

/** Root keywords Anthropic refuses in any `input_schema` ("does not support oneOf, allOf, or anyOf at the top level"). */
const ROOT_COMBINATORS = ["anyOf", "oneOf", "allOf"] as const;

/**
 * The json_schema emulation tool's `input_schema`: the caller's schema as a declared tool's
 * parameters are sent ({@link inputSchema}). A tool's input is a JSON object, so a schema whose
 * root cannot be one is refused with INVALID_ARGUMENT naming response_format.json_schema.schema
 * (OpenAI's strict structured outputs want an object root too): a root `type` other than
 * "object", a root anyOf/oneOf/allOf (which Anthropic refuses), or a root local `$ref` (as
 * zod-to-json-schema writes a named schema) whose target says another type.
 */
function jsonToolSchema(schema: JsonObject | undefined): JsonObject {
  const param = "response_format.json_schema.schema";
  const refuse = (what: string): never => {
    throw unsupportedFeature(`Invalid '${param}': on this Anthropic model json_schema is emulated with a tool, whose input is a JSON object; the schema's root ${what}. Wrap the value in an object property.`, param);
  };
  const combinator = schema && ROOT_COMBINATORS.find((keyword) => keyword in schema);
  if (combinator) refuse(`uses ${combinator}, which Anthropic does not accept at the top level`);
  const seen = new Set<string>();
  let node: JsonObject | undefined = schema;
  while (node) {
    const type = node.type;
    if (type !== undefined && type !== "object" && !(Array.isArray(type) && type.includes("object"))) refuse(`has type ${JSON.stringify(type)}`);
    const ref = node.$ref;
    if (typeof ref !== "string" || !ref.startsWith("#") || seen.has(ref)) break;
    seen.add(ref);
    const target = resolvePointer(schema ?? {}, ref.slice(1));
    node = isJsonObject(target) ? target : undefined;
  }
  return inputSchema(schema);
}

/** `plain` with `strict` kept when the model and the schema allow it (a warning says when not). */
function declaredTool(plain: AnthropicTool, strictAsked: boolean, native: boolean, index: number, warnings: string[]): AnthropicTool {
  if (!strictAsked) return plain;
  const strict = native ? toNativeSchema(plain.input_schema) : undefined;
  if (!native) warnings.push(`tools[${index}].function.strict is not enforced by Anthropic for this model and was dropped.`);
  else if (!strict) warnings.push(`tools[${index}].function.strict was dropped: its parameters use JSON Schema keywords or recursion Anthropic's strict mode cannot enforce.`);
  if (!strict) return plain;
  if (strict.removed.length > 0) warnings.push(removedWarning(`tools[${index}].function.parameters`, strict.removed));
  return { ...plain, input_schema: strict.schema, strict: true };
}

/**
 * response_format json_schema as native `output_config.format`, on models that have it and when
 * the schema can be expressed (see {@link toNativeSchema}); undefined means: emulate. A converted
 * conversation that ends with an assistant turn (prefill, even with system messages after it) is
 * incompatible with JSON outputs, so it is emulated too.
 */
function nativeOutputFormat(input: ChatInput, native: boolean, prefill: boolean, warnings: string[]): AnthropicOutputFormat | undefined {
  if (!native || prefill) return undefined;
  const converted = toNativeSchema(input.responseFormat?.jsonSchema?.schema ?? { type: "object", properties: {} });
  if (!converted) return undefined;
  if (converted.removed.length > 0) warnings.push(removedWarning("response_format json_schema", converted.removed));
  return { type: "json_schema", schema: converted.schema };
}

/** What decides whether reasoning_effort can become extended thinking (read only when it is set). */
function thinkingContext(body: AnthropicMessagesRequest, model: string, maxTokens: number, prefill: boolean): ThinkingContext {
  // The last assistant message, as sent (consecutive assistant messages are merged).
  const lastAssistant = body.messages.findLastIndex((message) => message.role === "assistant");
  const calls = lastAssistant >= 0 && (body.messages[lastAssistant]?.content.some((block) => block.type === "tool_use") ?? false);
  return {
    model,
    maxTokens,
    forcedTool: body.tool_choice?.type === "tool" || body.tool_choice?.type === "any",
    prefill,
    unsignedToolTurn: calls && !turnIsSigned(body.messages, lastAssistant),
  };
}

/**
 * Whether the assistant turn that ends at `lastAssistant` holds signed (or redacted) thinking.
 * Anthropic counts a tool loop as one assistant turn, from the last user message that is more than
 * tool results: the model thinks once, at its start, and later steps of the loop carry only tool
 * calls, so every assistant message of the loop is looked at.
 */
function turnIsSigned(messages: AnthropicMessagesRequest["messages"], lastAssistant: number): boolean {
  for (let index = lastAssistant; index >= 0; index -= 1) {
    const message = messages[index];
    if (!message) break;
    if (message.role === "assistant") {
      if (message.content.some((block) => (block.type === "thinking" && block.signature !== "") || block.type === "redacted_thinking")) return true;
    } else if (!message.content.every((block) => block.type === "tool_result")) {
      return false;
    }
  }
  return false;
}

function maxTokensFor(input: ChatInput, options: AnthropicRequestOptions, warnings: string[]): number {
  if (input.maxTokens !== undefined) return input.maxTokens;
  const fromCatalog = options.catalogModel?.maxOutputTokens;
  if (fromCatalog !== undefined) {
    warnings.push(`max_tokens was not set; the gateway sent ${fromCatalog}, the model's configured max_output_tokens (Anthropic requires it).`);
    return fromCatalog;
  }
  const fallback = defaultMaxTokensFor(options.upstreamModel);
  warnings.push(`max_tokens was not set; the gateway sent ${fallback}, its default for ${options.upstreamModel} (Anthropic requires it).`);
  return fallback;
}

function anthropicOptions(input: ChatInput): JsonObject {
  const options = input.providerOptions[ANTHROPIC_FAMILY] ?? {};
  for (const key of Object.keys(options)) {
    if (RESERVED_BODY_KEYS.has(key)) {
      throw invalidRequest(`Invalid 'provider_options.anthropic.${key}': the gateway sets '${key}' itself.`, `provider_options.anthropic.${key}`);
    }
  }
  return options;
}

/**
 * Translates a proto ChatInput into an Anthropic Messages request body (pure). Guarantees: the
 * body is complete (max_tokens always set, from the caller, the catalogue or a per-model default,
 * with a warning for the latter two); every parameter Anthropic cannot honour is either rejected
 * with INVALID_ARGUMENT naming it (n > 1, logprobs, logit_bias, temperature > 1, audio/video,
 * json_schema together with tools where it is emulated, or whose root cannot be the emulation
 * tool's object input) or dropped with a warning (penalties,
 * seed, strict on older models, other providers' options); whitespace-only stop sequences are kept
 * out of the body and returned for the gateway to enforce; json_object is emulated with a system
 * instruction. json_schema is native `output_config.format` on models with structured outputs
 * (schema closed and stripped of unsupported constraints, with a warning naming them), otherwise
 * emulated with the forced tool {@link JSON_TOOL_NAME} and a warning. provider_options.anthropic
 * is merged into the body last (it may not replace model, messages or stream; its output_config
 * adds to the gateway's, and its tools come after the request's tools instead of replacing them).
 * reasoning_effort becomes extended thinking (a budget, or adaptive thinking with
 * `output_config.effort` from 4.6 on; see {@link thinkingFor}), leaving out, with a warning, the
 * temperature and top_p Anthropic refuses with it. Models from Opus 4.7 on take no sampling
 * parameters: temperature (other than 1) and top_p are left out with a warning. On models that
 * refuse temperature and top_p together (Opus 4.1, the 4.5 generation and later) only temperature
 * is sent when both are set, and dropping top_p is a warning; a final assistant turn followed only
 * by system messages still counts as a prefill for thinking and json_schema. cache_control
 * breakpoints go on the tool, system and message blocks they were set on (see
 * {@link toAnthropicConversation}); more than Anthropic's 4 in the finished body is a 400 naming
 * the first one over (see {@link checkCacheBreakpoints}).
 * @see https://docs.claude.com/en/api/messages
 */
export function toAnthropicRequest(input: ChatInput, options: AnthropicRequestOptions): AnthropicRequestPlan {
  rejectUnsupported(input);
  const extra = anthropicOptions(input);
  const warnings = droppedParameterWarnings(input);
  const conversation = toAnthropicConversation(input.messages);
  warnings.push(...conversation.warnings);
  const system: AnthropicTextBlock[] = [...conversation.system];
  const breakpoints = conversation.breakpoints;
  const maxTokens = typeof extra.max_tokens === "number" ? extra.max_tokens : maxTokensFor(input, options, warnings);
  const body: AnthropicMessagesRequest = { model: options.upstreamModel, max_tokens: maxTokens, messages: conversation.messages, stream: options.stream };

  let jsonToolName: string | undefined;
  const format = input.responseFormat?.type ?? ResponseFormatType.UNSPECIFIED;
  if (format === ResponseFormatType.JSON_OBJECT) {
    system.push({ type: "text", text: JSON_OBJECT_INSTRUCTION });
    warnings.push("response_format json_object is emulated with a system instruction; Anthropic does not enforce it.");
  }
  const native = hasNativeStructuredOutputs(options.upstreamModel);
  const outputFormat = format === ResponseFormatType.JSON_SCHEMA ? nativeOutputFormat(input, native, conversation.prefill, warnings) : undefined;
  if (outputFormat) body.output_config = { format: outputFormat };
  if (format === ResponseFormatType.JSON_SCHEMA && !outputFormat) {
    if (input.tools.length > 0) throw unsupportedFeature("On Anthropic, response_format json_schema is emulated with a tool and cannot be combined with 'tools'.", "response_format");
    const schema = input.responseFormat?.jsonSchema;
    body.tools = [{ name: JSON_TOOL_NAME, description: schema?.description || "Respond with a JSON object.", input_schema: jsonToolSchema(schema?.schema) }];
    body.tool_choice = { type: "tool", name: JSON_TOOL_NAME, disable_parallel_tool_use: true };
    jsonToolName = JSON_TOOL_NAME;
    warnings.push("response_format json_schema is emulated with a forced tool call; the schema is not strictly enforced.");
  } else if (input.tools.length > 0) {
    body.tools = clientTools(input, native, warnings, breakpoints);
    const toolChoice = toolChoiceFor(input);
    if (toolChoice) body.tool_choice = toolChoice;
  } else if (input.toolChoice?.choice.case === "mode" && input.toolChoice.choice.value === ToolChoiceMode.REQUIRED) {
    throw invalidRequest("Invalid 'tool_choice': 'required' needs at least one tool in 'tools'.", "tool_choice");
  }

  if (system.length > 0) body.system = system;
  const model = options.upstreamModel;
  const thinking = input.reasoningEffort === undefined ? undefined : thinkingFor(input.reasoningEffort, thinkingContext(body, model, maxTokens, conversation.prefill), warnings);
  if (thinking) body.thinking = thinking.thinking;
  if (thinking?.effort) body.output_config = { ...body.output_config, effort: thinking.effort };
  const conflicts = refusesSamplingParameters(model)
    ? removedSamplingParameters(model, input.temperature, input.topP)
    : thinking && thinking.thinking.type !== "disabled"
      ? samplingConflicts(input.temperature, input.topP)
      : undefined;
  if (conflicts) warnings.push(...conflicts.warnings);
  if (input.temperature !== undefined && !conflicts?.dropTemperature) body.temperature = input.temperature;
  if (input.topP !== undefined && !conflicts?.dropTopP) {
    if (body.temperature !== undefined && TEMPERATURE_OR_TOP_P_MODELS.test(model)) {
      warnings.push(`top_p ${input.topP} was dropped: ${model} does not accept top_p together with temperature.`);
    } else {
      body.top_p = input.topP;
    }
  }
  const stops = partitionStopSequences(input.stop);
  if (stops.upstream.length > 0) body.stop_sequences = stops.upstream;
  for (const stop of stops.local) {
    warnings.push(`stop sequence ${JSON.stringify(stop)} is enforced by the gateway (Anthropic rejects whitespace-only stop sequences).`);
  }
  if (input.user !== undefined && input.user !== "") body.metadata = { user_id: input.user };
  const ignored = ignoredProviderOptionsWarning(input.providerOptions, ANTHROPIC_FAMILY, "Anthropic");
  if (ignored) warnings.push(ignored);
  const extras = ignoredExtrasWarning(input, "Anthropic");
  if (extras) warnings.push(extras);
  const merged: AnthropicMessagesRequest = { ...body, ...extra };
  // provider_options.anthropic.output_config (e.g. effort) adds to the gateway's format instead of replacing it.
  if (body.output_config && isJsonObject(extra.output_config)) merged.output_config = { ...body.output_config, ...extra.output_config };
  // provider_options.anthropic.tools (server tools: web search, code execution…) join the request's tools, which stay.
  if (body.tools && Array.isArray(extra.tools)) merged.tools = [...body.tools, ...extra.tools];
  // Only the caller's breakpoints or provider_options.anthropic can put one in the body: most requests skip the walk.
  const longCache = (breakpoints.size > 0 || Object.keys(extra).length > 0) && checkCacheBreakpoints(merged, breakpoints);
  return {
    body: merged,
    warnings,
    localStopSequences: stops.local,
    ...(jsonToolName ? { jsonToolName } : {}),
    ...(longCache ? { betas: [EXTENDED_CACHE_TTL_BETA] } : {}),
    ...(conversation.exactInputs.size > 0 ? { exactSources: conversation.exactInputs } : {}),
  };
}
