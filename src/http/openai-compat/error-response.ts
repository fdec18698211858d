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

/** The statuses the OpenAI SDKs retry on their own (twice by default) unless `x-should-retry` says otherwise. */
function retriedBySdks(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * Maps a GatewayError to the OpenAI error envelope `{"error":{"message","type","param","code"}}`
 * with the status the OpenAI SDKs expect (the one code-to-status table of the REST edge).
 * `code` is the lower-case reason; Retry-After is forwarded on 429 and 503; a routed request's
 * attempts, failed and skipped targets go in the x-switchyard-* headers, as on a success.
 * A routed failure without Retry-After carries `x-should-retry: false`: the gateway has already
 * retried and failed over as its policy says, so the OpenAI SDKs do not repeat the whole run
 * two more times (a silent or failing provider is not hammered through them). With
 * Retry-After they wait that long and retry, as the provider (or an open circuit) asked.
 */
export function toRestError(error: GatewayError): RestError {
  const status = STATUS_BY_REASON[error.reason] ?? STATUS_BY_CODE[error.code] ?? 500;
  const headers = errorRouteHeaders(error);
  if (error.facts.retryAfterMs !== undefined) headers["retry-after"] = String(Math.max(0, Math.ceil(error.facts.retryAfterMs / 1000)));
  else if (error.route && retriedBySdks(status)) headers["x-should-retry"] = "false";
  return {
    status,
    headers,
    body: {
      error: {
        message: error.rawMessage,
        type: errorType(status, error.reason),
        param: error.facts.param ?? null,
        code: error.reason.toLowerCase(),
      },
    },
  };
}
