/**
 * The part of an abort signal that the core, the adapters and the upstream transports use. A DOM
 * `AbortSignal` satisfies it, and so does {@link LightAbort}; the upstream exchange
 * (net/undici-exchange.ts) follows either.
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  /** Why it aborted; undefined until then. */
  readonly reason: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

/**
 * An abort controller and its signal in one object. Each listener registered when the first
 * `abort` is called runs once, in order (also one that an earlier listener removes); a listener
 * added after that never runs (check `aborted` first, as with a DOM signal). It exists because a
 * DOM AbortController with its EventTarget costs about 5 µs to create and as much again to abort
 * on Node 20, per request (bench/PROFILE.md); this costs an object and an array.
 */
export class LightAbort implements AbortSignalLike {
  aborted = false;
  reason: unknown = undefined;
  private listeners: (() => void)[] | undefined;

  /** Registers `listener` for the abort (only type "abort" exists). */
  addEventListener(type: "abort", listener: () => void): void {
    if (type !== "abort" || this.aborted) return;
    (this.listeners ??= []).push(listener);
  }

  /** Removes one registration of `listener`. */
  removeEventListener(type: "abort", listener: () => void): void {
    const listeners = this.listeners;
    if (type !== "abort" || !listeners) return;
    const index = listeners.indexOf(listener);
    if (index !== -1) listeners.splice(index, 1);
  }

  /** Aborts with `reason` and runs the listeners once, in order; later calls do nothing. */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners) for (const listener of listeners) listener();
  }
}

/**
 * A DOM AbortSignal for APIs that need one (`AbortSignal.any`, `fetch`): `signal` itself when it
 * is one, else a new signal that aborts with it (with its reason).
 */
export function toAbortSignal(signal: AbortSignalLike): AbortSignal {
  if (signal instanceof AbortSignal) return signal;
  const controller = new AbortController();
  if (signal.aborted) controller.abort(signal.reason);
  else signal.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
  return controller.signal;
}
