import { Code } from "@connectrpc/connect";
import { gatewayError, type GatewayError, Reason } from "../core/errors.js";
import { ownEntry } from "../core/own-entry.js";
import { errorFromUpstreamStatus, scrubSecrets } from "./upstream-status.js";
import { cappedRetryAfterMs } from "./upstream-http.js";

/*
 * Google's error envelope (google.rpc.Status as JSON: `{error: {code, message, status, details}}`),
 * which Gemini answers with, and so do the OpenAI-compatible endpoints of Gemini and Vertex AI
 * (there inside a one-element array), read into the gateway's errors.
 */

/** Google's error object, `{error:{code, message, status, details}}`. */
export interface GoogleStatusError {
  readonly code?: number;
  readonly message?: string;
  readonly status?: string;
  readonly details: readonly Readonly<Record<string, unknown>>[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Whether `error` is named by one of google.rpc's status codes (INVALID_ARGUMENT, RESOURCE_EXHAUSTED, …): Google's envelope, not another's that happens to fit it. */
export function isGoogleStatus(error: GoogleStatusError | undefined): error is GoogleStatusError {
  return error?.status !== undefined && ownEntry(STATUS_HTTP, error.status) !== undefined;
}

/** Reads Google's `{error:{...}}` envelope (also inside a one-element array); undefined when absent. */
export function parseGoogleStatusError(value: unknown): GoogleStatusError | undefined {
  const envelope = Array.isArray(value) && value.length === 1 ? value[0] : value;
  if (!isRecord(envelope) || !isRecord(envelope.error)) return undefined;
  const error = envelope.error;
  const details = Array.isArray(error.details) ? error.details.filter(isRecord) : [];
  return {
    ...(typeof error.code === "number" && Number.isFinite(error.code) ? { code: error.code } : {}),
    ...(typeof error.message === "string" ? { message: error.message } : {}),
    ...(typeof error.status === "string" ? { status: error.status } : {}),
    details,
  };
}

/** google.rpc.Code names -> the HTTP status Google pairs them with. */
const STATUS_HTTP: Readonly<Record<string, number>> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  OUT_OF_RANGE: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ABORTED: 409,
  ALREADY_EXISTS: 409,
  RESOURCE_EXHAUSTED: 429,
  CANCELLED: 499,
  INTERNAL: 500,
  UNKNOWN: 500,
  DATA_LOSS: 500,
  UNIMPLEMENTED: 501,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
};

/** ErrorInfo reasons that mean the gateway's own Gemini API key is bad (Google reports some as 400). */
const CREDENTIAL_REASONS = new Set([
  "API_KEY_INVALID",
  "API_KEY_EXPIRED",
  "API_KEY_SERVICE_BLOCKED",
  "API_KEY_HTTP_REFERRER_BLOCKED",
  "API_KEY_IP_ADDRESS_BLOCKED",
  "API_KEY_ANDROID_APP_BLOCKED",
  "API_KEY_IOS_APP_BLOCKED",
]);

/** How Gemini (and Vertex AI) word a prompt beyond the model's context window. */
const TOO_MANY_INPUT_TOKENS = /input token count.*exceeds the maximum number of tokens/i;

/**
 * How Gemini words a FAILED_PRECONDITION about the account rather than the request: the gateway's
 * location is not served ("User location is not supported for the API use[ without a billing
 * account linked]."), or the free tier is not available there ("… Please enable billing …").
 */
const ACCOUNT_PRECONDITION = /user location is not supported|free tier is not available|enable billing/i;

const ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo";
const RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo";

/**
 * Parses a protobuf Duration in JSON form ("34s", "34.4s", "0.5s") into milliseconds (at most a
 * day, as every provider wait); undefined when it is not one.
 * @see https://protobuf.dev/reference/protobuf/google.protobuf/#duration
 */
export function parseRetryDelay(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const match = /^(\d+(?:\.\d+)?)s$/.exec(value.trim());
  return match?.[1] ? cappedRetryAfterMs(Number(match[1]) * 1000) : undefined;
}

/** The upstream HTTP status, the raw error and the response's Retry-After, for {@link fromGoogleStatusError}. */
export interface GoogleErrorInput {
  readonly provider: string;
  /** The HTTP status of the response (200 for an error event inside a stream). */
  readonly httpStatus: number;
  readonly error: GoogleStatusError;
  /** Retry-After from the response headers, in ms. */
  readonly headerRetryAfterMs?: number;
}

/**
 * Maps a Google error object to a GatewayError from its structured fields: an ErrorInfo reason
 * API_KEY_INVALID (and the other key reasons) is PROVIDER_AUTH_FAILED whatever the HTTP status,
 * with a message that never repeats Google's text; otherwise the `status` name (INVALID_ARGUMENT,
 * RESOURCE_EXHAUSTED, UNAVAILABLE, ...) decides, then `code`, then the HTTP status; a 400 whose
 * message says the input token count exceeds the maximum is CONTEXT_LENGTH_EXCEEDED; a
 * FAILED_PRECONDITION about the account (location not served, billing needed) is
 * PROVIDER_UNAVAILABLE, so the request fails over instead of blaming the caller, and so is
 * CANCELLED (499), which only Google's backend can have decided. RetryInfo
 * `retryDelay` becomes retryAfterMs (falling back to the Retry-After header). Caller-visible
 * messages are scrubbed of secrets.
 * @see https://ai.google.dev/gemini-api/docs/troubleshooting#error-codes
 */
export function fromGoogleStatusError(input: GoogleErrorInput): GatewayError {
  const { provider, error } = input;
  const reasons = error.details.filter((detail) => detail["@type"] === ERROR_INFO).map((detail) => detail.reason).filter((reason): reason is string => typeof reason === "string");
  const credentialReason = reasons.find((reason) => CREDENTIAL_REASONS.has(reason));
  const upstreamStatus = input.httpStatus >= 400 ? input.httpStatus : (error.code ?? 500);
  if (credentialReason) {
    return gatewayError(
      Code.Internal,
      Reason.PROVIDER_AUTH_FAILED,
      `the gateway's credential for provider account "${provider}" was rejected (upstream ${upstreamStatus} ${credentialReason})`,
      { provider, upstreamStatus, upstreamCode: credentialReason },
    );
  }
  const retryInfo = error.details.find((detail) => detail["@type"] === RETRY_INFO);
  const retryAfterMs = parseRetryDelay(retryInfo?.retryDelay) ?? input.headerRetryAfterMs;
  const status = (error.status ? ownEntry(STATUS_HTTP, error.status) : undefined) ?? error.code ?? upstreamStatus;
  const upstreamCode = error.status ?? reasons[0];
  if (error.status === "CANCELLED") {
    // The gateway's own cancel never reads an answer: a CANCELLED one is Google's backend giving up
    // ("The operation was cancelled.", reason backendError, under load), so another target is tried.
    const message = `provider "${provider}" failed (upstream ${upstreamStatus} CANCELLED): ${scrubSecrets(error.message ?? "")}`;
    return gatewayError(Code.Unavailable, Reason.PROVIDER_UNAVAILABLE, message, { provider, upstreamStatus, upstreamCode: error.status });
  }
  if (error.status === "FAILED_PRECONDITION" && ACCOUNT_PRECONDITION.test(error.message ?? "")) {
    // Not the caller's fault, and another account or provider may serve the request: a provider failure, which fails over.
    const message = `provider "${provider}" cannot serve requests from this account (upstream ${upstreamStatus}): ${scrubSecrets(error.message ?? "")}`;
    return gatewayError(Code.Unavailable, Reason.PROVIDER_UNAVAILABLE, message, { provider, upstreamStatus, upstreamCode: error.status });
  }
  const mapped = errorFromUpstreamStatus({
    provider,
    status,
    message: scrubSecrets(error.message ?? `upstream ${upstreamStatus}`),
    ...(upstreamCode ? { upstreamCode } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  });
  // Google has no structured code for an over-long prompt: a 400 INVALID_ARGUMENT says it in words.
  const reason = status === 400 && TOO_MANY_INPUT_TOKENS.test(error.message ?? "") ? Reason.CONTEXT_LENGTH_EXCEEDED : mapped.reason;
  if (mapped.facts.upstreamStatus === upstreamStatus && reason === mapped.reason) return mapped;
  return gatewayError(mapped.code, reason, mapped.rawMessage, { ...mapped.facts, upstreamStatus });
}
