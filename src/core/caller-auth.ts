import { createHash, timingSafeEqual } from "node:crypto";
import { isIPv4 } from "node:net";
import { Code } from "@connectrpc/connect";
import { gatewayError, type GatewayError, Reason } from "./errors.js";

/** Checks an Authorization header value; resolves the key's name or throws UNAUTHENTICATED. */
export type CallerAuthenticator = (authorization: string | undefined) => string | undefined;

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * Creates the authenticator for the gateway's API keys. With no keys configured, auth is off and
 * every call passes (the server then listens on loopback only). Keys are compared as SHA-256
 * digests with timingSafeEqual, against every configured key, so timing reveals neither the key
 * nor which key matched. The key itself is never logged or echoed.
 */
export function createCallerAuthenticator(keys: readonly { name: string; key: string }[]): CallerAuthenticator {
  if (keys.length === 0) return () => undefined;
  const digests = keys.map((entry) => ({ name: entry.name, digest: digest(entry.key) }));
  return (authorization) => {
    const match = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) {
      throw gatewayError(Code.Unauthenticated, Reason.INVALID_API_KEY, "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.");
    }
    const presented = digest(match[1] ?? "");
    let found: string | undefined;
    for (const entry of digests) {
      if (timingSafeEqual(presented, entry.digest) && found === undefined) found = entry.name;
    }
    if (found === undefined) throw gatewayError(Code.Unauthenticated, Reason.INVALID_API_KEY, "Incorrect API key provided.");
    return found;
  };
}

/** The host part of a Host / :authority value ("[::1]:8080" -> "[::1]"), lower-case, without a trailing dot. */
function hostName(authority: string): string | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]*)(?::\d*)?$/.exec(authority);
  return match?.[1]?.toLowerCase().replace(/\.$/, "");
}

/**
 * True when a Host / :authority value names this machine by an address no web site can make a
 * browser send as its own: `localhost` or a name under it, a 127.x.x.x address in dotted form,
 * `[::1]`, or the unspecified `0.0.0.0` / `[::]` (which Linux connects to loopback; `curl
 * http://0.0.0.0:8080` works), with or without a port.
 */
export function isLoopbackHost(authority: string): boolean {
  const host = hostName(authority);
  if (!host) return false;
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (host === "[::1]" || host === "[::]" || host === "0.0.0.0") return true;
  return isIPv4(host) && host.startsWith("127.");
}

/** Answers whether a request naming `authority` (its Host or :authority; undefined when absent) may be served. */
export type HostCheck = (authority: string | undefined) => GatewayError | undefined;

/**
 * With no gateway keys configured (auth off, loopback listener only), the check that keeps web
 * pages out: a site that rebinds its own DNS name to 127.0.0.1 reaches the loopback listener, but
 * its requests still name that site in Host. Such a request gets PERMISSION_DENIED; a loopback name
 * (see {@link isLoopbackHost}) or no Host at all (no browser sends none) passes. Undefined when keys
 * are configured: they protect the gateway, whatever name it is reached by.
 */
export function createHostCheck(keys: readonly unknown[]): HostCheck | undefined {
  if (keys.length > 0) return undefined;
  return (authority) => {
    if (authority === undefined || isLoopbackHost(authority)) return undefined;
    return gatewayError(
      Code.PermissionDenied,
      Reason.PERMISSION_DENIED,
      "This gateway has no API keys configured, so it only serves requests addressed to a loopback name (the Host header: localhost, *.localhost, 127.x.x.x, [::1], 0.0.0.0 or [::]). Configure keys to serve other host names.",
    );
  };
}
