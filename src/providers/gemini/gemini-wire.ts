/**
 * Types of the Gemini generateContent wire format (Gemini API, v1beta), and lenient runtime parsers
 * for what the gateway reads back. Requests are built as typed objects; responses are parsed field
 * by field, keeping only the fields the gateway uses and tolerating null or missing ones.
 * @see https://ai.google.dev/api/generate-content
 */

import type { JsonObject } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { gatewayError, Reason } from "../../core/errors.js";
import type { GeminiPartialArg } from "./gemini-partial-args.js";
import { parseGoogleStatusError, type GoogleStatusError } from "../google-status-errors.js";

/**
 * Put before the raw value inside a tagged reasoning signature when Gemini gave it on an answer part
 * (Gemini 3 signs its text), not on a thought, so that replay puts it back on the answer text. Base64
 * has no `:`, so no signature starts with it.
 */
export const ANSWER_SIGNATURE_PREFIX = "text:";

/** The Gemini adapter's provider family: the provider_options key it reads, and the tag of the reasoning signatures it emits. */
export const GEMINI_FAMILY = "gemini";

/** A JSON value. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** A JSON object. */
export type JsonMap = { [key: string]: Json };

/** One part of a request content. */
export type GeminiRequestPart =
  | { text: string; thought?: true; thoughtSignature?: string }
  | { inlineData: { mimeType: string; data: string } }
  | { fileData: { fileUri: string; mimeType?: string } }
  | { functionCall: { name: string; args: JsonMap; id?: string }; thoughtSignature?: string }
  | { functionResponse: { name: string; response: JsonMap; id?: string } };

/** One turn of the conversation. */
export interface GeminiContent {
  role: "user" | "model";
  parts: GeminiRequestPart[];
}

/** A function the model may call. */
export interface GeminiFunctionDeclaration {
  name: string;
  description?: string;
  /** OpenAPI-subset schema (see gemini-schema.ts), for models before 2.5; absent for parameterless functions. */
  parameters?: JsonMap;
  /** The caller's JSON Schema (models of 2.5 and later); never together with `parameters`. */
  parametersJsonSchema?: JsonObject;
}

/** `toolConfig.functionCallingConfig`. */
export interface GeminiFunctionCallingConfig {
  /** VALIDATED: calls or text, and calls always match their schema (models of 2.5 and later). */
  mode: "AUTO" | "ANY" | "NONE" | "VALIDATED";
  allowedFunctionNames?: string[];
}

/** `generationConfig.thinkingConfig`: a level (Gemini 3 and later) or a token budget (2.5), never both. */
export interface GeminiThinkingConfig {
  thinkingLevel?: "minimal" | "low" | "medium" | "high";
  thinkingBudget?: number;
}

/** `generationConfig` fields the gateway sets from typed ChatInput fields. */
export interface GeminiGenerationConfig {
  temperature?: number;
  topP?: number;
  maxOutputTokens?: number;
  stopSequences?: string[];
  candidateCount?: number;
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  responseLogprobs?: boolean;
  logprobs?: number;
  responseMimeType?: string;
  /** The OpenAPI-subset schema every model takes. */
  responseSchema?: JsonMap;
  /** A JSON Schema as the caller wrote it (models of 2.5 and later). */
  responseJsonSchema?: JsonObject;
  thinkingConfig?: GeminiThinkingConfig;
}

/** The body of generateContent / streamGenerateContent, before provider_options are merged in. */
export interface GeminiRequestBody {
  contents: GeminiContent[];
  systemInstruction?: { role: "user"; parts: { text: string }[] };
  tools?: { functionDeclarations: GeminiFunctionDeclaration[] }[];
  toolConfig?: { functionCallingConfig: GeminiFunctionCallingConfig };
  generationConfig: GeminiGenerationConfig;
}

/** A part of a response candidate, as far as the gateway reads it. */
export interface GeminiResponsePart {
  readonly text?: string;
  readonly thought?: boolean;
  readonly thoughtSignature?: string;
  /** A call (`willContinue`: its arguments come in later parts, see {@link GeminiResponsePart.callPiece}). */
  readonly functionCall?: { readonly name: string; readonly args: JsonMap; readonly id?: string; readonly willContinue?: true; readonly partialArgs?: readonly GeminiPartialArg[] };
  /** A later part of a call whose arguments are streamed: pieces of them, and whether more parts follow. */
  readonly callPiece?: { readonly partialArgs: readonly GeminiPartialArg[]; readonly willContinue: boolean };
  /** Set for a part the gateway does not translate (executableCode, codeExecutionResult, inlineData, fileData, a new kind): its kind. */
  readonly unsupported?: string;
}

