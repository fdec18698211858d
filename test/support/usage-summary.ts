/**
 * Token usage as a plain object, so tests compare usage with `toEqual` without protobuf type tags.
 */
import type { Usage } from "../../gen/switchyard/v1/chat_pb.js";

/** Usage without the protobuf type tag. */
export interface UsageSummary {
  prompt: number;
  completion: number;
  total: number;
  cached: number;
  reasoning: number;
  cacheWrite: number;
}

/** A usage summary with zero defaults for the counters a test does not care about; total is prompt + completion. */
export function usage(fields: Partial<UsageSummary> & { prompt: number; completion: number }): UsageSummary {
  return { total: fields.prompt + fields.completion, cached: 0, reasoning: 0, cacheWrite: 0, ...fields };
}

/** Strips the protobuf type tag from a Usage. */
export function usageSummary(value: Usage): UsageSummary;
/** Strips the protobuf type tag from a Usage; undefined stays undefined. */
export function usageSummary(value: Usage | undefined): UsageSummary | undefined;
export function usageSummary(value: Usage | undefined): UsageSummary | undefined {
  if (!value) return undefined;
  return {
    prompt: value.promptTokens,
    completion: value.completionTokens,
    total: value.totalTokens,
    cached: value.cachedPromptTokens,
    reasoning: value.reasoningTokens,
    cacheWrite: value.cacheWritePromptTokens,
  };
}
