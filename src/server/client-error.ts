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

/**
 * Writes the answer to a request an HTTP/1.1 connection refuses (malformed, or not arrived in
 * time; `code` is Node's error code, e.g. `ERR_HTTP_REQUEST_TIMEOUT`) in the OpenAI error
 * envelope, with `Connection: close`. The caller closes the connection after it.
 */
export function writeClientError(socket: stream.Duplex, code: string | undefined): void {
  const [status, phrase, errorCode, message] = clientErrorAnswer(code);
  const body = JSON.stringify({ error: { message, type: "invalid_request_error", param: null, code: errorCode } });
  socket.write(`HTTP/1.1 ${status} ${phrase}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}
