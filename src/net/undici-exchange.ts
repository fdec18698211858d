import type { Dispatcher } from "undici";
import type { AbortSignalLike } from "../core/light-abort.js";

/** Body bytes held for a slow reader before undici is asked to stop reading the socket. */
const HIGH_WATER_BYTES = 64 * 1024;

type Settle<T> = { resolve: (value: T) => void; reject: (error: unknown) => void };

/** What the body hands a reader that takes chunks as they come (see {@link UpstreamBody.collect}). */
export type ChunkTaker = (chunk: Uint8Array) => boolean;

/**
 * The body of one upstream response, fed by undici's dispatch handler. It can be read once, in
 * one of three ways: pulled as an async iterable (streams), pushed into a taker (`collect`, whole
 * answers), or discarded to its end (`dump`, to give the connection back to the pool). Bytes a
 * slow reader has not taken are bounded: past HIGH_WATER_BYTES undici stops reading the socket.
 * Leaving a `for await` early does not abort the request; call `dump` or abort it.
 */
export class UpstreamBody implements AsyncIterable<Uint8Array> {
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private ended = false;
  private error: unknown = undefined;
  private failed = false;
  private waiter: Settle<IteratorResult<Uint8Array>> | undefined;
  private taker: { take: ChunkTaker; settle: Settle<void> } | undefined;
  private dumping: { left: number; settle: Settle<void> } | undefined;
  private paused = false;

  constructor(private readonly exchange: UndiciExchange) {}

  /** Whether the body ended or failed (nothing more will arrive). */
  get finished(): boolean {
    return this.ended || this.failed;
  }

  /** Called by the handler for each chunk; false asks undici to pause. */
  push(chunk: Uint8Array): boolean {
    if (this.dumping) {
      this.dumping.left -= chunk.byteLength;
      if (this.dumping.left < 0) this.exchange.abort(new Error("upstream body too large to drain"));
      return true;
    }
    if (this.taker) return this.give(chunk);
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter.resolve({ value: chunk, done: false });
      return true;
    }
    this.queue.push(chunk);
    this.queued += chunk.byteLength;
    if (this.queued >= HIGH_WATER_BYTES) this.paused = true;
    return !this.paused;
  }

  /** Called by the handler at the end of the body. */
  end(): void {
    this.ended = true;
    this.settle();
  }

  /** Called by the handler when the request fails (also after an abort). */
  fail(error: unknown): void {
    if (this.ended) return;
    this.failed = true;
    this.error = error;
    this.settle();
  }

  private settle(): void {
    const waiter = this.waiter;
    if (waiter && this.queue.length === 0) {
      this.waiter = undefined;
      if (this.failed) waiter.reject(this.error);
      else waiter.resolve({ value: undefined, done: true });
    }
    const taker = this.taker;
    if (taker) {
      this.taker = undefined;
      if (this.failed) taker.settle.reject(this.error);
      else taker.settle.resolve();
    }
    const dumping = this.dumping;
    if (dumping) {
      this.dumping = undefined;
      if (this.failed) dumping.settle.reject(this.error);
      else dumping.settle.resolve();
    }
  }

  private give(chunk: Uint8Array): boolean {
    const taker = this.taker as { take: ChunkTaker; settle: Settle<void> };
    let more: boolean;
    try {
      more = taker.take(chunk);
    } catch (error) {
      this.taker = undefined;
      this.exchange.abort(error);
      taker.settle.reject(error);
      return false;
    }
    if (!more) {
      this.taker = undefined;
      this.exchange.abort(new Error("the reader stopped"));
      taker.settle.resolve();
      return false;
    }
    return true;
  }

  private resumeIfDrained(): void {
    if (this.paused && this.queued < HIGH_WATER_BYTES) {
      this.paused = false;
      this.exchange.resume();
    }
  }

  /**
   * Passes every chunk (queued ones first) to `take` until the end; resolves then, or as soon as
   * `take` returns false (the request is aborted); rejects with the request's error, or with what
   * `take` threw (the request is aborted).
   */
  collect(take: ChunkTaker): Promise<void> {
    while (this.queue.length > 0) {
      const chunk = this.queue.shift() as Uint8Array;
      this.queued -= chunk.byteLength;
      let more: boolean;
      try {
        more = take(chunk);
      } catch (error) {
        this.exchange.abort(error);
        return Promise.reject(error);
      }
      if (!more) {
        this.exchange.abort(new Error("the reader stopped"));
        return Promise.resolve();
      }
    }
    if (this.failed) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.taker = { take, settle: { resolve, reject } };
      this.resumeIfDrained();
    });
  }

  /** Discards the rest of the body; resolves at its end; aborts the request past `limit` more bytes. */
  dump(limit: number): Promise<void> {
    this.queue.length = 0;
    this.queued = 0;
    if (this.failed) return Promise.reject(this.error);
    if (this.ended) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.dumping = { left: limit, settle: { resolve, reject } };
      this.resumeIfDrained();
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: () => {
        const chunk = this.queue.shift();
        if (chunk) {
          this.queued -= chunk.byteLength;
          this.resumeIfDrained();
          return Promise.resolve({ value: chunk, done: false });
        }
        if (this.failed) return Promise.reject(this.error);
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => {
          this.waiter = { resolve, reject };
        });
      },
      // Leaving early keeps the request open: the owner dumps the rest or aborts it.
      return: () => Promise.resolve({ value: undefined, done: true }),
    };
  }
}

