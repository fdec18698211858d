import type net from "node:net";

/** The events {@link DrainWaiter} listens to: an EventEmitter's, or the fast path's response's. */
export interface DrainEvents {
  on(event: "drain" | "close", listener: () => void): unknown;
  off(event: "drain" | "close", listener: () => void): unknown;
}

/**
 * How long a client may leave a streamed answer unread (its socket buffer or HTTP/2 window full)
 * before the gateway gives the answer up: the same bound as for a request body that stops coming.
 */
export const CLIENT_STALL_MS = 120_000;

/**
 * Waits, for one response or stream, until a write it refused can go on. {@link wait} resolves on
 * 'drain' (it can take more) or 'close' (it is gone), and never rejects; its listeners are removed
 * either way. A client that takes nothing for {@link CLIENT_STALL_MS}, or until the call's
 * deadline (`deadlineAt`, epoch ms) has passed, is given up: `abandon` is called (it must close
 * the writable: a reset, or the connection destroyed, since an error can no longer overtake the
 * unread data) and the wait resolves. One timer serves every wait of the response (re-armed, not
 * created again: a streamed answer can wait for 'drain' after most of its chunks).
 */
export class DrainWaiter {
  private timer: NodeJS.Timeout | undefined;
  /** The delay the timer was armed with: refresh() re-arms it with the same one. */
  private armedMs = 0;
  /** When the current wait began (epoch ms); 0 when none is under way. */
  private waitingSince = 0;
  private resolve: (() => void) | undefined;

  constructor(
    private readonly writable: DrainEvents,
    private readonly abandon: () => void,
    private readonly deadlineAt = Number.POSITIVE_INFINITY,
  ) {}

  /** Resolves when the writable drained or closed, or was given up. */
  wait(): Promise<void> {
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.waitingSince = Date.now();
      this.writable.on("drain", this.done);
      this.writable.on("close", this.done);
      const limit = this.limitMs();
      if (this.timer && this.armedMs <= limit) this.timer.refresh();
      else this.arm(limit);
    });
  }

  private arm(delayMs: number): void {
    clearTimeout(this.timer);
    this.armedMs = delayMs;
    this.timer = setTimeout(this.check, delayMs);
  }

  /** The time this wait may still take. */
  private limitMs(): number {
    return Math.max(0, Math.min(this.waitingSince + CLIENT_STALL_MS, this.deadlineAt) - Date.now());
  }

  private readonly done = (): void => {
    this.writable.off("drain", this.done);
    this.writable.off("close", this.done);
    this.waitingSince = 0;
    const resolve = this.resolve;
    this.resolve = undefined;
    resolve?.();
  };

  /** The timer fired: a wait still under way past its limit gives the client up; one with time left is checked again then. */
  private readonly check = (): void => {
    if (this.waitingSince === 0) return;
    const left = this.limitMs();
    if (left > 0) {
      this.arm(left);
      return;
    }
    this.done();
    this.abandon();
  };

  /** Stops the timer (the response is over): call it once nothing more will be written. */
  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** A response written through Node's HTTP/1.1 server. */
type NodeResponse = {
  readonly writableNeedDrain: boolean;
  once(event: "close" | "finish", listener: () => void): unknown;
  on(event: "drain", listener: () => void): unknown;
  destroy(): void;
};

/** An HTTP/2 stream, answered by either handler (the gRPC fast path or Node's compatibility layer). */
type H2Stream = {
  readonly writableNeedDrain: boolean;
  readonly writableEnded: boolean;
  readonly writableFinished: boolean;
  /** Bytes written and not yet sent (a whole answer written at once counts until its last byte has left). */
  readonly bufferSize: number;
  /** The connection's session: bytes leaving its socket are the progress a whole answer's queue does not show. */
  readonly session?: { readonly socket?: { readonly bytesWritten?: number } | null | undefined } | null | undefined;
  once(event: "close", listener: () => void): unknown;
  close(code?: number): void;
};

/** How often {@link StalledResponses} looks at the responses it watches. */
const STALL_SWEEP_MS = 5_000;

