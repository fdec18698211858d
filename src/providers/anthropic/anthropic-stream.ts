import { FinishReason } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import {
  finishEvent,
  reasoningDeltaEvent,
  refusalDeltaEvent,
  responseStartEvent,
  textDeltaEvent,
  toolCallDeltaEvent,
  toolCallStartEvent,
  usageEvent,
} from "../../core/stream-events.js";
import type { SseEvent } from "../sse-decoder.js";
import { fromAnthropicStreamError } from "./anthropic-errors.js";
import { fromAnthropicUsage, LOCAL_STOP_RAW_REASON, mapAnthropicStopReason, type AnthropicResponseContext } from "./anthropic-response.js";
import { findEarliestStop, holdBackLength, splitHeldTail } from "./anthropic-stop-sequences.js";
import { parseAnthropicStreamEvent, type AnthropicStop, type AnthropicUsage } from "./anthropic-wire.js";

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
 * Translates Anthropic stream events (already SSE-decoded) into proto stream events, with the
 * state held in local variables. Guarantees, per the streaming state machine:
 * - response_start comes first, once, with the message id and the request warnings;
 * - text deltas pass through; thinking_delta and signature_delta become reasoning deltas;
 * - each tool_use block yields one tool_call_start with our own dense index from 0, then its
 *   non-empty argument fragments; a call that streamed no arguments gets "{}";
 * - the json_schema emulation tool streams its input as text deltas instead;
 * - message_delta only records the stop reason and cumulative usage; at message_stop a refusal
 *   explanation (if any) becomes a refusal delta, then one finish and one usage event follow;
 * - ping and unknown events are ignored; an `error` event throws a GatewayError;
 * - a stream that ends without message_stop ends without a finish (the core reports it);
 * - a gateway-enforced stop sequence holds back the last (longest stop − 1) characters of text;
 *   on a match the text is cut, finish STOP (raw "stop_sequence") and usage so far are emitted,
 *   and the generator returns, which stops reading and closes the upstream response.
 * @see https://docs.claude.com/en/docs/build-with-claude/streaming
 */
export async function* fromAnthropicStream(events: AsyncIterable<SseEvent>, context: AnthropicStreamContext): AsyncGenerator<ChatStreamResponse> {
  const stops = context.localStopSequences;
  const hold = holdBackLength(stops);
  const calls = new Map<number, OpenCall>();
  let started = false;
  let nextToolIndex = 0;
  let sawClientTool = false;
  let sawJsonTool = false;
  let pending = "";
  let startUsage: AnthropicUsage = {};
  let deltaUsage: AnthropicUsage = {};
  let stop: AnthropicStop = {};

  /** Passes text through the stop-sequence check; `stopped` is true when a stop matched. */
  const text = (fragment: string): { out: ChatStreamResponse[]; stopped: boolean } => {
    if (stops.length === 0) return { out: fragment === "" ? [] : [textDeltaEvent(0, fragment)], stopped: false };
    const buffer = pending + fragment;
    const at = findEarliestStop(buffer, stops);
    if (at !== -1) {
      pending = "";
      return { out: at === 0 ? [] : [textDeltaEvent(0, buffer.slice(0, at))], stopped: true };
    }
    const { emit, held } = splitHeldTail(buffer, hold);
    pending = held;
    return { out: emit === "" ? [] : [textDeltaEvent(0, emit)], stopped: false };
  };
  const usage = () => usageEvent(fromAnthropicUsage({ ...startUsage, ...deltaUsage }));

  for await (const sse of events) {
    const event = parseAnthropicStreamEvent(sse.data);
    if (event === undefined || event.type === "ping") continue;
    if (event.type === "error") throw fromAnthropicStreamError(context.provider, event.error);
    if (!started) {
      started = true;
      const id = event.type === "message_start" ? event.id : "";
      const model = event.type === "message_start" ? event.model : "";
      yield responseStartEvent(id, model, context.created, [...context.warnings]);
    }
    let result: { out: ChatStreamResponse[]; stopped: boolean } | undefined;
    switch (event.type) {
      case "message_start":
        startUsage = event.usage;
        break;
      case "content_block_start": {
        const block = event.block;
        if (block.type === "text") {
          result = text(block.text);
        } else if (block.type === "thinking") {
          if (block.thinking !== "") yield reasoningDeltaEvent(0, block.thinking);
          if (block.signature !== "") yield reasoningDeltaEvent(0, "", block.signature);
        } else if (block.type === "redacted_thinking") {
          if (block.data !== "") yield reasoningDeltaEvent(0, "", "", block.data);
        } else if (block.type === "tool_use") {
          const isJson = block.name === context.jsonToolName;
          const call: OpenCall = { index: isJson ? undefined : nextToolIndex++, argumentsSeen: false };
          calls.set(event.index, call);
          const initial = typeof block.input === "object" && block.input !== null && Object.keys(block.input).length > 0 ? JSON.stringify(block.input) : "";
          if (isJson) {
            sawJsonTool = true;
          } else {
            sawClientTool = true;
            yield toolCallStartEvent(0, call.index ?? 0, block.id, block.name);
          }
          if (initial !== "") {
            call.argumentsSeen = true;
            if (call.index === undefined) result = text(initial);
            else yield toolCallDeltaEvent(0, call.index, initial);
          }
        }
        break;
      }
      case "content_block_delta": {
        const delta = event.delta;
        if (delta.type === "text_delta") {
          result = text(delta.text);
        } else if (delta.type === "input_json_delta") {
          const call = calls.get(event.index);
          if (call && delta.partialJson !== "") {
            call.argumentsSeen = true;
            if (call.index === undefined) result = text(delta.partialJson);
            else yield toolCallDeltaEvent(0, call.index, delta.partialJson);
          }
        } else if (delta.type === "thinking_delta") {
          if (delta.thinking !== "") yield reasoningDeltaEvent(0, delta.thinking);
        } else if (delta.type === "signature_delta") {
          if (delta.signature !== "") yield reasoningDeltaEvent(0, "", delta.signature);
        }
        break;
      }
      case "content_block_stop": {
        const call = calls.get(event.index);
        if (call && !call.argumentsSeen) {
          call.argumentsSeen = true;
          if (call.index === undefined) result = text("{}");
          else yield toolCallDeltaEvent(0, call.index, "{}");
        }
        break;
      }
      case "message_delta":
        stop = { ...stop, ...event.stop };
        deltaUsage = { ...deltaUsage, ...event.usage };
        break;
      case "message_stop": {
        if (pending !== "") yield textDeltaEvent(0, pending);
        pending = "";
        if (stop.stopReason === "refusal" && stop.explanation) yield refusalDeltaEvent(0, stop.explanation);
        yield finishEvent(0, mapAnthropicStopReason(stop.stopReason, { onlyJsonTool: sawJsonTool && !sawClientTool }), stop.stopReason ?? "");
        yield usage();
        return;
      }
    }
    if (result) {
      yield* result.out;
      if (result.stopped) {
        yield finishEvent(0, FinishReason.STOP, LOCAL_STOP_RAW_REASON);
        yield usage();
        return;
      }
    }
  }
  // The upstream ended without message_stop: pass on what arrived, but never invent a finish.
  if (pending !== "") yield textDeltaEvent(0, pending);
}
