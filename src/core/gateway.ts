import type { ChatInput } from "../../gen/switchyard/v1/chat_pb.js";
import type { ChatResponse, ChatStreamResponse } from "../../gen/switchyard/v1/chat_service_pb.js";
import type { ModelInfo } from "../../gen/switchyard/v1/model_service_pb.js";
import type { AbortSignalLike } from "./light-abort.js";
import type { ModelCatalog, ResolvedTarget } from "./model-catalog.js";
import { CircuitBreakers, type CircuitState } from "./routing/circuit-breaker.js";
import { RequestScope } from "./routing/request-scope.js";
import type { RandomSource } from "./routing/retry-policy.js";
import { RouteRun, type AttemptReport } from "./routing/route-run.js";
import { runStreamSession, type UsageRecord } from "./routing/stream-session.js";
import { applyTargetParams } from "./routing/target-params.js";
import { LatencyTracker, orderTargets } from "./routing/target-selection.js";
import { estimatedUsage, responseCharacters } from "./usage-estimate.js";
import { validateChatInput } from "./validate-input.js";

export { isFailoverError } from "./routing/failure-classification.js";
export type { AttemptReport } from "./routing/route-run.js";
export type { UsageRecord } from "./routing/stream-session.js";

/** What a front door knows about the call. */
export interface CallContext {
  /** Aborts when the caller disconnects or cancels (for gRPC also at its deadline). */
  readonly signal: AbortSignalLike;
  /** The caller's own time limit in ms (gRPC deadline, REST `x-switchyard-timeout`); bounds everything. */
  readonly timeoutMs?: number | undefined;
  /** The name (never the secret) of the gateway key the caller authenticated with; undefined when auth is off. The hooks' reports carry it. */
  readonly keyName?: string | undefined;
}

/** Observers of the core, for logs and metrics; all optional and synchronous. */
export interface GatewayHooks {
  /** One call per failed upstream attempt, with what the gateway did next. */
  readonly onAttemptFailed?: (report: AttemptReport) => void;
  /** One call per answered request (the answering attempt's usage) and per canceled stream (partial, estimated). */
  readonly onUsage?: (record: UsageRecord) => void;
  /** A target's circuit breaker changed state. */
  readonly onCircuitChange?: (target: string, state: CircuitState) => void;
}

/** Test seams: clock and randomness. */
export interface GatewayOptions {
  readonly now?: () => number;
  readonly random?: RandomSource;
}

/**
 * The gateway core behind both front doors. It validates a ChatInput, resolves the model (a
 * provider model or a virtual model with its strategy) and the request's `fallbacks` into one
 * ordered, de-duplicated target list, and runs it: capability skipping, circuit breakers, retries
 * with full-jitter backoff and Retry-After, failover, per-target parameter overrides and timeouts,
 * all bounded by the caller's deadline and cancellation. The answer names the target that answered,
 * with the attempts, failures and skips; usage is the answering attempt's. Streams keep the stream
 * contract of {@link runStreamSession}. Errors are GatewayErrors.
 */
export class Gateway {
  private readonly breakers: CircuitBreakers;
  private readonly latency = new LatencyTracker();
  private readonly now: () => number;
  private readonly random: RandomSource;
  // Per-gateway callbacks for every RouteRun (no closures per request).
  private readonly reportFailedAttempt = (report: AttemptReport): void => this.hooks.onAttemptFailed?.(report);
  // A failing target counts as slow for latency routing, so a fast-failing one is not preferred.
  private readonly penaliseUnary = (target: ResolvedTarget): void => this.latency.record(target.id, false, target.timeouts.firstTokenMs);
  private readonly penaliseStream = (target: ResolvedTarget): void => this.latency.record(target.id, true, target.timeouts.firstTokenMs);

  constructor(
    private readonly catalog: ModelCatalog,
    private readonly hooks: GatewayHooks = {},
    options: GatewayOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.breakers = new CircuitBreakers(this.now, (target, state) => hooks.onCircuitChange?.(target, state));
  }

  /** Lists the model ids callers can use. */
  listModels(): ModelInfo[] {
    return this.catalog.list();
  }

