/**
 * Readers of native upstream requests (OpenAI chat completions, Anthropic Messages, Gemini
 * generateContent) into one neutral view, so a test (or the dialect upstream) can ask the same
 * questions of every dialect: where did the system prompt go, what parts did each turn carry,
 * which tools and sampling parameters arrived. Each reader is strict about shapes it does not
 * know: an unexpected part type throws, so a translation regression cannot hide behind the view.
 */
import type { Dialect, Json, JsonMap } from "./dialect-answers.js";

/** One content part of a turn, in neutral words. */
export type NormalPart =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "reasoning"; readonly text: string; readonly signature?: string }
  | { readonly kind: "media-url"; readonly url: string; readonly mimeType?: string }
  | { readonly kind: "media-data"; readonly mimeType: string; readonly base64: string }
  | { readonly kind: "tool-call"; readonly id?: string; readonly name: string; readonly args: Json; readonly signature?: string }
  | { readonly kind: "tool-result"; readonly id?: string; readonly name?: string; readonly output: Json };

/** One turn; OpenAI tool results are turns of role "tool". */
export interface NormalTurn {
  readonly role: "user" | "assistant" | "tool";
  readonly parts: NormalPart[];
}

/** Sampling and output controls, by their OpenAI names. */
export interface NormalParams {
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  stop?: string[];
  n?: number;
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  logprobs?: boolean;
  topLogprobs?: number;
  logitBias?: Json;
  user?: string;
  /** "json_object", or the JSON schema the provider was given natively. */
  json?: "json_object" | { schema: Json };
  parallelToolCalls?: boolean;
}

/** A native request in neutral words. */
export interface NormalRequest {
  readonly dialect: Dialect;
  readonly model: string;
  readonly stream: boolean;
  /** System and developer texts, in order, wherever the dialect puts them. */
  readonly system: string[];
  /** The roles that carried system text inside the message list (OpenAI), [] when hoisted. */
  readonly systemRolesInMessages: string[];
  readonly turns: NormalTurn[];
  readonly tools: { name: string; parameters?: Json }[];
  readonly toolChoice?: "auto" | "none" | "required" | { name: string };
  readonly params: NormalParams;
}

function isMap(value: unknown): value is JsonMap {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function list(value: unknown): Json[] {
  return Array.isArray(value) ? (value as Json[]) : [];
}

function num(value: unknown): number | undefined {
  return typeof value === "number" ? value : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** Tool outputs are compared as JSON when they are JSON text. */
export function parseOutput(value: Json): Json {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value) as Json;
  } catch {
    return value;
  }
}

function dataUrlPart(url: string): NormalPart {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return match ? { kind: "media-data", mimeType: match[1] ?? "", base64: match[2] ?? "" } : { kind: "media-url", url };
}

function setIfDefined<K extends keyof NormalParams>(params: NormalParams, key: K, value: NormalParams[K] | undefined): void {
  if (value !== undefined) params[key] = value;
}

// ---------- OpenAI ----------

function openAIPart(raw: Json): NormalPart {
  if (!isMap(raw)) throw new Error(`openai: content part is not an object: ${JSON.stringify(raw)}`);
  switch (raw.type) {
    case "text":
      return { kind: "text", text: str(raw.text) ?? "" };
    case "image_url": {
      const url = str(isMap(raw.image_url) ? raw.image_url.url : undefined) ?? "";
      return url.startsWith("data:") ? dataUrlPart(url) : { kind: "media-url", url };
    }
    case "input_audio": {
      const audio = isMap(raw.input_audio) ? raw.input_audio : {};
      return { kind: "media-data", mimeType: `audio/${str(audio.format) ?? ""}`, base64: str(audio.data) ?? "" };
    }
    case "file":
      return dataUrlPart(str(isMap(raw.file) ? raw.file.file_data : undefined) ?? "");
    default:
      throw new Error(`openai: unknown content part type ${String(raw.type)}`);
  }
}

function openAIContent(content: Json | undefined): NormalPart[] {
  if (typeof content === "string") return content === "" ? [] : [{ kind: "text", text: content }];
  return list(content).map(openAIPart);
}

