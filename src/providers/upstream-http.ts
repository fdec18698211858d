import type { LookupFunction } from "node:net";
import type { AbortSignalLike } from "../core/light-abort.js";
import { sharedLookup } from "../net/shared-lookup.js";
import { exchange, type ConnectionPool } from "../net/undici-exchange.js";
import { Agent } from "../net/undici-slim.js";
import { ACCEPTED_ENCODING } from "./upstream-decoding.js";

/** An HTTP request to a provider. */
export interface UpstreamRequest {
  readonly url: string;
  readonly method: "POST" | "GET";
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | undefined;
  /** Aborts the request; a DOM AbortSignal or the cheaper LightAbort. */
  readonly signal: AbortSignalLike;
  /** TCP connect bound for this request, in milliseconds. */
  readonly connectTimeoutMs?: number;
}

/** A provider's HTTP response; the body is consumed once. */
export interface UpstreamResponse {
  readonly status: number;
  /** Reads a response header by lower-case name. */
  header(name: string): string | undefined;
  readonly body: AsyncIterable<Uint8Array>;
}

/**
 * Sends one HTTP request. The production transport is a pooled keep-alive undici client; tests inject
 * a replaying one. When the signal aborts, implementations reject (or fail the body) with its
 * reason or an AbortError.
 */
export type UpstreamTransport = (request: UpstreamRequest) => Promise<UpstreamResponse>;

/**
 * An endpoint under an account's `base_url`: `path` (starting with "/") goes after the base's own
 * path and before its query, so a base URL with parameters (Azure's `?api-version=…`) keeps them;
 * `query` ("alt=sse") joins the base's query. Trailing slashes of the base path are dropped.
 */
export function endpointUrl(baseUrl: string, path: string, query = ""): string {
  const mark = baseUrl.indexOf("?");
  const base = (mark === -1 ? baseUrl : baseUrl.slice(0, mark)).replace(/\/+$/, "");
  const baseQuery = mark === -1 ? "" : baseUrl.slice(mark + 1);
  const joined = [baseQuery, query].filter((part) => part !== "").join("&");
  return joined ? `${base}${path}?${joined}` : `${base}${path}`;
}

/** Origin and path of an upstream URL, as undici's dispatchers take them. */
interface UpstreamTarget {
  readonly origin: string;
  readonly path: string;
}

/** Split URLs by their text; the set of upstream URLs is small (one or a few per account and model). */
const targets = new Map<string, UpstreamTarget | null>();
const MAX_CACHED_TARGETS = 1024;

/** The URL split as undici's top-level request() would; null when it is not an http(s) URL. */
function targetOf(url: string): UpstreamTarget | null {
  let target = targets.get(url);
  if (target === undefined) {
    target = null;
    try {
      const parsed = new URL(url);
      if (parsed.protocol === "http:" || parsed.protocol === "https:") target = { origin: parsed.origin, path: parsed.search ? `${parsed.pathname}${parsed.search}` : parsed.pathname };
    } catch {
      target = null;
    }
    if (targets.size >= MAX_CACHED_TARGETS) targets.clear();
    targets.set(url, target);
  }
  return target;
}

/** Request headers with `accept-encoding: identity` added, unless the account sets its own; cached per headers object (adapters build theirs once). */
const encodingHeaders = new WeakMap<Readonly<Record<string, string>>, Readonly<Record<string, string>>>();

function withAcceptEncoding(headers: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  let out = encodingHeaders.get(headers);
  if (!out) {
    out = Object.keys(headers).some((name) => name.toLowerCase() === "accept-encoding") ? headers : { ...headers, "accept-encoding": ACCEPTED_ENCODING };
    encodingHeaders.set(headers, out);
  }
  return out;
}

/** Upstream connections per origin (and per configured connect timeout) at most. */
export const CONNECTIONS_PER_ORIGIN = 256;

/** One keep-alive Agent and a look at its pools' saturation. */
interface PooledAgent extends ConnectionPool {
  readonly agent: Agent;
}

function pooledAgent(connectMs: number, lookup: LookupFunction, connections: number): PooledAgent {
  const agent = new Agent({
    connect: { timeout: connectMs, lookup },
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: 0,
    bodyTimeout: 0,
    connections,
  });
  return {
    agent,
    connections,
    // Read only when a request's connect bound runs out: the stats are built for every origin.
    allBusy: (origin) => (agent.stats[origin]?.running ?? 0) >= connections,
  };
}

/**
 * Creates the production transport: undici keep-alive connection pools, one Agent per configured
 * connect timeout (undici's connect timeout is the Agent's; each request's own bound is a native
 * timer, see {@link exchange}), each request dispatched to an UndiciExchange (the body is an UpstreamBody: pulled,
 * collected or dumped, bounded, no Node or web stream per response). At most
 * `connectionsPerOrigin` (default {@link CONNECTIONS_PER_ORIGIN}) connections per origin, one
 * request on each (no pipelining); a request whose connect bound runs out while all of them serve
 * others fails with a PoolBusyError, not a connect timeout. Every request says
 * `accept-encoding: identity` (without it a server may compress; see upstream-decoding.ts).
 * Host names are resolved by `lookup` (default: {@link sharedLookup} over the system's, so
 * concurrent connection attempts to one name share one DNS lookup).
 */
export function createUndiciTransport(lookup: LookupFunction = sharedLookup(), options: { readonly connectionsPerOrigin?: number } = {}): UpstreamTransport {
  const connections = options.connectionsPerOrigin ?? CONNECTIONS_PER_ORIGIN;
  const agents = new Map<number, PooledAgent>();
  const agentFor = (connectMs: number): PooledAgent => {
    let pooled = agents.get(connectMs);
    if (!pooled) {
      pooled = pooledAgent(connectMs, lookup, connections);
      agents.set(connectMs, pooled);
    }
    return pooled;
  };
  return (request) => {
    const target = targetOf(request.url);
    if (!target) return Promise.reject(new Error("the upstream URL is not a valid http or https URL"));
    // The URL is split once (cached) and the Agent dispatches to a handler of ours: undici's
    // request() parses the URL, copies the options and builds a Readable on every call.
    const connectMs = request.connectTimeoutMs ?? 10_000;
    const pooled = agentFor(connectMs);
    return exchange(pooled.agent, { origin: target.origin, path: target.path, method: request.method, headers: withAcceptEncoding(request.headers), body: request.body ?? null }, request.signal, connectMs, pooled);
  };
}

/** The longest wait a provider's Retry-After (or Gemini RetryInfo) may ask for: one day. */
export const MAX_RETRY_AFTER_MS = 86_400_000;

/** A provider's wait in ms, at most {@link MAX_RETRY_AFTER_MS}: "retry in 3,000 years" (or Infinity) is passed on as one day. */
export function cappedRetryAfterMs(ms: number): number {
  return Math.min(Math.max(0, Math.round(ms)), MAX_RETRY_AFTER_MS);
}

/**
 * Parses a Retry-After header (delta seconds or an HTTP date) into milliseconds from now, at most
 * {@link MAX_RETRY_AFTER_MS}; undefined when absent or unreadable.
 * @see https://www.rfc-editor.org/rfc/rfc9110#field.retry-after
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return cappedRetryAfterMs(Number(trimmed) * 1000);
  // An HTTP date names its day and month; V8's Date.parse would also read "-5" or "7" as a year.
  const date = /[a-z]{3}/i.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  if (Number.isNaN(date)) return undefined;
  return cappedRetryAfterMs(date - now);
}
