import { budgetUnder, knownReasoningEffort, type ThinkingEffort } from "../../core/reasoning-effort.js";
import { geminiGeneration } from "./gemini-generation.js";
import type { GeminiThinkingConfig } from "./gemini-wire.js";

/** 2.5 Pro cannot switch thinking off; this is its smallest budget. */
const PRO_MIN_BUDGET = 128;

/** Gemini 3 Pro (3.0) takes only these levels: "minimal" and "medium" are a 400 ("Thinking level MEDIUM is not supported for this model"). */
const GEMINI_3_PRO = /^(?:models\/)?gemini-3-pro/;
/** Later Pro models (3.1 Pro on) add "medium" but still refuse "minimal". */
const LATER_PRO = /^(?:models\/)?gemini-\d+(?:\.\d+)?-pro/;
/** A Flash (or Flash-Lite) model's version: 3.7 Flash and later refuse "minimal" as Pro does (400), earlier ones take it. */
const FLASH_VERSION = /^(?:models\/)?gemini-(\d+)(?:\.(\d+))?-flash/;

type ThinkingLevel = NonNullable<GeminiThinkingConfig["thinkingLevel"]>;

/** The thinking levels a Gemini 3+ model accepts, lowest first (Flash and Flash-Lite models before 3.7 take all four). */
function thinkingLevelsOf(model: string): readonly ThinkingLevel[] {
  if (GEMINI_3_PRO.test(model)) return ["low", "high"];
  if (LATER_PRO.test(model) || refusesMinimalFlash(model)) return ["low", "medium", "high"];
  return ["minimal", "low", "medium", "high"];
}

/** Whether `model` is a Flash model of version 3.7 or later, which refuses thinkingLevel "minimal". */
function refusesMinimalFlash(model: string): boolean {
  const match = FLASH_VERSION.exec(model);
  if (!match) return false;
  const major = Number(match[1]);
  const minor = Number(match[2] ?? 0);
  return major > 3 || (major === 3 && minor >= 7);
}

/** The level for `wanted` on a model taking `levels`: itself, else the lowest level for "minimal" and the next level up otherwise. */
function nearestLevel(wanted: ThinkingLevel, levels: readonly ThinkingLevel[]): ThinkingLevel {
  if (levels.includes(wanted)) return wanted;
  const order: readonly ThinkingLevel[] = ["minimal", "low", "medium", "high"];
  const above = levels.find((level) => order.indexOf(level) > order.indexOf(wanted));
  return above ?? levels[levels.length - 1] ?? "high";
}

/** Budgets for Gemini 2.5; low/medium/high are the ones Google's own OpenAI-compatible endpoint uses. */
const BUDGETS: Record<ThinkingEffort, number> = { minimal: 512, low: 1024, medium: 8192, high: 24576, xhigh: 24576, max: 24576 };

/** The smallest budget a 2.5 model takes when thinking: Pro 128, Flash-Lite 512, Flash 1. */
function smallestBudget(model: string | undefined): number {
  if (model?.includes("pro")) return PRO_MIN_BUDGET;
  return model?.includes("flash-lite") ? 512 : 1;
}

/**
 * A 2.5 budget that leaves room for the answer under the caller's max_tokens: thinking tokens
 * count against `maxOutputTokens`, so a budget near it can leave no visible text (finish
 * MAX_TOKENS). It is at most half of max_tokens, or the model's smallest budget when half is less
 * and that is below max_tokens; every effort has the same cap, so a higher one never thinks less
 * ({@link budgetUnder}). When not even the smallest budget is below max_tokens, thinking is
 * switched off (0), or on Pro, which cannot switch it off, the smallest budget is sent. Each change
 * comes with one warning that says which; an unchanged budget comes with none.
 */
function budgetWithin(effort: ThinkingEffort, model: string | undefined, maxTokens: number | undefined, warnings: string[]): number {
  if (maxTokens === undefined) return BUDGETS[effort];
  const smallest = smallestBudget(model);
  const budget = budgetUnder(BUDGETS[effort], maxTokens, smallest);
  if (budget) {
    if (budget.lowered) warnings.push(`reasoning_effort ${effort}: the thinking budget is ${budget.tokens} tokens, ${budget.lowered}, to leave room for the answer (Gemini counts thinking against maxOutputTokens).`);
    return budget.tokens;
  }
  if (!model?.includes("pro")) {
    warnings.push(`reasoning_effort ${effort}: thinking switched off (thinkingBudget 0): max_tokens ${maxTokens} leaves no room for ${model ?? "the model"}'s smallest thinking budget, ${smallest}, and an answer.`);
    return 0;
  }
  warnings.push(`reasoning_effort ${effort}: the thinking budget is ${smallest} tokens, the smallest ${model} takes (it cannot switch thinking off); max_tokens ${maxTokens} may leave no room for the answer.`);
  return smallest;
}

/**
 * `generationConfig.thinkingConfig` for the request's reasoning_effort on `model` (pure; undefined
 * when there is none or the model does not think). Gemini 3 and later get `thinkingLevel`, among
 * the levels the model takes (Gemini 3 Pro: low and high; later Pro models and Flash from 3.7 on:
 * low, medium and high; earlier Flash models: minimal, low, medium and high): `none` is the lowest
 * level and `xhigh` and `max` are `high`,
 * since Gemini 3 can neither switch thinking off nor go above high, and a level the model refuses
 * is the next one up (`minimal` the lowest), each change with a warning; 2.5 gets `thinkingBudget`
 * (`none` is 0, except on Pro, which gets its minimum with a warning; `xhigh` and `max` are capped at 24576
 * with a warning; under `maxTokens` a budget is at most half of it, or the model's smallest when
 * half is less, and thinking is off (Pro: its smallest) when not even that is below it, with one
 * warning in place of the cap's, see budgetWithin); other models drop it with a warning. An unknown value is a 400 naming `reasoning_effort`.
 * @see https://ai.google.dev/gemini-api/docs/thinking
 */
export function thinkingConfigFor(value: string | undefined, model: string | undefined, warnings: string[], maxTokens?: number): GeminiThinkingConfig | undefined {
  const effort = knownReasoningEffort(value);
  if (effort === undefined) return undefined;
  const generation = geminiGeneration(model);
  if (generation === "3+" && model !== undefined) {
    const wanted: ThinkingLevel = effort === "none" ? "minimal" : effort === "xhigh" || effort === "max" ? "high" : effort;
    const level = nearestLevel(wanted, thinkingLevelsOf(model));
    if (level !== effort) warnings.push(`reasoning_effort ${effort} has no Gemini ${model} equivalent; sent thinkingLevel ${level}`);
    return { thinkingLevel: level };
  }
  if (generation === "2.5") {
    if (effort === "none") {
      if (!model?.includes("pro")) return { thinkingBudget: 0 };
      warnings.push(`reasoning_effort none: ${model} cannot switch thinking off; sent its smallest thinkingBudget, ${PRO_MIN_BUDGET}`);
      return { thinkingBudget: PRO_MIN_BUDGET };
    }
    const thinkingBudget = budgetWithin(effort, model, maxTokens, warnings);
    if ((effort === "xhigh" || effort === "max") && thinkingBudget === BUDGETS[effort]) warnings.push(`reasoning_effort ${effort} is capped at Gemini's high budget, thinkingBudget ${BUDGETS[effort]}`);
    return { thinkingBudget };
  }
  warnings.push(`reasoning_effort is not supported by ${model ?? "this model"} (no thinking controls); dropped`);
  return undefined;
}