function readOpenAI(body: JsonMap): NormalRequest {
  const system: string[] = [];
  const systemRoles: string[] = [];
  const turns: NormalTurn[] = [];
  for (const raw of list(body.messages)) {
    if (!isMap(raw)) throw new Error("openai: message is not an object");
    const role = str(raw.role) ?? "";
    if (role === "system" || role === "developer") {
      system.push(...openAIContent(raw.content).map((part) => (part.kind === "text" ? part.text : "")));
      systemRoles.push(role);
    } else if (role === "tool") {
      turns.push({ role: "tool", parts: [{ kind: "tool-result", id: str(raw.tool_call_id) ?? "", output: parseOutput(typeof raw.content === "string" ? raw.content : openAIContent(raw.content).map((p) => (p.kind === "text" ? p.text : "")).join("")) }] });
    } else if (role === "user" || role === "assistant") {
      const parts = openAIContent(raw.content);
      if (typeof raw.reasoning_content === "string") parts.unshift({ kind: "reasoning", text: raw.reasoning_content });
      for (const call of list(raw.tool_calls)) {
        if (!isMap(call) || !isMap(call.function)) continue;
        parts.push({ kind: "tool-call", id: str(call.id) ?? "", name: str(call.function.name) ?? "", args: parseOutput(str(call.function.arguments) ?? "") });
      }
      turns.push({ role, parts });
    } else throw new Error(`openai: unknown role ${role}`);
  }
  const params: NormalParams = {};
  setIfDefined(params, "temperature", num(body.temperature));
  setIfDefined(params, "topP", num(body.top_p));
  setIfDefined(params, "maxTokens", num(body.max_completion_tokens) ?? num(body.max_tokens));
  setIfDefined(params, "stop", typeof body.stop === "string" ? [body.stop] : Array.isArray(body.stop) ? body.stop.map(String) : undefined);
  setIfDefined(params, "n", num(body.n));
  setIfDefined(params, "seed", num(body.seed));
  setIfDefined(params, "presencePenalty", num(body.presence_penalty));
  setIfDefined(params, "frequencyPenalty", num(body.frequency_penalty));
  setIfDefined(params, "logprobs", typeof body.logprobs === "boolean" ? body.logprobs : undefined);
  setIfDefined(params, "topLogprobs", num(body.top_logprobs));
  setIfDefined(params, "logitBias", body.logit_bias);
  setIfDefined(params, "user", str(body.user));
  setIfDefined(params, "parallelToolCalls", typeof body.parallel_tool_calls === "boolean" ? body.parallel_tool_calls : undefined);
  const format = isMap(body.response_format) ? body.response_format : undefined;
  if (format?.type === "json_object") params.json = "json_object";
  if (format?.type === "json_schema" && isMap(format.json_schema)) params.json = { schema: format.json_schema.schema ?? null };
  const choice = body.tool_choice;
  const toolChoice = typeof choice === "string" ? (choice as "auto" | "none" | "required") : isMap(choice) && isMap(choice.function) ? { name: str(choice.function.name) ?? "" } : undefined;
  return {
    dialect: "openai",
    model: str(body.model) ?? "",
    stream: body.stream === true,
    system,
    systemRolesInMessages: systemRoles,
    turns,
    tools: list(body.tools).filter(isMap).map((tool) => {
      const fn = isMap(tool.function) ? tool.function : {};
      return { name: str(fn.name) ?? "", ...(fn.parameters !== undefined ? { parameters: fn.parameters } : {}) };
    }),
    ...(toolChoice ? { toolChoice } : {}),
    params,
  };
}

// ---------- Anthropic ----------