/** One token and its log probability. */
export interface GeminiLogprobCandidate {
  readonly token: string;
  readonly logProbability: number;
}

/** `candidate.logprobsResult`. */
export interface GeminiLogprobsResult {
  readonly chosenCandidates: readonly GeminiLogprobCandidate[];
  readonly topCandidates: readonly (readonly GeminiLogprobCandidate[])[];
}

/** One response candidate. */
export interface GeminiCandidate {
  readonly index?: number;
  readonly parts: readonly GeminiResponsePart[];
  readonly finishReason?: string;
  readonly logprobsResult?: GeminiLogprobsResult;
}

/** `usageMetadata`. */
export interface GeminiUsageMetadata {
  readonly promptTokenCount?: number;
  readonly candidatesTokenCount?: number;
  readonly thoughtsTokenCount?: number;
  readonly cachedContentTokenCount?: number;
  readonly toolUsePromptTokenCount?: number;
  readonly totalTokenCount?: number;
  /** Audio tokens of the prompt (the AUDIO entry of promptTokensDetails). */
  readonly promptAudioTokenCount?: number;
  /** Audio tokens of the answer (the AUDIO entry of candidatesTokensDetails). */
  readonly candidatesAudioTokenCount?: number;
}

/** The token count of one modality in a `*TokensDetails` list ([{modality, tokenCount}]). */
function modalityCount(details: unknown, modality: string): number | undefined {
  if (!Array.isArray(details)) return undefined;
  const entry = details.find((detail): detail is JsonMap => isJsonMap(detail) && detail.modality === modality);
  return entry ? int(entry.tokenCount) : undefined;
}

/** Google's error object, `{error:{code, message, status, details}}`. */
export type GeminiErrorBody = GoogleStatusError;

/** A generateContent response, or one streamed chunk of it. */
export interface GeminiResponse {
  readonly candidates: readonly GeminiCandidate[];
  readonly blockReason?: string;
  readonly usageMetadata?: GeminiUsageMetadata;
  readonly modelVersion?: string;
  readonly responseId?: string;
  /** `createTime` (Vertex AI), in whole seconds since the epoch; absent when missing or not a time. */
  readonly createdSeconds?: number;
  /** Set when the body (or a stream event) is an error instead of a response. */
  readonly error?: GeminiErrorBody;
}

