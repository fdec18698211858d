import { Reason, type GatewayError } from "../errors.js";

/**
 * What the gateway does after an upstream attempt failed:
 * - `retry`: the same target may succeed on a later attempt (after backoff or Retry-After);
 * - `failover`: do not try this target again for this request, move on to the next target;
 * - `final`: answer the caller with this error now (the request itself is at fault);
 * - `stop`: the caller went away; stop everything.
 */
export type FailureAction = "retry" | "failover" | "final" | "stop";

/** The one verdict on an upstream failure, decided from its structured fields only. */
export interface FailureClassification {
  readonly action: FailureAction;
  /** Whether the failure says the target is unhealthy, i.e. counts against its circuit breaker. */
  readonly unhealthy: boolean;
  /**
   * The provider was not heard from: one of the gateway's own bounds ended the attempt (a tighter
   * timeout than the target's own, a full connection pool, the in-flight media bound). Its circuit
   * is neither charged nor credited: no failure counted, and no success that would reset the count
   * or close a half-open circuit.
   */
  readonly unheard?: true;
}

/** Upstream HTTP statuses that are transient overloads or gateway errors worth retrying. */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 409, 425, 500, 502, 503, 504, 529]);

const RETRY: FailureClassification = { action: "retry", unhealthy: true };
const FAILOVER_UNHEALTHY: FailureClassification = { action: "failover", unhealthy: true };
const FAILOVER_HEALTHY: FailureClassification = { action: "failover", unhealthy: false };
const FAILOVER_UNHEARD: FailureClassification = { action: "failover", unhealthy: false, unheard: true };
const FINAL: FailureClassification = { action: "final", unhealthy: false };
const STOP: FailureClassification = { action: "stop", unhealthy: false };

/**
 * Classifies an upstream failure once, from its reason and facts (upstream status,
 * afterFirstByte), never from message text. The table:
 * - retry the same target: connection refused/reset before any byte (PROVIDER_UNREACHABLE),
 *   HTTP 409/425/500/502/503/504/529 and in-stream provider errors (PROVIDER_UNAVAILABLE), upstream
 *   408/504 (UPSTREAM_TIMEOUT with a status), 429 (RATE_LIMIT_EXCEEDED), and a stream that ended
 *   before it said anything (STREAM_INTERRUPTED);
 * - fail over without retrying: our own first-byte/first-token/total/idle timeout (a silent or
 *   stalled provider is not called again), a connection lost after bytes arrived, other 5xx,
 *   exhausted quota, the gateway's provider key rejected, a malformed upstream response, and,
 *   without counting against the target's health, our timeout at a bound tighter than the target's
 *   own (facts.tightenedBound: a virtual-model target's override or the caller's deadline, which
 *   other routes to the target do not share), context-length exceeded (the next target may
 *   be larger), a provider's 413 (its body limit may be smaller than the next target's), the gateway at one of its own bounds (in-flight media: a target that needs no download
 *   may still answer; an origin's pooled connections, all busy: another origin may have one free) and a provider's 404 for the model (retired, not deployed on that account, or not
 *   open to its key: another target may serve it; the gateway's own unknown-account 404 comes
 *   before any attempt);
 * - final: everything that is the request's own fault or ours (invalid request, content filter,
 *   unknown model, request too large, unsupported feature, internal errors);
 * - stop: the caller canceled.
 * A failure whose provider said `x-should-retry: false` (facts.noRetry) fails over instead of
 * retrying. Mid-stream failures after content reached the caller are recovered by failing over,
 * never by retrying the same target; that decision belongs to the stream driver, not this table.
 */
export function classifyFailure(error: GatewayError): FailureClassification {
  const byReason = classifyByReason(error);
  // The provider's `x-should-retry: false` (facts.noRetry): the same target is not asked again.
  if (byReason.action === "retry" && error.facts.noRetry) return byReason.unhealthy ? FAILOVER_UNHEALTHY : FAILOVER_HEALTHY;
  return byReason;
}

function classifyByReason(error: GatewayError): FailureClassification {
  const status = error.facts.upstreamStatus;
  switch (error.reason) {
    case Reason.CANCELED:
      return STOP;
    case Reason.PROVIDER_UNREACHABLE:
      return error.facts.afterFirstByte ? FAILOVER_UNHEALTHY : RETRY;
    case Reason.PROVIDER_UNAVAILABLE:
      return status === undefined || status === 0 || RETRYABLE_STATUSES.has(status) ? RETRY : FAILOVER_UNHEALTHY;
    case Reason.UPSTREAM_TIMEOUT:
      if (status !== undefined && RETRYABLE_STATUSES.has(status)) return RETRY;
      return error.facts.tightenedBound ? FAILOVER_UNHEARD : FAILOVER_UNHEALTHY;
    case Reason.RATE_LIMIT_EXCEEDED:
      return RETRY;
    case Reason.STREAM_INTERRUPTED:
      return RETRY;
    case Reason.INSUFFICIENT_QUOTA:
    case Reason.PROVIDER_AUTH_FAILED:
    case Reason.INVALID_PROVIDER_RESPONSE:
      return FAILOVER_UNHEALTHY;
    case Reason.CONTEXT_LENGTH_EXCEEDED:
      return FAILOVER_HEALTHY;
    case Reason.REQUEST_TOO_LARGE:
      // A provider's smaller body limit (the next target may take it); the gateway's own 413 comes before any attempt.
      return status ? FAILOVER_HEALTHY : FINAL;
    case Reason.GATEWAY_OVERLOADED:
      return FAILOVER_UNHEARD;
    case Reason.MODEL_NOT_FOUND:
      return status ? FAILOVER_HEALTHY : FINAL;
    default:
      return FINAL;
  }
}

/** Whether the gateway moves on (retry or next target) instead of answering with this failure. */
export function isFailoverError(error: GatewayError): boolean {
  const { action } = classifyFailure(error);
  return action === "retry" || action === "failover";
}
