import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type stream from "node:stream";
import { answerClientError, CONNECT_METHOD, MISSING_HOST, originInRawRequest, writeClientError } from "./client-error.js";
import { FastH1Server, type FastRequestTaker } from "./fast-h1.js";
import { refuseRequest, refuseStream, type HostCheckedRequest, type HostRefusal } from "./host-refusal.js";
import { StalledResponses } from "./write-drain.js";

/** A request handler that both HTTP/1.1 and HTTP/2 compatibility requests reach. */
export type DualHandler = (request: http.IncomingMessage | http2.Http2ServerRequest, response: http.ServerResponse | http2.Http2ServerResponse) => void;

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** A connection that sends nothing for this long is closed before it is classified. */
const FIRST_BYTE_TIMEOUT_MS = 10_000;
/** While closing, how often HTTP/1.1 connections that became idle are closed. */
const IDLE_SWEEP_MS = 100;
/** How long an HTTP/1.1 connection answered before its request's body was read stays open after the answer (the client reads it, then leaves). */
const EARLY_ANSWER_LINGER_MS = 2_000;
/** An HTTP/1.1 connection with no request for this long is closed. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/** An HTTP/2 connection with no open stream for this long is closed with GOAWAY (clients reconnect). */
const HTTP2_IDLE_TIMEOUT_MS = 300_000;
/**
 * The largest HTTP/2 header block (uncompressed, RFC 9113 §6.5.2) a client may send, advertised in
 * SETTINGS: nghttp2 fails a larger one with a connection error, which took every other call on
 * the connection down with it (grpcio waited them out to their deadlines).
 */
const HTTP2_MAX_HEADER_LIST_BYTES = 64_000;
/**
 * Header fields one HTTP/2 request may have: within the block's byte bound, as many as HTTP/1.1
 * takes (Node's server default is 2,000 there, and 128 on HTTP/2, a bound no client is told of).
 */
const HTTP2_MAX_HEADER_PAIRS = 2_000;
/** How long after a call's deadline a request still uploading is answered, when its handler has not answered it. */
const LATE_UPLOAD_GRACE_MS = 250;
/** Concurrent streams per HTTP/2 connection, advertised in SETTINGS (Node's default is unbounded). */
const HTTP2_MAX_CONCURRENT_STREAMS = 1_000;

/** Options of {@link createOnePortServer}. */
export interface OnePortOptions {
  readonly headersTimeoutMs?: number;
  /** The whole request must arrive within this (HTTP/1.1: Node's requestTimeout; HTTP/2: per stream, 408). */
  readonly requestTimeoutMs?: number;
  /** HTTP/1.1 connections with no request for this long are closed (65 s by default). */
  readonly keepAliveTimeoutMs?: number;
  /** HTTP/2 connections with no open stream for this long are closed (GOAWAY); 0 keeps them. */
  readonly http2IdleTimeoutMs?: number;
  /** A response through Node's servers whose writes wait for 'drain' this long without a break is given up (CLIENT_STALL_MS by default). */
  readonly clientStallMs?: number;
  /** Offered every HTTP/1.1 request before the shared handler; returns true when it answers the request itself. */
  readonly takeRequest?: (request: http.IncomingMessage, response: http.ServerResponse) => boolean;
  /**
   * The HTTP/1.1 fast path (fast-h1.ts): requests of the shape `POST <path>` with a Content-Length
   * body up to `bodyLimitBytes` are offered to `take` on a connection that has had no other kind;
   * the first request of any other shape hands the connection to Node's HTTP server for good.
   */
  readonly fastPath?: { readonly path: string; readonly take: FastRequestTaker; readonly bodyLimitBytes: number };
  /** Offered every new HTTP/2 stream before the shared handler; returns true when it serves the stream itself. */
  readonly takeStream?: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean;
  /**
   * Asked first about every HTTP/1.1 request (its Host) and HTTP/2 stream (its :authority, else
   * Host), with its method, path and headers: an answer to send instead of serving it, or
   * undefined to serve it.
   */
  readonly refuseHost?: (authority: string | undefined, request: HostCheckedRequest) => HostRefusal | undefined;
  /**
   * The CORS headers of an answer to a request from `origin` (undefined: none known), for the
   * HTTP/1.1 answers the server writes itself: a request Node's parser refuses, one that does not
   * arrive in time, one without Host, CONNECT.
   */
  readonly corsHeaders?: (origin: string | undefined) => Readonly<Record<string, string>> | undefined;
  /** The deadline (epoch ms) an HTTP/2 call's headers ask for, if any: its request must have arrived by then, and its answer is given up when it still waits for the client then. */
  readonly streamDeadline?: (headers: http2.IncomingHttpHeaders) => number | undefined;
  /** The answer to an HTTP/2 request of Node's handler whose body has not arrived in time, by its path and content-type (an RPC's DEADLINE_EXCEEDED); undefined: a 408 head. */
  readonly lateUpload?: (path: string | undefined, contentType: string | undefined) => HostRefusal | undefined;
}

