import type { IncomingHttpHeaders } from "node:http";
import type net from "node:net";
import { originInRawRequest, writeClientError } from "./client-error.js";
import { FastResponse, HTTP_TOKEN, type FastResponseSink } from "./fast-response.js";
import { BARE_LINE_END, DIGITS, HEAD_END, leadingSpacesOff, LEFT_TO_NODE, MAX_HEAD_BYTES, PLAIN_HEAD } from "./fast-h1-head.js";
import { CLIENT_STALL_MS, writeQueueBytes } from "./write-drain.js";

export { FastResponse } from "./fast-response.js";

/** A complete request of the shape the fast path serves: `POST <path> HTTP/1.1` with a Content-Length body. */
export interface FastRequest {
  /** Lower-case names, one value each (a request that repeats a header is left to Node). */
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * Offered each complete request on a fast connection. True: it answers on the response. False:
 * nothing was written, and the connection, this request included, goes to Node's HTTP server.
 */
export type FastRequestTaker = (request: FastRequest, response: FastResponse) => boolean;

/** What the fast path needs from its server. */
export interface FastH1Options {
  /** The one path it serves (exact, no query string). */
  readonly path: string;
  readonly take: FastRequestTaker;
  /** The largest Content-Length it reads itself; larger uploads go to Node (its body limit answers them). */
  readonly bodyLimitBytes: number;
  /** Hands a connection and the bytes not yet served to Node's HTTP server. */
  readonly handOver: (socket: net.Socket, unread: Buffer) => void;
  readonly keepAliveTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** The request's headers: true when the server would refuse its Host (Node then answers it). */
  readonly refusesHost?: (headers: IncomingHttpHeaders) => boolean;
  /** The CORS headers of the fast path's own answer (a 408) to a request from `origin` (undefined: none known). */
  readonly corsHeaders?: (origin: string | undefined) => Readonly<Record<string, string>> | undefined;
}

/**
 * One HTTP/1.1 connection served by the fast path, until a request it does not serve arrives:
 * then the connection, with every byte not yet served, goes to Node's HTTP server for good.
 * Requests are served one at a time, in order (a pipelined request waits in the buffer, and the
 * socket is paused while a response is pending, and while the client leaves its answers unread).
 * Bounds: the head is at most 8 KiB, the body at
 * most the body limit, and the keep-alive, headers and request timeouts are Node's (checked by the
 * server's sweep, see {@link FastH1Server}).
 */
class FastConnection implements FastResponseSink {
  /** Unserved bytes, while the request head is incomplete or a request is pending. */
  private pending: Buffer = Buffer.alloc(0);
  /** Body chunks of a request whose head is read, until `needed` bytes are there (no quadratic concatenation). */
  private parts: Buffer[] | undefined;
  private partsLength = 0;
  private needed = 0;
  /** The Origin of the request whose body is awaited (in `parts`). */
  private awaitedOrigin: string | undefined;
  private response: FastResponse | undefined;
  /** Whether the current request asked for keep-alive. */
  private keepAlive = true;
  private handedOver = false;
  /** When the connection went idle, or the current request's first byte arrived. */
  private since = Date.now();
  /** A `Connection: close` request was answered: the connection only closes now. */
  private ending = false;
  /** The socket is corked until the next tick (see {@link batch}). */
  private corked = false;
  /** True while {@link serve} runs (an answer written synchronously must not re-enter it). */
  private serving = false;
  /** The client is not reading its answers: reading stops until the socket drains, as Node does. */
  private draining = false;
  /** The bytes of answers still waiting to reach the kernel at the last check (see {@link check}). */
  private queued = 0;

  constructor(readonly socket: net.Socket, private readonly server: FastH1Server, private readonly options: FastH1Options) {
    socket.on("data", this.receive);
    socket.on("error", this.onError);
    socket.on("close", this.onClose);
  }

  private readonly onError = (): void => {
    this.socket.destroy();
  };

  private readonly onClose = (): void => {
    this.server.forget(this);
    this.response?.closed();
  };

