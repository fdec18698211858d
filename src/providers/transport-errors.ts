/**
 * What kind of failure a transport error is, read from undici's and Node's error objects: a
 * connect timeout, a response that breaks HTTP/1.1, or (neither) a connection refused or cut.
 * upstream-attempt.ts turns each kind into the gateway's error.
 */

/** The `code` property of a thrown value (Node and undici errors carry one), if any. */
export function codeOf(error: unknown): unknown {
  return error && typeof error === "object" && "code" in error ? (error as { code: unknown }).code : undefined;
}

/** Whether the error is a connect timeout (undici's or the socket's): a silent host, not a refused connection. */
export function isConnectTimeout(error: unknown): boolean {
  const code = codeOf(error);
  return code === "UND_ERR_CONNECT_TIMEOUT" || code === "ETIMEDOUT";
}

/**
 * undici's verdicts on a response that breaks HTTP/1.1, as opposed to a connection cut or refused:
 * its parser choking on bytes it received (a garbage status line, a bad chunk size; a parser error
 * at the end of the connection, with no bytes, is a cut), a head past the size limit, or a 100
 * Continue nobody asked for ("bad response"). undici leaves the parser error's code unset for some
 * errors, so it is recognised by name and by the bytes it names.
 */
export function isMalformedResponse(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === "HTTPParserError") {
    const data = (error as { data?: unknown }).data;
    return typeof data === "string" && data.length > 0;
  }
  const code = codeOf(error);
  return code === "UND_ERR_HEADERS_OVERFLOW" || (code === "UND_ERR_SOCKET" && (error.message === "bad response" || error.message === "bad upgrade"));
}
