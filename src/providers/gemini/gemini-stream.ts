import { Code } from "@connectrpc/connect";
import { FinishReason } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import { gatewayError, Reason } from "../../core/errors.js";
import { choiceIndexOf, finishEvent, reasoningDeltaEvent, responseStartEvent, textDeltaEvent, toolCallDeltaEvent, toolCallStartEvent, usageEvent } from "../../core/stream-events.js";
import { randomBase62 } from "../generated-ids.js";
import type { SseEvent, SseTranslator } from "../sse-decoder.js";
import { fromGeminiError } from "./gemini-errors.js";
import { droppedPartsWarning, finishWarning, mapGeminiFinishReason, reasoningSignatureOf, thoughtSignatureExtra, toolCallIdOf, toProtoTokenLogprobs, toProtoUsage, type ToolCallObserver } from "./gemini-response.js";
import { PartialArguments, type GeminiPartialArg } from "./gemini-partial-args.js";
import { parseGeminiResponse, type GeminiResponsePart, type GeminiUsageMetadata } from "./gemini-wire.js";

function invalidChunk(detail: string): Error {
  return gatewayError(Code.Internal, Reason.INVALID_PROVIDER_RESPONSE, `Gemini sent an unreadable stream event: ${detail}`);
}

/** What a {@link GeminiStreamTranslator} needs besides the chunks. */
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
  /** How many candidates were asked for (n); the usage goes early only once that many have finished. Default 1. */
  readonly choices?: number;
}

interface ChoiceState {
  nextToolIndex: number;
  hasToolCalls: boolean;
  finished: boolean;
  /** A call whose arguments Gemini streams in pieces: its tool index and the arguments so far, sent whole when it ends. */
  streamedCall: { readonly toolIndex: number; readonly args: PartialArguments } | undefined;
  /**
   * The candidate's last finishReason, sent when the body ends (or the answer settles, see
   * {@link GeminiStreamTranslator.settled}); cleared by more of the candidate without one.
   */
  provisionalFinish: string | undefined;
  /** Whether that finish came with code the model runs (its result and the model's answer on it follow): the answer is not settled then. */
  codeToRun: boolean;
}

/** The part kind after which a finishReason is not the end: Gemini sends `STOP` with the `executableCode` it then runs (its result follows) and answers on. */
const CODE_TO_RUN = "executableCode";

/** Whether a part is more of the answer (not an empty text part, which some chunks carry after the finish). */
function carriesContent(part: GeminiResponsePart): boolean {
  return !!(part.text || part.functionCall || part.callPiece || part.thoughtSignature || part.unsupported);
}

/**
 * Translates Gemini stream chunks into proto stream events, one at a time (push style: no
 * generator per chunk). Each SSE event of `streamGenerateContent?alt=sse` is one JSON chunk (CRLF
 * framing, no `[DONE]`: the stream ends at EOF; an event that is not JSON is
 * INVALID_PROVIDER_RESPONSE). Guarantees: response_start first (id
 * from responseId, warnings attached); text parts as text_delta (empty texts skipped), thought parts
 * as reasoning_delta (signatures tagged `gemini:`, see reasoningSignatureOf); each functionCall
 * (always complete in one chunk) as tool_call_start, with a dense per-choice index from 0, a unique
 * id and extra_content for its (raw) thought signature, followed
 * by one tool_call_delta holding the whole JSON arguments (`{}` when none); parts the gateway does
 * not translate (code execution, images, files) dropped, with a warning when they come in the first
 * chunk (later there is no start left to carry it); one finish per candidate, with its last
 * finishReason (tool_calls if it called a function), when the body ends: a finishReason is not the
 * end by itself, since Gemini has sent `STOP` on every chunk of an answer (the API of 2024, still
 * served by some models and proxies) and with the `executableCode` it then runs; more of the
 * candidate after it, without its own finishReason, clears it. The answer is {@link settled} once
 * every candidate has such a finish (not one with code to run), so a connection held open or cut
 * after the last chunk still ends it (sseAnswer). A blocked prompt is a content_filter finish at
 * once. Usage is cumulative upstream, so only the last is kept, and sent once at the end, after the
 * finishes. A stream that ends without finishReason gets no finish (the core reports it as
 * interrupted). An `{"error":...}` chunk is thrown as a GatewayError.
 * @see https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
 */
