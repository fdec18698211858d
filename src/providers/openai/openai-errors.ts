import { fromJson, toBinary, type JsonObject } from "@bufbuild/protobuf";
import { StructSchema } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { gatewayError, type ErrorFacts, type GatewayError, Reason } from "../../core/errors.js";
import { setOwnEntry } from "../../core/own-entry.js";
import { fromGoogleStatusError, isGoogleStatus, parseGoogleStatusError } from "../google-status-errors.js";
import { structValue, type StructCopy } from "./openai-extras.js";
import { errorFromUpstreamStatus, rejectsTheRequest, scrubSecrets } from "../upstream-status.js";

interface OpenAIErrorFields {
  message?: unknown;
  /** FastAPI-style servers' validation detail (`{"detail": [...]}` or a string). */
  detail?: unknown;
  type?: unknown;
  code?: unknown;
  param?: unknown;
}

/** An error in a one-element array (as Gemini's OpenAI-compatible endpoint wraps its own) reads as the error itself. */
function unwrapped(body: unknown): unknown {
  return Array.isArray(body) && body.length === 1 ? body[0] : body;
}

function readErrorFields(value: unknown): OpenAIErrorFields {
  const body = unwrapped(value);
  if (body && typeof body === "object" && "error" in body) {
    const error = (body as { error: unknown }).error;
    if (error && typeof error === "object") return error as OpenAIErrorFields;
    if (typeof error === "string") return { message: error };
  }
  if (body && typeof body === "object" && ("message" in body || "detail" in body)) return body as OpenAIErrorFields;
  return {};
}

/** What both mappers read from an error object: scrubbed message, string code/type, param. */
interface ReadError {
  readonly message: string;
  readonly code: string | undefined;
  readonly type: string | undefined;
  readonly param: string | undefined;
  /** A numeric `code` some compatible servers (vLLM) put where OpenAI puts a string. */
  readonly numericCode: number | undefined;
  /** The error object's other fields (Azure's `innererror`), scrubbed; undefined when none or too large. */
  readonly extra: JsonObject | undefined;
}

/** The error object's fields read into the gateway's own. */
const MODELLED_ERROR_FIELDS: ReadonlySet<string> = new Set(["message", "detail", "type", "code", "param"]);
/** Names that change an object's prototype when a client copies the fields (`Object.assign`): never passed on. */
const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);
/**
 * Largest set of unmodelled error fields given back, in bytes of their protobuf Struct. Azure's content filter verdicts
 * are a few hundred bytes; over gRPC they ride in the `grpc-status-details-bin` header, which
 * clients bound (grpcio refuses a head past 8 KiB), so the bound leaves room for the rest.
 */
const MAX_EXTRA_BYTES = 2048;
/** Deepest nesting of the fields given back: a Struct costs two message levels per JSON level, and decoders stop at 100. */
const MAX_EXTRA_DEPTH = 8;

/** How error fields are copied: strings scrubbed of key-like text (the body was already scrubbed of the request's own credentials), prototype-changing keys left out. */
const ERROR_COPY: StructCopy = { maxDepth: MAX_EXTRA_DEPTH, text: scrubSecrets, skipKeys: PROTOTYPE_KEYS };

