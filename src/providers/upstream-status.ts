import type { JsonObject } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { gatewayError, type GatewayError, Reason } from "../core/errors.js";
import type { ProviderAccount } from "../config/gateway-config.js";
import { cappedRetryAfterMs, parseRetryAfter } from "./upstream-http.js";

/** What an adapter's error mapper read from a provider's error body. */
export interface UpstreamErrorFields {
  readonly provider: string;
  readonly status: number;
  /** The provider's message, already scrubbed of secrets. */
  readonly message: string;
  /** The provider's error type or code, e.g. "rate_limit_error". */
  readonly upstreamCode?: string;
  /** The Retry-After advice in ms, from the header or the body. */
  readonly retryAfterMs?: number;
}

/** 4xx statuses that say something other than "this request is wrong" (see {@link rejectsTheRequest}). */
const NOT_THE_REQUEST: ReadonlySet<number> = new Set([401, 402, 403, 404, 408, 409, 413, 425, 429]);

/**
 * Whether an upstream status says the request itself is wrong (UPSTREAM_INVALID_REQUEST, never
 * retried or failed over): a 4xx other than the credential (401/403), credit (402), model (404),
 * timeout (408), size (413) and rate (429) ones, and other than 409 (OpenAI's lock timeout, Gemini's
 * ABORTED: "retry") and 425 Too Early, which are the provider's transient conditions.
 */
export function rejectsTheRequest(status: number): boolean {
  return status >= 400 && status < 500 && !NOT_THE_REQUEST.has(status);
}

/**
 * Maps an upstream HTTP status to a GatewayError when the provider's structured fields said
 * nothing more specific. 401/403 are the gateway's own provider credential failing: a 502-class
 * PROVIDER_AUTH_FAILED whose message never includes the provider's text (it can echo the key).
 */
export function errorFromUpstreamStatus(fields: UpstreamErrorFields): GatewayError {
  const { status, provider, message } = fields;
  const facts = {
    provider,
    upstreamStatus: status,
    ...(fields.upstreamCode ? { upstreamCode: fields.upstreamCode } : {}),
    ...(fields.retryAfterMs !== undefined ? { retryAfterMs: fields.retryAfterMs } : {}),
  };
  if (status === 401 || status === 403) {
    return gatewayError(Code.Internal, Reason.PROVIDER_AUTH_FAILED, `the gateway's credential for provider account "${provider}" was rejected (upstream ${status})`, facts);
  }
  // 402 Payment Required: the account is out of credit (OpenRouter, DeepSeek), not the request's fault.
  if (status === 402) return gatewayError(Code.ResourceExhausted, Reason.INSUFFICIENT_QUOTA, `provider "${provider}" quota exhausted: ${message}`, facts);
  if (status === 404) return gatewayError(Code.NotFound, Reason.MODEL_NOT_FOUND, `provider "${provider}": ${message}`, facts);
  if (status === 408 || status === 504) return gatewayError(Code.DeadlineExceeded, Reason.UPSTREAM_TIMEOUT, `provider "${provider}" timed out: ${message}`, facts);
  // RESOURCE_EXHAUSTED, as for the gateway's own body limit: one code per reason on every edge.
  if (status === 413) return gatewayError(Code.ResourceExhausted, Reason.REQUEST_TOO_LARGE, `provider "${provider}": ${message}`, facts);
  if (status === 429) return gatewayError(Code.ResourceExhausted, Reason.RATE_LIMIT_EXCEEDED, `provider "${provider}" is rate limiting: ${message}`, facts);
  if (rejectsTheRequest(status)) return gatewayError(Code.InvalidArgument, Reason.UPSTREAM_INVALID_REQUEST, `provider "${provider}" rejected the request: ${message}`, facts);
  return gatewayError(Code.Unavailable, Reason.PROVIDER_UNAVAILABLE, `provider "${provider}" failed (upstream ${status}): ${message}`, facts);
}

/**
 * The failure of a non-2xx upstream answer with what its headers add: `noRetry` when the provider
 * said `x-should-retry: false` (OpenAI, and servers built like it, send it where sending the same
 * request again would not help or would do the work twice; the route then does not retry that
 * target, other targets are still tried), and the provider's id of the request from `x-request-id`
 * (OpenAI and most compatible servers) or `request-id` (Anthropic) when the body gave none, which
 * the edges send as `x-upstream-request-id`.
 */
export function withAnswerHeaders(error: GatewayError, header: (name: string) => string | undefined): GatewayError {
  const noRetry = header("x-should-retry")?.trim().toLowerCase() === "false";
  const requestId = error.facts.upstreamRequestId === undefined ? (header("x-request-id") ?? header("request-id")) : undefined;
  if (!noRetry && requestId === undefined) return error;
  return gatewayError(error.code, error.reason, error.rawMessage, { ...error.facts, ...(noRetry ? { noRetry } : {}), ...(requestId !== undefined ? { upstreamRequestId: requestId } : {}) }, error.cause);
}