  /** Takes bytes read from the socket (also the ones read before the connection was classified). */
  readonly receive = (chunk: Buffer): void => {
    if (this.ending) return;
    if (this.parts) {
      this.parts.push(chunk);
      this.partsLength += chunk.length;
      if (this.partsLength < this.needed) return;
      this.pending = Buffer.concat(this.parts, this.partsLength);
      this.parts = undefined;
    } else if (this.pending.length === 0) {
      this.pending = chunk;
      if (!this.response) this.since = Date.now();
    } else {
      this.pending = Buffer.concat([this.pending, chunk]);
    }
    if (this.response || this.draining) this.socket.pause();
    else this.serve();
  };

  /**
   * Stops reading until the answers written so far have left: a client that pipelines requests and
   * never reads the answers (each answered at once, a 401 say) would otherwise make the gateway
   * buffer its answers without bound. Node's server pauses a connection the same way.
   */
  private waitForDrain(): void {
    if (this.draining) return;
    this.draining = true;
    this.socket.pause();
    this.socket.once("drain", this.drained);
  }

  private readonly drained = (): void => {
    this.draining = false;
    if (this.socket.destroyed) return;
    if (this.socket.isPaused()) this.socket.resume();
    if (!this.serving && !this.response) this.serve();
  };

  /** True when nothing is pending: no partial request, no response in flight. */
  get idle(): boolean {
    return !this.response && this.pending.length === 0 && !this.parts;
  }

  /** Serves the buffered requests, in order, until one is incomplete, pending, or not the fast path's. */
  private serve(): void {
    this.serving = true;
    try {
      this.serveBuffered();
    } finally {
      this.serving = false;
    }
  }

  private serveBuffered(): void {
    while (!this.response && !this.handedOver && !this.ending && !this.socket.destroyed) {
      const received = this.pending;
      if (received.length === 0) return;
      if (this.socket.writableNeedDrain) return this.waitForDrain();
      const headEnd = received.indexOf(HEAD_END);
      if (headEnd < 0) {
        // Waiting for the rest of the head only if it can still be one served here: a head ended by
        // bare LFs never has a CRLF CRLF, and Node answers it (a 400) at once.
        if (received.length > MAX_HEAD_BYTES || !this.couldBeServed(received)) this.handOver();
        return;
      }
      if (headEnd > MAX_HEAD_BYTES) return this.handOver();
      const head = this.parseHead(received, headEnd);
      if (!head) return this.handOver();
      const total = headEnd + HEAD_END.length + head.length;
      if (received.length < total) {
        this.parts = [received];
        this.partsLength = received.length;
        this.needed = total;
        this.awaitedOrigin = head.headers.origin;
        return;
      }
      const response = new FastResponse(this);
      this.response = response;
      this.keepAlive = head.keepAlive;
      // Consumed before the taker runs: an answer it writes at once serves what follows.
      this.pending = received.subarray(total);
      let taken: boolean;
      try {
        taken = this.options.take({ headers: head.headers, body: received.subarray(headEnd + HEAD_END.length, total) }, response);
      } catch {
        // A taker that throws is a bug; it costs this connection, not the process.
        this.socket.destroy();
        return;
      }
      if (!taken) {
        this.response = undefined;
        this.pending = received;
        return this.handOver();
      }
    }
  }

  /** Whether a head not yet complete can still have the shape served here: it starts as the one request line does, with no bare CR or LF. */
  private couldBeServed(received: Buffer): boolean {
    const line = this.server.requestLine;
    const compared = Math.min(received.length, line.length);
    if (!received.subarray(0, compared).equals(line.subarray(0, compared))) return false;
    for (let at = received.indexOf(0x0a); at !== -1; at = received.indexOf(0x0a, at + 1)) if (received[at - 1] !== 0x0d) return false;
    for (let at = received.indexOf(0x0d); at !== -1 && at < received.length - 1; at = received.indexOf(0x0d, at + 1)) if (received[at + 1] !== 0x0a) return false;
    return true;
  }

