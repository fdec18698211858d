import { Readable } from "node:stream";
import { Agent, request as undiciRequest } from "undici";
import { Code } from "@connectrpc/connect";
import { gatewayError, GatewayError, Reason } from "../core/errors.js";
import type { TimeoutSettings } from "../config/gateway-config.js";

/** An HTTP request to a provider. */
export interface UpstreamRequest {
  readonly url: string;
  readonly method: "POST" | "GET";
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly signal: AbortSignal;
  /** TCP connect bound for this request, in milliseconds. */
  readonly connectTimeoutMs?: number;
}

/** A provider's HTTP response; the body is consumed once. */
export interface UpstreamResponse {
  readonly status: number;
  /** Reads a response header by lower-case name. */
  header(name: string): string | undefined;
  readonly body: AsyncIterable<Uint8Array>;
}

/**
 * Sends one HTTP request. The production transport is a pooled keep-alive undici client; tests inject
 * a replaying one. Implementations reject with an AbortError when the signal aborts.
 */
export type UpstreamTransport = (request: UpstreamRequest) => Promise<UpstreamResponse>;

/** Origin and path of an upstream URL, as undici's dispatchers take them. */
interface UpstreamTarget {
  readonly origin: string;
  readonly path: string;
}

/** Split URLs by their text; the set of upstream URLs is small (one or a few per account and model). */
const targets = new Map<string, UpstreamTarget | null>();
const MAX_CACHED_TARGETS = 1024;

/** The URL split as undici's top-level request() would; null when that function should judge it (e.g. to report it invalid). */
function targetOf(url: string): UpstreamTarget | null {
  let target = targets.get(url);
  if (target === undefined) {
    target = null;
    try {
      const parsed = new URL(url);
      if (parsed.protocol === "http:" || parsed.protocol === "https:") target = { origin: parsed.origin, path: parsed.search ? `${parsed.pathname}${parsed.search}` : parsed.pathname };
    } catch {
      target = null;
    }
    if (targets.size >= MAX_CACHED_TARGETS) targets.clear();
    targets.set(url, target);
  }
  return target;
}

/**
 * Creates the production transport: undici `request` over keep-alive connection pools, one Agent per
 * connect timeout. Response bodies are Node streams (no web-stream overhead).
 */
export function createUndiciTransport(): UpstreamTransport {
  const agents = new Map<number, Agent>();
  const agentFor = (connectMs: number): Agent => {
    let agent = agents.get(connectMs);
    if (!agent) {
      agent = new Agent({
        connect: { timeout: connectMs },
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 600_000,
        headersTimeout: 0,
        bodyTimeout: 0,
        connections: 256,
      });
      agents.set(connectMs, agent);
    }
    return agent;
  };
  return async (request) => {
    const dispatcher = agentFor(request.connectTimeoutMs ?? 10_000);
    const target = targetOf(request.url);
    // With the URL already split, the Agent is called directly: undici's top-level request()
    // parses the URL and copies the options on every call.
    const response = target
      ? await dispatcher.request({ origin: target.origin, path: target.path, method: request.method, headers: request.headers, body: request.body ?? null, signal: request.signal })
      : await undiciRequest(request.url, { method: request.method, headers: request.headers, body: request.body ?? null, signal: request.signal, dispatcher });
    return {
      status: response.statusCode,
      header(name) {
        const value = response.headers[name];
        return Array.isArray(value) ? value[0] : value;
      },
      body: response.body,
    };
  };
}

/** Largest non-streaming upstream body the gateway reads. */
export const MAX_UPSTREAM_BODY_BYTES = 64 * 1024 * 1024;

