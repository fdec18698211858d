import { Code } from "@connectrpc/connect";
import type { AttemptFailure, ChatInput, RouteInfo, SkippedTarget } from "../../../gen/switchyard/v1/chat_pb.js";
import type { TimeoutSettings } from "../../config/gateway-config.js";
import { gatewayError, Reason, toGatewayError, type GatewayError } from "../errors.js";
import type { ResolvedTarget } from "../model-catalog.js";
import { cleanedProviderError } from "../../providers/upstream-status.js";
import { unmetRequirement } from "./capability-filter.js";
import type { CircuitBreakers, CircuitPermit } from "./circuit-breaker.js";
import { classifyFailure, type FailureAction } from "./failure-classification.js";
import type { RequestScope } from "./request-scope.js";
import { decideRetry, type RandomSource } from "./retry-policy.js";

/** One upstream attempt handed out by a {@link RouteRun}. */
export interface Attempt {
  readonly target: ResolvedTarget;
  /** 1-based number of this attempt within the request. */
  readonly number: number;
  /** 0 for a target's first attempt, 1 for its first retry, ... */
  readonly retry: number;
  readonly permit: CircuitPermit;
  /** The target's timeouts, each capped to the time left before the caller's deadline (RequestScope.capTimeouts). */
  readonly timeouts: TimeoutSettings;
}

/** One failed attempt, as reported to the gateway's hooks. */
export interface AttemptReport {
  readonly target: string;
  readonly attempt: number;
  readonly error: GatewayError;
  readonly action: FailureAction;
  /** The wait before the next attempt on the same target, when retrying. */
  readonly retryInMs?: number;
  /** Why the target was left, when failing over. */
  readonly why?: string;
  /** The name of the gateway key the request came with (CallContext.keyName). */
  readonly keyName?: string | undefined;
}

/** The skip reason of a target whose circuit is open (route info and `x-switchyard-skipped`). */
const CIRCUIT_OPEN = "CIRCUIT_OPEN";

/** What a run needs besides the ordered targets. */
export interface RouteRunOptions {
  readonly input: ChatInput;
  readonly scope: RequestScope;
  readonly breakers: CircuitBreakers;
  readonly random: RandomSource;
  /** The name of the gateway key the request came with, for the reports. */
  readonly keyName?: string | undefined;
  readonly onAttemptFailed: (report: AttemptReport) => void;
  /** Called when a failure says the target is unhealthy (e.g. to penalise its latency estimate). */
  readonly onUnhealthy?: (target: ResolvedTarget) => void;
}

/**
 * A RangeError out of an attempt: the adapter could not process what the provider sent (JSON
 * nested thousands deep overflows the stack of the translators and of JSON.stringify; a string
 * past V8's length limit; a number out of range). The caller's request was bounded at the edge
 * (100 levels of JSON, the body limit), so it is the answer's fault: INVALID_PROVIDER_RESPONSE,
 * which fails over, rather than a final internal error.
 */
function unprocessableAnswer(thrown: RangeError, provider: string): GatewayError {
  return gatewayError(Code.Internal, Reason.INVALID_PROVIDER_RESPONSE, `provider "${provider}" sent an answer the gateway cannot process (${thrown.message})`, { provider }, thrown);
}

/**
 * The error of a timeout at a bound tighter for this attempt than the target's own (a virtual-model
 * target's override, or the caller's deadline), marked `tightenedBound`: it says nothing about the
 * provider's health, which every route to the target shares. Any other error is returned as it is.
 */
function withTightenedBound(error: GatewayError, attempt: Attempt): GatewayError {
  const bound = error.facts.timeoutBound;
  if (bound === undefined || attempt.timeouts[bound] >= attempt.target.sharedTimeouts[bound]) return error;
  return gatewayError(error.code, error.reason, error.rawMessage, { ...error.facts, tightenedBound: true }, error.cause);
}

/**
 * The attempt sequence of one request over its ordered, de-duplicated targets. It skips targets
 * that cannot take the request (per the catalogue; when none can, the primary is tried anyway so
 * the caller gets its real answer or error) and targets whose circuit is open; it retries a
 * target after backoff or Retry-After while the failure class, the retry count and the retry
 * budget allow, and otherwise moves to the next target. The budget bounds the sum of the waits
 * scheduled between attempts over the whole request (time spent in attempts does not use it up);
 * each wait must also fit before the caller's deadline, which bounds the request's overall time.
 * It records attempts, failures and skips for the route info as the route runs: in route order,
 * and only for targets the route reached (a fallback behind a target that answered is not skipped).
 */
export class RouteRun {
  /**
   * What each target the run has judged cannot take (undefined: it can), by route position. The
   * constructor judges up to the first target that can; the route judges the others as it reaches them.
   */
  private readonly unmet: (string | undefined)[] = [];
  private readonly failures: { target: string; error: GatewayError }[] = [];
  private readonly skipped: { target: ResolvedTarget; reason: string; detail: string }[] = [];
  private index = 0;
  private retriesOnTarget = 0;
  private pendingDelayMs = 0;
  /** The backoff and Retry-After waits scheduled so far in this request: what the retry budget counts. */
  private waitedMs = 0;
  private attempts = 0;
  private finalError: GatewayError | undefined;

