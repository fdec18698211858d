import { createHash, timingSafeEqual } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { gatewayError, Reason } from "./errors.js";

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
