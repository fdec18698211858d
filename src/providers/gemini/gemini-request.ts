import type { JsonObject } from "@bufbuild/protobuf";
import { ResponseFormatType, ToolChoiceMode, type ChatInput } from "../../../gen/switchyard/v1/chat_pb.js";
import type { CatalogModel } from "../../config/gateway-config.js";
import { invalidRequest, unsupportedFeature } from "../../core/errors.js";
import { hasCacheControl } from "../../core/cache-control.js";
import { systemInstructionInline, toGeminiContents } from "./gemini-contents.js";
import type { FetchedMediaByPath } from "./gemini-media.js";
import { takesJsonSchema, toGeminiSchema } from "./gemini-schema.js";
import { geminiGeneration, takesSystemInstruction } from "./gemini-generation.js";
import { thinkingConfigFor } from "./gemini-thinking.js";
import { GEMINI_FAMILY, isJsonMap, type GeminiFunctionCallingConfig, type GeminiFunctionDeclaration, type GeminiGenerationConfig, type GeminiRequestBody, type JsonMap } from "./gemini-wire.js";
import { rejectCustomTools } from "../custom-tools.js";
import { ignoredExtrasWarning, ignoredProviderOptionsWarning } from "../ignored-fields.js";

/** Top-level generateContent fields a caller may set or override through provider_options.gemini. */
export const GEMINI_OPTION_FIELDS = ["generationConfig", "safetySettings", "tools", "toolConfig", "systemInstruction", "cachedContent"] as const;

/** What the request translation needs besides the ChatInput; everything here is already resolved. */
export interface GeminiRequestContext {
  /** The account's base URL (recognises Gemini Files API URIs). */
  readonly baseUrl: string;
  /** The Gemini model id the request goes to; decides the schema dialect (see takesJsonSchema). */
  readonly upstreamModel?: string;
  readonly catalogModel?: CatalogModel;
  /** Media the gateway already fetched, by content-part path (see fetchRemoteMedia). */
  readonly fetchedMedia: FetchedMediaByPath;
  /** Thought signatures remembered for tool calls this adapter emitted. */
  readonly thoughtSignatureFor: (callId: string) => string | undefined;
}

