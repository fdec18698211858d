import { Code } from "@connectrpc/connect";
import type { TimeoutSettings } from "../config/gateway-config.js";
import { gatewayError, GatewayError, gatewayOverloaded, Reason } from "../core/errors.js";
import { LightAbort, type AbortSignalLike } from "../core/light-abort.js";
import { PoolBusyError, UpstreamBody } from "../net/undici-exchange.js";
import { decodedResponse } from "./upstream-decoding.js";
import { codeOf, describeConnectionFailure, isConnectTimeout, isLastingTlsFailure, isMalformedResponse } from "./transport-errors.js";
import type { UpstreamRequest, UpstreamResponse, UpstreamTransport } from "./upstream-http.js";
import { redactSecrets, requestSecrets } from "./upstream-status.js";

/** Largest non-streaming upstream body the gateway reads. */
export const MAX_UPSTREAM_BODY_BYTES = 64 * 1024 * 1024;

/** Facts about one upstream attempt, for error mapping and routing. */
export interface UpstreamCallContext {
  /** The provider account, for error facts. */
  readonly provider: string;
  readonly timeouts: TimeoutSettings;
  /** The caller's signal: its abort cancels the attempt. */
  readonly signal: AbortSignalLike;
  /** Streaming requests wait firstTokenMs for the first body byte; others wait totalMs for everything. */
  readonly streaming: boolean;
  /**
   * `timeouts.totalMs` is what the adapter's own work before the call left of the attempt's, and
   * that work took most of it (Gemini's media downloads, more than half): a timeout at it is marked
   * `tightenedBound`, since the provider had far less than its own bound, and says nothing about its health.
   */
  readonly totalShortened?: boolean;
}

/** An upstream response whose body is guarded by the attempt's timeouts. */
export interface GuardedResponse {
  readonly status: number;
  header(name: string): string | undefined;
  /** Body chunks; throws UPSTREAM_TIMEOUT on a stall, PROVIDER_UNREACHABLE on a cut, CANCELED on abort. */
  readonly body: AsyncIterable<Uint8Array>;
  /** Reads the whole body as text, bounded by MAX_UPSTREAM_BODY_BYTES. */
  text(): Promise<string>;
  /** Releases the attempt (timers, connection); safe to call more than once. */
  close(): void;
}

/**
 * The abort reason of an attempt released normally. Shared: `abort()` without a reason builds a
 * DOMException with a captured stack on every request (bench/PROFILE.md).
 */
const RELEASED = new DOMException("the upstream attempt was released", "AbortError");

/**
 * How long an abandoned upstream body may take to finish on its own, so its connection is reused
 * (an upstream that ends right after `[DONE]` does); one that holds the connection open is still
 * cut off almost at once.
 */
const RELEASE_GRACE_MS = 10;
/** Past this many body bytes (counted from the start), an abandoned upstream body is dropped, not drained. */
const RELEASE_LIMIT_BYTES = 1024 * 1024;

function timeoutError(provider: string, message: string, afterFirstByte: boolean, timeoutBound: keyof TimeoutSettings, tightenedBound = false): GatewayError {
  return gatewayError(Code.DeadlineExceeded, Reason.UPSTREAM_TIMEOUT, message, { provider, afterFirstByte, timeoutBound, ...(tightenedBound ? { tightenedBound } : {}) });
}

// Timer callbacks take the attempt as an argument: no closure per timer.
function onTotalTimeout(attempt: UpstreamAttempt): void {
  attempt.abortWith(timeoutError(attempt.provider, `upstream did not finish within ${attempt.timeouts.totalMs} ms`, attempt.firstByte, "totalMs", attempt.totalShortened));
}
function onWaitTimer(attempt: UpstreamAttempt): void {
  attempt.checkWait();
}
function onReleaseGrace(abort: LightAbort): void {
  abort.abort(RELEASED);
}

/**
 * One upstream request under its timeouts and the caller's cancellation, and then its response.
 * One object per attempt with its state in fields and its timer callbacks at module level: the
 * non-streaming hot path allocates no closures here (bench/PROFILE.md).
 */
