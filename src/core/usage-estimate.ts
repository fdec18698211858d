import type { ChatInput, Message, Usage } from "../../gen/switchyard/v1/chat_pb.js";
import type { ChatResponse } from "../../gen/switchyard/v1/chat_service_pb.js";
import { usageOf } from "./stream-events.js";

/** Rough tokens per image part when estimating a prompt (a low-detail image). */
const IMAGE_TOKENS = 85;
/** Rough per-message framing overhead in tokens. */
const MESSAGE_TOKENS = 4;
/** The rule of thumb every estimate here uses. */
const CHARACTERS_PER_TOKEN = 4;

/** Characters of a message's text, refusal and reasoning parts and of its tool calls' names and arguments. */
function messageCharacters(message: Message): number {
  let characters = 0;
  for (const part of message.content) {
    const value = part.part;
    if (value.case === "text" || value.case === "refusal") characters += value.value.length;
    else if (value.case === "reasoning") characters += value.value.text.length;
  }
  for (const call of message.toolCalls) characters += call.name.length + call.arguments.length;
  return characters;
}

/**
 * A deliberately rough estimate of a request's prompt tokens: characters / 4 of all text, tool
 * definitions and tool-call arguments, plus small constants per message and image. Used to skip
 * targets whose context window the request clearly exceeds, and in estimated usage (marked so).
 */
export function estimatePromptTokens(input: ChatInput): number {
  let characters = 0;
  let tokens = 0;
  for (const message of input.messages) {
    tokens += MESSAGE_TOKENS;
    characters += messageCharacters(message);
    for (const part of message.content) if (part.part.case === "image") tokens += IMAGE_TOKENS;
  }
  for (const tool of input.tools) characters += tool.name.length + tool.description.length + (tool.parameters ? JSON.stringify(tool.parameters).length : 0);
  return tokens + Math.ceil(characters / CHARACTERS_PER_TOKEN);
}

/** Characters of model output in a whole answer, every choice (see {@link messageCharacters}). */
export function responseCharacters(response: ChatResponse): number {
  let characters = 0;
  for (const choice of response.choices) if (choice.message) characters += messageCharacters(choice.message);
  return characters;
}

/** A rough token count of `characters` of model output (the same four characters per token as every estimate here). */
export function estimateOutputTokens(characters: number): number {
  return Math.ceil(characters / CHARACTERS_PER_TOKEN);
}

/**
 * Usage for an answer whose provider reported none: the request's prompt estimate and
 * `outputCharacters` / 4 as completion tokens, with `estimated` set. Cache and reasoning counts are 0.
 */
export function estimatedUsage(input: ChatInput, outputCharacters: number): Usage {
  return usageOf({ prompt: estimatePromptTokens(input), completion: estimateOutputTokens(outputCharacters), estimated: true });
}
