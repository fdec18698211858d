import type { ChoiceExtra } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import type { JsonObject } from "@bufbuild/protobuf";
import { setOwnEntry } from "../../core/own-entry.js";
import { finishName, toOpenAIAnnotations, toOpenAIAudio, toOpenAILogprobs, toOpenAIUsage } from "./from-proto.js";

/*
 * The stream side of the OpenAI edge: proto stream events as `chat.completion.chunk` JSON (the
 * whole-answer side is from-proto.ts, whose field mappers it shares).
 */

/**
 * The members of a provider's fields the gateway does not model, as JSON text to splice into an
 * object (the top-level ones into every chunk, as servers such as Perplexity repeat them in each; a
 * choice's into that choice), each followed by a comma; "" for none.
 */
function extraMembers(extra: { readonly [key: string]: unknown } | undefined): string {
  if (!extra) return "";
  const text = JSON.stringify(extra);
  return text.length > 2 ? `${text.slice(1, -1)},` : "";
}

/** Longest reasoning block the stream encoder keeps for its closing thinking_blocks entry. */
const MAX_HELD_REASONING_CHARS = 4 * 1024 * 1024;

/**
 * Turns proto stream events into OpenAI `chat.completion.chunk` JSON strings, keeping the
 * per-stream state OpenAI's format needs: the first chunk of each choice carries
 * `role: "assistant"`; tool-call chunks carry `index` always and `id`/`type`/`name` only on a
 * call's first delta; every chunk has the same id, created and model; with include_usage every
 * chunk has `usage: null` and one final chunk has empty `choices` and the usage. A provider's
 * unmodelled fields of a choice and its delta (choice_extra) go where it put them: into the chunk
 * written for the choice's next event (the event's own fields win on a clash), or, when its chunk
 * carried nothing else, into a chunk of their own; a stream without them is written byte for byte
 * as before. Top-level fields that came after the start, or changed since (chunk_extra), go in a
 * chunk of their own with empty `choices`; a new value of a field the start carried (which every
 * chunk repeats) replaces it in that chunk and in every chunk after it.
 * Returns the chunks to write for one event (often one, sometimes none).
 */
export class OpenAIChunkEncoder {
  private id = "";
  private created = 0;
  private model = "";
  private readonly rolesSent = new Set<number>();
  private prefix = "";
  /** The prefix's members before the extra ones (id through system_fingerprint), for rebuilding it. */
  private prefixHead = "";
  /** The start's top-level extra fields, in every chunk; a chunk_extra that changes one changes it here too. */
  private startExtra: JsonObject | undefined;
  /** The calls (choice:index) that are of custom tools: their fragments go out as `custom.input`. */
  private readonly customCalls = new Set<string>();
  /** Reasoning text of each choice's current block, until its signature closes it (then kept whole for thinking_blocks), or its finish (kept whole, unsigned). */
  private readonly reasoningText = new Map<number, string>();
  /** Choices whose current unsigned block outgrew MAX_HELD_REASONING_CHARS: it goes out in fragments only. */
  private readonly reasoningOverflow = new Set<number>();
  /** Each choice's signed (and redacted) thinking blocks so far, sent together before its finish. */
  private readonly thinkingBlocks = new Map<number, Record<string, string>[]>();
  /** Each choice's annotations (citations) so far, sent together before its finish. */
  private readonly annotations = new Map<number, unknown[]>();
  /** Each choice's choice_extra that waits for the next chunk written for the choice. */
  private readonly heldExtras = new Map<number, ChoiceExtra>();

  /** `legacyFunctions`: the request declared legacy `functions`, so calls go out as `function_call` deltas (the first call of a choice only). */
  constructor(
    private readonly includeUsage: boolean,
    private readonly legacyFunctions = false,
  ) {}

  /** A chunk holding one choice (its JSON text). */
  private envelope(choice: string): string {
    return `${this.prefix}${choice}]${this.includeUsage ? ',"usage":null' : ""}}`;
  }