function isObjectWith(body: unknown, key: string): boolean {
  if (!body || typeof body !== "object" || !(key in body)) return false;
  const value = (body as Record<string, unknown>)[key];
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The unmodelled fields of an error object, when it has some and they are of a sane size and depth. */
function extraFields(fields: OpenAIErrorFields): JsonObject | undefined {
  const unmodelled = Object.entries(fields).filter(([key, value]) => !MODELLED_ERROR_FIELDS.has(key) && !PROTOTYPE_KEYS.has(key) && value !== undefined);
  if (unmodelled.length === 0) return undefined;
  // A cheap first bound before any copy, so a body of millions of values does not hold the event loop: a Struct is at
  // least a sixth of its JSON (a control character is 6 bytes escaped, 1 in the Struct). JSON nested past the stack's
  // depth throws: such fields are left out, the error is still read.
  let text: string;
  try {
    text = JSON.stringify(Object.fromEntries(unmodelled));
  } catch {
    return undefined;
  }
  if (Buffer.byteLength(text) > 6 * MAX_EXTRA_BYTES) return undefined;
  const extra: JsonObject = {};
  for (const [key, value] of unmodelled) {
    const scrubbed = structValue(value, 1, ERROR_COPY);
    if (scrubbed === undefined) return undefined;
    setOwnEntry(extra, key, scrubbed);
  }
  // The bytes of the Struct the gRPC status header carries (a number costs 11 there, a CJK character 3), not JSON's UTF-16 units.
  if (toBinary(StructSchema, fromJson(StructSchema, extra)).length > MAX_EXTRA_BYTES) return undefined;
  return extra;
}

/** Longest structured error message (an object turned into JSON text) relayed to the caller. */
const MAX_STRUCTURED_MESSAGE_CHARS = 1000;

/**
 * An error message as text: a string as is; an object or array, as some servers send (Mistral's
 * `{"message": {"detail": [...]}}`, FastAPI's `{"detail": [...]}`), as bounded JSON text.
 */
function messageText(value: unknown): string | undefined {
  if (typeof value === "string") return value || undefined;
  if (typeof value !== "object" || value === null) return undefined;
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch {
    // Nested past the stack's depth: no text of it, the error is still read (by its status).
    return undefined;
  }
  return text.length > MAX_STRUCTURED_MESSAGE_CHARS ? `${text.slice(0, MAX_STRUCTURED_MESSAGE_CHARS)}…` : text;
}

function readError(body: unknown, fallbackMessage: string): ReadError {
  const fields = readErrorFields(body);
  const rawMessage = messageText(fields.message) ?? messageText(fields.detail) ?? fallbackMessage;
  return {
    message: scrubSecrets(rawMessage),
    code: typeof fields.code === "string" && fields.code ? fields.code : undefined,
    type: typeof fields.type === "string" && fields.type ? fields.type : undefined,
    param: typeof fields.param === "string" && fields.param ? fields.param : undefined,
    numericCode: typeof fields.code === "number" && Number.isInteger(fields.code) ? fields.code : undefined,
    // Only beside OpenAI's own fields inside `{"error": {…}}`; a bare body's other keys (`"object": "error"`) are its envelope.
    extra: isObjectWith(unwrapped(body), "error") ? extraFields(fields) : undefined,
  };
}

/**
 * How OpenAI-compatible servers without OpenAI's `context_length_exceeded` code word an over-long
 * prompt: vLLM and OpenAI's own older text ("This model's maximum context length is 4096 tokens"),
 * Mistral ("too large for model with 32768 maximum context length"), llama.cpp ("exceeds the
 * available context size (4096 tokens)").
 */
const CONTEXT_TOO_LONG = /maximum context length is \d+|\d+ maximum context length|exceeds the available context size/i;

/** Structured codes (or types) of an over-long prompt: OpenAI's, and llama.cpp's `exceed_context_size_error`. */
const CONTEXT_TOO_LONG_CODES: ReadonlySet<string | undefined> = new Set(["context_length_exceeded", "string_above_max_length", "exceed_context_size_error"]);

/** The reasons OpenAI's structured `code` (or `type`) decides on its own, whatever the status. */
function errorFromCode(read: ReadError, provider: string, facts: ErrorFacts): GatewayError | undefined {
  const { code, type, message } = read;
  if (CONTEXT_TOO_LONG_CODES.has(code) || CONTEXT_TOO_LONG_CODES.has(type) || CONTEXT_TOO_LONG.test(message)) {
    return gatewayError(Code.InvalidArgument, Reason.CONTEXT_LENGTH_EXCEEDED, message, facts);
  }
  if (code === "insufficient_quota" || type === "insufficient_quota") {
    return gatewayError(Code.ResourceExhausted, Reason.INSUFFICIENT_QUOTA, `provider "${provider}" quota exhausted: ${message}`, facts);
  }
  if (code === "content_filter" || code === "content_policy_violation") return gatewayError(Code.InvalidArgument, Reason.CONTENT_FILTER, message, facts);
  return undefined;
}

/**
 * An error in Google's envelope, named by a google.rpc status (INVALID_ARGUMENT,
 * RESOURCE_EXHAUSTED, …), as the OpenAI-compatible endpoints of Gemini and Vertex AI answer (in a
 * one-element array, or inside a stream), read as Gemini's own errors are; undefined for any other.
 */
function fromGoogleEnvelope(body: unknown, provider: string, httpStatus: number, retryAfterMs?: number): GatewayError | undefined {
  const error = parseGoogleStatusError(body);
  if (!isGoogleStatus(error) || error.code === undefined) return undefined;
  // Google's envelope has a numeric code and never OpenAI's `type` or `param`: an OpenAI-style error whose `status` happens to be a google.rpc word stays OpenAI-style.
  const fields = readErrorFields(body);
  if (fields.type !== undefined || fields.param !== undefined) return undefined;
  return fromGoogleStatusError({ provider, httpStatus, error, ...(retryAfterMs !== undefined ? { headerRetryAfterMs: retryAfterMs } : {}) });
}

/**
 * Maps an OpenAI-dialect HTTP error (status + `{error:{message,type,code,param}}` body) to a
 * GatewayError, reading the structured `code`/`type` first: context_length_exceeded,
 * insufficient_quota and content_filter have their own reasons; other 4xx that reject the request
 * ({@link rejectsTheRequest}) are UPSTREAM_INVALID_REQUEST carrying the upstream code and param; the rest
 * follow the upstream status. Provider messages are scrubbed of secrets, and auth failures never
 * repeat the provider's text.
 * @see https://platform.openai.com/docs/guides/error-codes
 */
export function fromOpenAIError(status: number, body: unknown, provider: string, retryAfterMs?: number): GatewayError {
  const google = fromGoogleEnvelope(body, provider, status, retryAfterMs);
  if (google) return google;
  const read = readError(body, `upstream returned HTTP ${status}`);
  const upstreamCode = read.code ?? read.type;
  const facts: ErrorFacts = {
    provider,
    upstreamStatus: status,
    ...(upstreamCode ? { upstreamCode } : {}),
    ...(read.param ? { param: read.param } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    ...(read.extra ? { upstreamExtra: read.extra } : {}),
  };
  const byCode = errorFromCode(read, provider, facts);
  if (byCode) return byCode;
  if (rejectsTheRequest(status)) {
    return gatewayError(Code.InvalidArgument, Reason.UPSTREAM_INVALID_REQUEST, read.message, facts);
  }
  const byStatus = errorFromUpstreamStatus({ provider, status, message: read.message, ...(upstreamCode ? { upstreamCode } : {}), ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
  // A rejected credential says nothing of the provider's own (it may name the account): like its text, none of it is passed on.
  if (!read.extra || byStatus.reason === Reason.PROVIDER_AUTH_FAILED) return byStatus;
  return gatewayError(byStatus.code, byStatus.reason, byStatus.rawMessage, { ...byStatus.facts, upstreamExtra: read.extra });
}

/**
 * Maps an error object an OpenAI-dialect server sent inside a 200 stream (`data: {"error":…}`) to a
 * GatewayError marked `afterFirstByte`. A numeric `code` that is an HTTP error status (OpenRouter,
 * vLLM) is read as the status, as {@link fromOpenAIError} reads it; otherwise the structured fields
 * decide: the codes of {@link fromOpenAIError}, rate limits, `invalid_request_error` as
 * UPSTREAM_INVALID_REQUEST, anything else PROVIDER_UNAVAILABLE.
 * @see https://platform.openai.com/docs/guides/error-codes
 */
export function fromOpenAIStreamError(body: unknown, provider: string): GatewayError {
  const byStatus = byNumericStatus(body, provider);
  if (!byStatus) return fromStatuslessError(body, provider, "upstream reported an error mid-stream", true);
  return gatewayError(byStatus.code, byStatus.reason, byStatus.rawMessage, { ...byStatus.facts, afterFirstByte: true });
}

/**
 * An error object whose numeric `code` is an HTTP error status (OpenRouter's once its 200 is out,
 * in a body or a stream event: 401, 402, 408, 409, 429, 502 …), read as if the server had answered
 * with that status, so a rejected credential, a timeout or a lock conflict means what it means
 * there; undefined for any other.
 */
function byNumericStatus(body: unknown, provider: string, retryAfterMs?: number): GatewayError | undefined {
  // Only the code is read here (readError would build the error's fields' Struct, which fromOpenAIError builds again).
  const { code } = readErrorFields(body);
  return typeof code === "number" && Number.isInteger(code) && code >= 400 && code <= 599 ? fromOpenAIError(code, body, provider, retryAfterMs) : undefined;
}

/**
 * Maps the error of a 200 non-streaming answer that has an `error` and no `choices` (OpenRouter
 * answers a failure of the provider behind it that way once its 200 is out: `{"error": {"message",
 * "code": 429}}`). A numeric `code` that is an HTTP error status is read as the status, as if
 * the server had answered with it; otherwise the structured fields decide, as for a mid-stream error.
 * @see https://openrouter.ai/docs/api-reference/errors
 */
export function fromOpenAIInBandError(body: unknown, provider: string, retryAfterMs?: number): GatewayError {
  return byNumericStatus(body, provider, retryAfterMs) ?? fromStatuslessError(body, provider, "upstream answered with an error", false);
}

function fromStatuslessError(body: unknown, provider: string, fallbackMessage: string, afterFirstByte: boolean): GatewayError {
  const google = fromGoogleEnvelope(body, provider, 200);
  if (google) return google;
  const read = readError(body, fallbackMessage);
  const upstreamCode = read.code ?? read.type;
  const facts: ErrorFacts = {
    provider,
    ...(afterFirstByte ? { afterFirstByte: true } : {}),
    ...(read.numericCode !== undefined ? { upstreamStatus: read.numericCode } : {}),
    ...(upstreamCode ? { upstreamCode } : {}),
    ...(read.param ? { param: read.param } : {}),
    ...(read.extra ? { upstreamExtra: read.extra } : {}),
  };
  const byCode = errorFromCode(read, provider, facts);
  if (byCode) return byCode;
  const { code, type, numericCode, message } = read;
  if (code === "rate_limit_exceeded" || type === "rate_limit_error" || type === "rate_limit_exceeded" || numericCode === 429) {
    return gatewayError(Code.ResourceExhausted, Reason.RATE_LIMIT_EXCEEDED, `provider "${provider}" is rate limiting: ${message}`, facts);
  }
  if (type === "invalid_request_error" || (numericCode !== undefined && numericCode >= 400 && numericCode < 500)) {
    return gatewayError(Code.InvalidArgument, Reason.UPSTREAM_INVALID_REQUEST, message, facts);
  }
  return gatewayError(Code.Unavailable, Reason.PROVIDER_UNAVAILABLE, `provider "${provider}" reported an error${afterFirstByte ? " mid-stream" : ""}: ${message}`, facts);
}