/**
 * Lower-case header lookup over undici's raw header list (name, value, name, value…). Names of
 * another length are skipped before any string is made (header names are ASCII, so a Buffer's
 * length is the name's), so looking up an absent header costs no allocation.
 */
function headerIn(raw: readonly (Buffer | string)[], name: string): string | undefined {
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const key = raw[index] as Buffer | string;
    if (key.length === name.length && String(key).toLowerCase() === name) return String(raw[index + 1]);
  }
  return undefined;
}

/**
 * One request through an undici dispatcher with a handler of our own (the pinned undici's
 * handler interface: onConnect, onHeaders, onData, onComplete, onError), instead of undici's
 * `request` API, which builds a Node Readable, parses every header and runs an AsyncResource per
 * response (~20 µs per request on the bench's VM; bench/PROFILE.md). `signal` aborts it at any
 * point; the head resolves `head`, the body goes to {@link UpstreamBody}.
 */
export class UndiciExchange {
  readonly body = new UpstreamBody(this);
  status = 0;
  private rawHeaders: readonly (Buffer | string)[] = [];
  private connectTimer: NodeJS.Timeout | undefined;
  private abortRequest: ((reason?: unknown) => void) | undefined;
  private resumeRequest: (() => void) | undefined;
  private abortReason: unknown = undefined;
  private aborted = false;
  private headSettle: Settle<UndiciExchange> | undefined;
  private readonly onSignalAbort = (): void => this.abort(this.signal.reason);

  /** Resolves with this exchange when the response head arrived; rejects if the request failed first. */
  readonly head: Promise<UndiciExchange>;

  constructor(private readonly signal: AbortSignalLike) {
    this.head = new Promise((resolve, reject) => {
      this.headSettle = { resolve, reject };
    });
    if (signal.aborted) this.abort(signal.reason);
    else signal.addEventListener("abort", this.onSignalAbort, { once: true });
  }

  /** A response header by lower-case name (the first value when repeated). */
  header(name: string): string | undefined {
    return headerIn(this.rawHeaders, name);
  }

