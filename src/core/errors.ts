import { Code, ConnectError } from "@connectrpc/connect";
import { create, type JsonObject } from "@bufbuild/protobuf";
import type { RouteInfo } from "../../gen/switchyard/v1/chat_pb.js";
import type { TimeoutSettings } from "../config/gateway-config.js";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/error_pb.js";

/**
 * Stable reasons for every error the gateway produces. They travel as ErrorDetail.reason on
 * gRPC/Connect and as the lower-case `error.code` of the OpenAI envelope on REST.
 */
export const Reason = {
  INVALID_REQUEST: "INVALID_REQUEST",
  UNSUPPORTED_FEATURE: "UNSUPPORTED_FEATURE",
  UPSTREAM_INVALID_REQUEST: "UPSTREAM_INVALID_REQUEST",
  CONTEXT_LENGTH_EXCEEDED: "CONTEXT_LENGTH_EXCEEDED",
  CONTENT_FILTER: "CONTENT_FILTER",
  REQUEST_TOO_LARGE: "REQUEST_TOO_LARGE",
  MODEL_NOT_FOUND: "MODEL_NOT_FOUND",
  NOT_FOUND: "NOT_FOUND",
  INVALID_API_KEY: "INVALID_API_KEY",
  PERMISSION_DENIED: "PERMISSION_DENIED",
  PROVIDER_AUTH_FAILED: "PROVIDER_AUTH_FAILED",
  RATE_LIMIT_EXCEEDED: "RATE_LIMIT_EXCEEDED",
  INSUFFICIENT_QUOTA: "INSUFFICIENT_QUOTA",
  PROVIDER_UNAVAILABLE: "PROVIDER_UNAVAILABLE",
  PROVIDER_UNREACHABLE: "PROVIDER_UNREACHABLE",
  UPSTREAM_TIMEOUT: "UPSTREAM_TIMEOUT",
  STREAM_INTERRUPTED: "STREAM_INTERRUPTED",
  INVALID_PROVIDER_RESPONSE: "INVALID_PROVIDER_RESPONSE",
  CANCELED: "CANCELED",
  SHUTTING_DOWN: "SHUTTING_DOWN",
  /** The gateway is at one of its own process-wide bounds (media.max_inflight_bytes, an origin's pooled connections): try again shortly. */
  GATEWAY_OVERLOADED: "GATEWAY_OVERLOADED",
  INTERNAL_ERROR: "INTERNAL_ERROR",
} as const;

/** One of the {@link Reason} values. */
export type Reason = (typeof Reason)[keyof typeof Reason];

/** Structured facts an error carries besides its code and message. */
export interface ErrorFacts {
  /** The request field at fault, as an OpenAI-style JSON path. */
  readonly param?: string;
  /** The provider account whose upstream failed. */
  readonly provider?: string;
  /** The upstream HTTP status. */
  readonly upstreamStatus?: number;
  /** The provider's own error type or code. */
  readonly upstreamCode?: string;
  /** How long the caller should wait before retrying, in milliseconds. */
  readonly retryAfterMs?: number;
  /** Whether any byte of the upstream response body had been received when it failed. */
  readonly afterFirstByte?: boolean;
  /** The provider said not to send the request again (`x-should-retry: false`): the route does not retry that target. */
  readonly noRetry?: boolean;
  /** The provider's id of the failed request (Anthropic's `request_id`), for its support; edges send it as `x-upstream-request-id`. */
  readonly upstreamRequestId?: string;
  /** Which of the attempt's own bounds ended it, when the gateway's timer did (not a provider's 408/504). */
  readonly timeoutBound?: keyof TimeoutSettings;
  /**
   * That bound was tighter for this attempt than the target's own (a virtual-model target's
   * override, the caller's deadline, or what the adapter's own work, such as Gemini's media
   * downloads, left of it): the timeout says nothing about the provider's health.
   */
  readonly tightenedBound?: boolean;
  /** Fields of the provider's error object the gateway does not model (Azure's `innererror`), scrubbed; edges give them back. */
  readonly upstreamExtra?: JsonObject;
}

/**
 * The gateway's one error currency: a ConnectError that also carries a {@link Reason} and
 * {@link ErrorFacts}. Connect serialises it with an ErrorDetail, so gRPC and Connect callers see
 * the same reason that REST callers see in `error.code`.
 */
export class GatewayError extends ConnectError {
  /** Why the request failed. */
  readonly reason: Reason;
  /** Structured facts for edges and routing. */
  readonly facts: ErrorFacts;
  /**
   * How the request was routed when this error ended it (the attempts, failed and skipped
   * targets), set by the core when a routed request fails; undefined for an error raised before
   * any routing (a malformed request, an unknown model). Edges send it as x-switchyard-* headers.
   */
  route: RouteInfo | undefined;
  /**
   * Set by the core when routing already honoured this error's Retry-After (waited it out, or
   * retried the target as often as configured): an edge then tells callers not to retry.
   */
  retryAfterHonoured = false;

