import { knownReasoningEffort, type ReasoningEffort } from "../../core/reasoning-effort.js";
import { geminiGeneration } from "./gemini-generation.js";
import type { GeminiThinkingConfig } from "./gemini-wire.js";

/** 2.5 Pro cannot switch thinking off; this is its smallest budget. */
const PRO_MIN_BUDGET = 128;

/** Budgets for Gemini 2.5; low/medium/high are the ones Google's own OpenAI-compatible endpoint uses. */
const BUDGETS: Record<Exclude<ReasoningEffort, "none">, number> = { minimal: 512, low: 1024, medium: 8192, high: 24576, xhigh: 24576 };

/**
 * `generationConfig.thinkingConfig` for the request's reasoning_effort on `model` (pure; undefined
 * when there is none or the model does not think). Gemini 3 and later get `thinkingLevel`
 * (`none` becomes `minimal` and `xhigh` becomes `high`, with a warning, since Gemini 3 can neither
 * switch thinking off nor go above high); 2.5 gets `thinkingBudget` (`none` is 0, except on Pro,
 * which gets its minimum with a warning; `xhigh` is capped at 24576 with a warning); other models
 * drop it with a warning. An unknown value is a 400 naming `reasoning_effort`.
 * @see https://ai.google.dev/gemini-api/docs/thinking
 */
export function thinkingConfigFor(value: string | undefined, model: string | undefined, warnings: string[]): GeminiThinkingConfig | undefined {
  const effort = knownReasoningEffort(value);
  if (effort === undefined) return undefined;
  const generation = geminiGeneration(model);
  if (generation === "3+") {
    if (effort === "none" || effort === "xhigh") {
      const level = effort === "none" ? "minimal" : "high";
      warnings.push(`reasoning_effort ${effort} has no Gemini ${model} equivalent; sent thinkingLevel ${level}`);
      return { thinkingLevel: level };
    }
    return { thinkingLevel: effort };
  }
  if (generation === "2.5") {
    if (effort === "none") {
      if (!model?.includes("pro")) return { thinkingBudget: 0 };
      warnings.push(`reasoning_effort none: ${model} cannot switch thinking off; sent its smallest thinkingBudget, ${PRO_MIN_BUDGET}`);
      return { thinkingBudget: PRO_MIN_BUDGET };
    }
    if (effort === "xhigh") warnings.push(`reasoning_effort xhigh is capped at Gemini's high budget, thinkingBudget ${BUDGETS.xhigh}`);
    return { thinkingBudget: BUDGETS[effort] };
  }
  warnings.push(`reasoning_effort is not supported by ${model ?? "this model"} (no thinking controls); dropped`);
  return undefined;
}
