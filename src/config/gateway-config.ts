import { bool, either, httpUrl, list, num, obj, oneOf, record, str, type ConfigIssue, type Schema } from "./config-validator.js";
import { checkTargetParams } from "./target-param-names.js";
import { HEADER_NAME, HEADER_VALUE_HINT, HEADER_VALUE_TEXT, providerHeaders } from "./provider-headers.js";
import { canonicalOrigin, CORS_ORIGIN } from "./cors-origin.js";

/** Default bound on all the media downloads of one request together (media.max_total_bytes): 64 MiB. */
const DEFAULT_MEDIA_MAX_TOTAL_BYTES = 64 * 1024 * 1024;
/** Default bound on the media all requests hold at once (media.max_inflight_bytes): 128 MiB, or max_total_bytes when larger. */
const DEFAULT_MEDIA_MAX_INFLIGHT_BYTES = 128 * 1024 * 1024;

/** Timeouts for one upstream target, in milliseconds. */
export interface TimeoutSettings {
  /** TCP (and TLS) connect. */
  readonly connectMs: number;
  /** Streaming: time until the first body byte (first token) arrives. */
  readonly firstTokenMs: number;
  /** Streaming: longest silence between two body chunks. */
  readonly idleMs: number;
  /** Whole attempt, from sending to the last byte. Also the non-streaming first-byte bound. */
  readonly totalMs: number;
}

/** Retry policy for one upstream target. */
export interface RetrySettings {
  /** Retries after the first attempt on the same target. */
  readonly maxRetries: number;
  /** Base of the exponential backoff (full jitter). */
  readonly baseDelayMs: number;
  /** Upper bound of one backoff wait. */
  readonly maxDelayMs: number;
  /** Upper bound of all retry waiting (backoff and Retry-After) on one request, across targets; attempts' own time does not count. */
  readonly budgetMs: number;
}

/** Circuit breaker policy for one upstream target. */
export interface CircuitBreakerSettings {
  /** Consecutive failures that open the circuit. */
  readonly failureThreshold: number;
  /** How long an open circuit stays open before one probe request is let through. */
  readonly cooldownMs: number;
}

/** What a model can take; unset means unknown, which the gateway treats as "yes". */
export interface ModelCapabilities {
  readonly images?: boolean;
  readonly audio?: boolean;
  readonly video?: boolean;
  readonly documents?: boolean;
  readonly tools?: boolean;
  readonly jsonSchema?: boolean;
  readonly prefill?: boolean;
  readonly penalties?: boolean;
  readonly logprobs?: boolean;
}

/** One entry of an account's model catalogue. */
export interface CatalogModel {
  readonly name: string;
  readonly contextWindow?: number;
  readonly maxOutputTokens?: number;
  readonly supports: ModelCapabilities;
  readonly timeouts?: Partial<TimeoutSettings>;
}

/** One provider account: the part of a model id before the first "/". */
export interface ProviderAccount {
  readonly name: string;
  readonly type: string;
  readonly apiKey?: string;
  readonly baseUrl?: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly models: readonly CatalogModel[];
  readonly timeouts?: Partial<TimeoutSettings>;
  readonly retry?: Partial<RetrySettings>;
  readonly circuitBreaker?: Partial<CircuitBreakerSettings>;
}

/** One target of a virtual model, with its overrides. */
export interface VirtualTarget {
  readonly model: string;
  readonly weight: number;
  readonly params: Readonly<Record<string, number | string | boolean>>;
  readonly timeouts?: Partial<TimeoutSettings>;
  readonly retry?: Partial<RetrySettings>;
}

/** A model name callers use that the gateway routes to targets. */
export interface VirtualModel {
  readonly name: string;
  readonly strategy: "fallback" | "loadbalance" | "latency";
  readonly targets: readonly VirtualTarget[];
}

/** `server.cors`: which web origins may call the gateway from a browser, and how long a preflight answer may be cached. */
export interface CorsSettings {
  /** Exact origins (`https://app.example.com`, scheme, host and port only), or `*` for any. */
  readonly allowOrigins: readonly string[];
  readonly maxAgeSeconds: number;
}

