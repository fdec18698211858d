import { create } from "@bufbuild/protobuf";
import { FinishReason, Role, type Annotation, type ContentPart, type ToolCall, type Usage } from "../../../gen/switchyard/v1/chat_pb.js";
import { ChatResponseSchema, type ChatResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import { usageOf } from "../../core/stream-events.js";
import { findEarliestStop } from "./anthropic-stop-sequences.js";
import type { AnthropicCitedSource, AnthropicMessage, AnthropicUsage } from "./anthropic-wire.js";

/** The raw finish value reported when the gateway itself cut the answer at a stop sequence. */
export const LOCAL_STOP_RAW_REASON = "stop_sequence";

/** What the response translator needs from the request side. */
export interface AnthropicResponseContext {
  /** Warnings produced while building the request. */
  readonly warnings: readonly string[];
  /** Stop sequences the gateway enforces on the answer text. */
  readonly localStopSequences: readonly string[];
  /** The json_schema emulation tool, when one was forced. */
  readonly jsonToolName?: string;
  /** Creation time, Unix seconds. */
  readonly created: bigint;
  /** The source text of each content block's `input`, by block index, when the body holds numbers a double changes (see exact-json.ts). */
  readonly exactInputs?: readonly (string | undefined)[];
}

/** The length of text in characters (Unicode code points), the unit of OpenAI's annotation offsets. */
export function characterCount(text: string): number {
  let count = 0;
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit < 0xdc00 || unit > 0xdfff || index === 0 || text.charCodeAt(index - 1) < 0xd800 || text.charCodeAt(index - 1) > 0xdbff) count++;
  }
  return count;
}

/**
 * A cited web source as a `url_citation` annotation over the text it supports: the characters
 * `start` to `end` (exclusive) of the answer text, which is where Anthropic's cited text block sits.
 */
export function urlCitation(source: AnthropicCitedSource, start: number, end: number): Annotation {
  return {
    $typeName: "switchyard.v1.Annotation",
    type: "url_citation",
    urlCitation: { $typeName: "switchyard.v1.UrlCitation", url: source.url, title: source.title, startIndex: start, endIndex: end },
  };
}

/**
 * Maps Anthropic's stop_reason to our FinishReason: end_turn, stop_sequence, pause_turn and
 * unknown or missing values → STOP; max_tokens and model_context_window_exceeded → LENGTH;
 * tool_use → TOOL_CALLS (STOP when only the json_schema emulation tool was called); refusal →
 * CONTENT_FILTER.
 * @see https://docs.claude.com/en/api/handling-stop-reasons
 */
export function mapAnthropicStopReason(stopReason: string | undefined, options: { onlyJsonTool: boolean }): FinishReason {
  switch (stopReason) {
    case "max_tokens":
    case "model_context_window_exceeded":
      return FinishReason.LENGTH;
    case "tool_use":
      return options.onlyJsonTool ? FinishReason.STOP : FinishReason.TOOL_CALLS;
    case "refusal":
      return FinishReason.CONTENT_FILTER;
    default:
      return FinishReason.STOP;
  }
}

/**
 * Converts Anthropic usage to ours, with OpenAI's conventions: prompt = input + cache writes +
 * cache reads (Anthropic's input_tokens excludes both), cached = cache reads, cache writes kept
 * apart, completion = output (thinking included), reasoning = output_tokens_details.thinking_tokens.
 * @see https://docs.claude.com/en/api/messages#response-usage
 */
export function fromAnthropicUsage(usage: AnthropicUsage): Usage {
  const cacheWrite = usage.cacheCreationInputTokens ?? 0;
  const cacheRead = usage.cacheReadInputTokens ?? 0;
  return usageOf({
    prompt: (usage.inputTokens ?? 0) + cacheWrite + cacheRead,
    completion: usage.outputTokens ?? 0,
    cached: cacheRead,
    cacheWrite,
    reasoning: usage.thinkingTokens ?? 0,
  });
}

