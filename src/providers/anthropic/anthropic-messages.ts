import type { JsonObject } from "@bufbuild/protobuf";
import { ImageDetail, Role, type CacheControl, type ContentPart, type Message } from "../../../gen/switchyard/v1/chat_pb.js";
import { invalidRequest } from "../../core/errors.js";
import { hasInexactNumbers } from "../exact-json.js";
import { signatureOrigin } from "../reasoning-signatures.js";
import { toAnthropicCacheControl } from "./anthropic-cache.js";
import { toAnthropicMediaBlock } from "./anthropic-media.js";
import {
  ANTHROPIC_FAMILY,
  type AnthropicCacheControl,
  type AnthropicContentBlock,
  type AnthropicDocumentBlock,
  type AnthropicImageBlock,
  type AnthropicMessageParam,
  type AnthropicTextBlock,
  type AnthropicToolResultBlock,
} from "./anthropic-wire.js";

/** The conversation in Anthropic's shape: hoisted system blocks and alternating turns. */
export interface AnthropicConversation {
  readonly system: AnthropicTextBlock[];
  readonly messages: AnthropicMessageParam[];
  /** Things dropped on the way, as plain sentences. */
  readonly warnings: string[];
  /**
   * The converted conversation ends with an assistant turn (a prefill Anthropic continues), however
   * many system or developer messages came after it (they are hoisted).
   */
  readonly prefill: boolean;
  /** The request path of the caller's cache_control breakpoint on each block that carries one. */
  readonly breakpoints: Map<object, string>;
  /** Tool-call inputs holding numbers a double would change, with the caller's arguments text (see exact-json.ts); usually empty. */
  readonly exactInputs: Map<object, string>;
}

/** What the conversion notes beside the blocks: where the caller's cache_control breakpoints landed (request paths), what was dropped, and which inputs keep their source text. */
interface ConversionNotes {
  readonly warnings: string[];
  readonly params: Map<object, string>;
  readonly exactInputs: Map<object, string>;
}

/** Puts the caller's breakpoint `value` (at request path `param`) on `block`. */
function mark(block: { cache_control?: AnthropicCacheControl }, value: CacheControl | undefined, param: string, notes: ConversionNotes): void {
  if (!value) return;
  block.cache_control = toAnthropicCacheControl(value);
  notes.params.set(block, param);
}

/** A part's breakpoint that has no block to go on (empty text, unsigned reasoning) is dropped with a warning. */
function dropped(value: CacheControl | undefined, param: string, why: string, notes: ConversionNotes): void {
  if (value) notes.warnings.push(`${param}.cache_control dropped: ${why}.`);
}

/**
 * The whole-message breakpoint (LiteLLM's form) goes on the last block sent for the message,
 * unless that block has its own; thinking blocks cannot take one, so then it is dropped with a warning.
 */
function markLast(blocks: readonly { type: string; cache_control?: AnthropicCacheControl }[], message: Message, index: number, notes: ConversionNotes): void {
  if (!message.cacheControl) return;
  const param = `messages[${index}].cache_control`;
  const last = blocks[blocks.length - 1];
  if (!last) notes.warnings.push(`${param} dropped: the message sends no content to Anthropic.`);
  else if (last.type === "thinking" || last.type === "redacted_thinking") notes.warnings.push(`${param} dropped: Anthropic takes no breakpoint on a thinking block.`);
  else if (!last.cache_control) mark(last, message.cacheControl, param, notes);
}

const VALID_TOOL_ID = /^[a-zA-Z0-9_-]+$/;

/** The tool ids sent to Anthropic for one request, decided per message of the conversation. */
export interface ToolIdPlan {
  /** The `tool_use.id` for `messages[index].tool_calls[callIndex]`. */
  readonly toolUse: (index: number, callIndex: number) => string;
  /** The `tool_result.tool_use_id` for the tool message `messages[index]`. */
  readonly toolResult: (index: number) => string;
}

