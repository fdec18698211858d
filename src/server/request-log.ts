import type { FastifyBaseLogger } from "fastify";
import type { GatewayConfig } from "../config/gateway-config.js";
import type { GatewayError } from "../core/errors.js";
import { codeOf } from "../providers/transport-errors.js";
import { LogSampler } from "./log-sampler.js";

/** The levels per-request lines are logged at. */
export type SampledLevel = "error" | "warn" | "info";
/** pino's level numbers, to skip sampling work for lines the level would drop anyway. */
const LEVEL_VALUES: Readonly<Record<GatewayConfig["logging"]["level"], number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/**
 * `fields` plus `cause`: the message of the network error behind `error` (one with a Node or
 * undici `code`, such as `connect ECONNREFUSED 10.1.2.3:8000`), which the caller's message leaves
 * out; `fields` as they are for any other error (a parse error's message can quote a provider's
 * body).
 */
export function withCause(fields: Record<string, unknown>, error: GatewayError): Record<string, unknown> {
  const cause = error.cause;
  return cause instanceof Error && typeof codeOf(cause) === "string" ? { ...fields, cause: cause.message } : fields;
}

/** `url` up to its query string. */
function withoutQuery(url: string): string {
  const mark = url.indexOf("?");
  return mark === -1 ? url : url.slice(0, mark);
}

/**
 * The per-request log lines (errors answered, failed attempts, canceled streams), sampled per kind:
 * a storm of one failure logs `logging.max_similar_per_second` lines a second, and the next line
 * (or a summary line) carries how many were dropped (`suppressed`).
 */
export class RequestLog {
  private readonly sampler: LogSampler;
  private readonly minLevel: number;

  /** `logger` is a getter: the gateway's hooks are wired before the Fastify instance exists. */
  constructor(private readonly logger: () => FastifyBaseLogger, settings: GatewayConfig["logging"]) {
    this.minLevel = LEVEL_VALUES[settings.level];
    const perSecond = settings.maxSimilarPerSecond;
    this.sampler = new LogSampler({
      perSecond,
      report: (key, suppressed) => this.logger().warn({ similar: key, suppressed }, `${suppressed} similar log lines suppressed (${key})`),
    });
  }

  /** Logs one line of kind `key` unless its level is off or sampling drops it. */
  line(level: SampledLevel, key: string, fields: Record<string, unknown>, message: string): void {
    if (LEVEL_VALUES[level] < this.minLevel) return;
    const suppressed = this.sampler.admit(key);
    if (suppressed === undefined) return;
    this.logger()[level](suppressed > 0 ? { ...fields, suppressed } : fields, message);
  }

  /**
   * One line per error answered to a caller. `where` is the request's URL (or the RPC's method);
   * the line carries its path only, never the query string, where a caller may have put a key
   * (Google's `?key=`). `keyName` is the name of the gateway key the caller authenticated with
   * (never the key), undefined when auth is off or failed.
   */
  error(error: GatewayError, where: string, keyName: string | undefined): void {
    const fields = { reason: error.reason, code: error.code, where: withoutQuery(where), keyName, provider: error.facts.provider, upstreamStatus: error.facts.upstreamStatus };
    const key = `error ${error.reason} ${error.facts.provider ?? "-"}`;
    if (error.reason === "INTERNAL_ERROR") this.line("error", key, { ...fields, cause: error.cause instanceof Error ? error.cause.stack : String(error.cause) }, error.rawMessage);
    else this.line("warn", key, withCause(fields, error), error.rawMessage);
  }

  /** Reports what sampling still holds (at shutdown). */
  flush(): void {
    this.sampler.flush(true);
  }
}