function anthropicBlock(raw: Json): NormalPart {
  if (!isMap(raw)) throw new Error("anthropic: content block is not an object");
  const source = isMap(raw.source) ? raw.source : {};
  switch (raw.type) {
    case "text":
      return { kind: "text", text: str(raw.text) ?? "" };
    case "thinking":
      return { kind: "reasoning", text: str(raw.thinking) ?? "", signature: str(raw.signature) ?? "" };
    case "image":
    case "document":
      if (source.type === "url") return { kind: "media-url", url: str(source.url) ?? "" };
      if (source.type === "base64") return { kind: "media-data", mimeType: str(source.media_type) ?? "", base64: str(source.data) ?? "" };
      if (source.type === "text") return { kind: "media-data", mimeType: str(source.media_type) ?? "", base64: Buffer.from(str(source.data) ?? "").toString("base64") };
      throw new Error(`anthropic: unknown source type ${String(source.type)}`);
    case "tool_use":
      return { kind: "tool-call", id: str(raw.id) ?? "", name: str(raw.name) ?? "", args: raw.input ?? null };
    case "tool_result": {
      const content = typeof raw.content === "string" ? raw.content : list(raw.content).map((block) => (isMap(block) && block.type === "text" ? (str(block.text) ?? "") : "")).join("");
      return { kind: "tool-result", id: str(raw.tool_use_id) ?? "", output: parseOutput(content) };
    }
    default:
      throw new Error(`anthropic: unknown block type ${String(raw.type)}`);
  }
}

function readAnthropic(body: JsonMap): NormalRequest {
  const system = typeof body.system === "string" ? [body.system] : list(body.system).map((block) => (isMap(block) ? (str(block.text) ?? "") : ""));
  const turns: NormalTurn[] = list(body.messages).map((raw) => {
    if (!isMap(raw)) throw new Error("anthropic: message is not an object");
    const role = raw.role === "assistant" ? "assistant" : raw.role === "user" ? "user" : undefined;
    if (!role) throw new Error(`anthropic: role ${String(raw.role)} is not user or assistant`);
    const parts = typeof raw.content === "string" ? [{ kind: "text" as const, text: raw.content }] : list(raw.content).map(anthropicBlock);
    return { role, parts };
  });
  const params: NormalParams = {};
  setIfDefined(params, "temperature", num(body.temperature));
  setIfDefined(params, "topP", num(body.top_p));
  setIfDefined(params, "maxTokens", num(body.max_tokens));
  setIfDefined(params, "stop", Array.isArray(body.stop_sequences) ? body.stop_sequences.map(String) : undefined);
  setIfDefined(params, "user", isMap(body.metadata) ? str(body.metadata.user_id) : undefined);
  const format = isMap(body.output_config) && isMap(body.output_config.format) ? body.output_config.format : undefined;
  if (format?.type === "json_schema") params.json = { schema: format.schema ?? null };
  const choice = isMap(body.tool_choice) ? body.tool_choice : undefined;
  if (choice && "disable_parallel_tool_use" in choice) params.parallelToolCalls = choice.disable_parallel_tool_use !== true;
  const toolChoice = !choice ? undefined : choice.type === "tool" ? { name: str(choice.name) ?? "" } : choice.type === "any" ? "required" : choice.type === "none" ? "none" : "auto";
  return {
    dialect: "anthropic",
    model: str(body.model) ?? "",
    stream: body.stream === true,
    system,
    systemRolesInMessages: [],
    turns,
    tools: list(body.tools).filter(isMap).map((tool) => ({ name: str(tool.name) ?? "", ...(tool.input_schema !== undefined ? { parameters: tool.input_schema } : {}) })),
    ...(toolChoice ? { toolChoice: toolChoice as NonNullable<NormalRequest["toolChoice"]> } : {}),
    params,
  };
}

// ---------- Gemini ----------

function geminiPart(raw: Json): NormalPart {
  if (!isMap(raw)) throw new Error("gemini: part is not an object");
  if (isMap(raw.functionCall)) {
    const signature = str(raw.thoughtSignature);
    return { kind: "tool-call", ...(raw.functionCall.id !== undefined ? { id: str(raw.functionCall.id) ?? "" } : {}), name: str(raw.functionCall.name) ?? "", args: raw.functionCall.args ?? {}, ...(signature ? { signature } : {}) };
  }
  if (isMap(raw.functionResponse)) {
    const response = isMap(raw.functionResponse.response) ? raw.functionResponse.response : {};
    return { kind: "tool-result", ...(raw.functionResponse.id !== undefined ? { id: str(raw.functionResponse.id) ?? "" } : {}), name: str(raw.functionResponse.name) ?? "", output: "output" in response ? (response.output ?? null) : response };
  }
  if (isMap(raw.inlineData)) return { kind: "media-data", mimeType: str(raw.inlineData.mimeType) ?? "", base64: str(raw.inlineData.data) ?? "" };
  if (isMap(raw.fileData)) {
    const mimeType = str(raw.fileData.mimeType);
    return { kind: "media-url", url: str(raw.fileData.fileUri) ?? "", ...(mimeType ? { mimeType } : {}) };
  }
  if (typeof raw.text === "string") return raw.thought === true ? { kind: "reasoning", text: raw.text, signature: str(raw.thoughtSignature) ?? "" } : { kind: "text", text: raw.text };
  throw new Error(`gemini: unknown part ${JSON.stringify(raw)}`);
}