  /** ConnectError's duck-typed instanceof would match any ConnectError; this one checks the prototype chain. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === "object" && value !== null && GatewayError.prototype.isPrototypeOf(value);
  }

  constructor(code: Code, reason: Reason, message: string, facts: ErrorFacts = {}, cause?: unknown) {
    const detail = create(ErrorDetailSchema, {
      reason,
      param: facts.param ?? "",
      provider: facts.provider ?? "",
      upstreamStatus: facts.upstreamStatus ?? 0,
      retryAfterMs: facts.retryAfterMs === undefined ? 0 : Math.min(Math.round(facts.retryAfterMs), 2 ** 31 - 1),
      upstreamCode: facts.upstreamCode ?? "",
      ...(facts.upstreamExtra ? { upstreamExtra: facts.upstreamExtra } : {}),
    });
    const metadata = new Headers();
    if (facts.retryAfterMs !== undefined) metadata.set("retry-after", String(Math.max(0, Math.ceil(facts.retryAfterMs / 1000))));
    super(message, code, metadata, [{ desc: ErrorDetailSchema, value: detail }], cause);
    // ConnectError recognises foreign instances by name, so the name must stay "ConnectError".
    this.name = "ConnectError";
    this.reason = reason;
    this.facts = facts;
    this.route = undefined;
  }
}

/** Builds a GatewayError; the one way code in this project creates errors. */
export function gatewayError(code: Code, reason: Reason, message: string, facts?: ErrorFacts, cause?: unknown): GatewayError {
  return new GatewayError(code, reason, message, facts, cause);
}

/** Shorthand for the caller's own mistake in field `param`: INVALID_ARGUMENT / INVALID_REQUEST. */
export function invalidRequest(message: string, param?: string): GatewayError {
  return new GatewayError(Code.InvalidArgument, Reason.INVALID_REQUEST, message, param === undefined ? {} : { param });
}

/** How long a caller refused for one of the gateway's own bounds (GATEWAY_OVERLOADED) is asked to wait before trying again. */
const OVERLOADED_RETRY_AFTER_MS = 1_000;

/**
 * Shorthand for the gateway at one of its own bounds (the in-flight media, an origin's pooled
 * connections): UNAVAILABLE / GATEWAY_OVERLOADED with a Retry-After of 1 s. It says nothing about
 * any provider's health, so routing fails over without counting it against a circuit.
 */
export function gatewayOverloaded(message: string, facts: ErrorFacts = {}): GatewayError {
  return new GatewayError(Code.Unavailable, Reason.GATEWAY_OVERLOADED, message, { ...facts, retryAfterMs: OVERLOADED_RETRY_AFTER_MS });
}

/** Shorthand for a feature the chosen model or provider cannot honour: INVALID_ARGUMENT / UNSUPPORTED_FEATURE. */
export function unsupportedFeature(message: string, param?: string): GatewayError {
  return new GatewayError(Code.InvalidArgument, Reason.UNSUPPORTED_FEATURE, message, param === undefined ? {} : { param });
}

/** How Connect words a request message it could not decode from protobuf binary. */
const CONNECT_PARSE_BINARY = "parse binary: ";
/** How Connect words a unary or server-streaming call sent no request message, or more than one. */
const CONNECT_MESSAGE_COUNT = /^protocol error: (?:missing|received extra) input message/;

/** The reason of a ConnectError raised by Connect itself, by its code (its bad-input and size-limit errors are the caller's). */
const CONNECT_CODE_REASONS: Partial<Record<Code, Reason>> = {
  [Code.Canceled]: Reason.CANCELED,
  [Code.DeadlineExceeded]: Reason.UPSTREAM_TIMEOUT,
  [Code.InvalidArgument]: Reason.INVALID_REQUEST,
  [Code.ResourceExhausted]: Reason.REQUEST_TOO_LARGE,
  // A compression, protocol feature or method the caller asked for that the gateway does not have.
  [Code.Unimplemented]: Reason.UNSUPPORTED_FEATURE,
};

/** The code of an error Connect raised itself, where the gateway's differs: the caller's malformed request is INVALID_ARGUMENT, as on the gRPC fast path. */
function connectCode(error: ConnectError): Code {
  // Connect calls a request message it cannot decode `internal`, and a wrong number of them `unimplemented`.
  if (error.code === Code.Internal && error.rawMessage.startsWith(CONNECT_PARSE_BINARY)) return Code.InvalidArgument;
  if (error.code === Code.Unimplemented && CONNECT_MESSAGE_COUNT.test(error.rawMessage)) return Code.InvalidArgument;
  return error.code;
}

/**
 * Turns anything thrown into a GatewayError. ConnectErrors from Connect itself keep their code
 * (except a malformed request: an undecodable message, or none or two where one is due, which is
 * INVALID_ARGUMENT) and get the reason of that code; AbortErrors become CANCELED; everything else
 * is an INTERNAL_ERROR whose message hides internals.
 */
export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  if (error instanceof ConnectError) {
    const code = connectCode(error);
    const reason = CONNECT_CODE_REASONS[code] ?? Reason.INTERNAL_ERROR;
    return new GatewayError(code, reason, error.rawMessage, {}, error);
  }
  if (error instanceof Error && error.name === "AbortError") {
    return new GatewayError(Code.Canceled, Reason.CANCELED, "the request was canceled", {}, error);
  }
  return new GatewayError(Code.Internal, Reason.INTERNAL_ERROR, "internal gateway error", {}, error);
}
