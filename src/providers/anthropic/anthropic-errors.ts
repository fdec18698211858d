import { Code } from "@connectrpc/connect";
import { gatewayError, type GatewayError, Reason } from "../../core/errors.js";
import { errorFromUpstreamStatus, nonJsonErrorText, scrubSecrets } from "../upstream-status.js";
import { ownEntry } from "../../core/own-entry.js";
import { parseAnthropicErrorObject, type AnthropicErrorObject } from "./anthropic-wire.js";

/** Reads an error response body `{type:"error", error:{type, message}, request_id}`; unreadable bodies give `{}`. */
function parseAnthropicErrorBody(text: string): AnthropicErrorObject & { requestId?: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {};
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return {};
  const body = value as { readonly error?: unknown; readonly request_id?: unknown };
  const error = parseAnthropicErrorObject(body.error);
  return typeof body.request_id === "string" ? { ...error, requestId: body.request_id } : error;
}

/** HTTP status Anthropic documents for each error type; used for errors that arrive inside a 200 stream. */
const STATUS_BY_ERROR_TYPE: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  billing_error: 402,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/**
 * The only prose match in this adapter: Anthropic reports an over-long prompt as a plain
 * invalid_request_error ("prompt is too long: 208310 tokens > 200000 maximum", or "input length and
 * `max_tokens` exceed context limit: …") with no code.
 */
const PROMPT_TOO_LONG = /prompt is too long|exceed context limit/i;

/**
 * The other prose match: Anthropic reports an account out of credit or over its spend limit as a
 * plain 400 invalid_request_error too ("Your credit balance is too low to access the Anthropic
 * API…", "You have reached your specified API usage limits. You will regain access on …"). It is
 * the account's state, not the request's fault, so it is quota exhaustion (fail over), as a 402
 * `billing_error` is.
 */
const OUT_OF_CREDIT = /credit balance is too low|reached your specified API usage limits/i;

interface ClassifyInput {
  readonly provider: string;
  /** The HTTP status; undefined for an error event inside a 200 stream. */
  readonly status: number | undefined;
  readonly error: AnthropicErrorObject & { requestId?: string };
  readonly retryAfterMs?: number;
  readonly afterFirstByte?: boolean;
  readonly cause?: unknown;
}

function classify(input: ClassifyInput): GatewayError {
  const { provider, error } = input;
  const type = error.type;
  const effectiveStatus = input.status ?? (type ? ownEntry(STATUS_BY_ERROR_TYPE, type) : undefined) ?? 500;
  const message = scrubSecrets(error.message ?? (type ? type.replace(/_/g, " ") : `HTTP ${effectiveStatus}`));
  const facts = {
    provider,
    ...(input.status !== undefined ? { upstreamStatus: input.status } : {}),
    ...(type ? { upstreamCode: type } : {}),
    ...(input.retryAfterMs !== undefined ? { retryAfterMs: input.retryAfterMs } : {}),
    ...(input.afterFirstByte !== undefined ? { afterFirstByte: input.afterFirstByte } : {}),
    ...(error.requestId !== undefined ? { upstreamRequestId: error.requestId } : {}),
  };
  if (effectiveStatus === 401 || effectiveStatus === 403 || type === "authentication_error" || type === "permission_error") {
    // Never forward the provider's text: an auth failure can echo part of the key.
    const status = effectiveStatus === 403 || type === "permission_error" ? 403 : 401;
    const base = errorFromUpstreamStatus({ provider, status, message: "", ...(type ? { upstreamCode: type } : {}) });
    return gatewayError(base.code, base.reason, base.rawMessage, facts, input.cause);
  }
  if (effectiveStatus === 529 || type === "overloaded_error") {
    return gatewayError(Code.Unavailable, Reason.PROVIDER_UNAVAILABLE, `provider "${provider}" is overloaded: ${message}`, facts, input.cause);
  }
  if (effectiveStatus === 429 || type === "rate_limit_error") {
    return gatewayError(Code.ResourceExhausted, Reason.RATE_LIMIT_EXCEEDED, `provider "${provider}" is rate limiting: ${message}`, facts, input.cause);
  }
  if (effectiveStatus === 402 || type === "billing_error" || ((type === "invalid_request_error" || effectiveStatus === 400) && OUT_OF_CREDIT.test(message))) {
    return gatewayError(Code.ResourceExhausted, Reason.INSUFFICIENT_QUOTA, `provider "${provider}" quota exhausted: ${message}`, facts, input.cause);
  }
  if (type === "invalid_request_error" || effectiveStatus === 400) {
    if (PROMPT_TOO_LONG.test(message)) {
      return gatewayError(Code.InvalidArgument, Reason.CONTEXT_LENGTH_EXCEEDED, `provider "${provider}": ${message}`, facts, input.cause);
    }
    return gatewayError(Code.InvalidArgument, Reason.UPSTREAM_INVALID_REQUEST, `provider "${provider}" rejected the request: ${message}`, facts, input.cause);
  }
  const base = errorFromUpstreamStatus({ provider, status: effectiveStatus, message, ...(type ? { upstreamCode: type } : {}) });
  return gatewayError(base.code, base.reason, base.rawMessage, facts, input.cause);
}

/**
 * Maps a non-2xx Anthropic response to a GatewayError, reading the structured `error.type` first:
 * rate_limit_error/429 → RATE_LIMIT_EXCEEDED (with retryAfterMs), overloaded_error/529 →
 * PROVIDER_UNAVAILABLE, invalid_request_error → UPSTREAM_INVALID_REQUEST with the provider's
 * scrubbed message ("prompt is too long" → CONTEXT_LENGTH_EXCEEDED), an account out of credit or
 * over its spend limit (402 billing_error, or the 400 that says so) → INSUFFICIENT_QUOTA, 401/403 → PROVIDER_AUTH_FAILED
 * with no provider text; everything else falls back to the shared status table. The scrubbed raw
 * body is kept as the error's cause for logs.
 * @see https://docs.claude.com/en/api/errors
 */
export function fromAnthropicErrorResponse(response: { provider: string; status: number; bodyText: string; retryAfterMs?: number }): GatewayError {
  const parsed = parseAnthropicErrorBody(response.bodyText);
  // A body that is not Anthropic's error object (a proxy's page) is described instead.
  const described = parsed.message === undefined && parsed.type === undefined ? nonJsonErrorText(response.bodyText) : undefined;
  const error = described === undefined ? parsed : { ...parsed, message: described };
  return classify({
    provider: response.provider,
    status: response.status,
    error,
    ...(response.retryAfterMs !== undefined ? { retryAfterMs: response.retryAfterMs } : {}),
    cause: scrubSecrets(response.bodyText),
  });
}

/**
 * Maps an `error` event received inside a 200 stream to a GatewayError, by its `error.type`
 * (overloaded_error → PROVIDER_UNAVAILABLE, the same as HTTP 529). The error says bytes had
 * already arrived (`afterFirstByte`), so the core does not fail over.
 * @see https://docs.claude.com/en/docs/build-with-claude/streaming#error-events
 */
export function fromAnthropicStreamError(provider: string, error: AnthropicErrorObject): GatewayError {
  return classify({ provider, status: undefined, error, afterFirstByte: true, cause: error });
}
