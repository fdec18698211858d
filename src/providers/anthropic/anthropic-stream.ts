import { FinishReason } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import {
  annotationDeltaEvent,
  finishEvent,
  reasoningDeltaEvent,
  refusalDeltaEvent,
  responseStartEvent,
  textDeltaEvent,
  toolCallDeltaEvent,
  toolCallStartEvent,
  usageEvent,
} from "../../core/stream-events.js";
import type { SseEvent, SseTranslator } from "../sse-decoder.js";
import { estimateOutputTokens } from "../../core/usage-estimate.js";
import { fromAnthropicStreamError } from "./anthropic-errors.js";
import { characterCount, fromAnthropicUsage, LOCAL_STOP_RAW_REASON, mapAnthropicStopReason, urlCitation, type AnthropicResponseContext } from "./anthropic-response.js";
import { findEarliestStop, holdBackLength, splitHeldTail } from "./anthropic-stop-sequences.js";
import { parseAnthropicStreamEvent, type AnthropicCitedSource, type AnthropicResponseBlock, type AnthropicStop, type AnthropicUsage } from "./anthropic-wire.js";

/** What the stream translator needs besides the events. */
export interface AnthropicStreamContext extends AnthropicResponseContext {
  /** The provider account, for errors raised by an upstream `error` event. */
  readonly provider: string;
}

interface OpenCall {
  /** Our dense tool-call index; undefined for the json_schema emulation tool, which streams as text. */
  readonly index: number | undefined;
  argumentsSeen: boolean;
}

/**
 * Translates Anthropic stream events (already SSE-decoded) into proto stream events, one event at a
 * time (push style: no generator per event). Guarantees, per the streaming state machine:
 * - response_start comes first, once, with the message id and the request warnings;
 * - text deltas pass through; thinking_delta and signature_delta become reasoning deltas;
 * - each tool_use block yields one tool_call_start with our own dense index from 0, then its
 *   non-empty argument fragments; a call that streamed no arguments gets "{}";
 * - the json_schema emulation tool streams its input as text deltas instead;
 * - message_delta only records the stop reason and cumulative usage; at message_stop a refusal
 *   explanation (if any) becomes a refusal delta, then one finish and one usage event follow;
 *   message_stop is Anthropic's clean end of a message, so one that no stop reason came before
 *   (stop_reason null, or no message_delta) finishes STOP with an empty raw reason, as the
 *   non-streaming path does;
 * - web sources a text block cites (in its content_block_start or citations_delta events) become
 *   one annotation_delta at its content_block_stop: `url_citation`s spanning the block's
 *   characters in the answer text; server tool blocks, their input and unknown blocks are skipped;
 * - ping and unknown events are ignored; an `error` event throws a GatewayError;
 * - a stream that ends without message_stop ends without a finish (the core reports it);
 * - a gateway-enforced stop sequence holds back the last (longest stop − 1) characters of text;
 *   on a match the text is cut, the web sources of a cited block the cut falls in become its
 *   `url_citation`s clipped to the cut (as the non-streaming path clips them), and finish STOP (raw
 *   "stop_sequence") and the usage follow (the completion tokens estimated from the delivered text
 *   and marked `estimated`: message_start's output count is a placeholder, and the real one comes
 *   only at the end), and the translator is done, which stops reading and closes the upstream.
 * @see https://docs.claude.com/en/docs/build-with-claude/streaming
 */
export class AnthropicStreamTranslator implements SseTranslator<ChatStreamResponse> {
  private readonly stops: readonly string[];
  private readonly hold: number;
  private readonly calls = new Map<number, OpenCall>();
  private started = false;
  private nextToolIndex = 0;
  private sawClientTool = false;
  private sawJsonTool = false;
  private pending = "";
  /** Characters of answer text read so far (held-back text included). */
  private characters = 0;
  /** Characters of thinking streamed so far: output Anthropic counts, for the estimate of a cut answer. */
  private thinkingCharacters = 0;
  /** The open text blocks that cite web sources, by block index: where each starts, and its sources. */
  private readonly cited = new Map<number, { start: number; sources: AnthropicCitedSource[] }>();
  private startUsage: AnthropicUsage = {};
  private deltaUsage: AnthropicUsage = {};
  private sawUsage = false;
  private stop: AnthropicStop = {};
  private ended = false;

