import { budgetUnder, knownReasoningEffort, type ThinkingEffort } from "../../core/reasoning-effort.js";
import { canDisableDefaultThinking, hasAdaptiveThinking, hasXhighEffort, isThinkingOnlyFamily, omitsThinkingByDefault, thinksByDefault } from "./anthropic-models.js";
import type { AnthropicEffort, AnthropicThinking } from "./anthropic-wire.js";

/** Claude models with extended thinking: 3.7 Sonnet and the 4 generation and later, and every Fable and Mythos model. */
const THINKING_MODELS = /^claude-(?:3-7-sonnet|(?:opus|sonnet|haiku)-[4-9](?![0-9])|(?:fable|mythos)-)/;

/** Anthropic's smallest thinking budget. */
export const MIN_THINKING_BUDGET = 1024;

/** Thinking budgets per effort (Anthropic has no levels for budget-based thinking). */
const BUDGETS: Record<ThinkingEffort, number> = { minimal: MIN_THINKING_BUDGET, low: 2048, medium: 8192, high: 16384, xhigh: 32768, max: 65536 };

/** What else in the request decides whether thinking can be enabled. */
export interface ThinkingContext {
  readonly model: string;
  /** The request's max_tokens as sent; the budget must stay below it. */
  readonly maxTokens: number;
  /** A forced tool call (tool_choice any or tool, or the json_schema emulation): Anthropic refuses thinking with it. */
  readonly forcedTool: boolean;
  /** The conversation ends with an assistant turn (prefill), which thinking does not allow. */
  readonly prefill: boolean;
  /**
   * The last assistant turn called tools but carries no signed thinking: with thinking on,
   * Anthropic wants that turn to start with its thinking block (a client that did not send back
   * `thinking_blocks` in a tool loop).
   */
  readonly unsignedToolTurn: boolean;
}

/** Thinking for one request: the `thinking` field, and for adaptive thinking the `output_config.effort` that steers it. */
export interface ThinkingPlan {
  readonly thinking: AnthropicThinking;
  readonly effort?: AnthropicEffort;
}

/** The effort level of adaptive thinking for a reasoning_effort (not none), with a warning when the model has no such level. */
function adaptiveEffort(effort: ThinkingEffort, model: string, warnings: string[]): AnthropicEffort {
  if (effort === "minimal") {
    warnings.push("reasoning_effort minimal is sent as Anthropic's effort low (Anthropic has no minimal level).");
    return "low";
  }
  if (effort === "xhigh" && !hasXhighEffort(model)) {
    warnings.push(`reasoning_effort xhigh is sent as Anthropic's effort max (${model} has no xhigh level).`);
    return "max";
  }
  return effort;
}

/**
 * Thinking for the request's reasoning_effort (pure). No value leaves `thinking` out (the model's
 * default). `none` leaves it out too where thinking is off by default, is `{type: "disabled"}` on
 * Opus and Sonnet 5, which think by default, and on later models, which always think, leaves it out
 * with a warning. On models with adaptive thinking
 * (Opus and Sonnet 4.6 and later, where from Opus 4.7 on budgets are refused) it is
 * `{type: "adaptive"}` (with `display: "summarized"` where thinking is otherwise omitted) and
 * `output_config.effort` low, medium, high, xhigh (max below Opus 4.7), max or, for minimal, low,
 * with a warning. On older models it is a budget per effort (minimal 1024, low 2048, medium 8192,
 * high 16384, xhigh 32768, max 65536), at most half of max_tokens so that the answer has room, or
 * 1024 when half is less and 1024 is below max_tokens, with a warning when that lowers it; every
 * effort has the same cap, so a higher one never thinks less ({@link budgetUnder}). It is
 * nothing, with a warning, when the model does not think, a forced tool call, a prefill or a
 * tool-call turn without its signed thinking rules thinking out, or max_tokens leaves no room for
 * the 1024-token minimum budget. An unknown value is a 400 naming `reasoning_effort`. The caller must drop temperature and
 * top_p below 0.95, which Anthropic refuses together with thinking (see {@link samplingConflicts}).
 * @see https://docs.claude.com/en/docs/build-with-claude/extended-thinking
 * @see https://platform.claude.com/docs/en/build-with-claude/adaptive-thinking
 */
