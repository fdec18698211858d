import { sse } from "../providers/openai/openai-test-setup.js";

/*
 * OpenAI-dialect streams whose choices and deltas carry fields the gateway does not model,
 * following real ones: Azure OpenAI's default filtering (a recorded gpt-4o stream:
 * prompt_filter_results in a first chunk with empty choices, content_filter_results on every
 * choice, `{}` on the role and finish chunks), its asynchronous filter (Microsoft's sample stream:
 * annotation chunks without a delta, the last one after the finish), and OpenRouter's
 * reasoning_details deltas (with native_finish_reason on every choice).
 */

/** Azure's content_filter_results of content that passed. */
export const FILTER = { hate: { filtered: false, severity: "safe" }, self_harm: { filtered: false, severity: "safe" }, sexual: { filtered: false, severity: "safe" }, violence: { filtered: false, severity: "safe" } };
const PROMPT_FILTER = { id: "", object: "", created: 0, model: "", choices: [], prompt_filter_results: [{ prompt_index: 0, content_filter_results: FILTER }] };

/** An Azure chunk as its default filtering sends it (keys in Azure's order). */
function azure(choice: Record<string, unknown>): Record<string, unknown> {
  return { choices: [{ logprobs: null, finish_reason: null, index: 0, ...choice }], created: 1748977994, id: "chatcmpl-BeRMQ69PcNQmy9a0f0C0VlLsdOy9H", model: "gpt-4o-2024-05-13", object: "chat.completion.chunk", system_fingerprint: "fp_ee1d74bde0" };
}

/** The Azure stream of a default content filter, with usage (include_usage). */
export const AZURE_DEFAULT = sse([
  PROMPT_FILTER,
  azure({ content_filter_results: {}, delta: { content: "", refusal: null, role: "assistant" } }),
  azure({ content_filter_results: FILTER, delta: { content: "Hello" } }),
  azure({ content_filter_results: FILTER, delta: { content: "!" } }),
  azure({ content_filter_results: {}, delta: {}, finish_reason: "stop" }),
  { ...azure({}), choices: [], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } },
]);

/** The offsets of the asynchronous filter's first annotation. */
export const OFFSETS_EARLY = { check_offset: 44, start_offset: 44, end_offset: 198 };
/** The offsets of its last annotation, after the finish. */
export const OFFSETS_LAST = { check_offset: 506, start_offset: 44, end_offset: 571 };
const ANNOTATION = (offsets: object) => ({ id: "", object: "", created: 0, model: "", choices: [{ index: 0, finish_reason: null, content_filter_results: FILTER, content_filter_offsets: offsets }], usage: null });
const asyncChunk = (choice: Record<string, unknown>) => ({ id: "chatcmpl-7rCNsVeZy0PGnX3H6jK8STps5nZUY", object: "chat.completion.chunk", created: 1692913344, model: "gpt-35-turbo", choices: [{ index: 0, finish_reason: null, ...choice }], usage: null });

/** The Azure stream of an asynchronous filter: annotations come apart from the text, the last one after the finish. */
export const AZURE_ASYNC = sse([
  { ...PROMPT_FILTER, usage: null },
  asyncChunk({ delta: { role: "assistant" } }),
  asyncChunk({ delta: { content: "Color" } }),
  ANNOTATION(OFFSETS_EARLY),
  asyncChunk({ delta: { content: " is" } }),
  asyncChunk({ delta: {}, finish_reason: "stop" }),
  ANNOTATION(OFFSETS_LAST),
]);

/** OpenRouter's reasoning detail of the reasoning text. */
export const DETAIL_TEXT = { type: "reasoning.text", text: "Two and two", format: "anthropic-claude-v1", index: 0 };
/** OpenRouter's reasoning detail of the signature (with empty reasoning). */
export const DETAIL_SIGNATURE = { type: "reasoning.text", signature: "EqMBCkgIBxABGAIiQL", format: "anthropic-claude-v1", index: 0 };
const openRouter = (delta: Record<string, unknown>, finish: string | null = null) => ({
  id: "gen-1750000000-abc",
  provider: "Anthropic",
  model: "anthropic/claude-sonnet-4",
  object: "chat.completion.chunk",
  created: 1750000000,
  choices: [{ index: 0, delta, finish_reason: finish, native_finish_reason: finish === null ? null : "end_turn", logprobs: null }],
});

/** An OpenRouter stream with reasoning_details on its reasoning deltas (and native_finish_reason on every choice). */
export const OPENROUTER = sse([
  openRouter({ role: "assistant", content: "", reasoning: "Two and two", reasoning_details: [DETAIL_TEXT] }),
  openRouter({ role: "assistant", content: "", reasoning: "", reasoning_details: [DETAIL_SIGNATURE] }),
  openRouter({ role: "assistant", content: "4" }),
  openRouter({ role: "assistant", content: "" }, "stop"),
  { ...openRouter({}), choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, cost: 0.0001 } },
]);
