import type { ResolvedTarget, RoutePlan } from "../model-catalog.js";
import type { RandomSource } from "./retry-policy.js";

/** How many (target, mode) averages a LatencyTracker keeps; past that the oldest is forgotten. */
export const MAX_TRACKED_LATENCIES = 4096;

/**
 * Exponentially weighted moving averages of time to first token per target and mode, shared by
 * all requests of a gateway. Each sample moves the average by `alpha` of the difference, so
 * recent behaviour dominates within a handful of requests. At most `capacity` averages are kept
 * (callers choose model names freely): a new one then replaces the oldest of its mode (of the
 * other mode when its own has none), which counts as unmeasured again.
 */
export class LatencyTracker {
  // One map per mode, keyed by the target id itself: a key built per call would be a new string
  // to hash on every request.
  private readonly streams = new Map<string, number>();
  private readonly unary = new Map<string, number>();

  constructor(
    private readonly alpha = 0.3,
    private readonly capacity = MAX_TRACKED_LATENCIES,
  ) {}

  /** Records one observation, in ms: time to the first token (streams) or to the answer (unary). */
  record(id: string, streaming: boolean, ms: number): void {
    const averages = streaming ? this.streams : this.unary;
    const previous = averages.get(id);
    if (previous === undefined && this.streams.size + this.unary.size >= this.capacity) {
      const from = averages.size > 0 ? averages : streaming ? this.unary : this.streams;
      from.delete(from.keys().next().value ?? "");
    }
    averages.set(id, previous === undefined ? ms : previous + this.alpha * (ms - previous));
  }

  /** The current average in ms, or undefined before the first observation. */
  estimate(id: string, streaming: boolean): number | undefined {
    return (streaming ? this.streams : this.unary).get(id);
  }
}

/** What target ordering needs besides the plan. */
export interface SelectionContext {
  readonly latency: LatencyTracker;
  readonly streaming: boolean;
  readonly random: RandomSource;
  /** Share of latency-routed requests sent first to a target other than the fastest (default 0.1). */
  readonly explorationRate?: number;
}

/**
 * Weighted random order without replacement (Efraimidis-Spirakis): a target of weight w comes
 * first with probability w / sum(w). Targets of weight 0 keep their config order at the end;
 * they serve only as fallbacks.
 */
export function weightedOrder(targets: readonly ResolvedTarget[], random: RandomSource): ResolvedTarget[] {
  const weighted = targets
    .filter((target) => target.weight > 0)
    .map((target) => ({ target, key: Math.pow(Math.max(random(), Number.MIN_VALUE), 1 / target.weight) }))
    .sort((a, b) => b.key - a.key)
    .map((entry) => entry.target);
  return [...weighted, ...targets.filter((target) => target.weight <= 0)];
}

/**
 * Fastest-first order by recent time to first token. Targets without any observation come first
 * (in config order), so every target gets measured; otherwise, with probability `explorationRate`,
 * a random non-fastest target is moved to the front so that a target that became fast again is
 * noticed. The rest follow as fallbacks, fastest first.
 */
export function latencyOrder(targets: readonly ResolvedTarget[], context: SelectionContext): ResolvedTarget[] {
  const measured = targets.map((target, index) => ({ target, index, ms: context.latency.estimate(target.id, context.streaming) }));
  const unmeasured = measured.filter((entry) => entry.ms === undefined);
  const known = measured.filter((entry) => entry.ms !== undefined).sort((a, b) => (a.ms ?? 0) - (b.ms ?? 0) || a.index - b.index);
  const ordered = [...unmeasured, ...known].map((entry) => entry.target);
  const rate = context.explorationRate ?? 0.1;
  if (unmeasured.length === 0 && ordered.length > 1 && context.random() < rate) {
    const pick = 1 + Math.floor(context.random() * (ordered.length - 1));
    const [explored] = ordered.splice(pick, 1);
    if (explored) ordered.unshift(explored);
  }
  return ordered;
}

/**
 * The order in which a plan's targets are tried: `fallback` keeps the configured order,
 * `loadbalance` draws by weight, `latency` prefers the fastest recent time to first token.
 * Every target appears exactly once; the ones after the first are the fallbacks.
 */
export function orderTargets(plan: RoutePlan, context: SelectionContext): ResolvedTarget[] {
  switch (plan.strategy) {
    case "loadbalance":
      return weightedOrder(plan.targets, context.random);
    case "latency":
      return latencyOrder(plan.targets, context);
    default:
      return [...plan.targets];
  }
}