/** A generateContent body and the parameters the gateway dropped or emulated, in plain words. */
export interface GeminiRequestTranslation {
  readonly body: JsonMap;
  readonly warnings: string[];
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function generationConfigOf(input: ChatInput, context: GeminiRequestContext, warnings: string[]): GeminiGenerationConfig {
  const catalogModel = context.catalogModel;
  const config: GeminiGenerationConfig = {};
  if (input.temperature !== undefined) config.temperature = input.temperature;
  if (input.topP !== undefined) config.topP = input.topP;
  if (input.maxTokens !== undefined) config.maxOutputTokens = input.maxTokens;
  if (input.stop.length > 0) config.stopSequences = [...input.stop];
  if (input.n !== undefined) config.candidateCount = input.n;
  if (input.seed !== undefined) {
    if (input.seed < BigInt(INT32_MIN) || input.seed > BigInt(INT32_MAX)) {
      throw unsupportedFeature(`Invalid 'seed': Gemini takes a 32-bit seed, ${input.seed} is out of range.`, "seed");
    }
    config.seed = Number(input.seed);
  }
  const penalties = input.presencePenalty !== undefined || input.frequencyPenalty !== undefined;
  // Gemini 2.5 and later answer a non-zero penalty with 400 "Penalty is not enabled for models/…"; the catalogue may say otherwise.
  const takesPenalties = catalogModel?.supports.penalties ?? geminiGeneration(context.upstreamModel) === "older";
  if (penalties && !takesPenalties) {
    if (input.presencePenalty || input.frequencyPenalty) warnings.push(`presence_penalty and frequency_penalty are not supported by ${catalogModel?.name ?? context.upstreamModel ?? "this model"}; dropped`);
  } else {
    if (input.presencePenalty !== undefined) config.presencePenalty = input.presencePenalty;
    if (input.frequencyPenalty !== undefined) config.frequencyPenalty = input.frequencyPenalty;
  }
  if (input.logprobs === true) {
    if (catalogModel?.supports.logprobs === false) throw unsupportedFeature(`Invalid 'logprobs': the model ${catalogModel.name} does not return log probabilities.`, "logprobs");
    config.responseLogprobs = true;
    if (input.topLogprobs !== undefined) config.logprobs = input.topLogprobs;
  }
  const thinkingConfig = thinkingConfigFor(input.reasoningEffort, context.upstreamModel, warnings, input.maxTokens);
  if (thinkingConfig) config.thinkingConfig = thinkingConfig;
  const format = input.responseFormat;
  if (format?.type === ResponseFormatType.JSON_OBJECT) {
    config.responseMimeType = "application/json";
  } else if (format?.type === ResponseFormatType.JSON_SCHEMA) {
    if (catalogModel?.supports.jsonSchema === false) {
      throw unsupportedFeature(`Invalid 'response_format': the model ${catalogModel.name} does not support json_schema output.`, "response_format");
    }
    config.responseMimeType = "application/json";
    const caller = format.jsonSchema?.schema;
    if (caller && takesJsonSchema(context.upstreamModel)) {
      config.responseJsonSchema = withoutDialect(caller);
    }
    else {
      const schema = caller ? subsetSchema(caller, "response_format.json_schema.schema", context, warnings, { ordered: true }) : undefined;
      if (schema) config.responseSchema = schema;
    }
  }
  return config;
}

/** A caller's JSON Schema in the OpenAPI subset older models take; what the cleaning removed is named in a warning. */
function subsetSchema(schema: JsonObject, param: string, context: GeminiRequestContext, warnings: string[], options: { ordered?: boolean } = {}): JsonMap | undefined {
  const converted = toGeminiSchema(schema, param, options);
  if (converted.removed.length > 0) warnings.push(`${param}: ${converted.removed.join(", ")} removed (not in the schema subset ${context.upstreamModel ?? "this model"} takes)`);
  return converted.schema;
}

/** A caller's JSON Schema as written, less the `$schema` dialect marker, which Gemini's schema validation does not take. */
function withoutDialect(schema: JsonObject): JsonObject {
  const { $schema: _dialect, ...rest } = schema;
  return rest;
}

function toolsOf(input: ChatInput, context: GeminiRequestContext, warnings: string[]): Pick<GeminiRequestBody, "tools" | "toolConfig"> {
  const catalogModel = context.catalogModel;
  if (input.tools.length === 0) return {};
  if (catalogModel?.supports.tools === false) throw unsupportedFeature(`Invalid 'tools': the model ${catalogModel.name} does not support tools.`, "tools");
  const choice = input.toolChoice?.choice;
  // allowed_tools, auto: only the allowed functions are declared (Gemini takes allowedFunctionNames with ANY and VALIDATED only).
  const declaredOnly = choice?.case === "allowedTools" && choice.value.mode !== ToolChoiceMode.REQUIRED ? new Set(choice.value.functionNames) : undefined;
  // Models of 2.5 and later take the caller's JSON Schema as written; older ones the OpenAPI subset.
  const jsonSchemas = takesJsonSchema(context.upstreamModel);
  const functionDeclarations = input.tools.flatMap((tool, index): GeminiFunctionDeclaration[] => {
    if (declaredOnly && !declaredOnly.has(tool.name)) return [];
    if (!/^[A-Za-z_]/.test(tool.name)) {
      const param = `tools[${index}].function.name`;
      throw unsupportedFeature(`Invalid '${param}': Gemini function names must start with a letter or '_', got '${tool.name}'.`, param);
    }
    const description = tool.description ? { description: tool.description } : {};
    // `parameters: {}` declares no arguments, as leaving it out does: Gemini is sent neither.
    const schema = tool.parameters && Object.keys(tool.parameters).length > 0 ? tool.parameters : undefined;
    if (schema && jsonSchemas) return [{ name: tool.name, ...description, parametersJsonSchema: withoutDialect(schema) }];
    const parameters = schema ? subsetSchema(schema, `tools[${index}].function.parameters`, context, warnings) : undefined;
    return [{ name: tool.name, ...description, ...(parameters ? { parameters } : {}) }];
  });
  // Strict tools: VALIDATED (calls or text, calls schema-checked) where the model has it; ANY already checks calls.
  const strict = input.tools.some((tool) => tool.strict === true);
  const validated = strict && jsonSchemas;
  if (strict && !validated) warnings.push("strict tool schemas are not enforced by Gemini for this model; strict ignored");
  if (input.parallelToolCalls === false) warnings.push("parallel_tool_calls=false is not supported by Gemini; ignored");
  const choosesAuto = choice === undefined || (choice.case === "mode" && choice.value === ToolChoiceMode.AUTO) || declaredOnly !== undefined;
  let functionCallingConfig: GeminiFunctionCallingConfig | undefined;
  if (choice?.case === "functionName") functionCallingConfig = { mode: "ANY", allowedFunctionNames: [choice.value] };
  else if (choice?.case === "allowedTools" && !declaredOnly) functionCallingConfig = { mode: "ANY", allowedFunctionNames: [...choice.value.functionNames] };
  else if (declaredOnly && !validated) functionCallingConfig = { mode: "AUTO" };
  else if (choice?.case === "mode" && choice.value === ToolChoiceMode.NONE) functionCallingConfig = { mode: "NONE" };
  else if (validated && choosesAuto) functionCallingConfig = { mode: "VALIDATED" };
  else if (choice?.case === "mode" && choice.value === ToolChoiceMode.AUTO) functionCallingConfig = { mode: "AUTO" };
  else if (choice?.case === "mode" && choice.value === ToolChoiceMode.REQUIRED) functionCallingConfig = { mode: "ANY" };
  return { tools: [{ functionDeclarations }], ...(functionCallingConfig ? { toolConfig: { functionCallingConfig } } : {}) };
}

/**
 * Merges `patch` into `target` per JSON Merge Patch (RFC 7396): objects merge key by key, arrays
 * and scalars replace, null deletes. Returns a new object; neither input is modified.
 * @see https://www.rfc-editor.org/rfc/rfc7396
 */
export function mergeJsonPatch(target: JsonMap, patch: JsonMap): JsonMap {
  const out: JsonMap = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (isJsonMap(value)) {
      const existing = out[key];
      out[key] = mergeJsonPatch(isJsonMap(existing) ? existing : {}, value);
    } else out[key] = value;
  }
  return out;
}