export function thinkingFor(value: string | undefined, context: ThinkingContext, warnings: string[]): ThinkingPlan | undefined {
  const effort = knownReasoningEffort(value);
  if (effort === undefined) return undefined;
  if (effort === "none") {
    if (canDisableDefaultThinking(context.model)) return { thinking: { type: "disabled" } };
    if (thinksByDefault(context.model)) warnings.push(`reasoning_effort none: ${context.model} always thinks (Anthropic refuses to turn it off); the model decides how much.`);
    return undefined;
  }
  const why = !THINKING_MODELS.test(context.model) && !isThinkingOnlyFamily(context.model)
    ? `${context.model} has no extended thinking`
    : context.forcedTool
      ? "Anthropic does not allow extended thinking with a forced tool call"
      : context.prefill
        ? "Anthropic does not allow extended thinking after an assistant prefill"
        : context.unsignedToolTurn
          ? "the last assistant turn called tools without its signed thinking (send back message.thinking_blocks), which Anthropic refuses with thinking on"
          : undefined;
  if (why) {
    warnings.push(`reasoning_effort ${effort} was dropped: ${why}.`);
    return undefined;
  }
  if (hasAdaptiveThinking(context.model)) {
    const thinking: AnthropicThinking = omitsThinkingByDefault(context.model) ? { type: "adaptive", display: "summarized" } : { type: "adaptive" };
    return { thinking, effort: adaptiveEffort(effort, context.model, warnings) };
  }
  const budget = budgetUnder(BUDGETS[effort], context.maxTokens, MIN_THINKING_BUDGET);
  if (budget === undefined) {
    warnings.push(`reasoning_effort ${effort} was dropped: max_tokens ${context.maxTokens} leaves no room for Anthropic's minimum thinking budget (${MIN_THINKING_BUDGET}).`);
    return undefined;
  }
  if (budget.lowered) warnings.push(`reasoning_effort ${effort}: the thinking budget is ${budget.tokens} tokens, ${budget.lowered}, to leave room for the answer (Anthropic counts thinking against max_tokens).`);
  return { thinking: { type: "enabled", budget_tokens: budget.tokens } };
}

/** Which sampling fields to leave out of the body, and the warnings that say so. */
export interface SamplingDrops {
  readonly dropTemperature: boolean;
  readonly dropTopP: boolean;
  readonly warnings: string[];
}

/**
 * The sampling fields Anthropic refuses together with thinking, as warnings; the caller leaves
 * them out of the body: temperature (any value but 1) and top_p below 0.95.
 */
export function samplingConflicts(temperature: number | undefined, topP: number | undefined): SamplingDrops {
  const dropTemperature = temperature !== undefined && temperature !== 1;
  const dropTopP = topP !== undefined && topP < 0.95;
  const warnings: string[] = [];
  if (dropTemperature) warnings.push(`temperature ${temperature} was dropped: Anthropic allows only 1 with extended thinking (reasoning_effort).`);
  if (dropTopP) warnings.push(`top_p ${topP} was dropped: Anthropic allows 0.95 to 1 with extended thinking (reasoning_effort).`);
  return { dropTemperature, dropTopP, warnings };
}

/**
 * The sampling fields a model that refuses sampling parameters (Opus 4.7 and later, see
 * refusesSamplingParameters) would answer with a 400, as warnings; the caller leaves them out:
 * temperature other than 1 (its default, which is accepted) and any top_p.
 */
export function removedSamplingParameters(model: string, temperature: number | undefined, topP: number | undefined): SamplingDrops {
  const dropTemperature = temperature !== undefined && temperature !== 1;
  const dropTopP = topP !== undefined;
  const warnings: string[] = [];
  if (dropTemperature) warnings.push(`temperature ${temperature} was dropped: ${model} takes no sampling parameters (Anthropic refuses them from Opus 4.7 on).`);
  if (dropTopP) warnings.push(`top_p ${topP} was dropped: ${model} takes no sampling parameters (Anthropic refuses them from Opus 4.7 on).`);
  return { dropTemperature, dropTopP, warnings };
}
