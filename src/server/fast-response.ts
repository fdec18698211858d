import http from "node:http";
import type net from "node:net";

/** What a {@link FastResponse} writes to: its connection on the HTTP/1.1 fast path (fast-h1.ts). */
export interface FastResponseSink {
  readonly socket: net.Socket;
  /** The `Connection` (and `Keep-Alive`) header lines Node would add: keep-alive, or close for a `Connection: close` request. */
  readonly connectionLines: string;
  /** Writes the head (latin1, as Node writes header values) and the start of the body (UTF-8) in one write; false under back-pressure. */
  writeHead(head: string, body: string): boolean;
  /** Writes more of the body; false under back-pressure. */
  send(text: string): boolean;
  /** The answer is complete: the connection serves its next request (or closes, for `Connection: close`). */
  finished(): void;
}

/** An HTTP token (RFC 9110): what a header name may be. */
export const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A character Node refuses in a header value (its checkInvalidHeaderChar). */
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const LAST_CHUNK = "0\r\n\r\n";

let dateSecond = -1;
let dateText = "";
/** The Date header's value, computed once a second (Node caches it the same way). */
function httpDate(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}

/** One chunk of a chunked body; none for empty text (a zero-length chunk would end the body). */
function chunk(text: string): string {
  return text.length === 0 ? "" : `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
}

/**
 * The response to one request on the HTTP/1.1 fast path, with the part of Node's ServerResponse
 * the gateway's answers use, written as Node writes it: `writeHead` validates the headers as
 * Node does (ERR_INVALID_HTTP_TOKEN, ERR_INVALID_CHAR) and the head goes out with the first body
 * write, `flushHeaders`, or `end`; the same status line, then `Date`, then `Connection: keep-alive`
 * and `Keep-Alive` (or `Connection: close`) unless the headers set `Connection`, then
 * `Transfer-Encoding: chunked` unless they set `Content-Length`. `write` returns false under
 * back-pressure and 'drain' follows; 'close' is emitted if the connection closes before `end`.
 */
export class FastResponse {
  /** True once the head was handed to the socket. */
  headersSent = false;
  private head = "";
  private chunked = true;
  private ended = false;
  private closeListeners: (() => void)[] | undefined;

  constructor(private readonly sink: FastResponseSink) {}

  /** True when the connection is gone. */
  get destroyed(): boolean {
    return this.sink.socket.destroyed;
  }

  /** 'close': the connection closed before the answer ended. 'drain': the socket can take more. */
  on(event: "close" | "drain", listener: () => void): this {
    if (event === "drain") this.sink.socket.on("drain", listener);
    else if (!this.ended) (this.closeListeners ??= []).push(listener);
    return this;
  }

  /** Removes a listener added with {@link on}. */
  off(event: "close" | "drain", listener: () => void): this {
    if (event === "drain") this.sink.socket.off("drain", listener);
    else if (this.closeListeners) this.closeListeners = this.closeListeners.filter((added) => added !== listener);
    return this;
  }

  /** Sets the status and headers (Node's checks, Node's errors); they are written with the first body bytes. */
  writeHead(status: number, headers: Readonly<Record<string, string>>): this {
    let head = `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? "unknown"}\r\n`;
    let connection = false;
    let length = false;
    for (const name in headers) {
      const value = headers[name] as string;
      // Node's checks (validateHeaderName / validateHeaderValue), without their per-call wrappers.
      if (!HTTP_TOKEN.test(name)) http.validateHeaderName(name);
      if (INVALID_VALUE.test(value)) http.validateHeaderValue(name, value);
      const lower = name.toLowerCase();
      if (lower === "connection") connection = true;
      else if (lower === "content-length") length = true;
      head += `${name}: ${value}\r\n`;
    }
    head += `Date: ${httpDate()}\r\n`;
    if (!connection) head += this.sink.connectionLines;
    if (!length) head += "Transfer-Encoding: chunked\r\n";
    this.head = `${head}\r\n`;
    this.chunked = !length;
    return this;
  }

  /** Sends the head now, without body bytes. */
  flushHeaders(): void {
    if (this.headersSent || this.ended) return;
    this.headersSent = true;
    this.sink.writeHead(this.head, "");
  }

  /** Writes body text (a chunk, in a chunked answer); false under back-pressure. */
  write(text: string): boolean {
    if (this.ended) return false;
    return this.out(this.chunked ? chunk(text) : text);
  }

  /** Hands body bytes to the socket, after the head if it has not gone out yet. */
  private out(body: string): boolean {
    if (this.headersSent) return this.sink.send(body);
    this.headersSent = true;
    return this.sink.writeHead(this.head, body);
  }

  /** Writes the last body text (with the head if not sent yet) and ends the answer. */
  end(text = ""): this {
    if (this.ended) return this;
    this.ended = true;
    this.closeListeners = undefined;
    this.out(this.chunked ? chunk(text) + LAST_CHUNK : text);
    this.sink.finished();
    return this;
  }

  /** Closes the connection without (the rest of) an answer. */
  destroy(): void {
    this.sink.socket.destroy();
  }

  /** The connection closed before the answer ended: tells the 'close' listeners. */
  closed(): void {
    const listeners = this.closeListeners;
    this.closeListeners = undefined;
    if (listeners) for (const listener of listeners) listener();
  }
}