export class GeminiStreamTranslator implements SseTranslator<ChatStreamResponse> {
  private readonly choices = new Map<number, ChoiceState>();
  private started = false;
  private usage: GeminiUsageMetadata | undefined;
  private usageSent = false;
  constructor(private readonly context: GeminiStreamContext) {}

  /** Gemini streams have no end marker: the body's end ends them. */
  readonly done = false;

  /**
   * Whether the answer would be complete if the body ended now: every candidate asked for has a
   * finishReason with nothing after it (and no code still to run), or was blocked.
   */
  get settled(): boolean {
    if (this.choices.size < (this.context.choices ?? 1)) return false;
    for (const state of this.choices.values()) if (!state.finished && (state.provisionalFinish === undefined || state.codeToRun)) return false;
    return true;
  }

  /** Translates one SSE event (one JSON chunk). */
  push(event: SseEvent, out: ChatStreamResponse[]): void {
    const data = event.data.trim();
    if (!data) return;
    let raw: unknown;
    try {
      raw = JSON.parse(data);
    } catch {
      throw invalidChunk("not JSON");
    }
    this.chunk(raw, out);
  }

  /** Translates one parsed chunk, appending the resulting events to `out`. */
  chunk(raw: unknown, out: ChatStreamResponse[]): void {
    const { context } = this;
    const chunk = parseGeminiResponse(raw);
    if (chunk.error) {
      // An error inside a 200 stream: body bytes had arrived (ErrorFacts.afterFirstByte), as for the other adapters.
      const error = fromGeminiError({ provider: context.provider, httpStatus: 200, error: chunk.error });
      throw gatewayError(error.code, error.reason, error.rawMessage, { ...error.facts, afterFirstByte: true }, error.cause);
    }
    if (!this.started) {
      this.started = true;
      const id = chunk.responseId ?? `gemini-${randomBase62(24)}`;
      // A malformed finish in the first chunk (the usual MALFORMED_FUNCTION_CALL answer) is still in
      // time for the start's warnings, as a whole answer's would be; a later one has no place left.
      const finishWarnings = chunk.candidates.map((candidate, position) => finishWarning(candidate.finishReason ?? "", choiceIndexOf(candidate.index, position))).filter((warning): warning is string => warning !== undefined);
      // Likewise for parts the gateway drops: those of the first chunk still reach the start's warnings.
      const dropped = droppedPartsWarning(chunk.candidates);
      out.push(responseStartEvent(id, chunk.modelVersion ?? context.upstreamModel, BigInt(chunk.createdSeconds ?? Math.floor(context.now() / 1000)), [...context.warnings, ...finishWarnings, ...(dropped ? [dropped] : [])]));
    }
    if (chunk.usageMetadata) this.usage = chunk.usageMetadata;

    if (chunk.candidates.length === 0 && chunk.blockReason) {
      const state = this.stateOf(0);
      if (!state.finished) {
        state.finished = true;
        out.push(finishEvent(0, FinishReason.CONTENT_FILTER, chunk.blockReason));
      }
      return;
    }

    for (const [position, candidate] of chunk.candidates.entries()) {
      const index = choiceIndexOf(candidate.index, position);
      const state = this.stateOf(index);
      if (state.finished) continue;
      // More of the candidate: the finish before it was not the end (an empty text part is not more).
      if (candidate.parts.some(carriesContent)) state.provisionalFinish = undefined;
      let logprobs = toProtoTokenLogprobs(candidate.logprobsResult);
      // Adjacent text parts of one event go out as one delta (an event of 100,000 one-letter parts was 100,000 chunks).
      let text = "";
      const flushText = () => {
        if (!text) return;
        out.push(textDeltaEvent(index, text, logprobs));
        logprobs = [];
        text = "";
      };
      for (const part of candidate.parts) {
        if (part.text && part.thought !== true && !part.functionCall && !part.thoughtSignature) {
          text += part.text;
          continue;
        }
        flushText();
        if (part.functionCall) {
          // A call still being streamed ends where the next begins: its arguments go first.
          this.endStreamedCall(index, state, out);
          const id = toolCallIdOf(part.functionCall);
          const toolIndex = state.nextToolIndex++;
          state.hasToolCalls = true;
          const signature = part.thoughtSignature;
          if (signature) context.onToolCall(id, signature);
          out.push(toolCallStartEvent(index, toolIndex, id, part.functionCall.name, signature ? thoughtSignatureExtra(signature) : undefined));
          const pieces = part.functionCall.partialArgs;
          if (part.functionCall.willContinue || pieces) {
            // Pieces may come with the name too; a call that does not go on ends with them.
            state.streamedCall = { toolIndex, args: new PartialArguments(part.functionCall.args) };
            this.addPieces(state, pieces ?? []);
            if (!part.functionCall.willContinue) this.endStreamedCall(index, state, out);
          } else {
            out.push(toolCallDeltaEvent(index, toolIndex, JSON.stringify(part.functionCall.args)));
          }
        } else if (part.callPiece) {
          if (!state.streamedCall) continue;
          this.addPieces(state, part.callPiece.partialArgs);
          if (!part.callPiece.willContinue) this.endStreamedCall(index, state, out);
        } else if (part.thought === true) {
          const signature = reasoningSignatureOf(part);
          if (part.text || signature) out.push(reasoningDeltaEvent(index, part.text ?? "", signature));
        } else if (part.thoughtSignature) {
          // An answer part's signature (Gemini 3 signs its text): reasoning that is only a signature, ahead of the text.
          out.push(reasoningDeltaEvent(index, "", reasoningSignatureOf(part)));
          text += part.text ?? "";
        }
      }
      flushText();
      // Logprobs of an event with no text (an empty part, the end-of-sequence token) are still the answer's.
      if (logprobs.length > 0) out.push(textDeltaEvent(index, "", logprobs));
      if (candidate.finishReason) {
        state.provisionalFinish = candidate.finishReason;
        state.codeToRun = candidate.parts[candidate.parts.length - 1]?.unsupported === CODE_TO_RUN;
      }
    }
  }

