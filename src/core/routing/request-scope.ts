import { Code, ConnectError } from "@connectrpc/connect";
import type { TimeoutSettings } from "../../config/gateway-config.js";
import { gatewayError, invalidRequest, Reason, type GatewayError } from "../errors.js";
import type { AbortSignalLike } from "../light-abort.js";
import type { RequestHandle } from "../../providers/provider-adapter.js";

/**
 * The abort reason of an upstream attempt that is over (answered, failed or abandoned). Shared:
 * `abort()` without a reason builds a DOMException with a captured stack on every request.
 */
export const ATTEMPT_OVER = new DOMException("the upstream attempt is over", "AbortError");

/**
 * The longest delay a Node timer takes, in ms (2^31 - 1, about 24.8 days): a longer one fires
 * after 1 ms (TimeoutOverflowWarning).
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** Longest caller deadline accepted, in ms (one day). */
const MAX_CALLER_TIMEOUT_MS = 86_400_000;

/**
 * Parses the REST `x-switchyard-timeout` header: milliseconds as a bare number (`1500`), or with
 * an `ms` or `s` suffix (`1500ms`, `1.5s`). Undefined when the header is absent; a value that is
 * not a positive duration up to one day is the caller's mistake (INVALID_REQUEST naming the header).
 */
export function parseCallerTimeout(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = (Array.isArray(value) ? value[0] ?? "" : value).trim();
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s)?$/i.exec(text);
  const amount = match ? Number(match[1]) * (match[2]?.toLowerCase() === "s" ? 1000 : 1) : Number.NaN;
  if (!Number.isFinite(amount) || amount <= 0 || amount > MAX_CALLER_TIMEOUT_MS) {
    throw invalidRequest(`Invalid 'x-switchyard-timeout' header: ${JSON.stringify(text)} is not a duration such as 1500, 1500ms or 1.5s (at most one day).`, "x-switchyard-timeout");
  }
  return Math.ceil(amount);
}

/** Whether an abort reason is a front door's deadline (a ConnectError DEADLINE_EXCEEDED). */
function isDeadlineAbort(reason: unknown): boolean {
  return reason instanceof ConnectError && reason.code === Code.DeadlineExceeded;
}

/**
 * One request's lifetime: the caller's cancellation plus its optional deadline. `signal` aborts
 * when the caller goes away or the deadline passes; every upstream attempt gets a child signal,
 * so ending the request ends every attempt, while an attempt can be abandoned alone. A deadline
 * of any length is kept as given, also one beyond what a single Node timer can hold (MAX_TIMER_MS).
 * Call {@link dispose} when the request ends.
 */
export class RequestScope implements RequestHandle {
  /** The absolute deadline (ms since the epoch), when the caller gave one. */
  readonly deadline: number | undefined;
  /**
   * The scope's own controller. With a deadline it exists from the start (the deadline timer
   * aborts it); without one it is created only when {@link signal} is read, and attempts follow
   * the caller's signal directly: one AbortController less per request (bench/PROFILE.md).
   */
  private controller: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private expiredFlag = false;
  private disposed = false;
  /** What adapters hold until the request ends (onEnd). */
  private releases: (() => void)[] | undefined;
  private readonly onCallerAbort = () => {
    if (this.callerStopped) this.controller?.abort(this.stopError());
  };

  constructor(
    private readonly callerSignal: AbortSignalLike,
    timeoutMs: number | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.deadline = timeoutMs === undefined ? undefined : now() + timeoutMs;
    if (timeoutMs !== undefined) this.armDeadline(this.ownController(), timeoutMs);
  }

  /**
   * Whether the caller's signal says stop. It does when aborted, except by a deadline abort while
   * more than a day is left before this scope's deadline: no front door's deadline fires that early
   * unless its timer overflowed (Connect arms one setTimeout for the whole deadline, which fires
   * after 1 ms beyond MAX_TIMER_MS), and this scope's own timer keeps the real deadline. The edge
   * caps such deadline headers before Connect reads them (capDeadlineHeaders), so this is a guard:
   * a signal aborted that way stays aborted, and a later cancel could not reach the scope.
   */
  private get callerStopped(): boolean {
    if (!this.callerSignal.aborted) return false;
    return !(isDeadlineAbort(this.callerSignal.reason) && this.remainingMs() > MAX_CALLER_TIMEOUT_MS);
  }

  /**
   * Arms the deadline timer to fire in `ms`. A timer beyond MAX_TIMER_MS would fire after 1 ms, so
   * a longer deadline is a chain of the longest timers: the caller's deadline is kept as given,
   * neither cut short (as capping it at a day like the REST header would) nor dropped. A deadline
   * that long is honest to keep: the gRPC or Connect client ends the call at that moment anyway.
   */
  private armDeadline(controller: AbortController, ms: number): void {
    const step = Math.min(ms, MAX_TIMER_MS);
    this.timer = setTimeout(() => {
      if (ms > step) {
        this.armDeadline(controller, ms - step);
        return;
      }
      this.expiredFlag = true;
      controller.abort(this.stopError());
    }, step);
  }

