import { Code } from "@connectrpc/connect";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import { gatewayError, type GatewayError, Reason } from "../errors.js";

/** Whether an event is model output (the "first token" of a stream), as opposed to framing. */
export function isTokenEvent(event: ChatStreamResponse): boolean {
  switch (event.event.case) {
    case "textDelta":
    case "reasoningDelta":
    case "refusalDelta":
    case "toolCallStart":
    case "toolCallDelta":
    case "audioDelta":
    case "finish":
      return true;
    default:
      return false;
  }
}

/** What a watchdog guards. */
export interface WatchdogSettings {
  /** "<account>/<model>", for messages. */
  readonly target: string;
  readonly provider: string;
  /** Time from the start of the attempt to the first token event. */
  readonly firstTokenMs: number;
  /** Longest gap between two events once tokens flow. */
  readonly idleMs: number;
  /** Aborted (with the timeout error as reason) when a bound is exceeded. */
  readonly controller: AbortController;
  readonly now?: () => number;
}

/**
 * Guards one upstream stream at the event level: the first token must come within
 * `firstTokenMs` of the start (keep-alive comments and an early role-only chunk do not count; the
 * adapter's own preparation, see holdFirstToken, neither),
 * and then no gap between events may exceed `idleMs`. Time spent while the consumer holds an
 * event (a slow caller) is not counted. On a breach it aborts the attempt and the stream throws
 * UPSTREAM_TIMEOUT (afterFirstByte false for the first token, true for a stall; timeoutBound names the bound). The byte-level
 * bounds of `sendUpstream` still apply underneath. One timer per stream, re-armed lazily, so the
 * per-event cost is a clock read.
 */
export class StreamWatchdog {
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  private breach: GatewayError | undefined;
  private idleMs: number;
  private firstTokenDeadline: number;
  private lastActivity: number;
  private tokenSeen = false;
  private paused = false;
  private preparing = false;
  private startedAt: number;
  private readonly now: () => number;

  constructor(private readonly settings: WatchdogSettings) {
    this.now = settings.now ?? Date.now;
    this.idleMs = settings.idleMs;
    this.lastActivity = this.now();
    this.startedAt = this.lastActivity;
    this.firstTokenDeadline = this.lastActivity + settings.firstTokenMs;
  }

  /** When the first-token clock started: the attempt's start, or the end of the adapter's preparation. */
  get started(): number {
    return this.startedAt;
  }

  /**
   * Runs the adapter's own work before its provider request (CallOptions.beforeRequest: Gemini's
   * media downloads, which have their own bounds): the first-token clock is stopped meanwhile and
   * starts afresh when the work ends, so a slow media host is not counted as a silent provider.
   */
  async holdFirstToken<T>(work: Promise<T>): Promise<T> {
    this.preparing = true;
    try {
      return await work;
    } finally {
      this.preparing = false;
      this.startedAt = this.now();
      this.firstTokenDeadline = this.startedAt + this.settings.firstTokenMs;
    }
  }

  /** Shortens the allowed gap from now on (used after the last finish, to wait only briefly for usage and the end). */
  tighten(ms: number): void {
    if (ms >= this.idleMs) return;
    this.idleMs = ms;
    this.disarm();
    this.schedule(ms);
  }

  /** The error the watchdog ended the stream with, if it did. */
  get breached(): GatewayError | undefined {
    return this.breach;
  }

  private deadline(): number {
    return this.tokenSeen ? this.lastActivity + this.idleMs : this.firstTokenDeadline;
  }

  /** Makes sure a check runs within `ms`; an earlier pending check is kept, a later one replaced. */
  private schedule(ms: number): void {
    if (this.breach) return;
    const due = this.now() + Math.max(1, ms);
    if (this.timer) {
      if (this.timerDue <= due) return;
      clearTimeout(this.timer);
    }
    this.timerDue = due;
    this.timer = setTimeout(this.check, Math.max(1, ms));
  }

  private readonly check = (): void => {
    this.timer = undefined;
    if (this.preparing && !this.tokenSeen) {
      this.schedule(this.settings.firstTokenMs);
      return;
    }
    if (this.paused) {
      this.schedule(this.tokenSeen ? this.idleMs : Math.max(1, this.firstTokenDeadline - this.now()));
      return;
    }
    const left = this.deadline() - this.now();
    if (left > 0) {
      this.schedule(left);
      return;
    }
    const { target, provider, firstTokenMs } = this.settings;
    this.breach = this.tokenSeen
      ? gatewayError(Code.DeadlineExceeded, Reason.UPSTREAM_TIMEOUT, `the stream of ${target} stalled: nothing for ${this.idleMs} ms`, { provider, afterFirstByte: true, timeoutBound: "idleMs" })
      : gatewayError(Code.DeadlineExceeded, Reason.UPSTREAM_TIMEOUT, `${target} sent no token within ${firstTokenMs} ms`, { provider, afterFirstByte: false, timeoutBound: "firstTokenMs" });
    this.settings.controller.abort(this.breach);
  };

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Reads the next event of `iterator` under the bounds: the wait for it counts as upstream
   * silence; the time until the following call (the consumer holding this event) does not. Throws
   * the breach error instead of the abort it caused. A plain async method rather than a wrapping
   * generator: no generator layer per event.
   */
  async next(iterator: AsyncIterator<ChatStreamResponse>): Promise<IteratorResult<ChatStreamResponse>> {
    this.paused = false;
    this.lastActivity = this.now();
    this.schedule(this.deadline() - this.lastActivity);
    let next: IteratorResult<ChatStreamResponse>;
    try {
      next = await iterator.next();
    } catch (error) {
      throw this.breach ?? error;
    }
    if (this.breach) throw this.breach;
    if (next.done) return next;
    this.paused = true;
    if (!this.tokenSeen && isTokenEvent(next.value)) this.tokenSeen = true;
    return next;
  }

  /** Ends the watch: no more checks, and `iterator` is told to stop (its errors are ignored). */
  async close(iterator: AsyncIterator<ChatStreamResponse>): Promise<void> {
    this.disarm();
    await iterator.return?.()?.catch(() => undefined);
  }
}
