import type http from "node:http";
import type http2 from "node:http2";

/**
 * What the one-port server sends instead of serving a request it refuses for its Host (or a
 * preflight it answers there), on HTTP/1.1 and HTTP/2, and what it tells the check of the request.
 */

/** What the one-port server's `refuseHost` is told of a request besides its authority. */
export interface HostCheckedRequest {
  readonly method: string | undefined;
  readonly path: string | undefined;
  /** Lower-case names (HTTP/2 pseudo-headers included). */
  readonly headers: http.IncomingHttpHeaders;
}

/** The answer the one-port server's `refuseHost` sends instead of serving a request. */
export interface HostRefusal {
  readonly status: number;
  /** Response headers (content-type included); an HTTP/2 answer with an empty body is one HEADERS frame (gRPC's trailers-only form). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
  /** Called when the refusal is sent (to log it): once per refused request, though the HTTP/1.1 fast path asks first. */
  readonly onSent?: () => void;
}

/** Sends `refusal` on an HTTP/1.1 response (a 204 without Content-Length, which it must not have); the request body is read and dropped. */
export function refuseRequest(request: http.IncomingMessage, response: http.ServerResponse, refusal: HostRefusal): void {
  refusal.onSent?.();
  response.writeHead(refusal.status, refusal.status === 204 ? refusal.headers : { ...refusal.headers, "content-length": refusal.body.byteLength });
  response.end(refusal.body);
  request.resume();
}

/**
 * Sends `refusal` on an HTTP/2 stream. The client may already have reset it (its HEADERS and
 * RST_STREAM can arrive together): then there is nothing to send, and its reset must not become
 * an unhandled 'error' event (which would end the process).
 */
export function refuseStream(stream: http2.ServerHttp2Stream, refusal: HostRefusal): void {
  refusal.onSent?.();
  stream.on("error", () => undefined);
  if (stream.destroyed || stream.closed) return;
  if (refusal.body.byteLength === 0) {
    stream.respond({ ":status": refusal.status, ...refusal.headers }, { endStream: true });
  } else {
    stream.respond({ ":status": refusal.status, ...refusal.headers, "content-length": refusal.body.byteLength });
    stream.end(refusal.body);
  }
  stream.resume();
}