class UpstreamAttempt implements GuardedResponse {
  readonly provider: string;
  readonly timeouts: TimeoutSettings;
  /** See UpstreamCallContext.totalShortened. */
  readonly totalShortened: boolean;
  firstByte = false;
  status = 0;
  /** The request sent (its credentials are removed from an error body by value). */
  private request: Pick<UpstreamRequest, "headers" | "url"> | undefined;
  private readonly streaming: boolean;
  private readonly callerSignal: AbortSignalLike;
  private readonly abort = new LightAbort();
  private failure: GatewayError | undefined;
  private closed = false;
  private completed = false;
  private readonly totalTimer: NodeJS.Timeout;
  // Streams: one lazily re-armed timer for the first-byte and idle bounds, so a chunk costs a clock
  // read rather than a new timer; time the consumer spends holding a chunk is not upstream silence.
  private waitTimer: NodeJS.Timeout | undefined;
  private waitDue = 0;
  private lastChunkAt: number;
  private held = false;
  private readonly firstByteDeadline: number;
  private releasable: UpstreamBody | undefined;
  private response: UpstreamResponse | undefined;
  private guarded: GuardedBody | undefined;
  // This call aborts `abort` itself only after setting `failure` (timeouts) or `closed` (close):
  // every other abort reaching here is the caller's.
  private readonly onCallerAbort = (): void => {
    if (!this.closed) this.abortWith(gatewayError(Code.Canceled, Reason.CANCELED, "the caller canceled the request", { provider: this.provider }));
  };

  constructor(context: UpstreamCallContext) {
    this.provider = context.provider;
    this.timeouts = context.timeouts;
    this.totalShortened = context.totalShortened === true;
    this.streaming = context.streaming;
    this.callerSignal = context.signal;
    if (context.signal.aborted) this.onCallerAbort();
    else context.signal.addEventListener("abort", this.onCallerAbort, { once: true });
    this.totalTimer = setTimeout(onTotalTimeout, context.timeouts.totalMs, this);
    this.lastChunkAt = Date.now();
    this.firstByteDeadline = this.lastChunkAt + context.timeouts.firstTokenMs;
    if (context.streaming) this.armWait(context.timeouts.firstTokenMs);
  }

  /** Records the first failure and aborts the request with it. */
  abortWith(error: GatewayError): void {
    if (!this.failure) this.failure = error;
    this.abort.abort(error);
  }

  private armWait(ms: number): void {
    const due = Date.now() + ms;
    if (this.waitTimer) {
      if (this.waitDue <= due) return;
      clearTimeout(this.waitTimer);
    }
    this.waitDue = due;
    this.waitTimer = setTimeout(onWaitTimer, Math.max(1, ms), this);
  }

  /** The first-byte / idle timer fired: re-arm it if the bound moved, else fail the attempt. */
  checkWait(): void {
    this.waitTimer = undefined;
    const now = Date.now();
    const idleMs = this.timeouts.idleMs;
    // Until the first-token deadline the byte-level idle bound does not end the attempt: bytes before
    // the first token (a role chunk, message_start, pings) do not start a model's thinking clock.
    // The stream watchdog bounds the gaps between events once tokens flow.
    const deadline = this.held ? now + idleMs : this.firstByte ? Math.max(this.lastChunkAt + idleMs, this.firstByteDeadline) : this.firstByteDeadline;
    if (now < deadline) return this.armWait(deadline - now);
    // The message names the bound that ended the wait: bytes before the first token (a role chunk)
    // leave the first-token deadline in charge until it passes.
    const stalled = this.held || (this.firstByte && this.lastChunkAt + idleMs >= this.firstByteDeadline);
    const firstTokenMs = this.timeouts.firstTokenMs;
    const message = stalled ? `upstream stream stalled for ${idleMs} ms` : this.firstByte ? `upstream sent no token within ${firstTokenMs} ms` : `upstream sent nothing within ${firstTokenMs} ms`;
    this.abortWith(timeoutError(this.provider, message, this.firstByte, stalled ? "idleMs" : "firstTokenMs"));
  }

  /** Sends the request; resolves with this attempt once the response head arrived. */
  async send(transport: UpstreamTransport, request: Omit<UpstreamRequest, "signal" | "connectTimeoutMs">): Promise<GuardedResponse> {
    try {
      const response = await transport({ url: request.url, method: request.method, headers: request.headers, body: request.body, signal: this.abort, connectTimeoutMs: this.timeouts.connectMs });
      // A body in a content coding (gzip, deflate, br) is decoded; one the gateway cannot read fails the attempt.
      this.response = decodedResponse(response, this.provider);
    } catch (error) {
      this.close();
      throw this.translate(error, true);
    }
    this.status = this.response.status;
    this.request = request;
    return this;
  }

  header(name: string): string | undefined {
    return this.response?.header(name);
  }

  get body(): AsyncIterable<Uint8Array> {
    // Created on first use: non-streaming answers are read with text() and never need it.
    if (!this.guarded) {
      const source = (this.response as UpstreamResponse).body;
      // Not destroyed when the consumer stops early: close() may still let it finish (connection reuse).
      if (this.streaming && source instanceof UpstreamBody && !source.finished) this.releasable = source;
      this.guarded = new GuardedBody(this, source);
    }
    return this.guarded;
  }