function authorityOf(headers: http2.IncomingHttpHeaders): string | undefined {
  const authority = headers[":authority"] ?? headers.host;
  return typeof authority === "string" ? authority : undefined;
}

/** The net.Server Fastify listens on, with the connection-closing methods Fastify looks for. */
export interface OnePortServer extends net.Server {
  closeIdleConnections(): void;
  closeAllConnections(): void;
  closeHttp2Sessions(): void;
}

/**
 * Creates one TCP server that serves HTTP/1.1 and cleartext HTTP/2 (h2c prior knowledge, i.e.
 * gRPC) on the same port: each connection's first bytes are peeked; the HTTP/2 preface goes to
 * an http2 server, anything else to an http server (or first to the HTTP/1.1 fast path, when
 * `fastPath` is given, which hands a connection to the http server at its first request of another
 * shape); both servers run the same handler (Fastify's).
 * Closing it also closes idle HTTP/1.1 keep-alive sockets and every HTTP/2 session, so a
 * graceful shutdown does not hang on idle clients. See docs/toolchain.md §2.
 */
export function createOnePortServer(handler: DualHandler, options: OnePortOptions = {}): OnePortServer {
  const takeRequest = options.takeRequest;
  const served: http.RequestListener = takeRequest ? (request, response) => {
    if (!takeRequest(request, response)) (handler as http.RequestListener)(request, response);
  } : (handler as http.RequestListener);
  const refuseHost = options.refuseHost;
  const corsHeaders = options.corsHeaders;
  const stalls = new StalledResponses(options.clientStallMs);
  // With CORS on, each HTTP/1.1 connection's latest request: a body that comes too late or
  // malformed belongs to it, and its answer carries the CORS headers of its Origin.
  const latestRequests = corsHeaders ? new WeakMap<stream.Duplex, http.IncomingMessage>() : undefined;
  const h1Handler: http.RequestListener = (request, response) => {
    latestRequests?.set(request.socket, request);
    // Node's own answer to a missing Host is a bare 400 (requireHostHeader is off to give the envelope).
    if (request.headers.host === undefined && request.httpVersionMajor === 1 && request.httpVersionMinor === 1) {
      writeClientError(request.socket, MISSING_HOST, corsHeaders?.(request.headers.origin));
      request.socket.destroy();
      return;
    }
    closeIfAnsweredEarly(request, response);
    const refusal = refuseHost?.(request.headers.host, { method: request.method, path: request.url, headers: request.headers });
    if (refusal) refuseRequest(request, response, refusal);
    else {
      stalls.watch(response);
      served(request, response);
    }
  };
  const requestTimeoutMs = options.requestTimeoutMs ?? 120_000;
  const headersTimeoutMs = options.headersTimeoutMs ?? 60_000;
  const keepAliveTimeoutMs = options.keepAliveTimeoutMs ?? KEEP_ALIVE_TIMEOUT_MS;
  // Node checks headersTimeout and requestTimeout only every connectionsCheckingInterval (30 s by
  // default, so a 60 s bound fired at up to 90 s); every second keeps them honest.
  const h1 = http.createServer({ keepAliveTimeout: keepAliveTimeoutMs, headersTimeout: headersTimeoutMs, requestTimeout: requestTimeoutMs, connectionsCheckingInterval: 1_000, requireHostHeader: false }, h1Handler);
  h1.on("clientError", (error: NodeJS.ErrnoException & { rawPacket?: Uint8Array }, socket: stream.Duplex) => {
    if (!corsHeaders) return answerClientError(error, socket, undefined);
    // A request whose head was read (its body is late or malformed) has its Origin parsed; else it is in the bytes refused, if they hold it.
    const latest = latestRequests?.get(socket);
    answerClientError(error, socket, corsHeaders(latest && !latest.complete ? latest.headers.origin : originInRawRequest(error.rawPacket)));
  });
  // Without a listener Node closes a CONNECT request's socket with no answer at all.
  h1.on("connect", (request: http.IncomingMessage, socket: stream.Duplex) => {
    // Node removes its own error listener from a CONNECT's socket: a client reset while the answers before it are pending must not crash the process.
    socket.on("error", () => socket.destroy());
    // Pipelined behind an answer still being written (a stream): after it, never inside it.
    afterAnswerInFlight(socket, () => {
      writeClientError(socket, CONNECT_METHOD, corsHeaders?.(request.headers.origin));
      socket.destroy();
    });
  });
  /** Gives an HTTP/1.1 connection, with the bytes read from it and not yet served, to Node's server. */
  const toNode = (socket: net.Socket, unread: Buffer): void => {
    socket.pause();
    if (unread.length > 0) socket.unshift(unread);
    h1.emit("connection", socket);
    socket.resume();
  };
  const fastPath = options.fastPath;
  const fast = fastPath
    ? new FastH1Server({
        ...fastPath,
        handOver: toNode,
        keepAliveTimeoutMs,
        headersTimeoutMs,
        requestTimeoutMs,
        ...(corsHeaders ? { corsHeaders } : {}),
        ...(refuseHost ? { refusesHost: (headers: http.IncomingHttpHeaders) => refuseHost(headers.host, { method: "POST", path: fastPath.path, headers }) !== undefined } : {}),
      })
    : undefined;
  // HTTP/2 streams go to `takeStream` first; the ones it leaves are turned into compatibility
  // requests by a second http2 server that never listens (its 'stream' listener is Node's own).
  const compat = http2.createServer({}, (request: http2.Http2ServerRequest, response: http2.Http2ServerResponse) => {
    (handler as (request: http2.Http2ServerRequest, response: http2.Http2ServerResponse) => void)(request, response);
  });
  // Advertised limits (SETTINGS): a client that honours them refuses an oversize call itself,
  // instead of sending a header block nghttp2 then fails the whole connection over.
  const h2 = http2.createServer({ maxHeaderListPairs: HTTP2_MAX_HEADER_PAIRS, settings: { maxHeaderListSize: HTTP2_MAX_HEADER_LIST_BYTES, maxConcurrentStreams: HTTP2_MAX_CONCURRENT_STREAMS } });
  const takeStream = options.takeStream;
  h2.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
    const refusal = refuseHost?.(authorityOf(headers), { method: headers[":method"], path: headers[":path"], headers });
    if (refusal) return refuseStream(stream, refusal);
    // Either handler's answer: its last frames and trailers wait for the client's window too.
    const deadlineAt = options.streamDeadline?.(headers);
    stalls.watchStream(stream, deadlineAt);
    if (takeStream?.(stream, headers)) return;
    boundUpload(stream, requestTimeoutMs, deadlineAt, options.lateUpload?.(headers[":path"], headers["content-type"]), corsHeaders?.(headers.origin));
    compat.emit("stream", stream, headers, flags, rawHeaders);
  });
  const sessions = new Set<http2.Http2Session>();
  const idleTimeoutMs = options.http2IdleTimeoutMs ?? HTTP2_IDLE_TIMEOUT_MS;
  h2.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
    if (idleTimeoutMs > 0) closeWhenIdle(session, idleTimeoutMs);
  });
  const pending = new Set<net.Socket>();

  // noDelay: accepted sockets belong to this net.Server, not to the inner http server (whose own
  // noDelay default never applies), so Nagle must be turned off here or small SSE frames and
  // responses wait for delayed ACKs (tens of ms, frames batched).
  const server = net.createServer({ noDelay: true }, (socket) => {
    pending.add(socket);
    let buffered: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), FIRST_BYTE_TIMEOUT_MS);
    const dispatch = (target: "h1" | "h2") => {
      clearTimeout(timer);
      pending.delete(socket);
      socket.off("data", onData);
      socket.off("error", onError);
      if (target === "h2") {
        // The http2 session takes over the socket's native handle and reads the unshifted bytes
        // itself; resuming the JS stream here would drain them first ("bad client magic").
        socket.pause();
        socket.unshift(buffered);
        h2.emit("connection", socket);
      } else if (fast) {
        fast.serve(socket, buffered);
      } else {
        toNode(socket, buffered);
      }
    };
    const onData = (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const compared = Math.min(buffered.length, PREFACE.length);
      const isPrefacePrefix = buffered.subarray(0, compared).equals(PREFACE.subarray(0, compared));
      if (!isPrefacePrefix) dispatch("h1");
      // The whole preface, within the first-bytes bound: a client that sends part of it and stops is not an HTTP/2 session held open until the idle timeout.
      else if (buffered.length >= PREFACE.length) dispatch("h2");
    };
    const onError = () => {
      clearTimeout(timer);
      pending.delete(socket);
      socket.destroy();
    };
    socket.on("data", onData);
    socket.on("error", onError);
    socket.on("close", () => {
      clearTimeout(timer);
      pending.delete(socket);
    });
  }) as OnePortServer;

  server.on("listening", () => h1.emit("listening"));
  server.closeIdleConnections = () => {
    h1.closeIdleConnections();
    fast?.closeIdleConnections();
    for (const socket of pending) socket.destroy();
  };
  server.closeAllConnections = () => {
    h1.closeAllConnections();
    fast?.closeAllConnections();
    for (const session of sessions) session.destroy();
    for (const socket of pending) socket.destroy();
  };
  server.closeHttp2Sessions = () => {
    for (const session of sessions) session.close();
  };
  const closeTcp = server.close.bind(server);
  server.close = ((callback?: (error?: Error) => void) => {
    closeTcp(callback);
    h1.close();
    h1.closeIdleConnections();
    fast?.closeIdleConnections();
    // A keep-alive connection whose in-flight response ends during the drain turns idle without
    // being closed, and the TCP server's close would wait for the client to hang up (up to
    // keepAliveTimeout). Sweep idle connections until every connection is gone.
    const sweeper = setInterval(() => {
      h1.closeIdleConnections();
      fast?.closeIdleConnections();
    }, IDLE_SWEEP_MS);
    sweeper.unref();
    server.once("close", () => {
      clearInterval(sweeper);
      stalls.close();
    });
    for (const session of sessions) session.close();
    for (const socket of pending) socket.destroy();
    return server;
  }) as OnePortServer["close"];
  return server;
}

