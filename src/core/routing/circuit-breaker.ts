import type { CircuitBreakerSettings } from "../../config/gateway-config.js";

/** A circuit's state: closed (calls flow), open (calls skipped), half-open (one probe allowed). */
export type CircuitState = "closed" | "open" | "half-open";

/** A clock in milliseconds; injectable for tests. */
export type Clock = () => number;

/**
 * Permission for one upstream attempt, returned by {@link CircuitBreaker.tryAcquire}. Exactly one
 * of succeeded, failed or released should be called when the attempt ends; later calls are
 * ignored. A stream may call {@link answered} before that, once it has its first token.
 */
export interface CircuitPermit {
  /** Whether this attempt is the half-open probe. */
  readonly probe: boolean;
  /**
   * The target answered (a stream's first token) while the attempt goes on: a half-open circuit
   * closes now (so a long stream does not hold the target blocked until it ends) and the probe
   * slot is freed. In a closed circuit it changes nothing: the consecutive-failure count is reset
   * only by the attempt's end, so a target whose every stream fails after its first token still
   * opens its circuit. The attempt's end is still reported: failed() then counts one failure as for
   * any call in a closed circuit, and succeeded() or callerLeft() (the caller left a stream that was
   * answering) reset the count. Later calls are ignored.
   */
  answered(): void;
  /** The target answered (or refused the request itself): closes the circuit. */
  succeeded(): void;
  /** The target failed in a way that says it is unhealthy. */
  failed(): void;
  /** The attempt ended without a verdict (one of the gateway's own bounds, the caller's deadline): frees the probe slot, changes nothing else. */
  released(): void;
  /**
   * The caller stopped the attempt (canceled, or stopped reading): after {@link answered} the answer
   * counts as the target's success (a stream the caller left while it flowed: a stop button); before
   * it, as {@link released}.
   */
  callerLeft(): void;
}

/**
 * A per-target circuit breaker. Closed: every call goes through and `failureThreshold`
 * consecutive failures open it. Open: calls are refused without touching the target until
 * `cooldownMs` has passed. Then half-open: exactly one probe call is let through; its success
 * (for a stream, its first token: {@link CircuitPermit.answered}) closes the circuit, its failure
 * before that opens it again for another cool-down. Only a call's successful end resets the
 * failure count (a first token does not). Verdicts of calls that started before the
 * last state change are ignored, so a slow old failure cannot re-open a circuit that a probe just
 * closed.
 */
export class CircuitBreaker {
  private current: CircuitState = "closed";
  private consecutiveFailures = 0;
  private openedAt = 0;
  private probeInFlight = false;
  private generation = 0;

  constructor(
    private readonly settings: CircuitBreakerSettings,
    private readonly now: Clock = Date.now,
    private readonly onChange: (state: CircuitState) => void = () => {},
  ) {}

  /** The state now (an open circuit whose cool-down has passed reads as half-open). */
  get state(): CircuitState {
    if (this.current === "open" && this.now() - this.openedAt >= this.settings.cooldownMs) return "half-open";
    return this.current;
  }

  /** Whether the circuit is closed: forgetting it loses at most a count of recent failures. */
  get closed(): boolean {
    return this.current === "closed";
  }

  /** Milliseconds until an open circuit lets a probe through; 0 when it would let one through now. */
  msUntilProbe(): number {
    if (this.current !== "open") return 0;
    return Math.max(0, this.openedAt + this.settings.cooldownMs - this.now());
  }

  /** Asks to make one attempt; undefined means skip this target now. */
  tryAcquire(): CircuitPermit | undefined {
    if (this.current === "open") {
      if (this.msUntilProbe() > 0) return undefined;
      this.transition("half-open");
    }
    if (this.current === "half-open") {
      if (this.probeInFlight) return undefined;
      this.probeInFlight = true;
      return this.permit(true);
    }
    return this.permit(false);
  }

  private permit(probe: boolean): CircuitPermit {
    let generation = this.generation;
    let settled = false;
    // Set by answered(): the probe slot is freed and a half-open circuit closed; the end's verdict still counts.
    let answered = false;
    const settle = (verdict: "success" | "failure" | "none") => {
      if (settled) return;
      settled = true;
      if (probe && !answered) this.probeInFlight = false;
      if (generation !== this.generation || verdict === "none") return;
      if (verdict === "success") {
        this.consecutiveFailures = 0;
        if (this.current !== "closed") this.transition("closed");
        return;
      }
      this.consecutiveFailures++;
      if ((probe && !answered) || this.consecutiveFailures >= this.settings.failureThreshold) this.open();
    };
    return {
      probe,
      answered: () => {
        if (settled || answered) return;
        answered = true;
        if (probe) this.probeInFlight = false;
        if (generation !== this.generation || this.current === "closed") return;
        this.transition("closed");
        // The rest of the call happens in the state its answer set: its end's verdict still counts.
        generation = this.generation;
      },
      succeeded: () => settle("success"),
      failed: () => settle("failure"),
      released: () => settle("none"),
      callerLeft: () => settle(answered ? "success" : "none"),
    };
  }

  private open(): void {
    this.openedAt = this.now();
    this.transition("open");
  }

  private transition(state: CircuitState): void {
    this.current = state;
    this.generation++;
    if (state === "closed") this.consecutiveFailures = 0;
    this.onChange(state);
  }
}

/**
 * How many breakers a gateway keeps before it forgets the closed ones. Callers choose the model
 * part of a target freely, so without a bound every distinct name would stay in memory for good.
 */
export const MAX_TRACKED_BREAKERS = 4096;

/**
 * The breakers of every target, created on first use and shared by all requests of a gateway.
 * When {@link MAX_TRACKED_BREAKERS} are tracked, the closed ones are forgotten (a target that is
 * failing keeps its open or half-open circuit; a closed one loses at most its recent failure count).
 */
export class CircuitBreakers {
  private readonly byTarget = new Map<string, CircuitBreaker>();

  constructor(
    private readonly now: Clock = Date.now,
    private readonly onChange: (target: string, state: CircuitState) => void = () => {},
  ) {}

  /** The breaker of target `id`; `settings` apply when it is created. */
  for(id: string, settings: CircuitBreakerSettings): CircuitBreaker {
    let breaker = this.byTarget.get(id);
    if (!breaker) {
      if (this.byTarget.size >= MAX_TRACKED_BREAKERS) {
        for (const [target, tracked] of this.byTarget) if (tracked.closed) this.byTarget.delete(target);
      }
      breaker = new CircuitBreaker(settings, this.now, (state) => this.onChange(id, state));
      this.byTarget.set(id, breaker);
    }
    return breaker;
  }
}