function readGemini(body: JsonMap, url: string): NormalRequest {
  const match = /\/models\/([^/:?]+):(generateContent|streamGenerateContent)/.exec(url);
  const system = list(isMap(body.systemInstruction) ? body.systemInstruction.parts : undefined).map((part) => (isMap(part) ? (str(part.text) ?? "") : ""));
  const turns: NormalTurn[] = list(body.contents).map((raw) => {
    if (!isMap(raw)) throw new Error("gemini: content is not an object");
    const role = raw.role === "model" ? "assistant" : raw.role === "user" ? "user" : undefined;
    if (!role) throw new Error(`gemini: role ${String(raw.role)} is not user or model`);
    return { role, parts: list(raw.parts).map(geminiPart) };
  });
  const config = isMap(body.generationConfig) ? body.generationConfig : {};
  const params: NormalParams = {};
  setIfDefined(params, "temperature", num(config.temperature));
  setIfDefined(params, "topP", num(config.topP));
  setIfDefined(params, "maxTokens", num(config.maxOutputTokens));
  setIfDefined(params, "stop", Array.isArray(config.stopSequences) ? config.stopSequences.map(String) : undefined);
  setIfDefined(params, "n", num(config.candidateCount));
  setIfDefined(params, "seed", num(config.seed));
  setIfDefined(params, "presencePenalty", num(config.presencePenalty));
  setIfDefined(params, "frequencyPenalty", num(config.frequencyPenalty));
  setIfDefined(params, "logprobs", typeof config.responseLogprobs === "boolean" ? config.responseLogprobs : undefined);
  setIfDefined(params, "topLogprobs", num(config.logprobs));
  const responseSchema = config.responseJsonSchema ?? config.responseSchema;
  if (config.responseMimeType === "application/json") params.json = responseSchema !== undefined ? { schema: responseSchema } : "json_object";
  const calling = isMap(body.toolConfig) && isMap(body.toolConfig.functionCallingConfig) ? body.toolConfig.functionCallingConfig : undefined;
  const allowed = list(calling?.allowedFunctionNames);
  const toolChoice = !calling ? undefined : calling.mode === "NONE" ? "none" : calling.mode === "ANY" ? (allowed.length === 1 ? { name: String(allowed[0]) } : "required") : "auto";
  return {
    dialect: "gemini",
    model: decodeURIComponent(match?.[1] ?? ""),
    stream: match?.[2] === "streamGenerateContent",
    system,
    systemRolesInMessages: [],
    turns,
    tools: list(body.tools).flatMap((tool) => list(isMap(tool) ? tool.functionDeclarations : undefined)).filter(isMap).map((fn) => ({ name: str(fn.name) ?? "", ...((fn.parametersJsonSchema ?? fn.parameters) !== undefined ? { parameters: fn.parametersJsonSchema ?? fn.parameters } : {}) })),
    ...(toolChoice ? { toolChoice: toolChoice as NonNullable<NormalRequest["toolChoice"]> } : {}),
    params,
  };
}

/** Reads a native request body (already parsed JSON) sent to `url`. */
export function readNativeRequest(dialect: Dialect, body: unknown, url: string): NormalRequest {
  if (!isMap(body)) throw new Error(`${dialect}: request body is not a JSON object`);
  if (dialect === "openai") return readOpenAI(body);
  if (dialect === "anthropic") return readAnthropic(body);
  return readGemini(body, url);
}

/** All parts of all turns, with their turn's role and index, in order. */
export function flatParts(request: NormalRequest): { role: NormalTurn["role"]; turn: number; part: NormalPart }[] {
  return request.turns.flatMap((turn, index) => turn.parts.map((part) => ({ role: turn.role, turn: index, part })));
}