/**
 * Converts a non-streaming Anthropic message into a ChatResponse with one choice (pure).
 * Guarantees: text blocks are joined with "" into one text part; tool_use blocks become tool
 * calls with `JSON.stringify(input)` arguments (the source text, numbers as written, where
 * `exactInputs` has it), except the json_schema emulation tool, whose input becomes the answer text with finish STOP; thinking blocks become Reasoning parts with their
 * signature and redacted_thinking blocks Reasoning parts with redacted_data (reasoning parts come
 * first); a refusal becomes CONTENT_FILTER plus a refusal part holding stop_details.explanation;
 * when a gateway-enforced stop sequence occurs in the text, the text is cut before it, later
 * blocks are dropped and the finish is STOP with raw "stop_sequence". Web sources cited by a text
 * block (web search results, search_result blocks) become `url_citation` annotations spanning that
 * block's characters in the answer text; document citations (no URL), server tool blocks
 * (server_tool_use and their results, MCP tool blocks) and unknown block types are not part of a
 * Chat Completions answer and are skipped. The raw stop_reason is kept; model and provider are
 * left for the core.
 * @see https://docs.claude.com/en/api/messages#response-content
 */
export function fromAnthropicResponse(message: AnthropicMessage, context: AnthropicResponseContext): ChatResponse {
  const reasoning: ContentPart[] = [];
  const toolCalls: ToolCall[] = [];
  let annotations: Annotation[] = [];
  let text = "";
  let characters = 0;
  let cut = false;
  let sawClientTool = false;
  let sawJsonTool = false;
  for (const [index, block] of message.content.entries()) {
    if (block.type === "text" || (block.type === "tool_use" && block.name === context.jsonToolName)) {
      const piece = block.type === "text" ? block.text : (context.exactInputs?.[index] ?? JSON.stringify(block.input));
      const start = characters;
      text += piece;
      characters += characterCount(piece);
      if (block.type === "tool_use") sawJsonTool = true;
      else for (const source of block.sources) annotations.push(urlCitation(source, start, characters));
      const at = findEarliestStop(text, context.localStopSequences);
      if (at !== -1) {
        text = text.slice(0, at);
        // Citations of text the stop sequence cut away go with it.
        const kept = characterCount(text);
        annotations = annotations.filter((note) => (note.urlCitation?.startIndex ?? 0) < kept);
        for (const note of annotations) if (note.urlCitation) note.urlCitation.endIndex = Math.min(note.urlCitation.endIndex, kept);
        cut = true;
        break;
      }
    } else if (block.type === "tool_use") {
      sawClientTool = true;
      toolCalls.push({ $typeName: "switchyard.v1.ToolCall", id: block.id, name: block.name, arguments: context.exactInputs?.[index] ?? JSON.stringify(block.input ?? {}), custom: false });
    } else if (block.type === "thinking") {
      reasoning.push({ $typeName: "switchyard.v1.ContentPart", part: { case: "reasoning", value: { $typeName: "switchyard.v1.Reasoning", text: block.thinking, signature: block.signature, redactedData: "" } } });
    } else if (block.type === "redacted_thinking") {
      reasoning.push({ $typeName: "switchyard.v1.ContentPart", part: { case: "reasoning", value: { $typeName: "switchyard.v1.Reasoning", text: "", signature: "", redactedData: block.data } } });
    }
  }
  const content: ContentPart[] = [...reasoning];
  if (text !== "") content.push({ $typeName: "switchyard.v1.ContentPart", part: { case: "text", value: text } });
  if (!cut && message.stopReason === "refusal" && message.explanation) {
    content.push({ $typeName: "switchyard.v1.ContentPart", part: { case: "refusal", value: message.explanation } });
  }
  const finishReason = cut ? FinishReason.STOP : mapAnthropicStopReason(message.stopReason, { onlyJsonTool: sawJsonTool && !sawClientTool });
  return create(ChatResponseSchema, {
    id: message.id,
    created: context.created,
    warnings: [...context.warnings],
    ...(message.usage ? { usage: fromAnthropicUsage(message.usage) } : {}),
    choices: [
      {
        index: 0,
        message: { role: Role.ASSISTANT, content, toolCalls, annotations },
        finishReason,
        rawFinishReason: cut ? LOCAL_STOP_RAW_REASON : (message.stopReason ?? ""),
      },
    ],
  });
}
