/**
 * The range of each numeric OpenAI sampling knob, by its OpenAI name (inclusive). A caller's
 * request outside it is a 400 naming the field, and a virtual target's `params` outside it are
 * refused at start-up: one table, so the two never disagree.
 */
export const SAMPLING_RANGES = {
  temperature: { min: 0, max: 2 },
  top_p: { min: 0, max: 1 },
  frequency_penalty: { min: -2, max: 2 },
  presence_penalty: { min: -2, max: 2 },
  max_tokens: { min: 1, max: 2 ** 31 - 1 },
  n: { min: 1, max: 128 },
  top_logprobs: { min: 0, max: 20 },
} as const satisfies Record<string, SamplingRange>;

/** An inclusive range of numbers. */
export interface SamplingRange {
  readonly min: number;
  readonly max: number;
}