  constructor(private readonly targets: readonly ResolvedTarget[], private readonly options: RouteRunOptions) {
    for (const target of targets) {
      const unmet = unmetRequirement(options.input, target);
      this.unmet.push(unmet);
      if (unmet === undefined) return;
    }
    // Nobody can take it: call the primary anyway, so the caller gets its real answer or error.
    if (targets.length > 0) this.unmet[0] = undefined;
  }

  /**
   * The next attempt, after waiting any backoff; undefined when the run is over (success, a final
   * error, no target left, or the request stopped). Call {@link failed} or {@link succeeded} after each.
   */
  next(): Attempt | undefined | Promise<Attempt | undefined> {
    if (this.finalError || this.options.scope.stopped) return undefined;
    // Only a pending backoff needs a promise; the first attempt of every request is handed out at once.
    return this.pendingDelayMs > 0 ? this.nextAfterDelay() : this.pick();
  }

  private async nextAfterDelay(): Promise<Attempt | undefined> {
    await this.options.scope.sleep(this.pendingDelayMs);
    this.pendingDelayMs = 0;
    return this.options.scope.stopped ? undefined : this.pick();
  }

  private pick(): Attempt | undefined {
    while (this.index < this.targets.length) {
      const target = this.targets[this.index];
      if (!target) break;
      if (this.index === this.unmet.length) this.unmet.push(unmetRequirement(this.options.input, target));
      const unmet = this.unmet[this.index];
      if (unmet !== undefined) {
        this.skipped.push({ target, reason: Reason.UNSUPPORTED_FEATURE, detail: unmet });
        this.advance();
        continue;
      }
      const permit = this.options.breakers.for(target.id, target.circuitBreaker).tryAcquire();
      if (permit) {
        this.attempts++;
        return { target, number: this.attempts, retry: this.retriesOnTarget, permit, timeouts: this.options.scope.capTimeouts(target.timeouts) };
      }
      this.skipped.push({ target, reason: CIRCUIT_OPEN, detail: "" });
      this.advance();
    }
    return undefined;
  }

  private advance(): void {
    this.index++;
    this.retriesOnTarget = 0;
  }

  /**
   * The attempt's failure as a GatewayError. When the request itself is over (caller canceled or
   * deadline passed) it releases the attempt's breaker permit and throws the scope's stop error
   * instead: no failure is recorded against a healthy target for the caller's own stop. The
   * error never carries the target account's credentials, and its provider-given facts are
   * bounded (see cleanedProviderError). A RangeError is the answer's fault (see
   * {@link unprocessableAnswer}); a timeout at a bound tighter than the target's own is marked
   * (see {@link withTightenedBound}).
   */
  failureOf(attempt: Attempt, thrown: unknown): GatewayError {
    const stop = this.options.scope.stopError();
    if (stop) {
      // A caller who left a flowing stream credits the target; its deadline cutting one does not.
      if (stop.code === Code.DeadlineExceeded) attempt.permit.released();
      else attempt.permit.callerLeft();
      // The deadline cut this attempt: it is one of the route's failures (not the target's: no breaker count).
      if (stop.code === Code.DeadlineExceeded) this.failures.push({ target: attempt.target.id, error: stop });
      throw this.withRoute(stop);
    }
    const provider = attempt.target.account.name;
    const error = thrown instanceof RangeError ? unprocessableAnswer(thrown, provider) : toGatewayError(thrown);
    // Whatever the adapter made of the provider's answer, the account's own credentials stay out of it.
    return withTightenedBound(cleanedProviderError(error, attempt.target.account), attempt);
  }

  /** The attempt answered: its target's circuit closes. */
  succeeded(attempt: Attempt): void {
    attempt.permit.succeeded();
  }

  /**
   * A streamed attempt sent its first token: a half-open circuit of its target closes now (a probe
   * does not hold the target blocked for the rest of a long stream); a closed one keeps its failure
   * count. The attempt's end is still reported with {@link failed} or {@link succeeded}; a failure
   * then counts as for any call, and only a success resets the count.
   */
  answered(attempt: Attempt): void {
    attempt.permit.answered();
  }

  /**
   * Records a failed attempt whose target is healthy and will be tried again at once with a
   * different request (a rejected assistant prefill is retried as a restart); no wait, no retry counted.
   */
  repeat(attempt: Attempt, error: GatewayError): void {
    attempt.permit.succeeded();
    this.failures.push({ target: attempt.target.id, error });
    this.options.onAttemptFailed({ target: attempt.target.id, attempt: attempt.number, error, action: "retry", retryInMs: 0, why: "assistant prefill rejected; restarting instead", keyName: this.options.keyName });
  }

