/** Gemini 3 and later. */
const GEMINI_3_PLUS = /^(?:models\/)?gemini-[3-9]/;
/** Gemini 2.5, and the `-latest` aliases (which name 2.5 or later models). */
const GEMINI_2_5 = /^(?:models\/)?gemini-(?:2\.5|(?:flash|flash-lite|pro)-latest)/;

/**
 * Which Gemini generation a model id belongs to, for the features that differ by generation:
 * "3+" (thinkingLevel), "2.5" (thinkingBudget; the `-latest` aliases count here, since Gemini 3
 * still takes a budget), both of which take `responseJsonSchema` and VALIDATED function calling;
 * "older" for 2.0, 1.5, other families and an unknown model.
 * @see https://ai.google.dev/gemini-api/docs/models
 */
export function geminiGeneration(model: string | undefined): "3+" | "2.5" | "older" {
  if (model === undefined) return "older";
  if (GEMINI_3_PLUS.test(model)) return "3+";
  return GEMINI_2_5.test(model) ? "2.5" : "older";
}

/** Gemma models served by the Gemini API. */
const GEMMA = /^(?:models\/)?gemma-/;

/**
 * Whether `model` takes `systemInstruction`: Gemma models served by the Gemini API answer it with
 * 400 "Developer instruction is not enabled for models/gemma-…".
 * @see https://ai.google.dev/gemma/docs/core/prompt-structure
 */
export function takesSystemInstruction(model: string | undefined): boolean {
  return model === undefined || !GEMMA.test(model);
}