  /** A body chunk arrived (GuardedBody): throws the attempt's failure if it has one. */
  chunkArrived(): void {
    if (this.failure) throw this.failure;
    this.firstByte = true;
    this.held = true;
  }

  /** The consumer asks for more after holding a chunk: from now on, waiting is upstream silence again. */
  chunkReleased(): void {
    if (!this.held) return;
    this.held = false;
    this.lastChunkAt = Date.now();
    if (this.streaming) this.armWait(this.timeouts.idleMs);
  }

  /** The body ended (GuardedBody): throws the attempt's failure if it has one, else marks it complete. */
  bodyEnded(): void {
    if (this.failure) throw this.failure;
    this.completed = true;
  }

  async text(): Promise<string> {
    // The same guards as GuardedBody, pushed rather than pulled: no promise per chunk (bench/PROFILE.md).
    const sink = new TextSink(this);
    try {
      const source = (this.response as UpstreamResponse).body;
      // undici's body (an UpstreamBody) pushes chunks straight into the sink: no promise per chunk.
      if (source instanceof UpstreamBody) await source.collect((chunk) => sink.take(chunk));
      else {
        for await (const chunk of source) if (!sink.take(chunk)) break;
      }
      if (!sink.tooLarge && this.failure) throw this.failure;
      if (!sink.tooLarge) this.completed = true;
    } catch (error) {
      throw this.translate(error);
    } finally {
      this.close();
    }
    if (sink.tooLarge) throw sink.tooLarge;
    const text = sink.text();
    // A refusal may echo the credentials it was sent (a key without a recognisable prefix escapes scrubSecrets' patterns).
    return this.status >= 400 && this.request ? redactSecrets(text, requestSecrets(this.request.headers, this.request.url)) : text;
  }

  /** Accounts for one body chunk read by text(); throws the attempt's failure if it has one. */
  received(): void {
    if (this.failure) throw this.failure;
    this.firstByte = true;
    this.lastChunkAt = Date.now();
    if (this.streaming) this.armWait(this.timeouts.idleMs);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.totalTimer);
    if (this.waitTimer) clearTimeout(this.waitTimer);
    this.callerSignal.removeEventListener("abort", this.onCallerAbort);
    // A body read to its end has already released the request; aborting it again is pure cost.
    if (this.completed || this.abort.aborted) return;
    // A consumer that stopped early (a stream's [DONE] or usage before the upstream's end): let the
    // rest of the body arrive, bounded in time and size, so the keep-alive connection goes back to
    // the pool instead of a new TCP connection per stream; otherwise abort it at once.
    const releasable = this.releasable;
    if (releasable && !releasable.finished) {
      const timer = setTimeout(onReleaseGrace, RELEASE_GRACE_MS, this.abort);
      timer.unref();
      const clear = () => clearTimeout(timer);
      releasable.dump(RELEASE_LIMIT_BYTES).then(clear, clear);
      return;
    }
    this.abort.abort(RELEASED);
  }

  /** The GatewayError for a failure of the request (`beforeHead`: before the response head was read) or its body. */
  translate(error: unknown, beforeHead = false): GatewayError {
    if (this.failure) return this.failure;
    if (error instanceof GatewayError) return error;
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof PoolBusyError) {
      // The request never left the gateway: its own pool was full, which says nothing about the provider.
      return gatewayOverloaded(`the gateway's connections to provider "${this.provider}" were all busy (${error.connections}, its limit per origin) for ${this.timeouts.connectMs} ms: try again shortly`, { provider: this.provider });
    }
    if (isConnectTimeout(error)) {
      // A black-holed host is a silent provider: a timeout (fail over), not a refused connection (retry).
      return timeoutError(this.provider, `could not connect to the provider within ${this.timeouts.connectMs} ms`, false, "connectMs");
    }
    // Before the head, a content-length "mismatch" is undici's word for a head it could not parse
    // (two different content-lengths); after it, the connection ended short of the length (a cut).
    if (isMalformedResponse(error) || (beforeHead && codeOf(error) === "UND_ERR_RES_CONTENT_LENGTH_MISMATCH")) {
      // A server that breaks the protocol will break it again: fail over, do not retry.
      return gatewayError(Code.Internal, Reason.INVALID_PROVIDER_RESPONSE, `provider "${this.provider}" sent a malformed HTTP response: ${message}`, { provider: this.provider, afterFirstByte: this.firstByte }, error);
    }
    return gatewayError(
      Code.Unavailable,
      Reason.PROVIDER_UNREACHABLE,
      `${this.firstByte ? "upstream connection failed mid-response" : "could not reach the provider"}: ${describeConnectionFailure(error)}`,
      // An untrusted certificate is not retried on the same target: it fails over at once.
      { provider: this.provider, afterFirstByte: this.firstByte, ...(isLastingTlsFailure(error) ? { noRetry: true } : {}) },
      error,
    );
  }
}