  /** One choice's chunk; it takes the choice's held choice_extra unless `takesExtra` is false (a role chunk written ahead of the content the extra came with). */
  private chunk(choiceIndex: number, delta: Record<string, unknown>, finishReason: string | null = null, logprobs: unknown = null, takesExtra = true): string {
    let fullDelta = delta;
    if (!this.rolesSent.has(choiceIndex)) {
      this.rolesSent.add(choiceIndex);
      // The whole answer's rule (toOpenAIChoice): null when the answer starts elsewhere (tool calls, a refusal, audio) or is withheld (content_filter).
      const elsewhere = delta.tool_calls || delta.function_call || "refusal" in delta || delta.audio || finishReason === "content_filter";
      fullDelta = { role: "assistant", content: "content" in delta ? delta.content : elsewhere ? null : "", ...delta };
    }
    let extraText = "";
    // Checked by size first: most streams hold none, and this runs for every chunk.
    const held = takesExtra && this.heldExtras.size > 0 ? this.heldExtras.get(choiceIndex) : undefined;
    if (held) {
      this.heldExtras.delete(choiceIndex);
      if (held.deltaExtra) fullDelta = { ...held.deltaExtra, ...fullDelta };
      extraText = extraMembers(held.extra);
    }
    return this.envelope(`{"index":${choiceIndex},${extraText}"delta":${JSON.stringify(fullDelta)},"logprobs":${JSON.stringify(logprobs)},"finish_reason":${JSON.stringify(finishReason)}}`);
  }

  /**
   * A chunk of a choice_extra alone: its delta holds only the delta's fields, and the role when it
   * is the choice's first chunk (Azure's role chunk carries its first content_filter_results), so
   * the role still comes first.
   */
  private extraChunk(extra: ChoiceExtra): string {
    let delta = extra.deltaExtra ?? {};
    if (!this.rolesSent.has(extra.choiceIndex)) {
      this.rolesSent.add(extra.choiceIndex);
      delta = { ...delta, role: "assistant", content: "" };
    }
    return this.envelope(`{"index":${extra.choiceIndex},${extraMembers(extra.extra)}"delta":${JSON.stringify(delta)},"logprobs":null,"finish_reason":null}`);
  }

  /**
   * A choice_extra: a standalone one is a chunk of its own; another waits for the next chunk
   * written for its choice. One still waiting when the next comes for the same choice (its chunk's
   * events wrote nothing, as held annotations do) goes out alone first.
   */
  private choiceExtra(extra: ChoiceExtra): string[] {
    const waiting = this.heldExtras.size > 0 ? this.heldExtras.get(extra.choiceIndex) : undefined;
    const out = waiting ? [this.extraChunk(waiting)] : [];
    if (extra.standalone) {
      if (waiting) this.heldExtras.delete(extra.choiceIndex);
      out.push(this.extraChunk(extra));
    } else {
      this.heldExtras.set(extra.choiceIndex, extra);
    }
    return out;
  }

  /**
   * A reasoning fragment as `reasoning_content`. Signed blocks (`{type: "thinking", thinking,
   * signature}`, as in a non-streamed answer), redacted ones (`{type: "redacted_thinking",
   * data}`) and the reasoning no signature closed before the finish (`{type: "thinking",
   * thinking}`, up to 4 MiB) are kept whole, and all of a choice's go out together in one `thinking_blocks` delta
   * just before its finish, so a streaming client can send them back on the next turn (Anthropic
   * thinking with tools needs that): the OpenAI SDK's accumulator replaces a field it does not
   * know with each delta's value, and clients of LiteLLM's convention concatenate them; one delta
   * with every block is right for both.
   */
  private reasoning(delta: { choiceIndex: number; text: string; signature: string; redactedData: string }): string[] {
    const { choiceIndex, text, signature, redactedData } = delta;
    if (redactedData) {
      this.keepBlock(choiceIndex, { type: "redacted_thinking", data: redactedData });
      return [];
    }
    if (!text && !signature) return [];
    const block = (this.reasoningText.get(choiceIndex) ?? "") + text;
    if (!signature) {
      // Bounded: reasoning that never gets a signature (OpenAI-compatible servers) is not kept past this.
      if (this.reasoningOverflow.has(choiceIndex)) return [this.chunk(choiceIndex, { reasoning_content: text })];
      if (block.length <= MAX_HELD_REASONING_CHARS) this.reasoningText.set(choiceIndex, block);
      else {
        this.reasoningText.delete(choiceIndex);
        this.reasoningOverflow.add(choiceIndex);
      }
      return [this.chunk(choiceIndex, { reasoning_content: text })];
    }
    this.reasoningText.delete(choiceIndex);
    this.reasoningOverflow.delete(choiceIndex);
    this.keepBlock(choiceIndex, { type: "thinking", thinking: block, signature });
    return [this.chunk(choiceIndex, { ...(text ? { reasoning_content: text } : {}), reasoning_signature: signature })];
  }

