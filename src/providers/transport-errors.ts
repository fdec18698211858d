/**
 * What kind of failure a transport error is, read from undici's and Node's error objects: a
 * connect timeout, a response that breaks HTTP/1.1, a TLS failure that asking again cannot cure, or
 * (none of these) a connection refused or cut.
 * upstream-attempt.ts turns each kind into the gateway's error.
 */

import { ownEntry } from "../core/own-entry.js";

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

/**
 * TLS failures that asking again cannot cure: the provider's certificate does not verify (a private
 * CA the gateway does not trust: NODE_EXTRA_CA_CERTS), or the other end does not speak TLS at all.
 */
const TLS_FAILURES: ReadonlySet<string> = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_REVOKED",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_SIGNATURE_FAILURE",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "ERR_SSL_WRONG_VERSION_NUMBER",
]);

/** Whether the error is a TLS failure that will happen again on the next try (see TLS_FAILURES). */
export function isLastingTlsFailure(error: unknown): boolean {
  const code = codeOf(error);
  return typeof code === "string" && TLS_FAILURES.has(code);
}

/** What a caller is told for each connection failure: the kind, never the address or host name. */
const CONNECTION_FAILURES: Readonly<Record<string, string>> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ECONNABORTED: "connection aborted",
  EPIPE: "connection closed while sending",
  ENOTFOUND: "the host name does not resolve",
  EAI_AGAIN: "the host name could not be resolved (temporary DNS failure)",
  EAI_FAIL: "the host name could not be resolved",
  EHOSTUNREACH: "host unreachable",
  EHOSTDOWN: "host down",
  ENETUNREACH: "network unreachable",
  ENETDOWN: "network down",
  UND_ERR_SOCKET: "the connection closed",
  UND_ERR_CLOSED: "the connection closed",
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: "the connection ended before the promised content length",
};

/**
 * A connection failure in words a caller may see. Node's and undici's messages name the address
 * (`connect ECONNREFUSED 10.1.2.3:8000`, `getaddrinfo ENOTFOUND llm.internal`), which is the
 * operator's business, not the caller's: the log line keeps the full message. An error without a
 * code is not from the network stack (a test transport, the gateway's own), and keeps its message.
 */
export function describeConnectionFailure(error: unknown): string {
  const code = codeOf(error);
  if (typeof code === "string" && TLS_FAILURES.has(code)) return `the provider's TLS connection could not be verified (${code})`;
  if (typeof code === "string" && code !== "") return ownEntry(CONNECTION_FAILURES, code) ?? `connection failed (${code})`;
  return error instanceof Error ? error.message : String(error);
}