/**
 * Reads an upstream response's wait advice, in ms: Retry-After, else `retry-after-ms`, else, on a
 * 429 (`status`), the reset time of the OpenAI-style rate limit it exhausted
 * ({@link rateLimitResetMs}). A header that cannot be read counts as absent, so the next one
 * still speaks. Undefined when there is none.
 */
export function retryAfterFromHeader(header: (name: string) => string | undefined, status?: number): number | undefined {
  const retryAfter = parseRetryAfter(header("retry-after"));
  if (retryAfter !== undefined) return retryAfter;
  const ms = header("retry-after-ms");
  if (ms !== undefined && /^\d+$/.test(ms)) return cappedRetryAfterMs(Number(ms));
  return status === 429 ? rateLimitResetMs(header) : undefined;
}

/** Milliseconds per unit of a Go-style duration. */
const DURATION_UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, "µs": 0.001, ns: 0.000001 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:h|ms|m|s|us|µs|ns))+$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g;

/** A Go-style duration as OpenAI and Groq send their resets ("1s", "6m0s", "20ms", "2m59.56s"), in ms. */
function durationMs(value: string | undefined): number | undefined {
  const text = value?.trim();
  if (!text || !DURATION.test(text)) return undefined;
  let ms = 0;
  for (const [, amount, unit] of text.matchAll(DURATION_PART)) ms += Number(amount) * (DURATION_UNIT_MS[unit ?? ""] ?? 0);
  return ms;
}

/**
 * When the OpenAI-style rate limit a 429 hit resets: `x-ratelimit-reset-requests` when
 * `x-ratelimit-remaining-requests` is 0, `x-ratelimit-reset-tokens` when the tokens are, the later
 * of the two when both are. Undefined when no limit says it is used up (a request larger than the
 * tokens left, say): the reset then says nothing about when this request would pass.
 */
function rateLimitResetMs(header: (name: string) => string | undefined): number | undefined {
  let wait: number | undefined;
  for (const limit of ["requests", "tokens"]) {
    if (header(`x-ratelimit-remaining-${limit}`)?.trim() !== "0") continue;
    const reset = durationMs(header(`x-ratelimit-reset-${limit}`));
    if (reset !== undefined) wait = Math.max(wait ?? 0, reset);
  }
  return wait === undefined ? undefined : cappedRetryAfterMs(wait);
}

/** Request headers whose values are never credentials; every other header an account sends may carry one. */
const PLAIN_HEADERS = new Set(["accept", "accept-encoding", "anthropic-beta", "anthropic-version", "connection", "content-length", "content-type", "host", "openai-beta", "user-agent"]);
/** Shorter values ("1", "true", a region) would redact ordinary words of a message. */
const MIN_SECRET_LENGTH = 8;
/** URL query parameters that carry credentials (Google's `key`, signed URLs). */
const SECRET_PARAMS = /key|token|secret|sig|password|auth/i;

/**
 * The credentials an upstream request carried, as a provider might echo them: the value of every
 * header that is not a known plain one (and the token after its auth scheme, e.g. `Bearer`), the
 * URL's user name and password, and query parameters named like keys. Values shorter than
 * {@link MIN_SECRET_LENGTH} are left out. Longest first, so a value is replaced before a part of it.
 */
export function requestSecrets(headers: Readonly<Record<string, string>>, url: string): string[] {
  const secrets = new Set<string>();
  const add = (value: string) => {
    if (value.length >= MIN_SECRET_LENGTH) secrets.add(value);
  };
  for (const [name, value] of Object.entries(headers)) {
    if (PLAIN_HEADERS.has(name.toLowerCase())) continue;
    add(value);
    const scheme = /^[A-Za-z-]+\s+(\S+)$/.exec(value);
    if (scheme?.[1]) add(scheme[1]);
  }
  try {
    const parsed = new URL(url);
    add(decodeURIComponent(parsed.username));
    add(decodeURIComponent(parsed.password));
    for (const [name, value] of parsed.searchParams) if (SECRET_PARAMS.test(name)) add(value);
  } catch {
    // Not a URL: nothing more to collect.
  }
  return [...secrets].sort((a, b) => b.length - a.length);
}

/** A hex number as a pattern that matches it in either case ("2f" -> "2[fF]"). */
function anyCaseHex(hex: string): string {
  return hex.replace(/[a-f]/g, (digit) => `[${digit}${digit.toUpperCase()}]`);
}