/** The validated gateway configuration. */
export interface GatewayConfig {
  readonly server: {
    readonly host: string;
    readonly port: number;
    readonly workers: number;
    readonly bodyLimitBytes: number;
    readonly shutdownGraceMs: number;
    /** REST streams: the SSE head and a comment after this long without a first event, then a comment as often; 0 = never. */
    readonly streamKeepAliveMs: number;
    /** Browser access (CORS) for these origins; absent: no CORS headers, as before the key existed. */
    readonly cors?: CorsSettings;
  };
  readonly keys: readonly { readonly name: string; readonly key: string }[];
  readonly providers: Readonly<Record<string, ProviderAccount>>;
  readonly models: Readonly<Record<string, VirtualModel>>;
  readonly routing: {
    readonly timeouts: TimeoutSettings;
    readonly retry: RetrySettings;
    readonly circuitBreaker: CircuitBreakerSettings;
  };
  readonly media: {
    readonly allowPrivateNetwork: boolean;
    readonly maxBytes: number;
    readonly maxTotalBytes: number;
    /** Bound on the media bytes all requests of the process hold at once (media.max_inflight_bytes). */
    readonly maxInflightBytes: number;
    readonly timeoutMs: number;
  };
  readonly logging: {
    readonly level: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
    /** Per-request log lines of one kind (same event, target and reason) logged per second; 0 = all. */
    readonly maxSimilarPerSecond: number;
  };
}

/** Provider types the gateway knows; the registry holds their factories. */
export const PROVIDER_TYPES = ["openai", "openai-compatible", "anthropic", "gemini"] as const;

const ms = () => num({ min: 1, max: 3_600_000, integer: true });
const timeoutsSchema = obj({ connect_ms: ms(), first_token_ms: ms(), idle_ms: ms(), total_ms: ms() });
const retrySchema = obj({
  max_retries: num({ min: 0, max: 10, integer: true }),
  base_delay_ms: num({ min: 0, max: 60_000, integer: true }),
  max_delay_ms: num({ min: 0, max: 300_000, integer: true }),
  budget_ms: num({ min: 0, max: 3_600_000, integer: true }),
});
const breakerSchema = obj({ failure_threshold: num({ min: 1, max: 1000, integer: true }), cooldown_ms: ms() });
const capabilitySchema = obj({
  images: bool(), audio: bool(), video: bool(), documents: bool(), tools: bool(),
  json_schema: bool(), prefill: bool(), penalties: bool(), logprobs: bool(),
});
const catalogEntrySchema = obj({
  name: str({ nonEmpty: true }),
  context_window: num({ min: 1, integer: true }),
  max_output_tokens: num({ min: 1, integer: true }),
  supports: capabilitySchema,
  timeouts: timeoutsSchema,
});
const accountNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/**
 * What a gateway key may hold: printable ASCII without spaces. Callers send it as `Bearer <key>`,
 * which ends at the first space, and a header's bytes beyond ASCII are read as Latin-1, so a key
 * with other characters could never match.
 */
const GATEWAY_KEY_TEXT = /^[\x21-\x7e]+$/;