  /** Describes one model id a caller may name (ModelCatalog.describe); MODEL_NOT_FOUND when none would route. */
  describeModel(id: string): ModelInfo {
    return this.catalog.describe(id);
  }

  /** The targets to try, in order: the model's (ordered by its strategy), then each fallback's; each target once. */
  private targetsFor(input: ChatInput, streaming: boolean): readonly ResolvedTarget[] {
    const primary = this.catalog.resolve(input.model);
    // The common case, one target and no fallbacks: nothing to order or de-duplicate.
    if (input.fallbacks.length === 0 && primary.targets.length === 1) return primary.targets;
    const context = { latency: this.latency, streaming, random: this.random };
    const plans = [primary, ...input.fallbacks.map((fallback, index) => this.catalog.resolve(fallback, `fallbacks[${index}]`))];
    const seen = new Set<string>();
    const targets: ResolvedTarget[] = [];
    for (const plan of plans) {
      for (const target of orderTargets(plan, context)) {
        if (seen.has(target.id)) continue;
        seen.add(target.id);
        targets.push(target);
      }
    }
    return targets;
  }

  private startRun(input: ChatInput, context: CallContext, streaming: boolean): { run: RouteRun; scope: RequestScope } {
    validateChatInput(input);
    const targets = this.targetsFor(input, streaming);
    const scope = new RequestScope(context.signal, context.timeoutMs, this.now);
    try {
      const run = new RouteRun(targets, {
        input,
        scope,
        breakers: this.breakers,
        random: this.random,
        keyName: context.keyName,
        onAttemptFailed: this.reportFailedAttempt,
        onUnhealthy: streaming ? this.penaliseStream : this.penaliseUnary,
      });
      return { run, scope };
    } catch (thrown) {
      // A target's misfit params (a config built in code) throw while the run judges its targets: no deadline timer outlives that.
      scope.dispose();
      throw thrown;
    }
  }

  /** Answers one chat request; throws a GatewayError (the caller's deadline gives UPSTREAM_TIMEOUT, a cancel CANCELED). */
  async chat(input: ChatInput, context: CallContext): Promise<ChatResponse> {
    const { run, scope } = this.startRun(input, context, false);
    try {
      for (;;) {
        const attempt = await run.next();
        if (!attempt) break;
        const { target } = attempt;
        const startedAt = this.now();
        try {
          const request = applyTargetParams(input, target);
          // No per-attempt signal: a single-shot attempt is over when generate() settles (its
          // upstream request then ended or was aborted by the adapter's own guard), so nothing is
          // left to abandon; the request's signal is enough (bench/PROFILE.md).
          const response = await target.adapter.generate(request, {
            upstreamModel: target.upstreamModel,
            ...(target.catalogModel ? { catalogModel: target.catalogModel } : {}),
            signal: scope.attemptSignal,
            timeouts: attempt.timeouts,
            request: scope,
          });
          this.latency.record(target.id, false, this.now() - startedAt);
          run.succeeded(attempt);
          response.model = target.id;
          response.provider = target.account.name;
          response.route = run.routeInfo();
          // Like a stream's usage event, an answer always has usage: estimated (and marked) when the provider gave none.
          const reported = response.usage !== undefined;
          response.usage ??= estimatedUsage(input, responseCharacters(response));
          this.hooks.onUsage?.({ target: target.id, usage: response.usage, partial: false, estimated: !reported, keyName: context.keyName });
          return response;
        } catch (thrown) {
          run.failed(attempt, run.failureOf(attempt, thrown));
        }
      }
      throw run.stopError() ?? run.error();
    } finally {
      scope.dispose();
    }
  }

  /**
   * Streams one chat request; the generator throws a GatewayError on failure (see
   * {@link runStreamSession}). The session's own generator, not a wrapper: one layer fewer per event.
   */
  chatStream(input: ChatInput, context: CallContext): AsyncGenerator<ChatStreamResponse> {
    return runStreamSession({ input, start: () => this.startRun(input, context, true), latency: this.latency, now: this.now, keyName: context.keyName, onUsage: (record) => this.hooks.onUsage?.(record) });
  }
}
