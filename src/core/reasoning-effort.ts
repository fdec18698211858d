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

/** A thinking budget lowered to stay below max_tokens, and how it was chosen, in plain words for the warning. */
export interface LoweredBudget {
  readonly tokens: number;
  /** "half of max_tokens", or the lower effort whose budget it is. */
  readonly source: string;
}

/**
 * The thinking budget for `effort` when its own (`budgets[effort]`) is not below `maxTokens`: half
 * of max_tokens, or, when that is less, the largest budget of a lower effort that is below
 * max_tokens, so that a higher effort never gets less thinking than a lower one under the same
 * max_tokens. The caller checks the result against its provider's smallest budget.
 */
export function budgetBelow(budgets: Readonly<Record<ThinkingEffort, number>>, effort: ThinkingEffort, maxTokens: number): LoweredBudget {
  let lowered: LoweredBudget = { tokens: Math.floor(maxTokens / 2), source: "half of max_tokens" };
  for (const lower of REASONING_EFFORTS) {
    if (lower === effort) break;
    if (lower === "none") continue;
    const tokens = budgets[lower];
    if (tokens < maxTokens && tokens > lowered.tokens) lowered = { tokens, source: `the budget of ${lower}, the largest below max_tokens` };
  }
  return lowered;
}