/** One UTF-16 unit of a secret, as it may be echoed: itself, percent-encoded, or JSON-escaped (`\u002f`, `\/`). */
function unitPattern(unit: number): string {
  const char = String.fromCharCode(unit);
  const ways = [char.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&"), `\\\\u${anyCaseHex(unit.toString(16).padStart(4, "0"))}`];
  if (unit < 0x80) ways.push(`%${anyCaseHex(unit.toString(16).padStart(2, "0"))}`);
  if (char === "/" || char === '"' || char === "\\") ways.push(`\\\\${ways[0]}`);
  return `(?:${ways.join("|")})`;
}

/** Compiled patterns by secret list: an account's list is the same on every failure. */
const secretPatterns = new Map<string, RegExp>();
const MAX_CACHED_PATTERNS = 64;

function secretsPattern(secrets: readonly string[]): RegExp {
  const key = secrets.join("\0");
  let pattern = secretPatterns.get(key);
  if (!pattern) {
    const alternatives = secrets.map((secret) => Array.from({ length: secret.length }, (_, index) => unitPattern(secret.charCodeAt(index))).join(""));
    pattern = new RegExp(alternatives.join("|"), "g");
    if (secretPatterns.size >= MAX_CACHED_PATTERNS) secretPatterns.clear();
    secretPatterns.set(key, pattern);
  }
  return pattern;
}

/** Texts up to this long are searched for every encoding of a secret; longer ones (up to 64 MiB) for the usual ones only. */
const FULL_SEARCH_CHARS = 256 * 1024;

/** The usual encodings of a secret in a JSON string or a URL: found with plain substring search. */
function commonForms(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  return [...new Set([secret, json, json.replace(/\//g, "\\/"), encodeURIComponent(secret)])];
}

/**
 * `text` with every occurrence of each of `secrets` replaced by `[redacted]`: as written, and also
 * with any of its characters percent-encoded (either case) or JSON-escaped, as an upstream may echo
 * it inside a URL or a JSON string (`\/`, `\u0041`). Texts over {@link FULL_SEARCH_CHARS} are
 * searched for the common encodings only (whole-string JSON escaping and percent-encoding), which
 * keeps a huge error body from holding the event loop. `secrets` longest first (as
 * {@link requestSecrets} gives them).
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  if (secrets.length === 0) return text;
  if (text.length <= FULL_SEARCH_CHARS) return text.replace(secretsPattern(secrets), "[redacted]");
  let out = text;
  for (const secret of secrets) {
    for (const form of commonForms(secret)) if (out.includes(form)) out = out.split(form).join("[redacted]");
  }
  return out;
}

/** The credentials an account sends upstream: its api_key, its non-plain header values, and those in its base_url. */
export function accountSecrets(account: ProviderAccount): string[] {
  return requestSecrets({ ...account.headers, ...(account.apiKey ? { authorization: `Bearer ${account.apiKey}` } : {}) }, account.baseUrl ?? "");
}

/** The longest provider-given fact (`upstreamCode`, `param`) passed on, in characters: they are identifiers, and they travel in gRPC metadata. */
export const MAX_PROVIDER_FACT_CHARS = 256;

/** A provider-given fact without the account's credentials, cut to {@link MAX_PROVIDER_FACT_CHARS}. */
function cleanFact(value: string | undefined, secrets: readonly string[]): string | undefined {
  if (value === undefined) return undefined;
  const redacted = redactSecrets(value, secrets);
  return redacted.length <= MAX_PROVIDER_FACT_CHARS ? redacted : `${redacted.slice(0, MAX_PROVIDER_FACT_CHARS - 1)}…`;
}

/**
 * `error` as the gateway passes it on: without the account's credentials in its message or its
 * provider-given facts (`upstreamCode`, `param`), however the provider encoded them, and with
 * those facts at most {@link MAX_PROVIDER_FACT_CHARS} long (a provider's 9,000-character `param`
 * made a gRPC error's metadata too big for grpcio clients); the same error when nothing changes.
 * Applied to every failed attempt, so neither callers nor logs see a key a provider echoed (the
 * raw body was redacted already, but a JSON escape or a stream event can hide one from that pass).
 */
export function cleanedProviderError(error: GatewayError, account: ProviderAccount): GatewayError {
  const secrets = accountSecrets(account);
  const message = secrets.length === 0 ? error.rawMessage : redactSecrets(error.rawMessage, secrets);
  const { upstreamCode, param, upstreamExtra } = error.facts;
  const code = cleanFact(upstreamCode, secrets);
  const field = cleanFact(param, secrets);
  const extra = cleanExtra(upstreamExtra, secrets);
  if (message === error.rawMessage && code === upstreamCode && field === param && extra === upstreamExtra) return error;
  const { upstreamExtra: _old, ...rest } = error.facts;
  const facts = { ...rest, ...(code === undefined ? {} : { upstreamCode: code }), ...(field === undefined ? {} : { param: field }), ...(extra === undefined ? {} : { upstreamExtra: extra }) };
  return gatewayError(error.code, error.reason, message, facts, error.cause);
}

/**
 * A provider's error fields without the account's credentials (the same error object's `message`
 * is cleaned too: an error inside a stream or a 200 never went through the body's pass), written
 * and redacted as JSON text; the same object when nothing changes; none if the text no longer
 * parses (a credential that was also a JSON key's or value's delimiter).
 */
function cleanExtra(extra: JsonObject | undefined, secrets: readonly string[]): JsonObject | undefined {
  if (extra === undefined || secrets.length === 0) return extra;
  const text = JSON.stringify(extra);
  const redacted = redactSecrets(text, secrets);
  if (redacted === text) return extra;
  try {
    return JSON.parse(redacted) as JsonObject;
  } catch {
    return undefined;
  }
}

/**
 * A URL for display: user name, password, key-like query parameters and any fragment replaced by
 * `[redacted]`. Text that does not parse as a URL is never shown, since what holds a secret in it
 * cannot be told: it displays as `[not a valid URL]`.
 */
export function displayUrl(url: string): string {
  if (!URL.canParse(url)) return "[not a valid URL]";
  const parsed = new URL(url);
  if (parsed.username) parsed.username = "[redacted]";
  if (parsed.password) parsed.password = "[redacted]";
  for (const name of [...parsed.searchParams.keys()]) if (SECRET_PARAMS.test(name)) parsed.searchParams.set(name, "[redacted]");
  // A fragment is never sent, so it can only be something the operator pasted there (a key, say).
  if (parsed.hash) parsed.hash = "[redacted]";
  return parsed.toString().replace(/%5Bredacted%5D/g, "[redacted]");
}

/** The longest excerpt of an error body that is not the provider's JSON. */
const MAX_EXCERPT_CHARS = 200;

/**
 * What a caller is told of an error body that is not the provider's JSON (a proxy's or load
 * balancer's page, plain text): an HTML page by its title (its markup says nothing), other text as
 * a short excerpt with whitespace collapsed, secrets scrubbed; undefined for an empty body.
 */
export function nonJsonErrorText(text: string): string | undefined {
  // The head of the body says all this needs (a page's title comes early), however large the body.
  const trimmed = text.slice(0, 64 * 1024).trim();
  if (trimmed === "") return undefined;
  if (/^<(?:!doctype\s+html|html|head|body)\b/i.test(trimmed)) {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(trimmed)?.[1]?.replace(/\s+/g, " ").trim().slice(0, MAX_EXCERPT_CHARS);
    return title ? `an HTML page titled "${scrubSecrets(title)}"` : "an HTML page";
  }
  return scrubSecrets(trimmed.replace(/\s+/g, " ").slice(0, MAX_EXCERPT_CHARS));
}

/** The longest provider text (an error message) a caller or a log line is given, in characters. */
export const MAX_PROVIDER_TEXT = 8192;

/** Whether a character code can be part of a token the patterns below redact. */
function tokenCharacter(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || "._~+/=-".includes(String.fromCharCode(code));
}

/**
 * `text` cut to {@link MAX_PROVIDER_TEXT} characters, without the token the cut went through (so
 * no part of a credential survives unredacted for being too short to recognise), and marked.
 */
function bounded(text: string): string {
  if (text.length <= MAX_PROVIDER_TEXT) return text;
  let end = MAX_PROVIDER_TEXT;
  while (end > 0 && tokenCharacter(text.charCodeAt(end)) && tokenCharacter(text.charCodeAt(end - 1))) end--;
  return `${text.slice(0, end)}… (${text.length} characters in all)`;
}

/**
 * Removes anything that looks like a credential from provider text before it reaches a caller or
 * a log: API keys of the common providers, bearer tokens and long opaque tokens. (The account's
 * own credentials are removed from error bodies first, by value: see {@link requestSecrets}.)
 * Text longer than {@link MAX_PROVIDER_TEXT} is cut first: an error message that echoes a
 * multi-megabyte blob would otherwise block the event loop for the regular expressions (a
 * megabyte-long token even overflows their stack) and reach the caller whole.
 */
export function scrubSecrets(text: string): string {
  return bounded(text)
    .replace(/\b(sk|pk|rk)-[A-Za-z0-9_-]{8,}/g, "[redacted]")
    .replace(/\bsk-ant-[A-Za-z0-9_-]{8,}/g, "[redacted]")
    .replace(/\bAIza[0-9A-Za-z_-]{20,}/g, "[redacted]")
    .replace(/\b(gsk|xai|pplx|hf)_[A-Za-z0-9]{16,}/g, "[redacted]")
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi, "$1[redacted]")
    .replace(/\b[A-Za-z0-9_-]{40,}\b/g, "[redacted]");
}