  /**
   * Records a failed attempt and decides what comes next: a retry on the same target (with its
   * wait), the next target, or the end of the run. `failover` forces leaving the target (used for
   * failures after content was sent, which are never retried on the same target). `targetAnswered`
   * says the target's own answer was sound and the gateway ended it (a restarted answer that
   * diverged from the text already sent): its circuit counts a success, whatever the error.
   */
  failed(attempt: Attempt, error: GatewayError, options: { failover?: boolean; targetAnswered?: boolean } = {}): FailureAction {
    const classification = classifyFailure(error);
    if (classification.action === "stop") attempt.permit.callerLeft();
    else if (classification.unheard && !options.targetAnswered) attempt.permit.released();
    else if (classification.unhealthy && !options.targetAnswered) {
      attempt.permit.failed();
      this.options.onUnhealthy?.(attempt.target);
    } else attempt.permit.succeeded();
    if (classification.action === "stop") return "stop";
    this.failures.push({ target: attempt.target.id, error });
    const report = { target: attempt.target.id, attempt: attempt.number, error, keyName: this.options.keyName };
    if (classification.action === "final") {
      this.finalError = error;
      this.options.onAttemptFailed({ ...report, action: "final" });
      return "final";
    }
    const decision = options.failover
      ? { kind: "failover" as const, why: "failed after content was sent" }
      : decideRetry({
          error,
          classification,
          retriesDone: this.retriesOnTarget,
          settings: attempt.target.retry,
          remainingMs: Math.min(attempt.target.retry.budgetMs - this.waitedMs, this.options.scope.remainingMs()),
          random: this.options.random,
        });
    // A Retry-After the run waited out, had no retries left for, or that came with a failure not worth retrying is not the caller's to wait again;
    // the gateway's own (an unheard failure: its media or connection bound) is: the caller may try again once it has room.
    if (error.facts.retryAfterMs !== undefined && !classification.unheard && !(decision.kind === "failover" && (decision.retryAfterTooLong || options.failover))) error.retryAfterHonoured = true;
    if (decision.kind === "retry") {
      this.retriesOnTarget++;
      this.pendingDelayMs = decision.delayMs;
      this.waitedMs += decision.delayMs;
      this.options.onAttemptFailed({ ...report, action: "retry", retryInMs: decision.delayMs });
      return "retry";
    }
    this.options.onAttemptFailed({ ...report, action: "failover", why: decision.why });
    this.advance();
    return "failover";
  }

  /**
   * The error to answer with when the run ended without an answer: the final error if one ended
   * it, else the first failure (the primary's real error), else, when every target was skipped
   * for an open circuit, PROVIDER_UNAVAILABLE with the time until the first probe as Retry-After.
   * It carries the run's {@link routeInfo} (`route`), so callers see which targets were tried.
   */
  error(): GatewayError {
    const error = this.endingError();
    error.route = this.routeInfo();
    return error;
  }

  private endingError(): GatewayError {
    if (this.finalError) return this.finalError;
    const first = this.failures[0];
    if (first) return first.error;
    // No failure and no stop: every target the route could call was skipped for its open circuit.
    const open = this.skipped.filter((skip) => skip.reason === CIRCUIT_OPEN).map((skip) => skip.target);
    let waitMs = Number.POSITIVE_INFINITY;
    for (const target of open) waitMs = Math.min(waitMs, this.options.breakers.for(target.id, target.circuitBreaker).msUntilProbe());
    const names = open.map((target) => target.id).join(", ");
    return gatewayError(Code.Unavailable, Reason.PROVIDER_UNAVAILABLE, `every target is temporarily skipped after repeated failures (circuit open): ${names}`, Number.isFinite(waitMs) ? { retryAfterMs: Math.max(1, waitMs) } : {});
  }

  /**
   * The scope's stop error when the request is over, else undefined. A passed deadline's carries
   * this run's {@link routeInfo} once an attempt was made, like any error after routing: callers see
   * which targets were tried, and REST callers get `x-should-retry: false` (an SDK that retried a
   * deadline would run the whole route again). A caller's cancel carries none; nobody reads it.
   */
  stopError(): GatewayError | undefined {
    const stop = this.options.scope.stopError();
    return stop && this.withRoute(stop);
  }

  private withRoute(stop: GatewayError): GatewayError {
    if (stop.code === Code.DeadlineExceeded && this.attempts > 0) stop.route = this.routeInfo();
    return stop;
  }

  /** How the request was routed so far. */
  routeInfo(): RouteInfo {
    const failures: AttemptFailure[] = this.failures.map(({ target, error }) => ({ $typeName: "switchyard.v1.AttemptFailure", model: target, reason: error.reason, upstreamStatus: error.facts.upstreamStatus ?? 0 }));
    const skipped: SkippedTarget[] = this.skipped.map(({ target, reason, detail }) => ({ $typeName: "switchyard.v1.SkippedTarget", model: target.id, reason, detail }));
    return { $typeName: "switchyard.v1.RouteInfo", attempts: this.attempts, failures, skipped };
  }
}
