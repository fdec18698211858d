import { invalidRequest } from "./errors.js";

/** OpenAI's reasoning_effort values, least to most. */
export const REASONING_EFFORTS = ["none", "minimal", "low", "medium", "high", "xhigh"] as const;

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
