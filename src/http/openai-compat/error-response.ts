import { Code } from "@connectrpc/connect";
import { Reason, type GatewayError } from "../../core/errors.js";
import type { OpenAIErrorBody } from "../../wire/openai-chat-completions.js";
import { errorRouteHeaders } from "../../server/route-headers.js";

/** HTTP status per Connect code, mirroring the Connect protocol's documented mapping. */
const STATUS_BY_CODE: Readonly<Record<Code, number>> = {
  [Code.Canceled]: 499,
  [Code.Unknown]: 500,
  [Code.InvalidArgument]: 400,
  [Code.DeadlineExceeded]: 504,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.PermissionDenied]: 403,
  [Code.ResourceExhausted]: 429,
  [Code.FailedPrecondition]: 400,
  [Code.Aborted]: 409,
  [Code.OutOfRange]: 400,
  [Code.Unimplemented]: 501,
  [Code.Internal]: 500,
  [Code.Unavailable]: 503,
  [Code.DataLoss]: 500,
  [Code.Unauthenticated]: 401,
};

/** Reasons whose REST status differs from their code's: upstream failures the gateway relays. */
const STATUS_BY_REASON: Partial<Record<Reason, number>> = {
  [Reason.PROVIDER_AUTH_FAILED]: 502,
  [Reason.INVALID_PROVIDER_RESPONSE]: 502,
  [Reason.STREAM_INTERRUPTED]: 502,
  [Reason.REQUEST_TOO_LARGE]: 413,
};

/** OpenAI error `type` per status class. */
function errorType(status: number, reason: Reason): string {
  if (reason === Reason.INVALID_API_KEY) return "authentication_error";
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

/** A REST error answer: status, OpenAI envelope body and extra headers. */
export interface RestError {
  readonly status: number;
  readonly body: OpenAIErrorBody;
  readonly headers: Record<string, string>;
}

/** The longest Retry-After an SDK is left to wait out and retry after; a longer one is passed on with `x-should-retry: false`. */
const MAX_SDK_WAIT_MS = 60_000;

/** The statuses the OpenAI SDKs retry on their own (twice by default) unless `x-should-retry` says otherwise. */
function retriedBySdks(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * Maps a GatewayError to the OpenAI error envelope `{"error":{"message","type","param","code"}}`
 * with the status the OpenAI SDKs expect (the one code-to-status table of the REST edge).
 * `code` is the lower-case reason; Retry-After is forwarded on 429 and 503; a routed request's
 * attempts, failed and skipped targets go in the x-switchyard-* headers, as on a success.
 * A routed failure carries `x-should-retry: false`: the gateway has already retried and failed
 * over as its policy says, so the OpenAI SDKs do not repeat the whole run two more times (a silent
 * or failing provider is not hammered through them). The exception is a Retry-After of at most 60
 * s that routing did not wait out itself (a provider's that did not fit the retry budget, an open
 * circuit's time to its probe): the SDKs then wait that long and retry, as asked.
 */
export function toRestError(error: GatewayError): RestError {
  const status = STATUS_BY_REASON[error.reason] ?? STATUS_BY_CODE[error.code] ?? 500;
  const headers = errorRouteHeaders(error);
  const retryAfterMs = error.facts.retryAfterMs;
  if (retryAfterMs !== undefined) headers["retry-after"] = String(Math.max(0, Math.ceil(retryAfterMs / 1000)));
  // The SDKs wait for any Retry-After (the Node SDK without a bound) unless told not to retry.
  const sdkMayWait = retryAfterMs !== undefined && !error.retryAfterHonoured && retryAfterMs <= MAX_SDK_WAIT_MS;
  if (error.route && retriedBySdks(status) && !sdkMayWait) headers["x-should-retry"] = "false";
  return {
    status,
    headers,
    body: {
      error: {
        // A provider's own fields first (Azure's `innererror`, where Azure puts it); the envelope's own win.
        ...error.facts.upstreamExtra,
        message: error.rawMessage,
        type: errorType(status, error.reason),
        param: error.facts.param ?? null,
        code: error.reason.toLowerCase(),
      },
    },
  };
}