/**
 * A virtual-model target's native params for Gemini, whose generation settings all sit in
 * `generationConfig`: each goes there under its camelCase name (`top_k` → `topK`; `topK` as is),
 * merged over the caller's own `provider_options.gemini.generationConfig` (the target's values
 * win); a name of the request's own top-level fields (`cachedContent`) stays at the top level.
 */
export function withGeminiTargetParams(callerOptions: JsonObject | undefined, params: Readonly<Record<string, string | number | boolean>>): JsonObject {
  const callerConfig = callerOptions?.generationConfig;
  const generationConfig: JsonObject = isJsonMap(callerConfig) ? { ...callerConfig } : {};
  const topLevel: JsonObject = {};
  const fields: readonly string[] = GEMINI_OPTION_FIELDS;
  for (const [key, value] of Object.entries(params)) {
    const name = key.replace(/_([a-z0-9])/g, (_match, letter: string) => letter.toUpperCase());
    // A field of the request itself (`cachedContent`) stays at the top level.
    if (fields.includes(name)) topLevel[name] = value;
    else generationConfig[name] = value;
  }
  return { ...callerOptions, ...topLevel, ...(Object.keys(generationConfig).length > 0 ? { generationConfig } : {}) };
}

function applyProviderOptions(body: JsonMap, options: Readonly<Record<string, JsonObject>>, warnings: string[]): JsonMap {
  const ignored = ignoredProviderOptionsWarning(options, GEMINI_FAMILY, "Gemini");
  if (ignored) warnings.push(ignored);
  const own = options[GEMINI_FAMILY];
  if (!own) return body;
  const allowed: readonly string[] = GEMINI_OPTION_FIELDS;
  for (const key of Object.keys(own)) {
    if (!allowed.includes(key)) {
      const param = `provider_options.${GEMINI_FAMILY}.${key}`;
      throw invalidRequest(`Invalid '${param}': not a generateContent field the gateway merges (use one of ${GEMINI_OPTION_FIELDS.join(", ")}; camelCase).`, param);
    }
  }
  return mergeJsonPatch(body, own as JsonMap);
}