  /** Adds pieces of the streamed call's arguments; a path it cannot read makes the event unreadable (rather than the arguments wrong). */
  private addPieces(state: ChoiceState, pieces: readonly GeminiPartialArg[]): void {
    const call = state.streamedCall;
    if (!call) return;
    for (const piece of pieces) if (!call.args.add(piece)) throw invalidChunk("a streamed function call argument path the gateway cannot read");
  }

  /** Sends the arguments of the call being streamed, if one is, whole. */
  private endStreamedCall(index: number, state: ChoiceState, out: ChatStreamResponse[]): void {
    const call = state.streamedCall;
    if (!call) return;
    state.streamedCall = undefined;
    out.push(toolCallDeltaEvent(index, call.toolIndex, call.args.json()));
  }

  private finish(index: number, state: ChoiceState, reason: string, out: ChatStreamResponse[]): void {
    this.endStreamedCall(index, state, out);
    state.finished = true;
    state.provisionalFinish = undefined;
    out.push(finishEvent(index, mapGeminiFinishReason(reason, state.hasToolCalls), reason));
  }

  /** The end of the stream: each candidate's last finish that had nothing after it, then the last usage, once. */
  end(out: ChatStreamResponse[]): void {
    const pending = [...this.choices].filter(([, state]) => !state.finished && state.provisionalFinish !== undefined).sort(([a], [b]) => a - b);
    for (const [index, state] of pending) this.finish(index, state, state.provisionalFinish as string, out);
    if (this.usage && !this.usageSent) out.push(usageEvent(toProtoUsage(this.usage)));
    this.usageSent = true;
  }

  private stateOf(index: number): ChoiceState {
    let state = this.choices.get(index);
    if (!state) {
      state = { nextToolIndex: 0, hasToolCalls: false, finished: false, provisionalFinish: undefined, codeToRun: false, streamedCall: undefined };
      this.choices.set(index, state);
    }
    return state;
  }
}