/**
 * Closes `session` gracefully (GOAWAY) once it has had no open stream for `idleMs`. A stream in
 * flight, however quiet, keeps it open. The check runs once per `idleMs` at most, so a stream costs
 * a counter and a 'close' listener.
 */
function closeWhenIdle(session: http2.ServerHttp2Session, idleMs: number): void {
  let open = 0;
  let idleSince = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const arm = (ms: number) => {
    timer = setTimeout(check, ms);
    timer.unref();
  };
  const check = () => {
    if (session.closed || session.destroyed) return;
    const idleFor = open === 0 ? Date.now() - idleSince : 0;
    if (idleFor >= idleMs) session.close();
    else arm(idleMs - idleFor);
  };
  arm(idleMs);
  const onStreamClose = () => {
    if (--open === 0) idleSince = Date.now();
  };
  session.on("stream", (stream: http2.ServerHttp2Stream) => {
    open++;
    stream.once("close", onStreamClose);
  });
  session.once("close", () => clearTimeout(timer));
}

/**
 * An HTTP/1.1 answer that starts before its request's body was read to the end (a handler that
 * stopped reading: Connect at readMaxBytes, which also destroys the request) says
 * `Connection: close`, and the connection lingers: our side ends after the answer, and the socket
 * is destroyed {@link EARLY_ANSWER_LINGER_MS} later. Before, the connection's next request waited
 * behind the unread rest until the keep-alive timeout (a Connect client's next call on it got no
 * answer); Node dumps an unread body itself, but not one a handler began to read. Destroying the
 * socket at once (Node's way for `Connection: close`) resets a client still uploading before it
 * reads the answer: EPIPE in place of the RPC's status.
 */