/** A watched response or stream: when its writes began to wait (0: they do not), and the bytes they held at the last sweep. */
type Watched = ({ readonly response: NodeResponse; readonly stream?: undefined } | { readonly stream: H2Stream; readonly response?: undefined }) & {
  /** The caller's deadline (epoch ms): writes still waiting then are given up. */
  readonly deadlineAt: number;
  waitingSince: number;
  lastQueued: number;
  /** The bytes its connection had sent at the last sweep (HTTP/2). */
  lastSent: number;
};

/**
 * The back-stop for what writes without a {@link DrainWaiter} (Node's HTTP/1.1 path, Connect's
 * handler, an HTTP/2 answer's last frames and trailers, which wait for the client's flow-control
 * window even when no write was refused): every watched response or stream is looked at every few
 * seconds, and one whose writes have waited for the client without progress for `stallMs`
 * (CLIENT_STALL_MS), or still wait at the caller's deadline, is given up: its HTTP/2 stream reset
 * (CANCEL) or its connection destroyed. A response is forgotten when it finishes or closes, a
 * stream when it closes. The sweep timer does not keep the process alive.
 */
export class StalledResponses {
  private readonly watched = new Set<Watched>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly stallMs = CLIENT_STALL_MS) {}

  /** Watches an HTTP/1.1 `response` until it finishes or closes. */
  watch(response: NodeResponse): void {
    const entry: Watched = { response, deadlineAt: Number.POSITIVE_INFINITY, waitingSince: 0, lastQueued: 0, lastSent: 0 };
    this.add(entry);
    const forget = (): void => {
      this.watched.delete(entry);
    };
    response.once("finish", forget);
    response.once("close", forget);
    response.on("drain", () => {
      entry.waitingSince = 0;
    });
  }

  /**
   * Watches an HTTP/2 stream until it closes: its writes wait while it needs 'drain', or once it
   * has ended but not every byte (trailers included) went out; a fall in its queued bytes, or bytes
   * leaving its connection, is progress (the client takes something).
   */
  watchStream(stream: H2Stream, deadlineAt = Number.POSITIVE_INFINITY): void {
    const entry: Watched = { stream, deadlineAt, waitingSince: 0, lastQueued: 0, lastSent: stream.session?.socket?.bytesWritten ?? 0 };
    this.add(entry);
    stream.once("close", () => {
      this.watched.delete(entry);
    });
  }

  private add(entry: Watched): void {
    this.watched.add(entry);
    if (!this.timer) {
      this.timer = setInterval(this.sweep, Math.min(STALL_SWEEP_MS, Math.max(10, this.stallMs / 4)));
      this.timer.unref();
    }
  }

  private readonly sweep = (): void => {
    const now = Date.now();
    for (const entry of this.watched) {
      const { stream } = entry;
      const waiting = stream ? stream.writableNeedDrain || (stream.writableEnded && !stream.writableFinished) : entry.response.writableNeedDrain;
      const queued = stream ? stream.bufferSize : 0;
      // A fall in its queue, or bytes leaving its connection (one large write stays queued whole until its last byte left).
      const sent = stream?.session?.socket?.bytesWritten ?? 0;
      const progressed = queued < entry.lastQueued || sent > entry.lastSent;
      entry.lastQueued = queued;
      entry.lastSent = sent;
      if (!waiting) entry.waitingSince = 0;
      // The caller's deadline is absolute: still waiting then, it is given up, progress or not.
      else if (now < entry.deadlineAt && (progressed || entry.waitingSince === 0)) entry.waitingSince = now;
      else if (now >= entry.deadlineAt || now - entry.waitingSince >= this.stallMs) {
        this.watched.delete(entry);
        if (stream) stream.close(CANCEL);
        else entry.response.destroy();
      }
    }
  };

  /** Stops the sweep (the server closed). */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** RST_STREAM's CANCEL code (RFC 9113 §7). */
const CANCEL = 0x8;

/**
 * The bytes written to `socket` that have not reached the kernel yet: the stream's buffer, plus
 * libuv's queue (one large write stays whole in the stream's count until it completes; libuv's
 * shrinks as the client reads). It changes whenever the client takes bytes.
 */
export function writeQueueBytes(socket: net.Socket): number {
  const handle = (socket as net.Socket & { _handle?: { writeQueueSize?: number } | null })._handle;
  return (handle?.writeQueueSize ?? 0) + socket.writableLength;
}
