import type stream from "node:stream";

/** The code {@link writeClientError} takes for an HTTP/1.1 request without a Host header. */
export const MISSING_HOST = "SWITCHYARD_MISSING_HOST";
/** The code {@link writeClientError} takes for a CONNECT request. */
export const CONNECT_METHOD = "SWITCHYARD_CONNECT";

/** Status, reason phrase, OpenAI error code and message per error of an HTTP/1.1 parser or timer. */
function clientErrorAnswer(code: string | undefined): readonly [number, string, string, string] {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return [431, "Request Header Fields Too Large", "request_too_large", "The request headers are too large."];
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return [413, "Payload Too Large", "request_too_large", "The chunk extensions of the request body are too large."];
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return [408, "Request Timeout", "request_timeout", "The request did not arrive in time."];
    case MISSING_HOST:
      return [400, "Bad Request", "invalid_request", "An HTTP/1.1 request must have a Host header."];
    case CONNECT_METHOD:
      return [405, "Method Not Allowed", "invalid_request", "CONNECT is not supported: this is not a proxy."];
    default:
      return [400, "Bad Request", "invalid_request", "The request is not valid HTTP/1.1."];
  }
}

/** The largest part of a refused request's bytes searched for its Origin (Node's whole head limit is 16 KiB). */
const ORIGIN_SCAN_BYTES = 64 * 1024;
/** An Origin header line (not the first line: a head starts with its request line), its value at most 2 KiB. */
const ORIGIN_LINE = /\r\norigin:[ \t]*([^\r\n]{1,2048}?)[ \t]*(?=\r\n)/gi;

/**
 * The value of the last `Origin` header line in `bytes` (the first 64 KiB of them), the bytes of a
 * request an HTTP/1.1 connection refuses as they were read (Node's `rawPacket`); undefined when
 * there is none, e.g. the line came in an earlier read than the one refused, or not at all yet.
 * Only a guide for the CORS headers of the refusal, which name only allowed origins.
 */
export function originInRawRequest(bytes: Uint8Array | undefined): string | undefined {
  if (bytes === undefined) return undefined;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, ORIGIN_SCAN_BYTES)).toString("latin1");
  let origin: string | undefined;
  for (const match of text.matchAll(ORIGIN_LINE)) origin = match[1];
  return origin;
}

/**
 * Writes the answer to a request an HTTP/1.1 connection refuses (malformed, or not arrived in
 * time; `code` is Node's error code, e.g. `ERR_HTTP_REQUEST_TIMEOUT`) in the OpenAI error
 * envelope, with `Connection: close` and `headers` (the CORS headers of the request's Origin,
 * names and values safe to write as they are). The caller closes the connection after it.
 */
export function writeClientError(socket: stream.Duplex, code: string | undefined, headers?: Readonly<Record<string, string>>): void {
  const [status, phrase, errorCode, message] = clientErrorAnswer(code);
  const body = JSON.stringify({ error: { message, type: "invalid_request_error", param: null, code: errorCode } });
  let lines = "";
  for (const [name, value] of Object.entries(headers ?? {})) lines += `${name}: ${value}\r\n`;
  socket.write(`HTTP/1.1 ${status} ${phrase}\r\nConnection: close\r\n${lines}Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

/**
 * Node's 'clientError' answer (a request its parser refuses, or one that does not arrive in time)
 * with the OpenAI error envelope as body instead of none, and `headers` (CORS), under the same rule
 * as Node's: only while no answer to an earlier request on the connection has started. Then the
 * connection closes.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: stream.Duplex, headers: Readonly<Record<string, string>> | undefined): void {
  const inFlight = (socket as stream.Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    writeClientError(socket, error.code, headers);
  }
  socket.destroy(error);
}