/**
 * Plans the tool ids of one request. Guarantees: every id sent matches Anthropic's
 * `^[a-zA-Z0-9_-]+$` (invalid characters become "_", with a numeric suffix when that would collide
 * with another id of the conversation), and every tool_use id is sent once per request. The first
 * call with an id keeps it; a later call repeating it (legacy `functions` history, where every
 * call of a function has the same id, or clients that number calls per response, `call_0`) gets a
 * fresh suffixed id, and so do the tool messages answering that assistant message (the ones after
 * it, before the next assistant message), taken in order when it repeats an id itself. Tool
 * messages answering an earlier turn, or no turn, keep the first id, so pairs stay paired.
 */
export function createToolIdSanitizer(messages: readonly Message[]): ToolIdPlan {
  const taken = new Set<string>();
  for (const message of messages) {
    for (const call of message.toolCalls) if (VALID_TOOL_ID.test(call.id)) taken.add(call.id);
    if (VALID_TOOL_ID.test(message.toolCallId)) taken.add(message.toolCallId);
  }
  const suffixed = (base: string): string => {
    let candidate = base;
    for (let suffix = 2; taken.has(candidate); suffix++) candidate = `${base}_${suffix}`;
    taken.add(candidate);
    return candidate;
  };
  const rewritten = new Map<string, string>();
  const sanitize = (id: string): string => {
    if (VALID_TOOL_ID.test(id)) return id;
    const known = rewritten.get(id) ?? suffixed(id.replace(/[^a-zA-Z0-9_-]/g, "_") || "call");
    rewritten.set(id, known);
    return known;
  };
  const sent = new Set<string>();
  const uses = new Map<number, string[]>();
  const results = new Map<number, string>();
  // Ids of the latest assistant message, by the caller's id, in call order, for the tool messages answering it.
  let answering = new Map<string, string[]>();
  messages.forEach((message, index) => {
    if (message.role === Role.ASSISTANT) {
      answering = new Map();
      uses.set(index, message.toolCalls.map((call) => {
        const first = sanitize(call.id);
        const id = sent.has(first) ? suffixed(first) : first;
        sent.add(id);
        answering.set(call.id, [...(answering.get(call.id) ?? []), id]);
        return id;
      }));
    } else if (message.role === Role.TOOL) {
      const queue = answering.get(message.toolCallId) ?? [];
      results.set(index, (queue.length > 1 ? queue.shift() : queue[0]) ?? sanitize(message.toolCallId));
    }
  });
  return {
    toolUse: (index, callIndex) => uses.get(index)?.[callIndex] ?? sanitize(messages[index]?.toolCalls[callIndex]?.id ?? ""),
    toolResult: (index) => results.get(index) ?? sanitize(messages[index]?.toolCallId ?? ""),
  };
}