  private keepBlock(choiceIndex: number, block: Record<string, string>): void {
    const blocks = this.thinkingBlocks.get(choiceIndex);
    if (blocks) blocks.push(block);
    else this.thinkingBlocks.set(choiceIndex, [block]);
  }

  /** A text or refusal fragment with logprobs: as the first chunk of its choice, the role goes in a chunk of its own first, as OpenAI sends it (the OpenAI SDK's accumulator counts a first chunk's logprobs twice). */
  private withLogprobs(choiceIndex: number, delta: Record<string, unknown>, logprobs: unknown): string[] {
    const role = this.rolesSent.has(choiceIndex) ? [] : [this.chunk(choiceIndex, "refusal" in delta ? { content: null } : {}, null, null, false)];
    return [...role, this.chunk(choiceIndex, delta, null, logprobs)];
  }

  /**
   * The fields of a chunk_extra that are not among the start's, which every chunk carries: a new
   * value of one of those replaces it in the prefix instead (this chunk and those after it carry the
   * new value, not the start's, and no chunk names a key twice).
   */
  private newStartValues(extra: JsonObject): JsonObject | undefined {
    const start = this.startExtra;
    if (!start) return extra;
    let updated: JsonObject | undefined;
    let rest: JsonObject | undefined;
    for (const key of Object.keys(extra)) {
      const next = extra[key] ?? null;
      if (Object.hasOwn(start, key)) setOwnEntry((updated ??= { ...start }), key, next);
      else setOwnEntry((rest ??= {}), key, next);
    }
    if (updated) {
      this.startExtra = updated;
      this.prefix = `${this.prefixHead}${extraMembers(updated)}"choices":[`;
    }
    return rest;
  }