/** True for a plain JSON object (not null, not an array). */
export function isJsonMap(value: unknown): value is JsonMap {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function int(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** T with every property that may be undefined turned into an optional property without undefined. */
type Defined<T> = { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & { [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined> };

/**
 * A copy of `value` without its undefined properties. A copy, not `delete` on `value`: a deleted
 * property puts a V8 object in dictionary mode, and every later read of a parsed part or chunk
 * then takes the slow path (Gemini cost twice OpenAI's CPU per streamed chunk).
 */
function defined<T extends object>(value: T): Defined<T> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const field = (value as Record<string, unknown>)[key];
    if (field !== undefined) out[key] = field;
  }
  return out as Defined<T>;
}

/** Part fields that annotate a part rather than hold its content. */
const PART_ANNOTATIONS = new Set(["thought", "thoughtSignature", "partMetadata", "videoMetadata", "mediaResolution"]);

function parsePart(value: unknown): GeminiResponsePart | undefined {
  if (!isJsonMap(value)) return undefined;
  const call = value.functionCall;
  const pieces = isJsonMap(call) && Array.isArray(call.partialArgs) ? call.partialArgs.map(parsePartialArg).filter((piece): piece is GeminiPartialArg => piece !== undefined) : undefined;
  const functionCall = isJsonMap(call) && typeof call.name === "string"
    ? defined({ name: call.name, args: isJsonMap(call.args) ? call.args : {}, id: str(call.id), willContinue: call.willContinue === true ? (true as const) : undefined, partialArgs: pieces })
    : undefined;
  // No name: a later part of a call whose arguments are streamed (`{}` alone ends it).
  const callPiece = isJsonMap(call) && !functionCall ? { partialArgs: pieces ?? [], willContinue: call.willContinue === true } : undefined;
  const text = str(value.text);
  // A part with content the gateway cannot carry (code execution, images, files, kinds newer than this code); a bare signature part is not one.
  const unsupported = text === undefined && !functionCall && !callPiece ? Object.keys(value).find((key) => !PART_ANNOTATIONS.has(key) && value[key] !== null) : undefined;
  return defined({
    text,
    thought: value.thought === true ? true : undefined,
    thoughtSignature: str(value.thoughtSignature),
    functionCall,
    callPiece,
    unsupported,
  });
}

/** One `partialArgs` entry: its path and its value (string, number, bool or null); undefined when it has neither. */
function parsePartialArg(value: unknown): GeminiPartialArg | undefined {
  if (!isJsonMap(value) || typeof value.jsonPath !== "string") return undefined;
  const given: Json | undefined =
    typeof value.stringValue === "string" ? value.stringValue
    : typeof value.numberValue === "number" ? value.numberValue
    : typeof value.boolValue === "boolean" ? value.boolValue
    : "nullValue" in value ? null
    : undefined;
  return given === undefined ? undefined : { jsonPath: value.jsonPath, value: given, willContinue: value.willContinue === true };
}

function parseLogprobCandidate(value: unknown): GeminiLogprobCandidate | undefined {
  if (!isJsonMap(value)) return undefined;
  const token = str(value.token);
  const logProbability = int(value.logProbability);
  return token === undefined ? undefined : { token, logProbability: logProbability ?? 0 };
}

function parseLogprobs(value: unknown): GeminiLogprobsResult | undefined {
  if (!isJsonMap(value)) return undefined;
  const keep = (entries: unknown[]) => entries.map(parseLogprobCandidate).filter((entry): entry is GeminiLogprobCandidate => entry !== undefined);
  return {
    chosenCandidates: keep(list(value.chosenCandidates)),
    topCandidates: list(value.topCandidates).map((entry) => keep(isJsonMap(entry) ? list(entry.candidates) : [])),
  };
}

function parseCandidate(value: unknown): GeminiCandidate | undefined {
  if (!isJsonMap(value)) return undefined;
  const content = isJsonMap(value.content) ? value.content : {};
  return defined({
    index: int(value.index),
    parts: list(content.parts).map(parsePart).filter((part): part is GeminiResponsePart => part !== undefined),
    finishReason: str(value.finishReason),
    logprobsResult: parseLogprobs(value.logprobsResult),
  });
}

function parseUsage(value: unknown): GeminiUsageMetadata | undefined {
  if (!isJsonMap(value)) return undefined;
  return defined({
    promptTokenCount: int(value.promptTokenCount),
    candidatesTokenCount: int(value.candidatesTokenCount),
    thoughtsTokenCount: int(value.thoughtsTokenCount),
    cachedContentTokenCount: int(value.cachedContentTokenCount),
    toolUsePromptTokenCount: int(value.toolUsePromptTokenCount),
    totalTokenCount: int(value.totalTokenCount),
    promptAudioTokenCount: modalityCount(value.promptTokensDetails, "AUDIO"),
    candidatesAudioTokenCount: modalityCount(value.candidatesTokensDetails, "AUDIO"),
  });
}

/** Reads Google's `{error:{...}}` envelope (also inside a one-element array); undefined when absent. */
export function parseGeminiError(value: unknown): GeminiErrorBody | undefined {
  return parseGoogleStatusError(value);
}

/** An RFC 3339 timestamp (`createTime`) as whole seconds since the epoch; undefined when it is not one. */
function createdSecondsOf(value: unknown): number | undefined {
  if (typeof value !== "string" || !/^\d{4}-\d\d-\d\dT/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) && ms >= 0 ? Math.floor(ms / 1000) : undefined;
}

/**
 * Parses a generateContent response or one stream chunk leniently: unknown fields are ignored,
 * missing ones tolerated. Throws INVALID_PROVIDER_RESPONSE only when the value is not an object.
 */
export function parseGeminiResponse(value: unknown): GeminiResponse {
  if (!isJsonMap(value)) {
    throw gatewayError(Code.Internal, Reason.INVALID_PROVIDER_RESPONSE, "Gemini sent a response that is not a JSON object");
  }
  const feedback = isJsonMap(value.promptFeedback) ? value.promptFeedback : {};
  return defined({
    candidates: list(value.candidates).map(parseCandidate).filter((candidate): candidate is GeminiCandidate => candidate !== undefined),
    blockReason: str(feedback.blockReason),
    usageMetadata: parseUsage(value.usageMetadata),
    modelVersion: str(value.modelVersion),
    responseId: str(value.responseId),
    createdSeconds: createdSecondsOf(value.createTime),
    error: parseGeminiError(value),
  });
}