/** Facts about one upstream attempt, for error mapping and routing. */
export interface UpstreamCallContext {
  /** The provider account, for error facts. */
  readonly provider: string;
  readonly timeouts: TimeoutSettings;
  /** The caller's signal: its abort cancels the attempt. */
  readonly signal: AbortSignal;
  /**
   * The attempt's own controller, whose signal is `signal`, when this call may abort it (on its
   * timeouts, or to release the connection): the call then uses it instead of a second controller
   * that follows `signal` (an AbortController costs ~7 µs on Node 20; bench/PROFILE.md).
   */
  readonly controller?: AbortController | undefined;
  /** Streaming requests wait firstTokenMs for the first body byte; others wait totalMs for everything. */
  readonly streaming: boolean;
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

function isConnectTimeout(error: unknown): boolean {
  const code = error && typeof error === "object" && "code" in error ? (error as { code: unknown }).code : undefined;
  return code === "UND_ERR_CONNECT_TIMEOUT" || code === "ETIMEDOUT";
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

/** A Node stream that can be read to its end and discarded (undici's response body). */
type DumpableBody = Readable & { dump(options: { limit: number }): Promise<unknown> };

function isDumpable(body: unknown): body is DumpableBody {
  return body instanceof Readable && typeof (body as Partial<DumpableBody>).dump === "function";
}

function timeoutError(provider: string, message: string, afterFirstByte: boolean): GatewayError {
  return gatewayError(Code.DeadlineExceeded, Reason.UPSTREAM_TIMEOUT, message, { provider, afterFirstByte });
}

/**
 * Sends a request through `transport` under the attempt's timeouts and the caller's cancellation.
 * Bounds: connect (connectMs), first body byte on streams (firstTokenMs; non-streaming answers
 * are bounded by totalMs only, since their first byte is the whole answer), gap between body
 * chunks on streams (idleMs), whole attempt (totalMs). Refused or reset connections become
 * PROVIDER_UNREACHABLE (retryable before any byte), every bound breached (connect included)
 * UPSTREAM_TIMEOUT, aborts of `signal` CANCELED; each error says whether any body byte had
 * arrived (`afterFirstByte`). Timers and the connection are released when the body ends, fails or
 * is abandoned (`close`); an abandoned stream body may finish within RELEASE_GRACE_MS, so its
 * keep-alive connection is reused.
 */
export async function sendUpstream(transport: UpstreamTransport, request: Omit<UpstreamRequest, "signal" | "connectTimeoutMs">, context: UpstreamCallContext): Promise<GuardedResponse> {
  const controller = context.controller?.signal === context.signal ? context.controller : new AbortController();
  const { provider, timeouts } = context;
  let failure: GatewayError | undefined;
  let firstByte = false;
  let closed = false;
  let completed = false;
  const abortWith = (error: GatewayError) => {
    if (!failure) failure = error;
    controller.abort(error);
  };
  // A shared controller is also aborted by this call (timeouts set `failure` first; close() sets
  // `closed` first): every other abort is the caller's.
  const onCallerAbort = () => {
    if (!closed) abortWith(gatewayError(Code.Canceled, Reason.CANCELED, "the caller canceled the request", { provider }));
  };
  if (context.signal.aborted) onCallerAbort();
  else context.signal.addEventListener("abort", onCallerAbort, { once: true });
  const totalTimer = setTimeout(() => abortWith(timeoutError(provider, `upstream did not finish within ${timeouts.totalMs} ms`, firstByte)), timeouts.totalMs);
  // Streams: one lazily re-armed timer for the first-byte and idle bounds, so a chunk costs a clock
  // read rather than a new timer; time the consumer spends holding a chunk is not upstream silence.
  let waitTimer: NodeJS.Timeout | undefined;
  let waitDue = 0;
  let lastChunkAt = Date.now();
  let held = false;
  const firstByteDeadline = lastChunkAt + timeouts.firstTokenMs;
  const armWait = (ms: number) => {
    const due = Date.now() + ms;
    if (waitTimer) {
      if (waitDue <= due) return;
      clearTimeout(waitTimer);
    }
    waitDue = due;
    waitTimer = setTimeout(checkWait, Math.max(1, ms));
  };
  const checkWait = () => {
    waitTimer = undefined;
    const now = Date.now();
    const deadline = held ? now + timeouts.idleMs : firstByte ? lastChunkAt + timeouts.idleMs : firstByteDeadline;
    if (now < deadline) return armWait(deadline - now);
    abortWith(timeoutError(provider, firstByte ? `upstream stream stalled for ${timeouts.idleMs} ms` : `upstream sent nothing within ${timeouts.firstTokenMs} ms`, firstByte));
  };
  if (context.streaming) armWait(timeouts.firstTokenMs);
  let releasable: DumpableBody | undefined;
  const close = () => {
    if (closed) return;
    closed = true;
    clearTimeout(totalTimer);
    if (waitTimer) clearTimeout(waitTimer);
    context.signal.removeEventListener("abort", onCallerAbort);
    // A body read to its end has already released the request; aborting it again is pure cost.
    if (completed || controller.signal.aborted) return;
    // A consumer that stopped early (a stream's [DONE] or usage before the upstream's end): let the
    // rest of the body arrive, bounded in time and size, so the keep-alive connection goes back to
    // the pool instead of a new TCP connection per stream; otherwise abort it at once.
    if (releasable && !releasable.destroyed && !releasable.readableEnded) {
      const timer = setTimeout(() => controller.abort(RELEASED), RELEASE_GRACE_MS);
      timer.unref();
      releasable.dump({ limit: RELEASE_LIMIT_BYTES }).then(
        () => clearTimeout(timer),
        () => clearTimeout(timer),
      );
      return;
    }
    controller.abort(RELEASED);
  };
  const translate = (error: unknown): GatewayError => {
    if (failure) return failure;
    if (error instanceof GatewayError) return error;
    const message = error instanceof Error ? error.message : String(error);
    if (isConnectTimeout(error)) {
      // A black-holed host is a silent provider: a timeout (fail over), not a refused connection (retry).
      return timeoutError(provider, `could not connect to the provider within ${timeouts.connectMs} ms`, false);
    }
    return gatewayError(
      Code.Unavailable,
      Reason.PROVIDER_UNREACHABLE,
      firstByte ? `upstream connection failed mid-response: ${message}` : `could not reach the provider: ${message}`,
      { provider, afterFirstByte: firstByte },
      error,
    );
  };

  let response: UpstreamResponse;
  try {
    response = await transport({ ...request, signal: controller.signal, connectTimeoutMs: timeouts.connectMs });
  } catch (error) {
    close();
    throw translate(error);
  }

  async function* guardedBody(): AsyncGenerator<Uint8Array> {
    const source = response.body;
    // Not destroyed when the consumer stops early: close() may still let it finish (connection reuse).
    if (context.streaming && isDumpable(source) && !source.destroyed) releasable = source;
    try {
      for await (const chunk of releasable ? releasable.iterator({ destroyOnReturn: false }) : source) {
        if (failure) throw failure;
        firstByte = true;
        held = true;
        yield chunk;
        held = false;
        lastChunkAt = Date.now();
        if (context.streaming) armWait(timeouts.idleMs);
      }
      if (failure) throw failure;
      completed = true;
    } catch (error) {
      throw translate(error);
    } finally {
      close();
    }
  }

  // Created on first use: non-streaming answers are read with text() and never need it.
  let body: AsyncGenerator<Uint8Array> | undefined;
  return {
    status: response.status,
    header: (name) => response.header(name),
    get body() {
      body ??= guardedBody();
      return body;
    },
    async text() {
      // The same guards as guardedBody, inlined: an async generator per answer is measurable
      // per-request CPU on the non-streaming hot path (bench/PROFILE.md).
      const chunks: Uint8Array[] = [];
      let size = 0;
      let tooLarge: GatewayError | undefined;
      const take = (chunk: Uint8Array): boolean => {
        if (failure) throw failure;
        firstByte = true;
        lastChunkAt = Date.now();
        if (context.streaming) armWait(timeouts.idleMs);
        size += chunk.byteLength;
        if (size > MAX_UPSTREAM_BODY_BYTES) {
          tooLarge = gatewayError(Code.Internal, Reason.INVALID_PROVIDER_RESPONSE, "upstream response body is too large", { provider });
          return false;
        }
        chunks.push(chunk);
        return true;
      };
      try {
        const source = response.body;
        // A live Node stream (undici's body) is read through its events: `for await` over a
        // Readable costs ~14 µs per answer on Node 20 (bench/PROFILE.md).
        if (source instanceof Readable && !source.readableEnded && !source.destroyed) await drain(source, take);
        else {
          for await (const chunk of source) if (!take(chunk)) break;
        }
        if (!tooLarge && failure) throw failure;
        if (!tooLarge) completed = true;
      } catch (error) {
        throw translate(error);
      } finally {
        close();
      }
      if (tooLarge) throw tooLarge;
      return Buffer.concat(chunks).toString("utf8");
    },
    close,
  };
}

/**
 * Reads a Node stream to its end through its events, passing each chunk to `take` (which returns
 * false to stop early, or throws). Settles like `for await` would: resolves at the end or on an
 * early stop (the stream is then destroyed), rejects with the stream's error, with what `take`
 * threw (the stream is destroyed), or with a premature-close error when the stream closes first.
 */
function drain(stream: Readable, take: (chunk: Uint8Array) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onError);
      stream.off("close", onClose);
    };
    const onData = (chunk: Uint8Array) => {
      let more: boolean;
      try {
        more = take(chunk);
      } catch (error) {
        cleanup();
        stream.destroy();
        reject(error);
        return;
      }
      if (!more) {
        cleanup();
        stream.destroy();
        resolve();
      }
    };
    const onEnd = () => {
      cleanup();
      resolve();
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      cleanup();
      reject(Object.assign(new Error("Premature close"), { code: "ERR_STREAM_PREMATURE_CLOSE" }));
    };
    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("error", onError);
    stream.on("close", onClose);
  });
}

/**
 * Parses a Retry-After header (delta seconds or an HTTP date) into milliseconds from now;
 * undefined when absent or unreadable.
 * @see https://www.rfc-editor.org/rfc/rfc9110#field.retry-after
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}
