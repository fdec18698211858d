import { invalidRequest } from "./errors.js";

/** OpenAI's reasoning_effort values, least to most. */
export const REASONING_EFFORTS = ["none", "minimal", "low", "medium", "high", "xhigh", "max"] as const;

/** One of {@link REASONING_EFFORTS}. */
export type ReasoningEffort = (typeof REASONING_EFFORTS)[number];

function isReasoningEffort(value: string): value is ReasoningEffort {
  return (REASONING_EFFORTS as readonly string[]).includes(value);
}

/**
 * The request's reasoning_effort for an adapter that maps it onto its own provider's controls:
 * undefined when absent; a value outside {@link REASONING_EFFORTS} is the caller's mistake (400
 * INVALID_REQUEST naming `reasoning_effort`). OpenAI-dialect adapters send the value as it came.
 */
export function knownReasoningEffort(value: string | undefined): ReasoningEffort | undefined {
  if (value === undefined) return undefined;
  if (isReasoningEffort(value)) return value;
  throw invalidRequest(`Invalid 'reasoning_effort': ${JSON.stringify(value)} is not one of ${REASONING_EFFORTS.join(", ")}.`, "reasoning_effort");
}

/** A reasoning_effort that asks for thinking. */
export type ThinkingEffort = Exclude<ReasoningEffort, "none">;

/** An effort's thinking budget under one request's max_tokens. */
export interface CappedBudget {
  readonly tokens: number;
  /** Set when `tokens` is less than the effort's own budget: how it was chosen, in plain words for the warning. */
  readonly lowered?: string;
}

/**
 * The thinking budget for an effort whose own is `own` under `maxTokens`, leaving room for the
 * answer: at most half of max_tokens, raised to `smallest` (the least the provider or model takes)
 * when half is less and `smallest` is still below max_tokens. The cap is the same for every effort
 * and a budget already under it is kept, so a higher effort never thinks less than a lower one and
 * the budget is above half of max_tokens only when it is `smallest`. Undefined when not even
 * `smallest` is below max_tokens: the caller leaves thinking out, or off.
 */
export function budgetUnder(own: number, maxTokens: number, smallest: number): CappedBudget | undefined {
  if (smallest >= maxTokens) return undefined;
  const half = Math.floor(maxTokens / 2);
  const cap = Math.max(half, smallest);
  if (own <= cap) return { tokens: own };
  if (half >= smallest) return { tokens: half, lowered: "half of max_tokens" };
  return { tokens: smallest, lowered: "the smallest the model takes, since half of max_tokens is less" };
}