  /** The head of the request at the start of `pending`, if it has the one shape served here. */
  private parseHead(received: Buffer, headEnd: number): { headers: IncomingHttpHeaders; length: number; keepAlive: boolean } | undefined {
    const text = received.toString("latin1", 0, headEnd);
    const lines = text.split("\r\n");
    if (lines[0] !== `POST ${this.options.path} HTTP/1.1` || !PLAIN_HEAD.test(text) || BARE_LINE_END.test(text)) return undefined;
    const headers: Record<string, string> = {};
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(":");
      if (colon <= 0) return undefined;
      const name = line.slice(0, colon);
      if (!HTTP_TOKEN.test(name)) return undefined;
      const lower = name.toLowerCase();
      if (lower in headers || LEFT_TO_NODE.has(lower)) return undefined;
      // Leading spaces only: a tab or trailing whitespace in a value (which Node refuses in some
      // headers, e.g. Content-Length) goes to Node.
      if (line.charCodeAt(line.length - 1) === 0x20 || line.indexOf("\t", colon) !== -1) return undefined;
      headers[lower] = leadingSpacesOff(line, colon + 1);
    }
    const lengthText = headers["content-length"];
    if (headers.host === undefined || lengthText === undefined || !DIGITS.test(lengthText)) return undefined;
    const length = Number(lengthText);
    if (length > this.options.bodyLimitBytes) return undefined;
    const connection = headers.connection?.toLowerCase();
    if (connection !== undefined && connection !== "keep-alive" && connection !== "close") return undefined;
    if (this.options.refusesHost?.(headers)) return undefined;
    return { headers, length, keepAlive: connection !== "close" };
  }

  /** The `Connection` (and `Keep-Alive`) lines of an answer to the current request, as Node writes them. */
  get connectionLines(): string {
    return this.keepAlive ? this.server.keepAliveLines : "Connection: close\r\n";
  }

  /** Writes a response head (latin1, as Node writes header values) and body text (UTF-8), in the current batch. */
  writeHead(head: string, body: string): boolean {
    if (this.socket.destroyed) return false;
    this.batch();
    const ok = this.socket.write(head, "latin1");
    return body.length === 0 ? ok : this.socket.write(body, "utf8");
  }

  /** Writes more response body text, in the current batch. */
  send(text: string): boolean {
    if (this.socket.destroyed) return false;
    this.batch();
    return this.socket.write(text, "utf8");
  }

  /**
   * Corks the socket until the next tick, as Node's ServerResponse does: the writes of one turn
   * (a burst of SSE frames) leave in one writev, not one syscall each.
   */
  private batch(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(this.flush);
  }

  private readonly flush = (): void => {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  };

  /** The pending response ended: its bytes leave now; then serves what is buffered (or closes, for `Connection: close`). */
  finished(): void {
    this.response = undefined;
    this.since = Date.now();
    this.flush();
    if (this.socket.destroyed) return;
    if (!this.keepAlive) {
      // As Node: nothing after a `Connection: close` request is read or served.
      this.ending = true;
      this.socket.end();
      return;
    }
    if (this.socket.writableNeedDrain) return this.waitForDrain();
    if (this.socket.isPaused()) this.socket.resume();
    if (!this.serving) this.serve();
  }

  /** Gives the connection, with its unserved bytes, to Node's HTTP server. */
  private handOver(): void {
    this.handedOver = true;
    this.server.forget(this);
    this.socket.off("data", this.receive);
    this.socket.off("error", this.onError);
    this.socket.off("close", this.onClose);
    const unread = this.parts ? Buffer.concat(this.parts, this.partsLength) : this.pending;
    this.parts = undefined;
    this.pending = Buffer.alloc(0);
    this.options.handOver(this.socket, unread);
  }

