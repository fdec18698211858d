import type { RouteInfo } from "../../gen/switchyard/v1/chat_pb.js";
import { GatewayError } from "../core/errors.js";

/** Printable ASCII only: header values must not carry control characters or non-ASCII text. */
function headerSafe(text: string): string {
  return text.replace(/[\r\n]+/g, " ").replace(/[^\x20-\x7e]/g, "?");
}

/** A name (model, target) as a header value: characters outside printable ASCII percent-encoded as UTF-8, so the name stays readable and reversible. */
function headerName(text: string): string {
  if (!/[^\x20-\x7e]/.test(text)) return text;
  return text.replace(/[^\x20-\x7e]/gu, (character) => Array.from(Buffer.from(character, "utf8"), (byte) => `%${byte.toString(16).toUpperCase().padStart(2, "0")}`).join(""));
}

/**
 * The longest value of a list header (`x-switchyard-warnings`, `-failed`, `-skipped`), in
 * characters. Response headers have limits on the way: grpc-core and grpc-java clients refuse
 * metadata over 8 KiB in all (128 strict tools sent to an Anthropic model made 11 KB of warnings,
 * and a Python client got RESOURCE_EXHAUSTED for a successful call), nginx refuses upstream
 * headers over its 4 or 8 KiB buffer, Node's clients over 16 KiB.
 */
export const MAX_LIST_HEADER_CHARS = 1024;

/**
 * `items` joined by `separator`: whole items while they fit in {@link MAX_LIST_HEADER_CHARS}, then
 * how many more there were (in ASCII, as every header value here). A first item too long on its
 * own is cut (ending in "..."), so the header always says something.
 */
function listHeader(items: readonly string[], separator: string): string {
  let value = "";
  for (let index = 0; index < items.length; index++) {
    const item = items[index] as string;
    const next = `${index === 0 ? "" : separator}${item}`;
    const rest = items.length - index;
    // Room is kept for the "... N more" that would follow if a later item did not fit.
    const reserve = index === items.length - 1 ? 0 : 24;
    if (value.length + next.length + reserve <= MAX_LIST_HEADER_CHARS) value += next;
    else if (index === 0) value = `${item.slice(0, MAX_LIST_HEADER_CHARS - reserve - 3)}...`;
    else return `${value}${separator}... ${rest} more`;
  }
  return value;
}

/**
 * The `x-switchyard-*` response headers (REST) and metadata (gRPC/Connect) of an answer: the model
 * and account that answered, the attempts, the failed and skipped targets, and the warnings.
 * Every value is printable ASCII (model and account names with other characters percent-encoded
 * as UTF-8, warnings with them replaced); header names are lower case; a list is at most
 * {@link MAX_LIST_HEADER_CHARS} long (the whole warnings are also in gRPC's `warnings` fields).
 * The same fields on every front door.
 */
export function routeHeaders(model: string, provider: string, route: RouteInfo | undefined, warnings: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = { "x-switchyard-model": headerName(model), "x-switchyard-provider": headerName(provider) };
  if (route) addRoute(headers, route);
  if (warnings.length > 0) headers["x-switchyard-warnings"] = listHeader(warnings.map(headerSafe), "; ");
  return headers;
}

function addRoute(headers: Record<string, string>, route: RouteInfo): void {
  headers["x-switchyard-attempts"] = String(route.attempts);
  if (route.failures.length > 0) headers["x-switchyard-failed"] = listHeader(route.failures.map((failure) => `${headerName(failure.model)} ${failure.reason.toLowerCase()}`), ", ");
  if (route.skipped.length > 0) headers["x-switchyard-skipped"] = listHeader(route.skipped.map((skip) => `${headerName(skip.model)} ${skip.reason.toLowerCase()}${skip.detail ? ` (${headerSafe(skip.detail)})` : ""}`), ", ");
}

/** A provider's request id as a header value: printable ASCII without spaces, at most 128 characters; anything else is not sent. */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * The route headers of an error answer: `x-switchyard-attempts`, `-failed` and `-skipped` of the
 * run that ended with `error` (empty when it was raised before any routing), same values as on a
 * success, on every front door; and `x-upstream-request-id`, the provider's id of the failed
 * request when it gave one (Anthropic's request_id), for its support.
 */
export function errorRouteHeaders(error: GatewayError): Record<string, string> {
  const headers: Record<string, string> = {};
  if (error.route) addRoute(headers, error.route);
  const requestId = error.facts.upstreamRequestId;
  if (requestId !== undefined && REQUEST_ID.test(requestId)) headers["x-upstream-request-id"] = requestId;
  return headers;
}

/**
 * Adds {@link errorRouteHeaders} to an error's metadata, which Connect and the gRPC fast path send
 * with the error status (as response headers, or trailers on gRPC). Other errors are left alone.
 */
export function withRouteMetadata(error: unknown): unknown {
  if (error instanceof GatewayError) for (const [name, value] of Object.entries(errorRouteHeaders(error))) error.metadata.set(name, value);
  return error;
}
