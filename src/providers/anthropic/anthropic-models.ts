/**
 * What the Claude generation of a model id decides about a request, read from the id alone (the
 * API has no capability lookup). Current ids put the version after the family
 * (`claude-opus-4-7`, `claude-fable-5-1`, `claude-sonnet-4-5-20250929`); Claude 3 ids put it before
 * (`claude-3-7-sonnet-latest`) and are older than every cutoff here. A later version than the
 * tables know counts as the latest generation, so a new model works on its first day.
 * @see https://platform.claude.com/docs/en/build-with-claude/adaptive-thinking
 */

/** A model's version as major + minor / 100 (Opus 4.7 → 4.07, Sonnet 5 → 5), or undefined when the id has none. */
function claudeVersion(model: string): number | undefined {
  const match = /^claude-(?:opus|sonnet|haiku|fable|mythos)-(\d+)(?:-(\d{1,2}))?(?![0-9])/.exec(model);
  if (!match) return undefined;
  return Number(match[1]) + Number(match[2] ?? 0) / 100;
}

/** Mythos Preview carries no version number; it belongs to the adaptive, sampling-free generation. */
const UNVERSIONED_CURRENT = /^claude-mythos-preview(?![a-z0-9])/;

function atLeast(model: string, version: number): boolean {
  if (UNVERSIONED_CURRENT.test(model)) return true;
  const own = claudeVersion(model);
  return own !== undefined && own >= version;
}

/**
 * Whether the model takes adaptive thinking (`thinking: {type: "adaptive"}` with
 * `output_config.effort`): Opus and Sonnet 4.6 and every later model. From Opus 4.7 on it is the
 * only thinking mode: `{type: "enabled", budget_tokens}` is a 400 there, and deprecated on 4.6.
 */
export function hasAdaptiveThinking(model: string): boolean {
  return atLeast(model, 4.06);
}

/**
 * Whether the model refuses sampling parameters: from Opus 4.7 on, a `temperature` other than 1,
 * and any `top_p` or `top_k`, are a 400 ("`temperature` is deprecated for this model") on every
 * request, thinking or not.
 */
export function refusesSamplingParameters(model: string): boolean {
  return atLeast(model, 4.07);
}

/**
 * Whether the model hides its thinking unless asked: from Opus 4.7 on the default `display` is
 * `omitted` (empty thinking blocks), so the gateway asks for `summarized` to keep
 * `reasoning_content` coming.
 */
export function omitsThinkingByDefault(model: string): boolean {
  return atLeast(model, 4.07);
}

/** Whether the model thinks when the request says nothing about thinking: the Claude 5 generation and Mythos Preview. */
export function thinksByDefault(model: string): boolean {
  return atLeast(model, 5);
}

/**
 * Whether the model thinks by default but can be told not to (`thinking: {type: "disabled"}`): Opus
 * and Sonnet 5. The later ones (5.1, 5.5, Fable, Mythos) think always and refuse `disabled`.
 */
export function canDisableDefaultThinking(model: string): boolean {
  return /^claude-(?:opus|sonnet)-5(?![0-9]|-[0-9]{1,2}(?![0-9]))/.test(model);
}

/**
 * Whether the model has the `xhigh` effort level: Opus 4.7 and later. Opus and Sonnet 4.6 (recorded:
 * "Supported levels: high, low, max, medium") and Mythos Preview have low, medium, high and max.
 */
export function hasXhighEffort(model: string): boolean {
  return !UNVERSIONED_CURRENT.test(model) && atLeast(model, 4.07);
}

/** Whether the id names a Claude family whose every model can think (Fable, Mythos), whatever its version. */
export function isThinkingOnlyFamily(model: string): boolean {
  return /^claude-(?:fable|mythos)-/.test(model);
}
