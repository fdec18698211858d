/**
 * The bytes media downloads may still take: one request's together (`media.max_total_bytes`), and,
 * as its `parent`, every request's in the process (`media.max_inflight_bytes`). One budget is
 * shared by all the fetches of a request, and each body chunk is taken from it (and its parent) as
 * it arrives, so a request naming many URLs, or many requests at once, cannot make the gateway
 * hold more than the limits. What a request took stays taken from the parent until {@link close}.
 */
export class MediaBudget {
  /** Bytes still free. */
  private remaining: number;
  private closed = false;

  constructor(
    readonly limitBytes: number,
    /** The process-wide budget this one's bytes are also taken from; absent for that one itself. */
    readonly parent?: MediaBudget,
    /** Whether this is the process-wide budget (`media.max_inflight_bytes`) rather than one request's. */
    readonly processWide = false,
  ) {
    this.remaining = limitBytes;
  }

  /** Bytes taken and not given back. */
  get usedBytes(): number {
    return this.limitBytes - this.remaining;
  }

  /** The budget (this one or its parent) that `bytes` more would not fit, without taking them; undefined when they fit. */
  shortOf(bytes: number): MediaBudget | undefined {
    if (this.closed || bytes > this.remaining) return this;
    return this.parent?.shortOf(bytes);
  }

  /** Takes `bytes` from this budget and its parent; answers the one they did not fit (nothing taken then), or undefined. */
  take(bytes: number): MediaBudget | undefined {
    if (this.closed || bytes > this.remaining) return this;
    const short = this.parent?.take(bytes);
    if (short) return short;
    this.remaining -= bytes;
    return undefined;
  }

  /**
   * Gives back `bytes` taken earlier, to the parent too; nothing once closed (close gave the parent
   * everything: a download still decoding when its request failed gives back what it took then).
   */
  release(bytes: number): void {
    if (this.closed) return;
    this.remaining += bytes;
    this.parent?.release(bytes);
  }

  /** The request's media are no longer held: gives the parent back everything still taken; nothing more can be taken. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.parent?.release(this.usedBytes);
  }
}

/** The process-wide budgets, one per configuration's media settings. */
const inflightBudgets = new WeakMap<object, MediaBudget>();

/**
 * The process-wide in-flight media budget (`media.max_inflight_bytes`) of one configuration's media
 * settings: the same object for every adapter built from them, so all Gemini accounts share it.
 */
export function inflightMediaBudget(settings: { readonly maxInflightBytes: number }): MediaBudget {
  let budget = inflightBudgets.get(settings);
  if (!budget) {
    budget = new MediaBudget(settings.maxInflightBytes, undefined, true);
    inflightBudgets.set(settings, budget);
  }
  return budget;
}
