/** How long one sampling window lasts. */
const WINDOW_MS = 1_000;
/** Bound on the keys tracked at once; keys are built from bounded parts, this is a safety net. */
const MAX_KEYS = 4_096;

interface Window {
  start: number;
  logged: number;
  suppressed: number;
}

/** What a {@link LogSampler} needs. */
export interface LogSamplerOptions {
  /** Lines of one key logged per second; 0 turns sampling off (every line is logged). */
  readonly perSecond: number;
  /** Called once for each key whose dropped lines were not followed by a logged one within a window. */
  readonly report: (key: string, suppressed: number) => void;
  readonly now?: () => number;
}

/**
 * Rate-limits repeated log lines, per key (for example "an attempt on target X failed with reason
 * Y"): in each one-second window the first `perSecond` lines of a key are logged and the rest are
 * only counted. No count is lost: the next logged line of that key carries the number dropped
 * before it, and a key whose storm ended is reported by a timer (unref'd, running only while
 * something is pending). Memory is bounded by {@link MAX_KEYS}.
 */
export class LogSampler {
  private readonly windows = new Map<string, Window>();
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: LogSamplerOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Decides on one line of `key`: undefined when it is dropped, else the number of lines of that
   * key dropped since the last one logged (0 when none), to be logged with it.
   */
  admit(key: string): number | undefined {
    if (this.options.perSecond <= 0) return 0;
    const now = this.now();
    const window = this.windows.get(key);
    if (window === undefined || now - window.start >= WINDOW_MS) {
      if (window === undefined && this.windows.size >= MAX_KEYS) this.flush(true);
      this.windows.set(key, { start: now, logged: 1, suppressed: 0 });
      return window?.suppressed ?? 0;
    }
    if (window.logged < this.options.perSecond) {
      window.logged++;
      return 0;
    }
    window.suppressed++;
    this.timer ??= setInterval(() => this.flush(false), WINDOW_MS).unref();
    return undefined;
  }

  /**
   * Reports the dropped lines of every window that has ended (all windows when `all`) and forgets
   * those windows; stops the timer once nothing is pending.
   */
  flush(all: boolean): void {
    const now = this.now();
    let pending = false;
    for (const [key, window] of this.windows) {
      if (!all && now - window.start < WINDOW_MS) {
        if (window.suppressed > 0) pending = true;
        continue;
      }
      this.windows.delete(key);
      if (window.suppressed > 0) this.options.report(key, window.suppressed);
    }
    if (!pending && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