  constructor(private readonly context: AnthropicStreamContext) {
    this.stops = context.localStopSequences;
    this.hold = holdBackLength(this.stops);
  }

  /** True after message_stop or a gateway-enforced stop: nothing more is read. */
  get done(): boolean {
    return this.ended;
  }

  /** Passes text through the stop-sequence check into `out`; true when a stop matched. */
  private text(fragment: string, out: ChatStreamResponse[]): boolean {
    this.characters += characterCount(fragment);
    if (this.stops.length === 0) {
      if (fragment !== "") out.push(textDeltaEvent(0, fragment));
      return false;
    }
    const buffer = this.pending + fragment;
    const at = findEarliestStop(buffer, this.stops);
    if (at !== -1) {
      // The answer ends at the cut: what was read beyond it is not part of it.
      this.characters -= characterCount(buffer.slice(at));
      this.pending = "";
      if (at !== 0) out.push(textDeltaEvent(0, buffer.slice(0, at)));
      return true;
    }
    const { emit, held } = splitHeldTail(buffer, this.hold);
    this.pending = held;
    if (emit !== "") out.push(textDeltaEvent(0, emit));
    return false;
  }

  /** The answer's usage, once an event carried any (a stream with none gets the gateway's estimate). */
  private usage(out: ChatStreamResponse[]): void {
    if (this.sawUsage) out.push(usageEvent(fromAnthropicUsage({ ...this.startUsage, ...this.deltaUsage })));
  }

  /** A content block's start (its first text, thinking or tool call); true when a gateway-enforced stop matched. */
  private startBlock(index: number, block: AnthropicResponseBlock, out: ChatStreamResponse[]): boolean {
    let stopped = false;
    if (block.type === "text") {
      this.cited.set(index, { start: this.characters, sources: [...block.sources] });
      stopped = this.text(block.text, out);
    } else if (block.type === "thinking") {
      if (block.thinking !== "") out.push(reasoningDeltaEvent(0, block.thinking));
      if (block.signature !== "") out.push(reasoningDeltaEvent(0, "", block.signature));
    } else if (block.type === "redacted_thinking") {
      if (block.data !== "") out.push(reasoningDeltaEvent(0, "", "", block.data));
    } else if (block.type === "tool_use") {
      const isJson = block.name === this.context.jsonToolName;
      const call: OpenCall = { index: isJson ? undefined : this.nextToolIndex++, argumentsSeen: false };
      this.calls.set(index, call);
      const initial = typeof block.input === "object" && block.input !== null && Object.keys(block.input).length > 0 ? JSON.stringify(block.input) : "";
      if (isJson) {
        this.sawJsonTool = true;
      } else {
        this.sawClientTool = true;
        // Text held back for a stop sequence goes before the call, in the order it was written.
        if (this.pending !== "") out.push(textDeltaEvent(0, this.pending));
        this.pending = "";
        out.push(toolCallStartEvent(0, call.index ?? 0, block.id, block.name));
      }
      if (initial !== "") {
        call.argumentsSeen = true;
        if (call.index === undefined) stopped = this.text(initial, out);
        else out.push(toolCallDeltaEvent(0, call.index, initial));
      }
    }
    return stopped;
  }

  /** A content block's end: its citations, and `{}` for a call that streamed no arguments; true when a gateway-enforced stop matched. */
  private stopBlock(index: number, out: ChatStreamResponse[]): boolean {
    let stopped = false;
    const cited = this.cited.get(index);
    this.cited.delete(index);
    if (cited && cited.sources.length > 0) out.push(annotationDeltaEvent(0, cited.sources.map((source) => urlCitation(source, cited.start, this.characters))));
    const call = this.calls.get(index);
    if (call && !call.argumentsSeen) {
      call.argumentsSeen = true;
      if (call.index === undefined) stopped = this.text("{}", out);
      else out.push(toolCallDeltaEvent(0, call.index, "{}"));
    }
    return stopped;
  }