  /**
   * Aborts the request (before or during the response); the body then fails with `reason`. Before
   * the request has a socket (connecting, or queued for a free connection) undici cannot drop it,
   * and would settle it only when that connection attempt ends: `head` rejects now, and the request
   * is aborted the moment undici hands it a socket.
   */
  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    this.clearConnectTimer();
    if (this.abortRequest) {
      this.abortRequest(reason);
      return;
    }
    this.done();
    const settle = this.headSettle;
    this.headSettle = undefined;
    settle?.reject(reason);
  }

  /**
   * Fails the request unless it has a socket within `ms` (a native timer: undici's own connect
   * timeout ticks every ~0.5 s): with a {@link PoolBusyError} when every one of the origin's
   * pooled connections is serving a request then (`pool`), else with a {@link ConnectTimeoutError}.
   */
  boundConnect(ms: number, pool: ConnectionPool | undefined, origin: Dispatcher.DispatchOptions["origin"]): void {
    if (this.abortRequest || this.aborted) return;
    this.connectTimer = setTimeout(() => {
      const busy = pool !== undefined && origin !== undefined && pool.allBusy(origin instanceof URL ? origin.origin : origin);
      this.abort(busy ? new PoolBusyError(pool.connections, ms) : new ConnectTimeoutError(ms));
    }, ms);
  }

  private clearConnectTimer(): void {
    if (this.connectTimer === undefined) return;
    clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
  }

  /** Lets undici read the socket again after the body asked it to pause. */
  resume(): void {
    this.resumeRequest?.();
  }

  private done(): void {
    this.signal.removeEventListener("abort", this.onSignalAbort);
  }

  onConnect(abort: (reason?: unknown) => void): void {
    this.abortRequest = abort;
    this.clearConnectTimer();
    if (this.aborted) abort(this.abortReason);
  }

  onHeaders(statusCode: number, rawHeaders: (Buffer | string)[], resume: () => void): boolean {
    if (statusCode < 200) return true;
    this.status = statusCode;
    this.rawHeaders = rawHeaders;
    this.resumeRequest = resume;
    const settle = this.headSettle;
    this.headSettle = undefined;
    settle?.resolve(this);
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.body.push(chunk);
  }

  onComplete(): void {
    this.done();
    this.body.end();
  }

  onError(error: Error): void {
    this.clearConnectTimer();
    this.done();
    const settle = this.headSettle;
    this.headSettle = undefined;
    if (settle) settle.reject(error);
    else this.body.fail(error);
  }
}

/** undici's code for a connect timeout, so that one check reads both this and undici's own. */
const CONNECT_TIMEOUT_CODE = "UND_ERR_CONNECT_TIMEOUT";

/** A request that got no connection within its bound. */
export class ConnectTimeoutError extends Error {
  readonly code = CONNECT_TIMEOUT_CODE;

  constructor(ms: number) {
    super(`no connection within ${ms} ms`);
    this.name = "ConnectTimeoutError";
  }
}

/** The gateway's own code for a request that waited for a free pooled connection in vain. */
const POOL_BUSY_CODE = "SWITCHYARD_POOL_BUSY";

/**
 * A request that got no connection within its bound because every one of the origin's pooled
 * connections was serving another request: the gateway's own saturation, not the provider's.
 */
export class PoolBusyError extends Error {
  readonly code = POOL_BUSY_CODE;

  constructor(
    /** The origin's connection limit, all of them busy. */
    readonly connections: number,
    ms: number,
  ) {
    super(`all ${connections} pooled connections were busy for ${ms} ms`);
    this.name = "PoolBusyError";
  }
}

/** The dispatcher's connection limit per origin, and a look at how many of an origin's connections are busy. */
export interface ConnectionPool {
  /** Connections per origin at most. */
  readonly connections: number;
  /** Whether every one of `origin`'s connections is connected and serving a request now. */
  allBusy(origin: string): boolean;
}

/**
 * Dispatches `options` on `dispatcher` with an {@link UndiciExchange}; resolves at the response
 * head. Fails when the request has no socket within `connectMs`: with a {@link PoolBusyError} when
 * it waited for one of `pool`'s connections, all busy; else (connecting) with a {@link ConnectTimeoutError}.
 */
export function exchange(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions, signal: AbortSignalLike, connectMs: number, pool?: ConnectionPool): Promise<UndiciExchange> {
  const handler = new UndiciExchange(signal);
  dispatcher.dispatch(options, handler as unknown as Dispatcher.DispatchHandler);
  handler.boundConnect(connectMs, pool, options.origin);
  return handler.head;
}
