import type { JsonObject } from "@bufbuild/protobuf";
import { ImageDetail, Role, type ContentPart, type Message } from "../../../gen/switchyard/v1/chat_pb.js";
import { invalidRequest } from "../../core/errors.js";
import { toAnthropicMediaBlock } from "./anthropic-media.js";
import type {
  AnthropicContentBlock,
  AnthropicDocumentBlock,
  AnthropicImageBlock,
  AnthropicMessageParam,
  AnthropicTextBlock,
  AnthropicToolResultBlock,
} from "./anthropic-wire.js";

/** The conversation in Anthropic's shape: hoisted system blocks and alternating turns. */
export interface AnthropicConversation {
  readonly system: AnthropicTextBlock[];
  readonly messages: AnthropicMessageParam[];
  /** Things dropped on the way, as plain sentences. */
  readonly warnings: string[];
}

const VALID_TOOL_ID = /^[a-zA-Z0-9_-]+$/;

/**
 * Builds a per-request tool-id rewriter: ids that already match Anthropic's `^[a-zA-Z0-9_-]+$`
 * are kept; others get their invalid characters replaced by "_", with a numeric suffix when that
 * would collide with another id of the conversation. The same input id always gives the same
 * output, so a tool_use and its tool_result stay paired.
 */
export function createToolIdSanitizer(messages: readonly Message[]): (id: string) => string {
  const taken = new Set<string>();
  for (const message of messages) {
    for (const call of message.toolCalls) if (VALID_TOOL_ID.test(call.id)) taken.add(call.id);
    if (VALID_TOOL_ID.test(message.toolCallId)) taken.add(message.toolCallId);
  }
  const rewritten = new Map<string, string>();
  return (id) => {
    if (VALID_TOOL_ID.test(id)) return id;
    const known = rewritten.get(id);
    if (known !== undefined) return known;
    const base = id.replace(/[^a-zA-Z0-9_-]/g, "_") || "call";
    let candidate = base;
    for (let suffix = 2; taken.has(candidate); suffix++) candidate = `${base}_${suffix}`;
    taken.add(candidate);
    rewritten.set(id, candidate);
    return candidate;
  };
}

function parseToolArguments(text: string, param: string): JsonObject {
  // An empty string is what some clients send for a zero-argument call; it means {}.
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalidRequest(`Invalid '${param}': the arguments are not valid JSON.`, param);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalidRequest(`Invalid '${param}': the arguments must be a JSON object.`, param);
  }
  return value as JsonObject;
}

function mediaBlock(part: ContentPart, param: string): AnthropicImageBlock | AnthropicDocumentBlock | undefined {
  switch (part.part.case) {
    case "image":
    case "audio":
    case "video":
    case "file":
      return toAnthropicMediaBlock(part.part.case, part.part.value, param);
    default:
      return undefined;
  }
}

function userBlocks(message: Message, index: number): (AnthropicTextBlock | AnthropicImageBlock | AnthropicDocumentBlock)[] {
  const blocks: (AnthropicTextBlock | AnthropicImageBlock | AnthropicDocumentBlock)[] = [];
  message.content.forEach((part, partIndex) => {
    const param = `messages[${index}].content[${partIndex}]`;
    if (part.part.case === "text") {
      if (part.part.value !== "") blocks.push({ type: "text", text: part.part.value });
      return;
    }
    const media = mediaBlock(part, param);
    if (media) blocks.push(media);
    else if (part.part.case !== undefined) throw invalidRequest(`Invalid '${param}': ${part.part.case} parts are not allowed in this message.`, param);
  });
  return blocks;
}

function toolResult(message: Message, index: number, toolId: (id: string) => string): AnthropicToolResultBlock {
  const blocks = userBlocks(message, index);
  const result: AnthropicToolResultBlock = { type: "tool_result", tool_use_id: toolId(message.toolCallId) };
  const [first] = blocks;
  if (blocks.length === 1 && first?.type === "text") result.content = first.text;
  else if (blocks.length > 0) result.content = blocks;
  return result;
}

