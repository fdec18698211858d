/** The headers a provider account may configure: what their names and values may hold, and how they are stored. */

import type { ConfigIssue } from "./config-validator.js";

/**
 * What an HTTP header value may hold (tab, printable ASCII, Latin-1): a provider key or header with
 * a line break, a control character or a character beyond Latin-1 fails every request at send time.
 */
export const HEADER_VALUE_TEXT = /^[\t\x20-\x7e\x80-\xff]*$/;
/** What the config says when a header value does not fit {@link HEADER_VALUE_TEXT}. */
export const HEADER_VALUE_HINT = "printable text without line breaks or control characters, in Latin-1 (a line break at the end of a file or secret is a common cause), or no request could carry it";
/** An HTTP header name (an RFC 9110 token). */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers the HTTP client sets from the request itself: one from the config would break every request (framing) or send it elsewhere (host). */
const TRANSPORT_HEADERS: ReadonlySet<string> = new Set(["host", "content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection", "upgrade", "te", "trailer", "expect"]);

/**
 * An account's extra headers with lowercase names, so that one overrides the adapter's own header
 * of the same name (`Authorization` included) instead of going out beside it. Two names that
 * differ only in case, and the transport's own headers, are refused.
 */
export function providerHeaders(headers: Readonly<Record<string, string>>, path: string, issues: ConfigIssue[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (TRANSPORT_HEADERS.has(lower)) issues.push({ path: `${path}.${name}`, message: "is set by the gateway's HTTP client for each request and cannot be configured" });
    else if (Object.hasOwn(out, lower)) issues.push({ path: `${path}.${name}`, message: `names the same header as another entry (header names are case-insensitive)` });
    else out[lower] = value;
  }
  return out;
}