const scalar: Schema<number | string | boolean> = (value, path, issues) => {
  if (typeof value === "number" || typeof value === "string" || typeof value === "boolean") return value;
  issues.push({ path, message: "must be a number, string or boolean" });
  return undefined;
};
const rootSchema = obj({
  server: obj({
    host: str({ nonEmpty: true }),
    port: num({ min: 0, max: 65535, integer: true }),
    workers: num({ min: 1, max: 256, integer: true }),
    body_limit_bytes: num({ min: 1024, max: 512 * 1024 * 1024, integer: true }),
    shutdown_grace_ms: num({ min: 0, max: 600_000, integer: true }),
    stream_keepalive_ms: num({ min: 0, max: 600_000, integer: true }),
    cors: obj({
      allow_origins: list(str({ nonEmpty: true, pattern: CORS_ORIGIN, patternHint: '"*" or an origin such as https://app.example.com (scheme, host and port; no path or trailing slash)' })),
      max_age_s: num({ min: 0, max: 86_400, integer: true }),
    }),
  }),
  keys: list(obj({ name: str({ nonEmpty: true }), key: str({ nonEmpty: true, pattern: GATEWAY_KEY_TEXT, patternHint: "printable ASCII without spaces or control characters (a line break at the end of a file or secret is a common cause), or no caller could send it" }) })),
  providers: record(
    obj({
      type: oneOf(PROVIDER_TYPES),
      api_key: str({ pattern: HEADER_VALUE_TEXT, patternHint: HEADER_VALUE_HINT }),
      base_url: httpUrl(),
      headers: record(str({ pattern: HEADER_VALUE_TEXT, patternHint: HEADER_VALUE_HINT }), HEADER_NAME, "an HTTP header name: letters, digits and !#$%&'*+.^_`|~- (no spaces or colons)"),
      models: list(either(str({ nonEmpty: true }), catalogEntrySchema, (value) => typeof value === "string")),
      timeouts: timeoutsSchema,
      retry: retrySchema,
      circuit_breaker: breakerSchema,
    }),
    accountNamePattern,
    "letters, digits, '.', '_' and '-', starting with a letter or digit (no '/')",
  ),
  models: record(
    obj({
      strategy: oneOf(["fallback", "loadbalance", "latency"] as const),
      targets: list(
        either(
          str({ nonEmpty: true }),
          obj({ model: str({ nonEmpty: true }), weight: num({ min: 0, max: 1_000_000 }), params: record(scalar), timeouts: timeoutsSchema, retry: retrySchema }),
          (value) => typeof value === "string",
        ),
      ),
    }),
    /^[A-Za-z0-9][A-Za-z0-9._:-]*$/,
    "letters, digits, '.', '_', ':' and '-' (no '/': names with '/' are provider models)",
  ),
  routing: obj({ timeouts: timeoutsSchema, retry: retrySchema, circuit_breaker: breakerSchema }),
  media: obj({
    allow_private_network: bool(),
    max_bytes: num({ min: 1, max: 1024 * 1024 * 1024, integer: true }),
    // The fetched bytes go to Gemini base64-encoded in one JSON string, which V8 caps at 2^29 - 24 characters.
    max_total_bytes: num({ min: 1, max: 256 * 1024 * 1024, integer: true }),
    max_inflight_bytes: num({ min: 1, max: Number.MAX_SAFE_INTEGER, integer: true }),
    timeout_ms: ms(),
  }),
  logging: obj({
    level: oneOf(["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const),
    max_similar_per_second: num({ min: 0, max: 1_000_000, integer: true }),
  }),
});

/** Default routing settings, used wherever config is silent. */
export const DEFAULT_TIMEOUTS: TimeoutSettings = { connectMs: 5_000, firstTokenMs: 10_000, idleMs: 30_000, totalMs: 600_000 };
/** Default retry policy: two retries with full-jitter backoff inside a 20 s budget. */
export const DEFAULT_RETRY: RetrySettings = { maxRetries: 2, baseDelayMs: 250, maxDelayMs: 4_000, budgetMs: 20_000 };
/** Default breaker: five consecutive failures open the circuit for 5 s. */
export const DEFAULT_CIRCUIT_BREAKER: CircuitBreakerSettings = { failureThreshold: 5, cooldownMs: 5_000 };

type TimeoutsInput = { connect_ms?: number; first_token_ms?: number; idle_ms?: number; total_ms?: number } | undefined;
type RetryInput = { max_retries?: number; base_delay_ms?: number; max_delay_ms?: number; budget_ms?: number } | undefined;

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}
function toTimeouts(input: TimeoutsInput): Partial<TimeoutSettings> | undefined {
  if (!input) return undefined;
  return dropUndefined({ connectMs: input.connect_ms, firstTokenMs: input.first_token_ms, idleMs: input.idle_ms, totalMs: input.total_ms });
}
function toRetry(input: RetryInput): Partial<RetrySettings> | undefined {
  if (!input) return undefined;
  return dropUndefined({ maxRetries: input.max_retries, baseDelayMs: input.base_delay_ms, maxDelayMs: input.max_delay_ms, budgetMs: input.budget_ms });
}

/** Reports a missing value at `path`, unless a value that is there was already refused there (the schema's issue says what is wrong with it). */
function required(issues: ConfigIssue[], path: string, message = "is required"): void {
  if (!issues.some((issue) => issue.path === path)) issues.push({ path, message });
}

/**
 * Validates a parsed YAML document (after environment interpolation) and fills in defaults.
 * `defaults.substituted` maps the key paths whose text came from `${VAR}` substitution to the
 * variables used (a number
 * or boolean key reads such text as one). Returns the config, or the complete list of issues;
 * never throws on bad input.
 */
export function parseGatewayConfig(document: unknown, defaults: { workers: number; substituted?: ReadonlyMap<string, string> }): { config?: GatewayConfig; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const context = { substituted: defaults.substituted ?? new Map<string, string>() };
  const raw = rootSchema(document ?? {}, "", issues, context) ?? {};
  const providers: Record<string, ProviderAccount> = {};
  for (const [name, account] of Object.entries(raw.providers ?? {})) {
    if (!account.type) {
      required(issues, `providers.${name}.type`, `is required (one of ${PROVIDER_TYPES.join(", ")})`);
      continue;
    }
    const models = (account.models ?? []).map((entry): CatalogModel => {
      if (typeof entry === "string") return { name: entry, supports: {} };
      const supports = entry.supports ?? {};
      return {
        name: entry.name ?? "",
        ...(entry.context_window !== undefined ? { contextWindow: entry.context_window } : {}),
        ...(entry.max_output_tokens !== undefined ? { maxOutputTokens: entry.max_output_tokens } : {}),
        supports: dropUndefined({
          images: supports.images, audio: supports.audio, video: supports.video, documents: supports.documents,
          tools: supports.tools, jsonSchema: supports.json_schema, prefill: supports.prefill,
          penalties: supports.penalties, logprobs: supports.logprobs,
        }),
        ...(entry.timeouts ? { timeouts: toTimeouts(entry.timeouts) ?? {} } : {}),
      };
    });
    // Routing reads the first entry of a name and GET /v1/models would list each: a repeat is a mistake either way.
    const modelNames = new Map<string, number>();
    models.forEach((model, index) => {
      const first = modelNames.get(model.name);
      if (!model.name) required(issues, `providers.${name}.models[${index}].name`);
      else if (first !== undefined) issues.push({ path: `providers.${name}.models[${index}]`, message: `repeats the name of providers.${name}.models[${first}]` });
      else modelNames.set(model.name, index);
    });
    // The other types have a default endpoint; an OpenAI-compatible server has none to fall back on.
    if (account.type === "openai-compatible" && !account.base_url) required(issues, `providers.${name}.base_url`, "is required for type openai-compatible");
    const timeouts = toTimeouts(account.timeouts);
    const retry = toRetry(account.retry);
    providers[name] = {
      name,
      type: account.type,
      ...(account.api_key ? { apiKey: account.api_key } : {}),
      ...(account.base_url ? { baseUrl: account.base_url.replace(/\/+$/, "") } : {}),
      headers: providerHeaders(account.headers ?? {}, `providers.${name}.headers`, issues),
      models,
      ...(timeouts ? { timeouts } : {}),
      ...(retry ? { retry } : {}),
      ...(account.circuit_breaker ? { circuitBreaker: dropUndefined({ failureThreshold: account.circuit_breaker.failure_threshold, cooldownMs: account.circuit_breaker.cooldown_ms }) } : {}),
    };
  }
  const models: Record<string, VirtualModel> = {};
  for (const [name, model] of Object.entries(raw.models ?? {})) {
    const path = `models.${name}`;
    if (!model.targets || model.targets.length === 0) {
      issues.push({ path: `${path}.targets`, message: "must list at least one target" });
      continue;
    }
    const targets = model.targets.map((target, index): VirtualTarget => {
      if (typeof target === "string") return { model: target, weight: 1, params: {} };
      if (!target.model) required(issues, `${path}.targets[${index}].model`);
      const timeouts = toTimeouts(target.timeouts);
      const retry = toRetry(target.retry);
      const params = checkTargetParams(target.params ?? {}, `${path}.targets[${index}].params`, context, issues);
      return { model: target.model ?? "", weight: target.weight ?? 1, params, ...(timeouts ? { timeouts } : {}), ...(retry ? { retry } : {}) };
    });
    targets.forEach((target, index) => {
      const account = target.model.slice(0, target.model.indexOf("/"));
      const accounts = Object.keys(providers).join(", ") || "none";
      if (target.model && (!target.model.includes("/") || !Object.hasOwn(providers, account))) {
        issues.push({ path: `${path}.targets[${index}].model`, message: `must be "<provider account>/<model>" naming a configured account (configured: ${accounts})` });
      }
    });
    if (model.strategy === "loadbalance" && targets.every((target) => target.weight === 0)) {
      issues.push({ path: `${path}.targets`, message: "needs at least one target with a weight above 0" });
    }
    models[name] = { name, strategy: model.strategy ?? "fallback", targets };
  }
  const keyNames = new Map<string, number>();
  const keySecrets = new Map<string, number>();
  const keys = (raw.keys ?? []).map((entry, index) => {
    if (!entry.name) required(issues, `keys[${index}].name`);
    if (!entry.key) required(issues, `keys[${index}].key`);
    // Logs name the key a request used: two keys with one name, or one secret under two names, would make that ambiguous.
    const sameName = entry.name ? keyNames.get(entry.name) : undefined;
    if (sameName !== undefined) issues.push({ path: `keys[${index}].name`, message: `repeats the name of keys[${sameName}]` });
    else if (entry.name) keyNames.set(entry.name, index);
    const sameSecret = entry.key ? keySecrets.get(entry.key) : undefined;
    if (sameSecret !== undefined) issues.push({ path: `keys[${index}].key`, message: `is the same secret as keys[${sameSecret}].key` });
    else if (entry.key) keySecrets.set(entry.key, index);
    return { name: entry.name ?? "", key: entry.key ?? "" };
  });
  const cors = raw.server?.cors;
  if (cors && (cors.allow_origins ?? []).length === 0) issues.push({ path: "server.cors.allow_origins", message: "must list at least one origin (or \"*\"); leave server.cors out to turn CORS off" });
  const allowOrigins = (cors?.allow_origins ?? []).map((origin, index) => {
    const canonical = canonicalOrigin(origin);
    if (canonical === undefined) issues.push({ path: `server.cors.allow_origins[${index}]`, message: 'must be "*" or one origin such as https://app.example.com (no wildcard in the host, no user name or password)' });
    return canonical ?? origin;
  });
  const maxTotalBytes = raw.media?.max_total_bytes ?? DEFAULT_MEDIA_MAX_TOTAL_BYTES;
  const maxInflightBytes = raw.media?.max_inflight_bytes;
  if (maxInflightBytes !== undefined && maxInflightBytes < maxTotalBytes) {
    issues.push({ path: "media.max_inflight_bytes", message: `must be at least media.max_total_bytes (${maxTotalBytes}): one request may hold that much` });
  }
  if (issues.length > 0) return { issues };
  const routing = raw.routing ?? {};
  const breaker = routing.circuit_breaker;
  return {
    issues,
    config: {
      server: {
        host: raw.server?.host ?? "127.0.0.1",
        port: raw.server?.port ?? 8080,
        workers: raw.server?.workers ?? defaults.workers,
        bodyLimitBytes: raw.server?.body_limit_bytes ?? 32 * 1024 * 1024,
        shutdownGraceMs: raw.server?.shutdown_grace_ms ?? 10_000,
        streamKeepAliveMs: raw.server?.stream_keepalive_ms ?? 15_000,
        ...(cors ? { cors: { allowOrigins, maxAgeSeconds: cors.max_age_s ?? 600 } } : {}),
      },
      keys,
      providers,
      models,
      routing: {
        timeouts: { ...DEFAULT_TIMEOUTS, ...toTimeouts(routing.timeouts) },
        retry: { ...DEFAULT_RETRY, ...toRetry(routing.retry) },
        circuitBreaker: { ...DEFAULT_CIRCUIT_BREAKER, ...(breaker ? dropUndefined({ failureThreshold: breaker.failure_threshold, cooldownMs: breaker.cooldown_ms }) : {}) },
      },
      media: {
        allowPrivateNetwork: raw.media?.allow_private_network ?? false,
        maxBytes: raw.media?.max_bytes ?? 20 * 1024 * 1024,
        maxTotalBytes,
        maxInflightBytes: maxInflightBytes ?? Math.max(DEFAULT_MEDIA_MAX_INFLIGHT_BYTES, maxTotalBytes),
        timeoutMs: raw.media?.timeout_ms ?? 15_000,
      },
      logging: { level: raw.logging?.level ?? "info", maxSimilarPerSecond: raw.logging?.max_similar_per_second ?? 10 },
    },
  };
}