function assistantBlocks(message: Message, index: number, toolId: (id: string) => string, warnings: string[]): AnthropicContentBlock[] {
  const thinking: AnthropicContentBlock[] = [];
  const text: AnthropicContentBlock[] = [];
  message.content.forEach((part, partIndex) => {
    const param = `messages[${index}].content[${partIndex}]`;
    switch (part.part.case) {
      case "text":
      case "refusal":
        if (part.part.value !== "") text.push({ type: "text", text: part.part.value });
        break;
      case "reasoning": {
        const reasoning = part.part.value;
        if (reasoning.redactedData) thinking.push({ type: "redacted_thinking", data: reasoning.redactedData });
        else if (reasoning.signature) thinking.push({ type: "thinking", thinking: reasoning.text, signature: reasoning.signature });
        else if (reasoning.text) warnings.push(`The reasoning in ${param} has no Anthropic signature and was not sent.`);
        break;
      }
      default:
        throw invalidRequest(`Invalid '${param}': ${part.part.case ?? "empty"} parts are not allowed in assistant messages.`, param);
    }
  });
  const toolUses: AnthropicContentBlock[] = message.toolCalls.map((call, callIndex) => ({
    type: "tool_use",
    id: toolId(call.id),
    name: call.name,
    input: parseToolArguments(call.arguments, `messages[${index}].tool_calls[${callIndex}].function.arguments`),
  }));
  // Anthropic wants thinking blocks before the text and tool calls they led to.
  return [...thinking, ...text, ...toolUses];
}

interface Turn {
  readonly role: "user" | "assistant";
  readonly toolResults: AnthropicToolResultBlock[];
  readonly blocks: AnthropicContentBlock[];
}

/**
 * Converts the proto conversation to Anthropic's. Guarantees: system and developer messages are
 * hoisted, in order, into top-level `system` text blocks (their position in the conversation is
 * lost; empty ones are skipped); tool messages become `tool_result` blocks in a user turn;
 * consecutive turns of the same Anthropic role are merged, with all tool results first; empty
 * text is never sent and a turn left empty is dropped; assistant tool calls become `tool_use`
 * blocks after the text, and arguments that are not a JSON object fail with INVALID_REQUEST
 * naming `messages[i].tool_calls[j].function.arguments`; signed reasoning goes back as thinking
 * blocks; tool ids are sanitised consistently; a final assistant turn (prefill) loses trailing
 * whitespace, which Anthropic rejects.
 * @see https://docs.claude.com/en/api/messages#body-messages
 */
export function toAnthropicConversation(messages: readonly Message[]): AnthropicConversation {
  const toolId = createToolIdSanitizer(messages);
  const system: AnthropicTextBlock[] = [];
  const warnings: string[] = [];
  const turns: Turn[] = [];
  const push = (turn: Turn) => {
    if (turn.toolResults.length === 0 && turn.blocks.length === 0) return;
    const last = turns[turns.length - 1];
    if (last && last.role === turn.role) {
      last.toolResults.push(...turn.toolResults);
      last.blocks.push(...turn.blocks);
    } else {
      turns.push(turn);
    }
  };
  messages.forEach((message, index) => {
    switch (message.role) {
      case Role.SYSTEM:
      case Role.DEVELOPER:
        for (const part of message.content) {
          if (part.part.case === "text" && part.part.value !== "") system.push({ type: "text", text: part.part.value });
        }
        break;
      case Role.USER:
        message.content.forEach((part, partIndex) => {
          if (part.part.case === "image" && (part.part.value.detail === ImageDetail.LOW || part.part.value.detail === ImageDetail.HIGH)) {
            warnings.push(`messages[${index}].content[${partIndex}].image_url.detail dropped: Anthropic has no image detail setting`);
          }
        });
        push({ role: "user", toolResults: [], blocks: userBlocks(message, index) });
        break;
      case Role.TOOL:
        push({ role: "user", toolResults: [toolResult(message, index, toolId)], blocks: [] });
        break;
      case Role.ASSISTANT:
        push({ role: "assistant", toolResults: [], blocks: assistantBlocks(message, index, toolId, warnings) });
        break;
      default:
        throw invalidRequest(`Invalid 'messages[${index}].role': a role is required.`, `messages[${index}].role`);
    }
  });
  const last = turns[turns.length - 1];
  if (last?.role === "assistant") {
    const tail = last.blocks[last.blocks.length - 1];
    if (tail?.type === "text") {
      tail.text = tail.text.trimEnd();
      if (tail.text === "") last.blocks.pop();
    }
    if (last.blocks.length === 0) turns.pop();
  }
  if (turns.length === 0) throw invalidRequest("Invalid 'messages': Anthropic needs at least one user or assistant message with non-empty content.", "messages");
  return { system, messages: turns.map((turn) => ({ role: turn.role, content: [...turn.toolResults, ...turn.blocks] })), warnings };
}
