import { cors as connectCors } from "@connectrpc/connect";
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";
import type { IncomingHttpHeaders } from "node:http";
import type { CorsSettings } from "../config/gateway-config.js";

/** What browser code may read from an answer: the route headers, Retry-After and x-should-retry, and the RPC protocols' status headers. */
const EXPOSED_HEADERS = [
  "x-switchyard-model",
  "x-switchyard-provider",
  "x-switchyard-attempts",
  "x-switchyard-failed",
  "x-switchyard-skipped",
  "x-switchyard-warnings",
  "x-switchyard-recovery",
  "x-upstream-request-id",
  "retry-after",
  "x-should-retry",
  ...connectCors.exposedHeaders.map((name) => name.toLowerCase()),
]
  .filter((name, index, all) => all.indexOf(name) === index)
  .join(", ");

/** The request headers a preflight allows when it names none: the REST API's, and those of the Connect and gRPC-Web protocols. */
const ALLOWED_HEADERS = ["authorization", "content-type", "x-switchyard-timeout", ...connectCors.allowedHeaders.map((name) => name.toLowerCase())]
  .filter((name, index, all) => all.indexOf(name) === index)
  .join(", ");

/** A list of header names (RFC 9110 tokens), as Access-Control-Request-Headers carries them. */
const HEADER_NAME_LIST = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:\s*,\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*$/;

/**
 * A Fastify onRequest hook for `server.cors`. For a request whose `Origin` is allowed it answers
 * the preflight (`OPTIONS` with `Access-Control-Request-Method`: 204, the methods, the headers the
 * browser asked for, the max age) before authentication, which a preflight never carries; on any
 * other request it sets `Access-Control-Allow-Origin` and `Access-Control-Expose-Headers` on the
 * raw response, so every answer carries them, those written straight to the socket and errors
 * included. A request from another origin, or without one, gets no CORS headers (the browser then
 * refuses to show the answer); with a list of specific origins every answer this hook sees says
 * `Vary: Origin`, so that a shared cache never hands one origin's answer to another. Register it
 * before any hook that may refuse a request.
 */
export function corsHook(settings: CorsSettings): (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void {
  const anyOrigin = settings.allowOrigins.includes("*");
  const answer = corsAnswerHeaders(settings);
  const preflight = corsPreflightHeaders(settings);
  return (request, reply, done) => {
    // `*` needs no Vary: the answer is the same for every origin. Otherwise it depends on the
    // Origin even when the answer carries no CORS headers (no Origin, or one not allowed).
    if (!anyOrigin) reply.raw.setHeader("vary", "origin");
    const preflightHeaders = preflight(request.method, request.headers);
    if (preflightHeaders) {
      reply.code(204).headers(preflightHeaders).send();
      return;
    }
    for (const [name, value] of Object.entries(answer(request.headers.origin) ?? {})) reply.raw.setHeader(name, value);
    done();
  };
}

/**
 * The headers of the 204 answer to a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`)
 * from an origin `settings` allow: the origin (or `*`), the methods, the headers the browser asked
 * for (when they are a list of names; else the gateway's), the max age, and Vary; undefined for any
 * other request, which then gets no preflight answer. The answer carries no data: it may be given
 * where the request itself would be refused.
 */
export function corsPreflightHeaders(settings: CorsSettings): (method: string | undefined, headers: IncomingHttpHeaders) => Record<string, string> | undefined {
  const anyOrigin = settings.allowOrigins.includes("*");
  const allowed = allowsOrigin(settings);
  return (method, headers) => {
    const origin = headers.origin;
    if (method !== "OPTIONS" || headers["access-control-request-method"] === undefined || !allowed(origin)) return undefined;
    const asked = headers["access-control-request-headers"];
    return {
      "access-control-allow-origin": anyOrigin ? "*" : origin,
      "access-control-allow-methods": "GET, POST, OPTIONS",
      "access-control-allow-headers": typeof asked === "string" && HEADER_NAME_LIST.test(asked) ? asked : ALLOWED_HEADERS,
      "access-control-max-age": String(settings.maxAgeSeconds),
      vary: anyOrigin ? "access-control-request-headers" : "origin, access-control-request-headers",
    };
  };
}

/**
 * The CORS headers of an answer (not a preflight) to a request from `origin` under `server.cors`:
 * `Access-Control-Allow-Origin` and `Access-Control-Expose-Headers` when the origin is allowed,
 * and `Vary: Origin` when the allowed origins are a list; undefined when there are none to add.
 * For answers given before the hook runs (the loopback Host refusal, the HTTP/1.1 answers to
 * requests Node's parser refuses or that come too late, Fastify's bad-URL 400) as well as by it.
 */
export function corsAnswerHeaders(settings: CorsSettings): (origin: string | undefined) => Record<string, string> | undefined {
  const anyOrigin = settings.allowOrigins.includes("*");
  const allowed = allowsOrigin(settings);
  return (origin) => {
    if (!allowed(origin)) return anyOrigin ? undefined : { vary: "origin" };
    return { ...(anyOrigin ? {} : { vary: "origin" }), "access-control-allow-origin": anyOrigin ? "*" : origin, "access-control-expose-headers": EXPOSED_HEADERS };
  };
}

/** Whether `server.cors` allows a request's `Origin` (undefined: it has none). */
function allowsOrigin(settings: CorsSettings): (origin: string | undefined) => origin is string {
  const anyOrigin = settings.allowOrigins.includes("*");
  const origins = new Set(settings.allowOrigins);
  return (origin): origin is string => origin !== undefined && (anyOrigin || origins.has(origin));
}