/**
 * Views the typed body as plain JSON. Safe because every builder above only sets defined JSON
 * values; a round trip through JSON.stringify would copy inlined media for nothing.
 */
function asJsonMap(body: GeminiRequestBody): JsonMap {
  return body as unknown as JsonMap;
}

/**
 * Translates a ChatInput into a Gemini generateContent body. Pure: media URLs must already be
 * fetched (see fetchRemoteMedia). Guarantees: every ChatInput field is either mapped (temperature,
 * top_p, max_tokens, stop, n, seed, penalties, logprobs, response_format, tools, tool_choice,
 * messages (on Gemma models, which take no systemInstruction, the system prompt opens the first
 * user turn, with a warning); json_schema as `responseJsonSchema` unchanged on models of 2.5 and
 * later, else as the cleaned `responseSchema`; tool schemas likewise as `parametersJsonSchema` or
 * the cleaned `parameters`; strict tools as VALIDATED function calling on those models;
 * reasoning_effort as `thinkingConfig`, see thinkingConfigFor), dropped with a warning
 * (parallel_tool_calls=false, strict on older models, user, non-zero penalties on Gemini 2.5 and
 * later, which refuse them, unless the catalogue says the model takes them, and on models whose
 * catalogue says they have none, provider_options of other families), or rejected with a 400
 * naming it (logit_bias, 64-bit seeds, capabilities the catalogue denies, unusable schemas or media);
 * `generationConfig` is always present (possibly empty); provider_options.gemini is merged last
 * (RFC 7396) and may only touch {@link GEMINI_OPTION_FIELDS}. cache_control breakpoints are never
 * sent (a warning says so).
 * @see https://ai.google.dev/api/generate-content#request-body
 */
export function toGeminiRequest(input: ChatInput, context: GeminiRequestContext): GeminiRequestTranslation {
  const warnings: string[] = [];
  if (Object.keys(input.logitBias).length > 0) throw unsupportedFeature("Invalid 'logit_bias': Gemini has no logit bias.", "logit_bias");
  rejectCustomTools(input, "Gemini");
  const translated = toGeminiContents(input.messages, context);
  const { warnings: contentWarnings } = translated;
  let { contents, systemInstruction } = translated;
  if (systemInstruction && !takesSystemInstruction(context.upstreamModel)) {
    contents = systemInstructionInline(contents, systemInstruction);
    systemInstruction = undefined;
    warnings.push(`${context.upstreamModel ?? "this model"} takes no system instruction; the system prompt was sent at the start of the first user turn`);
  }
  const generationConfig = generationConfigOf(input, context, warnings);
  const tools = toolsOf(input, context, warnings);
  if (input.user !== undefined) warnings.push("user is not supported by Gemini; dropped");
  // Gemini caches implicitly; explicit caching is a separate cachedContents resource, not a breakpoint.
  if (hasCacheControl(input)) warnings.push("cache_control was not sent: Gemini caches prompt prefixes implicitly and takes no breakpoints");
  const extras = ignoredExtrasWarning(input, "Gemini");
  if (extras) warnings.push(extras);
  const body: GeminiRequestBody = {
    contents,
    ...(systemInstruction ? { systemInstruction } : {}),
    ...tools,
    generationConfig,
  };
  const merged = applyProviderOptions(asJsonMap(body), input.providerOptions, warnings);
  return { body: merged, warnings: [...contentWarnings, ...warnings] };
}