function closeIfAnsweredEarly(request: http.IncomingMessage, response: http.ServerResponse): void {
  // Taken now: a destroyed request forgets its socket.
  const socket = request.socket;
  const writeHead = response.writeHead;
  response.writeHead = function (this: http.ServerResponse, ...args: unknown[]) {
    // A body nobody began to read Node discards itself, and the connection stays usable.
    if (!request.complete && (request.readableDidRead || request.destroyed)) {
      this.shouldKeepAlive = false;
      // Node's http server calls destroySoon() once an answer marked Connection: close is written.
      socket.destroySoon = () => {
        socket.end();
        setTimeout(() => socket.destroy(), EARLY_ANSWER_LINGER_MS).unref();
      };
    }
    return (writeHead as (...rest: unknown[]) => http.ServerResponse).apply(this, args);
  } as typeof response.writeHead;
}

/**
 * HTTP/1.1's requestTimeout for an HTTP/2 stream: a request whose body has not fully arrived
 * within `timeoutMs`, or by the call's deadline (`deadlineAt`, epoch ms), gets an answer and a
 * CANCEL reset instead of holding the stream and its handler forever; the handler's request emits
 * 'aborted'. The answer is `late` (an RPC's DEADLINE_EXCEEDED in its own protocol) when given, else a 408 head,
 * with `cors` (the CORS headers of the request's Origin, when it is allowed).
 */
