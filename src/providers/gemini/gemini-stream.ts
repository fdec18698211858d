import { Code } from "@connectrpc/connect";
import { FinishReason } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import { gatewayError, Reason } from "../../core/errors.js";
import { finishEvent, reasoningDeltaEvent, responseStartEvent, textDeltaEvent, toolCallDeltaEvent, toolCallStartEvent, usageEvent } from "../../core/stream-events.js";
import { decodeSse } from "../sse-decoder.js";
import { fromGeminiError } from "./gemini-errors.js";
import { createToolCallId, mapGeminiFinishReason, thoughtSignatureExtra, toolCallIdOf, toProtoTokenLogprobs, toProtoUsage, type ToolCallObserver } from "./gemini-response.js";
import { parseGeminiResponse, type GeminiUsageMetadata } from "./gemini-wire.js";

function invalidChunk(detail: string): Error {
  return gatewayError(Code.Internal, Reason.INVALID_PROVIDER_RESPONSE, `Gemini sent an unreadable stream event: ${detail}`);
}

/**
 * Decodes a `streamGenerateContent?alt=sse` body into parsed JSON chunks (CRLF framing, no
 * `[DONE]`: the stream ends at EOF). Throws INVALID_PROVIDER_RESPONSE for an event that is not JSON.
 */
export async function* geminiSseChunks(body: AsyncIterable<Uint8Array>): AsyncGenerator<unknown> {
  for await (const event of decodeSse(body)) {
    const data = event.data.trim();
    if (!data) continue;
    try {
      yield JSON.parse(data);
    } catch {
      throw invalidChunk("not JSON");
    }
  }
}

/**
 * Parses the body of `streamGenerateContent` without `alt=sse`: one JSON array of chunks. The
 * gateway always asks for SSE; this exists for upstreams (or proxies) that answer with the array.
 */
export function geminiJsonArrayChunks(text: string): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidChunk("the JSON array body is not JSON");
  }
  return Array.isArray(parsed) ? parsed : [parsed];
}

/** What {@link fromGeminiStream} needs besides the chunks. */
export interface GeminiStreamContext {
  /** The provider account, for errors. */
  readonly provider: string;
  /** Fallback model name when chunks carry no modelVersion. */
  readonly upstreamModel: string;
  /** Warnings from the request translation, sent on response_start. */
  readonly warnings: readonly string[];
  /** Current time in ms (for `created`). */
  readonly now: () => number;
  readonly onToolCall: ToolCallObserver;
}

interface ChoiceState {
  nextToolIndex: number;
  hasToolCalls: boolean;
  finished: boolean;
}

/**
 * Translates Gemini stream chunks into proto stream events. Guarantees: response_start first (id
 * from responseId, warnings attached); text parts as text_delta (empty texts skipped), thought parts
 * as reasoning_delta; each functionCall (always complete in one chunk) as tool_call_start, with a
 * dense per-choice index from 0, a unique id and extra_content for its thought signature, followed
 * by one tool_call_delta holding the whole JSON arguments (`{}` when none); one finish per candidate
 * when its finishReason appears (tool_calls if it called a function); a blocked prompt is a
 * content_filter finish; usage is cumulative upstream, so only the last is kept and sent once at
 * EOF, after the finishes. A stream that ends without finishReason gets no finish (the core
 * reports it as interrupted). An `{"error":...}` chunk is thrown as a GatewayError.
 * @see https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
 */
export async function* fromGeminiStream(chunks: AsyncIterable<unknown> | Iterable<unknown>, context: GeminiStreamContext): AsyncGenerator<ChatStreamResponse> {
  const choices = new Map<number, ChoiceState>();
  const stateOf = (index: number): ChoiceState => {
    let state = choices.get(index);
    if (!state) {
      state = { nextToolIndex: 0, hasToolCalls: false, finished: false };
      choices.set(index, state);
    }
    return state;
  };
  let started = false;
  let usage: GeminiUsageMetadata | undefined;

  for await (const raw of chunks) {
    const chunk = parseGeminiResponse(raw);
    if (chunk.error) {
      // An error inside a 200 stream: body bytes had arrived (ErrorFacts.afterFirstByte), as for the other adapters.
      const error = fromGeminiError({ provider: context.provider, httpStatus: 200, error: chunk.error });
      throw gatewayError(error.code, error.reason, error.rawMessage, { ...error.facts, afterFirstByte: true }, error.cause);
    }
    if (!started) {
      started = true;
      const id = chunk.responseId ?? `gemini-${createToolCallId().slice(5)}`;
      yield responseStartEvent(id, chunk.modelVersion ?? context.upstreamModel, BigInt(Math.floor(context.now() / 1000)), [...context.warnings]);
    }
    if (chunk.usageMetadata) usage = chunk.usageMetadata;

    if (chunk.candidates.length === 0 && chunk.blockReason) {
      const state = stateOf(0);
      if (!state.finished) {
        state.finished = true;
        yield finishEvent(0, FinishReason.CONTENT_FILTER, chunk.blockReason);
      }
      continue;
    }

    for (const [position, candidate] of chunk.candidates.entries()) {
      const index = candidate.index ?? position;
      const state = stateOf(index);
      if (state.finished) continue;
      let logprobs = toProtoTokenLogprobs(candidate.logprobsResult);
      for (const part of candidate.parts) {
        if (part.functionCall) {
          const id = toolCallIdOf(part.functionCall);
          const toolIndex = state.nextToolIndex++;
          state.hasToolCalls = true;
          const signature = part.thoughtSignature;
          if (signature) context.onToolCall(id, signature);
          yield toolCallStartEvent(index, toolIndex, id, part.functionCall.name, signature ? thoughtSignatureExtra(signature) : undefined);
          yield toolCallDeltaEvent(index, toolIndex, JSON.stringify(part.functionCall.args));
        } else if (part.thought === true) {
          if (part.text || part.thoughtSignature) yield reasoningDeltaEvent(index, part.text ?? "", part.thoughtSignature ?? "");
        } else if (part.text) {
          yield textDeltaEvent(index, part.text, logprobs);
          logprobs = [];
        }
      }
      if (candidate.finishReason) {
        state.finished = true;
        yield finishEvent(index, mapGeminiFinishReason(candidate.finishReason, state.hasToolCalls), candidate.finishReason);
      }
    }
  }
  if (usage) yield usageEvent(toProtoUsage(usage));
}