function parseToolArguments(text: string, param: string, exactInputs: Map<object, string>): JsonObject {
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
  if (hasInexactNumbers(text)) exactInputs.set(value, text);
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

function userBlocks(message: Message, index: number, notes: ConversionNotes): (AnthropicTextBlock | AnthropicImageBlock | AnthropicDocumentBlock)[] {
  const blocks: (AnthropicTextBlock | AnthropicImageBlock | AnthropicDocumentBlock)[] = [];
  message.content.forEach((part, partIndex) => {
    const param = `messages[${index}].content[${partIndex}]`;
    if (part.part.case === "text") {
      if (part.part.value === "") return dropped(part.cacheControl, param, "Anthropic takes no empty text block", notes);
      const block: AnthropicTextBlock = { type: "text", text: part.part.value };
      mark(block, part.cacheControl, `${param}.cache_control`, notes);
      blocks.push(block);
      return;
    }
    const media = mediaBlock(part, param);
    if (media) {
      mark(media, part.cacheControl, `${param}.cache_control`, notes);
      blocks.push(media);
    } else if (part.part.case !== undefined) throw invalidRequest(`Invalid '${param}': ${part.part.case} parts are not allowed in this message.`, param);
  });
  return blocks;
}

function toolResult(message: Message, index: number, toolIds: ToolIdPlan, notes: ConversionNotes): AnthropicToolResultBlock {
  const blocks = userBlocks(message, index, notes);
  const result: AnthropicToolResultBlock = { type: "tool_result", tool_use_id: toolIds.toolResult(index) };
  const [first] = blocks;
  if (blocks.length === 1 && first?.type === "text") {
    result.content = first.text;
    // A lone text part's breakpoint moves to the tool_result block it becomes: the same prefix.
    if (first.cache_control) {
      result.cache_control = first.cache_control;
      notes.params.set(result, notes.params.get(first) ?? "");
    }
  } else if (blocks.length > 0) {
    result.content = blocks;
  }
  markLast([result], message, index, notes);
  return result;
}

/** Whether text can be a text block: Anthropic rejects empty and whitespace-only ones. */
function hasVisibleText(text: string): boolean {
  return text.trim() !== "";
}

/** Adds `warning` unless it is there already (one per kind, however many messages it concerns). */
function addOnce(warnings: string[], warning: string): void {
  if (!warnings.includes(warning)) warnings.push(warning);
}

function assistantBlocks(message: Message, index: number, toolIds: ToolIdPlan, notes: ConversionNotes): AnthropicContentBlock[] {
  const warnings = notes.warnings;
  if (message.audio?.id) warnings.push(`The audio of messages[${index}] (an OpenAI audio id) cannot be sent to Anthropic and was dropped.`);
  const thinking: AnthropicContentBlock[] = [];
  const text: AnthropicContentBlock[] = [];
  message.content.forEach((part, partIndex) => {
    const param = `messages[${index}].content[${partIndex}]`;
    switch (part.part.case) {
      case "text":
      case "refusal":
        if (hasVisibleText(part.part.value)) {
          const block: AnthropicTextBlock = { type: "text", text: part.part.value };
          mark(block, part.cacheControl, `${param}.cache_control`, notes);
          text.push(block);
        } else {
          dropped(part.cacheControl, param, "Anthropic takes no empty or whitespace-only assistant text", notes);
        }
        break;
      case "reasoning": {
        const reasoning = part.part.value;
        dropped(part.cacheControl, param, "Anthropic takes no breakpoint on a thinking block", notes);
        const origin = signatureOrigin(ANTHROPIC_FAMILY, reasoning.signature);
        if (reasoning.redactedData) thinking.push({ type: "redacted_thinking", data: reasoning.redactedData });
        else if (origin.kind === "foreign") addOnce(warnings, `Thinking from another provider (${origin.family}) was left out: Anthropic refuses signatures it did not issue.`);
        else if (origin.signature) thinking.push({ type: "thinking", thinking: reasoning.text, signature: origin.signature });
        else if (reasoning.text) warnings.push(`The reasoning in ${param} has no Anthropic signature and was not sent.`);
        break;
      }
      default:
        throw invalidRequest(`Invalid '${param}': ${part.part.case ?? "empty"} parts are not allowed in assistant messages.`, param);
    }
  });
  const toolUses: AnthropicContentBlock[] = message.toolCalls.map((call, callIndex) => ({
    type: "tool_use",
    id: toolIds.toolUse(index, callIndex),
    name: call.name,
    input: parseToolArguments(call.arguments, `messages[${index}].tool_calls[${callIndex}].function.arguments`, notes.exactInputs),
  }));
  // Anthropic wants thinking blocks before the text and tool calls they led to.
  const blocks = [...thinking, ...text, ...toolUses];
  markLast(blocks, message, index, notes);
  return blocks;
}

/** A warning per image whose `detail` (low or high) Anthropic cannot honour; in user and tool messages alike. */
function imageDetailWarnings(message: Message, index: number): string[] {
  return message.content.flatMap((part, partIndex) =>
    part.part.case === "image" && (part.part.value.detail === ImageDetail.LOW || part.part.value.detail === ImageDetail.HIGH)
      ? [`messages[${index}].content[${partIndex}].image_url.detail dropped: Anthropic has no image detail setting`]
      : [],
  );
}

interface Turn {
  readonly role: "user" | "assistant";
  readonly toolResults: AnthropicToolResultBlock[];
  readonly blocks: AnthropicContentBlock[];
}

/**
 * Converts the proto conversation to Anthropic's. Guarantees: system and developer messages are
 * hoisted, in order, into top-level `system` text blocks (their position in the conversation is
 * lost; empty and whitespace-only ones are skipped); tool messages become `tool_result` blocks in
 * a user turn; consecutive turns of the same Anthropic role are merged, with all tool results
 * first; empty text is never sent, nor is whitespace-only assistant text (user text is sent as
 * given), and a turn left empty is dropped; assistant tool calls become `tool_use` blocks after
 * the text, and arguments that are not a JSON object fail with INVALID_REQUEST naming
 * `messages[i].tool_calls[j].function.arguments`; signed reasoning goes back as thinking blocks,
 * but reasoning whose signature is tagged with another provider family is left out (text and
 * signature) with a warning (Anthropic's own signatures are untagged);
 * tool ids are valid and each tool_use id is sent once (see {@link createToolIdSanitizer});
 * `image_url.detail` is dropped with a warning, in user and tool messages; a final assistant turn
 * (prefill) loses trailing whitespace, which Anthropic rejects, and sets `prefill`. cache_control
 * breakpoints go on the blocks their parts become (a tool message's lone text part: on its
 * tool_result), a whole message's on the last block sent for it (not the merged turn's); one with
 * no block to go on (empty text, thinking) is dropped with a warning.
 * @see https://docs.claude.com/en/api/messages#body-messages
 */
export function toAnthropicConversation(messages: readonly Message[]): AnthropicConversation {
  const toolIds = createToolIdSanitizer(messages);
  const system: AnthropicTextBlock[] = [];
  const warnings: string[] = [];
  const notes: ConversionNotes = { warnings, params: new Map(), exactInputs: new Map() };
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
      case Role.DEVELOPER: {
        const start = system.length;
        message.content.forEach((part, partIndex) => {
          const param = `messages[${index}].content[${partIndex}]`;
          if (part.part.case !== "text" || !hasVisibleText(part.part.value)) return dropped(part.cacheControl, param, "Anthropic takes no empty or whitespace-only system text", notes);
          const block: AnthropicTextBlock = { type: "text", text: part.part.value };
          mark(block, part.cacheControl, `${param}.cache_control`, notes);
          system.push(block);
        });
        markLast(system.slice(start), message, index, notes);
        break;
      }
      case Role.USER:
        warnings.push(...imageDetailWarnings(message, index));
        {
          const blocks = userBlocks(message, index, notes);
          markLast(blocks, message, index, notes);
          push({ role: "user", toolResults: [], blocks });
        }
        break;
      case Role.TOOL:
        warnings.push(...imageDetailWarnings(message, index));
        push({ role: "user", toolResults: [toolResult(message, index, toolIds, notes)], blocks: [] });
        break;
      case Role.ASSISTANT:
        push({ role: "assistant", toolResults: [], blocks: assistantBlocks(message, index, toolIds, notes) });
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
      if (tail.text === "") {
        last.blocks.pop();
        if (tail.cache_control) warnings.push("A cache_control breakpoint on the final assistant text was dropped: the text is whitespace only, which Anthropic refuses.");
      }
    }
    if (last.blocks.length === 0) turns.pop();
  }
  if (turns.length === 0) throw invalidRequest("Invalid 'messages': Anthropic needs at least one user or assistant message with non-empty content.", "messages");
  return { system, messages: turns.map((turn) => ({ role: turn.role, content: [...turn.toolResults, ...turn.blocks] })), warnings, prefill: turns.at(-1)?.role === "assistant", breakpoints: notes.params, exactInputs: notes.exactInputs };
}