function boundUpload(stream: http2.ServerHttp2Stream, timeoutMs: number, deadlineAt: number | undefined, late: HostRefusal | undefined, cors: Readonly<Record<string, string>> | undefined): void {
  if (stream.readableEnded) return;
  const untilDeadline = (deadlineAt ?? Number.POSITIVE_INFINITY) - Date.now();
  // At a deadline the handler (Connect's arms its own timer) gets a moment to answer first.
  const byDeadline = untilDeadline + LATE_UPLOAD_GRACE_MS < timeoutMs;
  const timer = setTimeout(() => {
    if (stream.destroyed || stream.closed) return;
    // The answer, then a CANCEL reset once it has left: the client stops sending, and because our side
    // was not ended before, the handler sees an aborted request rather than a body that ended early.
    const cancel = () => stream.close(http2.constants.NGHTTP2_CANCEL);
    if (stream.headersSent) {
      // The handler answered its deadline itself: once that answer has left, the upload is stopped.
      if (!byDeadline) cancel();
      else if (stream.writableEnded) stream.end(() => stream.close(http2.constants.NGHTTP2_NO_ERROR));
      return;
    }
    if (!late) {
      stream.respond({ ":status": 408, ...cors });
      return cancel();
    }
    stream.respond({ ":status": late.status, ...late.headers, ...cors }, late.body.byteLength === 0 ? { endStream: true } : {});
    if (late.body.byteLength === 0) cancel();
    else stream.end(late.body, cancel);
  }, byDeadline ? Math.max(0, untilDeadline + LATE_UPLOAD_GRACE_MS) : timeoutMs);
  timer.unref();
  const done = () => clearTimeout(timer);
  stream.once("end", done);
  stream.once("close", done);
}

/**
 * Runs `then` once every answer Node has on `socket` has ended (the one being written, and those
 * pipelined behind it, which Node gives the socket one after another), or at once when none is.
 */
function afterAnswerInFlight(socket: stream.Duplex, then: () => void): void {
  if (socket.destroyed) return then();
  const inFlight = (socket as stream.Duplex & { _httpMessage?: http.ServerResponse | null })._httpMessage;
  if (!inFlight || inFlight.writableFinished || inFlight.destroyed) return then();
  let done = false;
  const next = () => {
    if (done) return;
    done = true;
    // Node hands the socket to the next queued answer when this one finishes: look again after it did.
    setImmediate(() => afterAnswerInFlight(socket, then));
  };
  inFlight.once("finish", next);
  inFlight.once("close", next);
}