  /** The sweep: closes a connection idle past the keep-alive timeout, or answers 408 to a request that is too slow to arrive. */
  check(now: number): void {
    if (this.response) return;
    // An answer still leaving (a large one to a slow reader) is not idleness: as Node's server, whose
    // keep-alive clock starts when an answer's last byte has reached the kernel. While bytes wait,
    // the clock restarts whenever some leave, and a client that takes none for CLIENT_STALL_MS is cut.
    const queued = this.socket.writableLength > 0 ? writeQueueBytes(this.socket) : 0;
    if (queued !== this.queued) {
      this.queued = queued;
      this.since = now;
      return;
    }
    if (queued > 0) {
      if (now - this.since >= CLIENT_STALL_MS) this.socket.destroy();
      return;
    }
    const elapsed = now - this.since;
    if (this.idle) {
      if (elapsed >= this.options.keepAliveTimeoutMs) this.socket.destroy();
      return;
    }
    // Waiting for a body (its head was read): the request timeout; else the headers timeout.
    const limit = this.parts ? this.options.requestTimeoutMs : this.options.headersTimeoutMs;
    if (elapsed < limit) return;
    if (this.socket.writable) writeClientError(this.socket, "ERR_HTTP_REQUEST_TIMEOUT", this.options.corsHeaders?.(this.parts ? this.awaitedOrigin : originInRawRequest(this.pending)));
    this.socket.destroy();
  }

  /** Closes the connection if nothing is pending on it (graceful shutdown). */
  closeIfIdle(): void {
    if (this.idle) this.socket.destroy();
  }
}

/**
 * The fast path for one HTTP/1.1 request shape (`POST <path>` with a Content-Length body; the
 * gateway's chat completions, JSON or SSE answers), ahead of Node's HTTP server: Node's
 * per-request machinery (IncomingMessage and ServerResponse streams, header objects, events)
 * costs more than the gateway's own translation (bench/PROFILE.md, twelfth pass). It serves a
 * connection from its first request on, and hands the connection to Node for good at the first
 * request of any other shape: another method, path or HTTP version, a query string, a repeated
 * header, obs-text or a bare CR or LF in the head, Transfer-Encoding, Expect, Upgrade, a
 * Content-Length over the body limit, a head over 8 KiB, a Host the server refuses, or a request
 * the taker leaves. What it serves behaves as Node would: the same answer bytes (FastResponse),
 * keep-alive and `Connection: close`, and Node's timeouts, checked every second.
 */
export class FastH1Server {
  private readonly connections = new Set<FastConnection>();
  private sweep: NodeJS.Timeout | undefined;
  /** The `Connection` and `Keep-Alive` lines of a keep-alive answer, as Node writes them. */
  readonly keepAliveLines: string;
  /** The request line of the one shape served here, with its CRLF. */
  readonly requestLine: Buffer;

  constructor(private readonly options: FastH1Options) {
    this.keepAliveLines = `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(options.keepAliveTimeoutMs / 1000)}\r\n`;
    this.requestLine = Buffer.from(`POST ${options.path} HTTP/1.1\r\n`, "latin1");
  }

  /** Serves `socket` (a new HTTP/1.1 connection) from `received`, its bytes read so far. */
  serve(socket: net.Socket, received: Buffer): void {
    const connection = new FastConnection(socket, this, this.options);
    this.connections.add(connection);
    if (!this.sweep) {
      this.sweep = setInterval(this.check, 1_000);
      this.sweep.unref();
    }
    if (received.length > 0) connection.receive(received);
  }

  private readonly check = (): void => {
    const now = Date.now();
    for (const connection of this.connections) connection.check(now);
  };

  /** Stops tracking a connection (closed, or handed to Node). */
  forget(connection: FastConnection): void {
    this.connections.delete(connection);
    if (this.connections.size === 0 && this.sweep) {
      clearInterval(this.sweep);
      this.sweep = undefined;
    }
  }

  /** Closes the connections with nothing pending (graceful shutdown). */
  closeIdleConnections(): void {
    for (const connection of this.connections) connection.closeIfIdle();
  }

  /** Closes every connection. */
  closeAllConnections(): void {
    for (const connection of this.connections) connection.socket.destroy();
  }
}
