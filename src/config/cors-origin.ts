/** The origins `server.cors.allow_origins` takes, and the form browsers send them in. */

/** `*`, or an origin as a browser sends it: scheme, host and optional port, no path. */
export const CORS_ORIGIN = /^(?:\*|https?:\/\/[^\s/?#]+)$/;

/**
 * An allowed origin as a browser writes it in `Origin` (lower-case host, no default port, a
 * non-ASCII host in punycode), which is matched exactly; `*` as it is; undefined for what no
 * browser sends (a wildcard in the host, a user name or password).
 */
export function canonicalOrigin(value: string): string | undefined {
  if (value === "*") return value;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.username || url.password || url.hostname.includes("*")) return undefined;
  return url.origin;
}