  private ownController(): AbortController {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.callerStopped) this.controller.abort();
      else if (!this.callerSignal.aborted) this.callerSignal.addEventListener("abort", this.onCallerAbort, { once: true });
    }
    return this.controller;
  }

  /** Aborts when the request must stop (caller gone or deadline passed). */
  get signal(): AbortSignal {
    return this.ownController().signal;
  }

  /** Whether the request must stop (caller gone or deadline timer fired); `signal.aborted` without creating the signal. */
  get stopped(): boolean {
    return this.controller ? this.controller.signal.aborted : this.callerSignal.aborted;
  }

  /** Milliseconds left before the caller's deadline; Infinity without one. */
  remainingMs(): number {
    return this.deadline === undefined ? Number.POSITIVE_INFINITY : Math.max(0, this.deadline - this.now());
  }

  /** Whether the caller's deadline has passed (ours, or the front door's, e.g. a Connect deadline abort, unless its timer overflowed). */
  get expired(): boolean {
    if (this.expiredFlag || (this.deadline !== undefined && this.now() >= this.deadline)) return true;
    return this.callerStopped && isDeadlineAbort(this.callerSignal.reason);
  }

  /** Whether the caller canceled (disconnected, or its own signal aborted before the deadline). */
  get canceled(): boolean {
    return this.callerStopped && !this.expired;
  }

  /**
   * The error that ends the request when it must stop: DEADLINE_EXCEEDED / UPSTREAM_TIMEOUT when
   * the caller's deadline passed, CANCELED when the caller went away; undefined otherwise.
   */
  stopError(): GatewayError | undefined {
    if (this.expired) return gatewayError(Code.DeadlineExceeded, Reason.UPSTREAM_TIMEOUT, "the request's deadline passed before an answer was complete");
    if (this.callerStopped) return gatewayError(Code.Canceled, Reason.CANCELED, "the caller canceled the request");
    return undefined;
  }

  /**
   * What a single-shot attempt follows: the caller's signal itself while the scope has no
   * controller of its own (no deadline), else the scope's signal. Reading it creates nothing.
   */
  get attemptSignal(): AbortSignalLike {
    return this.controller ? this.controller.signal : this.callerSignal;
  }

  /** A controller for one upstream attempt (a stream, which can be abandoned alone); it aborts with the request. */
  attemptController(): AbortController {
    const attempt = new AbortController();
    // Without a deadline, and while the caller is still there, the scope's own signal would only
    // relay the caller's abort (with stopError() as its reason): follow the caller directly.
    const direct = this.controller === undefined && !this.callerSignal.aborted;
    const source = direct ? this.callerSignal : this.signal;
    if (source.aborted) attempt.abort(source.reason);
    else {
      const forward = direct ? () => attempt.abort(this.controller?.signal.aborted ? this.controller.signal.reason : this.stopError()) : () => attempt.abort(source.reason);
      source.addEventListener("abort", forward, { once: true });
      attempt.signal.addEventListener("abort", () => source.removeEventListener("abort", forward), { once: true });
    }
    return attempt;
  }

  /**
   * A target's timeouts, each capped to the time left before the caller's deadline (at least 1 ms),
   * except connectMs: the deadline's abort ends a connect as promptly, and the configured value
   * keys the upstream connection pool (one pool per configured value, not one per caller deadline).
   */
  capTimeouts(timeouts: TimeoutSettings): TimeoutSettings {
    const left = this.remainingMs();
    if (!Number.isFinite(left)) return timeouts;
    const cap = (ms: number) => Math.max(1, Math.min(ms, left));
    return { connectMs: timeouts.connectMs, firstTokenMs: cap(timeouts.firstTokenMs), idleMs: cap(timeouts.idleMs), totalMs: cap(timeouts.totalMs) };
  }

  /** Waits `ms`, or less when the request stops meanwhile; never rejects. */
  sleep(ms: number): Promise<void> {
    const signal = this.signal;
    if (ms <= 0 || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /** Runs `release` when the request ends ({@link dispose}), or at once if it has (RequestHandle.onEnd). */
  onEnd(release: () => void): void {
    if (this.disposed) release();
    else (this.releases ??= []).push(release);
  }

  /** Releases the deadline timer, the caller listener, and what adapters held for the request (onEnd). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.callerSignal.removeEventListener("abort", this.onCallerAbort);
    const releases = this.releases;
    this.releases = undefined;
    if (releases) for (const release of releases) release();
  }
}