  /**
   * The answer was cut at a gateway-enforced stop: the cited blocks the cut falls in get their
   * sources clipped to it, then the finish and the usage, and the upstream is closed (reading on
   * would keep the caller's stream open, and the model generating, for nothing). Anthropic's real
   * output count comes only with message_delta, so the completion tokens are the estimate of what
   * was delivered (the text, and the thinking before it, which Anthropic counts as output too),
   * marked `estimated`; the prompt side is message_start's.
   */
  private cutAnswer(out: ChatStreamResponse[]): void {
    const kept = this.characters;
    const notes = [...this.cited.values()].filter((block) => block.start < kept).flatMap((block) => block.sources.map((source) => urlCitation(source, block.start, kept)));
    this.cited.clear();
    if (notes.length > 0) out.push(annotationDeltaEvent(0, notes));
    out.push(finishEvent(0, FinishReason.STOP, LOCAL_STOP_RAW_REASON));
    if (this.sawUsage) {
      const usage = fromAnthropicUsage({ ...this.startUsage, ...this.deltaUsage, outputTokens: estimateOutputTokens(kept + this.thinkingCharacters) });
      usage.estimated = true;
      out.push(usageEvent(usage));
    }
    this.ended = true;
  }

  /** Translates one SSE event, appending the resulting events to `out`. */
  push(sse: SseEvent, out: ChatStreamResponse[]): void {
    const event = parseAnthropicStreamEvent(sse.data);
    if (event === undefined || event.type === "ping") return;
    if (event.type === "error") throw fromAnthropicStreamError(this.context.provider, event.error);
    if (!this.started) {
      this.started = true;
      const id = event.type === "message_start" ? event.id : "";
      const model = event.type === "message_start" ? event.model : "";
      out.push(responseStartEvent(id, model, this.context.created, [...this.context.warnings]));
    }
    let stopped = false;
    switch (event.type) {
      case "message_start":
        if (event.usage) {
          this.startUsage = event.usage;
          this.sawUsage = true;
        }
        this.stop = event.stop;
        // Blocks already written when the message starts (a resumed turn) read as if each had been streamed whole.
        for (const [index, block] of event.content.entries()) {
          stopped = this.startBlock(index, block, out) || this.stopBlock(index, out);
          if (stopped) break;
        }
        break;
      case "content_block_start":
        stopped = this.startBlock(event.index, event.block, out);
        break;
      case "content_block_delta": {
        const delta = event.delta;
        if (delta.type === "text_delta") {
          stopped = this.text(delta.text, out);
        } else if (delta.type === "input_json_delta") {
          const call = this.calls.get(event.index);
          if (call && delta.partialJson !== "") {
            call.argumentsSeen = true;
            if (call.index === undefined) stopped = this.text(delta.partialJson, out);
            else out.push(toolCallDeltaEvent(0, call.index, delta.partialJson));
          }
        } else if (delta.type === "thinking_delta") {
          if (delta.thinking !== "") {
            this.thinkingCharacters += characterCount(delta.thinking);
            out.push(reasoningDeltaEvent(0, delta.thinking));
          }
        } else if (delta.type === "signature_delta") {
          if (delta.signature !== "") out.push(reasoningDeltaEvent(0, "", delta.signature));
        } else if (delta.type === "citations_delta" && delta.source) {
          this.cited.get(event.index)?.sources.push(delta.source);
        }
        break;
      }
      case "content_block_stop":
        stopped = this.stopBlock(event.index, out);
        break;
      case "message_delta":
        this.stop = { ...this.stop, ...event.stop };
        if (event.usage) {
          this.deltaUsage = { ...this.deltaUsage, ...event.usage };
          this.sawUsage = true;
        }
        break;
      case "message_stop": {
        if (this.pending !== "") out.push(textDeltaEvent(0, this.pending));
        this.pending = "";
        this.ended = true;
        const stop = this.stop;
        // A stop_reason that stayed null still ends cleanly here: STOP, raw "" (only a stream cut
        // before message_stop goes without a finish).
        if (stop.stopReason === "refusal" && stop.explanation) out.push(refusalDeltaEvent(0, stop.explanation));
        out.push(finishEvent(0, mapAnthropicStopReason(stop.stopReason, { onlyJsonTool: this.sawJsonTool && !this.sawClientTool }), stop.stopReason ?? ""));
        this.usage(out);
        return;
      }
    }
    if (stopped) this.cutAnswer(out);
  }

  /** The end of the body: after message_stop or a cut nothing; without them, the text held back, and never an invented finish. */
  end(out: ChatStreamResponse[]): void {
    if (this.ended) return;
    if (this.pending !== "") out.push(textDeltaEvent(0, this.pending));
    this.pending = "";
  }
}
