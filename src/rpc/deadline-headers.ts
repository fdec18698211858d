import type { IncomingHttpHeaders } from "node:http";
import { parseTimeout } from "@connectrpc/connect/protocol-grpc";
import { MAX_TIMER_MS } from "../core/routing/request-scope.js";

/** MAX_TIMER_MS in whole seconds, as a `grpc-timeout` value (at most 8 digits). */
const CAPPED_GRPC_TIMEOUT = `${Math.floor(MAX_TIMER_MS / 1000)}S`;

/** A well-formed `connect-timeout-ms` header's milliseconds, else undefined. */
function connectTimeoutMs(headers: IncomingHttpHeaders): number | undefined {
  const value = headers["connect-timeout-ms"];
  return typeof value === "string" && /^\d{1,10}$/.test(value) ? Number(value) : undefined;
}

/** A well-formed `grpc-timeout` header's milliseconds, else undefined. */
function grpcTimeoutMs(headers: IncomingHttpHeaders): number | undefined {
  const value = headers["grpc-timeout"];
  return typeof value === "string" ? parseTimeout(value, Number.MAX_SAFE_INTEGER).timeoutMs : undefined;
}

/**
 * Caps, in place, a `connect-timeout-ms` or `grpc-timeout` header that asks for more than the
 * longest Node timer (MAX_TIMER_MS, about 24.8 days) at that. Connect's handler arms one
 * setTimeout for the whole deadline, and one beyond that fires after 1 ms: the call's signal
 * would read as past its deadline at once, so a later cancel of the call could no longer reach
 * the upstream request. A malformed value is left as it is, for Connect to refuse.
 */
export function capDeadlineHeaders(headers: IncomingHttpHeaders): void {
  if ((connectTimeoutMs(headers) ?? 0) > MAX_TIMER_MS) headers["connect-timeout-ms"] = String(MAX_TIMER_MS);
  if ((grpcTimeoutMs(headers) ?? 0) > MAX_TIMER_MS) headers["grpc-timeout"] = CAPPED_GRPC_TIMEOUT;
}

/**
 * The deadline (epoch ms, from now) a call's `grpc-timeout` or `connect-timeout-ms` header asks
 * for; undefined when it has none or a malformed one (the handlers refuse that themselves).
 */
export function deadlineOfHeaders(headers: IncomingHttpHeaders): number | undefined {
  const timeoutMs = connectTimeoutMs(headers) ?? grpcTimeoutMs(headers);
  return timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
}