/**
 * The attempt's body under its guards, as a plain async iterator rather than a generator (one
 * promise per chunk, no generator machinery; bench/PROFILE.md): each chunk is checked against the
 * attempt's failure and restarts the idle bound once the consumer asks for the next; errors become
 * GatewayErrors; the attempt is closed when the body ends, fails, or the consumer stops early.
 */
class GuardedBody implements AsyncIterableIterator<Uint8Array> {
  private readonly source: AsyncIterator<Uint8Array>;
  private over = false;

  constructor(
    private readonly attempt: UpstreamAttempt,
    body: AsyncIterable<Uint8Array>,
  ) {
    this.source = body[Symbol.asyncIterator]();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Uint8Array> {
    return this;
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    if (this.over) return { done: true, value: undefined };
    this.attempt.chunkReleased();
    let result: IteratorResult<Uint8Array>;
    try {
      result = await this.source.next();
      if (result.done) this.attempt.bodyEnded();
    } catch (error) {
      this.finish();
      throw this.attempt.translate(error);
    }
    if (result.done) {
      this.finish();
      return result;
    }
    try {
      this.attempt.chunkArrived();
    } catch (error) {
      // The attempt failed while this chunk was in flight: stop the source, as a for-await would.
      this.source.return?.().catch(() => undefined);
      this.finish();
      throw this.attempt.translate(error);
    }
    return result;
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    if (!this.over) {
      this.over = true;
      try {
        await this.source.return?.();
      } finally {
        this.attempt.close();
      }
    }
    return { done: true, value: undefined };
  }

  private finish(): void {
    this.over = true;
    this.attempt.close();
  }
}

/** Collects a body for text(), bounded by MAX_UPSTREAM_BODY_BYTES. */
class TextSink {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;
  tooLarge: GatewayError | undefined;

  constructor(private readonly attempt: UpstreamAttempt) {}

  /** Takes one chunk; false (with `tooLarge` set) once the bound is passed. */
  take(chunk: Uint8Array): boolean {
    this.attempt.received();
    this.size += chunk.byteLength;
    if (this.size > MAX_UPSTREAM_BODY_BYTES) {
      this.tooLarge = gatewayError(Code.Internal, Reason.INVALID_PROVIDER_RESPONSE, "upstream response body is too large", { provider: this.attempt.provider });
      return false;
    }
    this.chunks.push(chunk);
    return true;
  }

  /** The body as UTF-8 text, without a leading byte order mark (RFC 8259 §8.1 lets a JSON reader ignore one). */
  text(): string {
    const only = this.chunks.length === 1 ? this.chunks[0] : undefined;
    const text = (only ? Buffer.from(only.buffer, only.byteOffset, only.byteLength) : Buffer.concat(this.chunks)).toString("utf8");
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  }
}

/**
 * Sends a request through `transport` under the attempt's timeouts and the caller's cancellation.
 * Bounds: connect (connectMs), first body byte on streams (firstTokenMs; non-streaming answers
 * are bounded by totalMs only, since their first byte is the whole answer), gap between body
 * chunks on streams (idleMs), whole attempt (totalMs). Refused or reset connections become
 * PROVIDER_UNREACHABLE (retryable before any byte), a response that breaks HTTP/1.1
 * INVALID_PROVIDER_RESPONSE (fail over), the connect bound spent waiting for a free pooled
 * connection, all busy, GATEWAY_OVERLOADED (the gateway's own saturation), every bound breached (connect included)
 * UPSTREAM_TIMEOUT (naming the bound: `timeoutBound`), aborts of `signal` CANCELED; each error says
 * whether any body byte had arrived (`afterFirstByte`). Timers and the connection are released when the body ends, fails or
 * is abandoned (`close`); an abandoned stream body may finish within RELEASE_GRACE_MS, so its
 * keep-alive connection is reused. The transport gets its own abort signal, which follows `signal`.
 */
export function sendUpstream(transport: UpstreamTransport, request: Omit<UpstreamRequest, "signal" | "connectTimeoutMs">, context: UpstreamCallContext): Promise<GuardedResponse> {
  return new UpstreamAttempt(context).send(transport, request);
}