  /** The chunks (JSON text) for one event. */
  encode(event: ChatStreamResponse): string[] {
    const value = event.event;
    switch (value.case) {
      case "responseStart":
        this.id = value.value.id;
        this.created = Number(value.value.created);
        this.model = value.value.model;
        this.prefixHead = `{"id":${JSON.stringify(this.id)},"object":"chat.completion.chunk","created":${this.created},"model":${JSON.stringify(this.model)},${
          value.value.serviceTier ? `"service_tier":${JSON.stringify(value.value.serviceTier)},` : ""
        }"system_fingerprint":${value.value.systemFingerprint ? JSON.stringify(value.value.systemFingerprint) : "null"},`;
        this.startExtra = value.value.extra;
        this.prefix = `${this.prefixHead}${extraMembers(this.startExtra)}"choices":[`;
        return [];
      case "textDelta": {
        if (value.value.logprobs.length === 0) return [this.chunk(value.value.choiceIndex, { content: value.value.text })];
        return this.withLogprobs(value.value.choiceIndex, { content: value.value.text }, { content: toOpenAILogprobs(value.value.logprobs) });
      }
      case "refusalDelta": {
        if (value.value.logprobs.length === 0) return [this.chunk(value.value.choiceIndex, { refusal: value.value.text })];
        return this.withLogprobs(value.value.choiceIndex, { refusal: value.value.text }, { content: null, refusal: toOpenAILogprobs(value.value.logprobs) });
      }
      case "reasoningDelta":
        return this.reasoning(value.value);
      case "toolCallStart": {
        if (this.legacyFunctions) return value.value.index === 0 ? [this.chunk(value.value.choiceIndex, { function_call: { name: value.value.name, arguments: "" } })] : [];
        if (value.value.custom) {
          this.customCalls.add(`${value.value.choiceIndex}:${value.value.index}`);
          return [this.chunk(value.value.choiceIndex, { tool_calls: [{ index: value.value.index, id: value.value.id, type: "custom", custom: { name: value.value.name, input: "" } }] })];
        }
        const call: Record<string, unknown> = { index: value.value.index, id: value.value.id, type: "function", function: { name: value.value.name, arguments: "" } };
        if (value.value.extraContent) call.extra_content = value.value.extraContent;
        return [this.chunk(value.value.choiceIndex, { tool_calls: [call] })];
      }
      case "toolCallDelta":
        if (this.legacyFunctions) return value.value.index === 0 ? [this.chunk(value.value.choiceIndex, { function_call: { arguments: value.value.arguments } })] : [];
        if (this.customCalls.size > 0 && this.customCalls.has(`${value.value.choiceIndex}:${value.value.index}`)) return [this.chunk(value.value.choiceIndex, { tool_calls: [{ index: value.value.index, custom: { input: value.value.arguments } }] })];
        return [this.chunk(value.value.choiceIndex, { tool_calls: [{ index: value.value.index, function: { arguments: value.value.arguments } }] })];
      case "audioDelta":
        return [this.chunk(value.value.choiceIndex, { audio: toOpenAIAudio(value.value, false) })];
      case "annotationDelta": {
        // Held for the finish, like thinking blocks: the OpenAI SDK's accumulator keeps only the last `annotations` delta.
        const held = this.annotations.get(value.value.choiceIndex);
        const more = toOpenAIAnnotations(value.value.annotations);
        if (held) held.push(...more);
        else this.annotations.set(value.value.choiceIndex, more);
        return [];
      }
      case "finish": {
        const { choiceIndex } = value.value;
        const finish = this.chunk(choiceIndex, {}, finishName(value.value.finishReason, this.legacyFunctions));
        // Reasoning no signature closed (an OpenAI-compatible server's, Gemini thoughts whose signature rides on a call) goes whole too, unsigned.
        const unsigned = this.reasoningText.get(choiceIndex);
        if (unsigned) this.keepBlock(choiceIndex, { type: "thinking", thinking: unsigned });
        this.reasoningText.delete(choiceIndex);
        this.reasoningOverflow.delete(choiceIndex);
        const blocks = this.thinkingBlocks.get(choiceIndex);
        const annotations = this.annotations.get(choiceIndex);
        if (!blocks && !annotations) return [finish];
        this.thinkingBlocks.delete(choiceIndex);
        this.annotations.delete(choiceIndex);
        return [this.chunk(choiceIndex, { ...(annotations ? { annotations } : {}), ...(blocks ? { thinking_blocks: blocks } : {}) }), finish];
      }
      case "choiceExtra":
        return this.choiceExtra(value.value);
      case "chunkExtra": {
        // A chunk of its own with no choices, as OpenAI sends its moderation chunk.
        const extra = value.value.extra;
        if (!extra || Object.keys(extra).length === 0) return [];
        const members = extraMembers(this.newStartValues(extra));
        return [`${this.prefix}]${this.includeUsage ? ',"usage":null' : ""}${members ? `,${members.slice(0, -1)}` : ""}}`];
      }
      case "usage": {
        // Usage comes after the finishes: a choice_extra still waiting has no chunk left to join, and goes alone.
        const out = this.heldExtras.size > 0 ? [...this.heldExtras.values()].map((extra) => this.extraChunk(extra)) : [];
        this.heldExtras.clear();
        if (this.includeUsage) out.push(`${this.prefix}],"usage":${JSON.stringify(toOpenAIUsage(value.value))}}`);
        return out;
      }
      default:
        return [];
    }
  }
}
