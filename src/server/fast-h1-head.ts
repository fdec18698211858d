/** What a request head the HTTP/1.1 fast path serves may hold; a head outside it goes to Node's server. */

/**
 * The largest request head the fast path reads; a larger one goes to Node, whose own limit (16 KiB,
 * --max-http-header-size) then applies. Half of Node's, so nothing the fast path takes is a head
 * Node would refuse, however Node counts.
 */
export const MAX_HEAD_BYTES = 8 * 1024;
/** The blank line that ends a request head. */
export const HEAD_END = Buffer.from("\r\n\r\n");
/** Visible ASCII, space and tab, and the CRLFs between lines: anything else (obs-text, bare controls) goes to Node. */
export const PLAIN_HEAD = /^[\t\r\n\x20-\x7e]*$/;
/** A CR not followed by LF, or an LF not preceded by CR. */
export const BARE_LINE_END = /\r(?!\n)|(?<!\r)\n/;
/** A Content-Length the fast path reads (at most 15 digits: a safe integer). */
export const DIGITS = /^[0-9]{1,15}$/;
/** Headers whose presence means framing or protocol behaviour the fast path does not implement. */
export const LEFT_TO_NODE = new Set(["transfer-encoding", "expect", "upgrade", "http2-settings"]);

/** `line` from `start`, without the spaces before the value. */
export function leadingSpacesOff(line: string, start: number): string {
  let from = start;
  while (from < line.length && line.charCodeAt(from) === 0x20) from++;
  return line.slice(from);
}
