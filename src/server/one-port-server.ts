import http from "node:http";
import http2 from "node:http2";
import net from "node:net";

/** A request handler that both HTTP/1.1 and HTTP/2 compatibility requests reach. */
export type DualHandler = (request: http.IncomingMessage | http2.Http2ServerRequest, response: http.ServerResponse | http2.Http2ServerResponse) => void;

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** A connection that sends nothing for this long is closed before it is classified. */
const FIRST_BYTE_TIMEOUT_MS = 10_000;
/** While closing, how often HTTP/1.1 connections that became idle are closed. */
const IDLE_SWEEP_MS = 100;

/** Options of {@link createOnePortServer}. */
export interface OnePortOptions {
  readonly headersTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  /** Offered every HTTP/1.1 request before the shared handler; returns true when it answers the request itself. */
  readonly takeRequest?: (request: http.IncomingMessage, response: http.ServerResponse) => boolean;
  /** Offered every new HTTP/2 stream before the shared handler; returns true when it serves the stream itself. */
  readonly takeStream?: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean;
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
 * an http2 server, anything else to an http server; both run the same handler (Fastify's).
 * Closing it also closes idle HTTP/1.1 keep-alive sockets and every HTTP/2 session, so a
 * graceful shutdown does not hang on idle clients. See docs/toolchain.md §2.
 */
export function createOnePortServer(handler: DualHandler, options: OnePortOptions = {}): OnePortServer {
  const takeRequest = options.takeRequest;
  const h1Handler: http.RequestListener = takeRequest ? (request, response) => {
    if (!takeRequest(request, response)) (handler as http.RequestListener)(request, response);
  } : (handler as http.RequestListener);
  const h1 = http.createServer({ keepAliveTimeout: 65_000, headersTimeout: options.headersTimeoutMs ?? 60_000, requestTimeout: options.requestTimeoutMs ?? 120_000 }, h1Handler);
  // HTTP/2 streams go to `takeStream` first; the ones it leaves are turned into compatibility
  // requests by a second http2 server that never listens (its 'stream' listener is Node's own).
  const compat = http2.createServer({}, handler as (request: http2.Http2ServerRequest, response: http2.Http2ServerResponse) => void);
  const h2 = http2.createServer({});
  const takeStream = options.takeStream;
  h2.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
    if (!takeStream?.(stream, headers)) compat.emit("stream", stream, headers, flags, rawHeaders);
  });
  const sessions = new Set<http2.Http2Session>();
  h2.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
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
      socket.pause();
      socket.unshift(buffered);
      if (target === "h2") {
        // The http2 session takes over the socket's native handle and reads the unshifted bytes
        // itself; resuming the JS stream here would drain them first ("bad client magic").
        h2.emit("connection", socket);
      } else {
        h1.emit("connection", socket);
        socket.resume();
      }
    };
    const onData = (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const compared = Math.min(buffered.length, PREFACE.length);
      const isPrefacePrefix = buffered.subarray(0, compared).equals(PREFACE.subarray(0, compared));
      if (!isPrefacePrefix) dispatch("h1");
      else if (buffered.length >= 4) dispatch("h2");
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
    for (const socket of pending) socket.destroy();
  };
  server.closeAllConnections = () => {
    h1.closeAllConnections();
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
    // A keep-alive connection whose in-flight response ends during the drain turns idle without
    // being closed, and the TCP server's close would wait for the client to hang up (up to
    // keepAliveTimeout). Sweep idle connections until every connection is gone.
    const sweeper = setInterval(() => h1.closeIdleConnections(), IDLE_SWEEP_MS);
    sweeper.unref();
    server.once("close", () => clearInterval(sweeper));
    for (const session of sessions) session.close();
    for (const socket of pending) socket.destroy();
    return server;
  }) as OnePortServer["close"];
  return server;
}
