import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { ContentPartSchema, MessageSchema, ResponseFormatType, Role, type ChatInput } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import { gatewayError, type GatewayError, Reason } from "../errors.js";
import type { ResolvedTarget } from "../model-catalog.js";
import { textDeltaEvent } from "../stream-events.js";
import { estimateOutputTokens } from "../usage-estimate.js";

/** How a stream is continued on another target after content was sent: see {@link planRecovery}. */
export type RecoveryMode = "prefill" | "restart";

/**
 * What the caller has received so far on one stream. The stream driver records every event it
 * forwards; recovery decisions read it.
 */
export class DeliveredAnswer {
  /** Answer text of choice 0 sent so far. */
  text = "";
  /** Whether any model output (text, reasoning, refusal, tool call, finish) was sent. */
  contentSent = false;
  /** Characters of model output sent, every choice: text, reasoning, refusal, tool names and arguments (for usage estimates). */
  outputCharacters = 0;
  private toolCallSent = false;
  private refusalSent = false;
  private otherChoiceSent = false;
  /** What non-text content that rules out a recovery was streamed ("audio", "annotations"), if any. */
  private otherContentSent: string | undefined;
  private readonly open = new Set<number>();
  private readonly finished = new Set<number>();

  /** Records one forwarded event. */
  record(event: ChatStreamResponse): void {
    const value = event.event;
    switch (value.case) {
      case "textDelta":
      case "reasoningDelta":
      case "refusalDelta":
      case "toolCallStart":
      case "toolCallDelta":
        this.contentSent = true;
        this.open.add(value.value.choiceIndex);
        if (value.value.choiceIndex !== 0) this.otherChoiceSent = true;
        if (value.case === "textDelta" && value.value.choiceIndex === 0) this.text += value.value.text;
        if (value.case === "toolCallStart" || value.case === "toolCallDelta") this.toolCallSent = true;
        if (value.case === "refusalDelta") this.refusalSent = true;
        this.outputCharacters += value.case === "toolCallStart" ? value.value.name.length : value.case === "toolCallDelta" ? value.value.arguments.length : value.value.text.length;
        break;
      case "audioDelta":
      case "annotationDelta":
        // Spoken output and citations cannot be spliced into a recovered answer.
        this.contentSent = true;
        this.open.add(value.value.choiceIndex);
        this.otherContentSent = value.case === "audioDelta" ? "audio" : "annotations";
        if (value.case === "audioDelta") this.outputCharacters += value.value.transcript.length;
        break;
      case "finish":
        this.contentSent = true;
        this.open.delete(value.value.choiceIndex);
        this.finished.add(value.value.choiceIndex);
        break;
      default:
        break;
    }
  }

  /** Whether `choices` choices have finished: the answer is complete, only usage and the end may follow. */
  complete(choices: number): boolean {
    return this.finished.size >= choices;
  }

  /** Whether the stream may end here normally: some choice finished and none is left open. */
  endedCleanly(): boolean {
    return this.finished.size > 0 && this.open.size === 0;
  }

  /** Why the stream cannot be continued on another target, or undefined when it can. */
  recoveryBlocker(): string | undefined {
    if (this.toolCallSent) return "a tool call had already been streamed";
    if (this.refusalSent) return "a refusal had already been streamed";
    if (this.otherChoiceSent) return "several choices were being streamed";
    if (this.otherContentSent) return `${this.otherContentSent} had already been streamed`;
    if (this.finished.size > 0) return "a choice had already finished";
    return undefined;
  }
}

/** The request to send to a recovering target, and how its events are to be spliced. */
export interface RecoveryPlan {
  readonly mode: RecoveryMode;
  readonly input: ChatInput;
}

/**
 * Plans the continuation of a stream on `target` after `delivered` text was sent. A target whose
 * catalogue entry says `supports.prefill: true` (and that has not rejected a prefill during this
 * request) gets the delivered text as a trailing assistant message (appended to the caller's own
 * trailing assistant message, if any) and continues it, its max_tokens less the delivered text's
 * estimated tokens (at least 1); any other target gets the original request
 * again (restart). A prefill is never sent to a target without the capability, nor for an answer
 * bound to a json_schema.
 */
export function planRecovery(input: ChatInput, delivered: string, target: ResolvedTarget, prefillRejected: boolean): RecoveryPlan {
  // A json_schema answer may come from a provider as a tool call's input (Anthropic's emulation),
  // which starts a new JSON value and cannot continue the delivered text: such an answer restarts.
  const schemaBound = input.responseFormat?.type === ResponseFormatType.JSON_SCHEMA;
  if (delivered.length === 0 || target.catalogModel?.supports.prefill !== true || prefillRejected || schemaBound) return { mode: "restart", input };
  const messages = [...input.messages];
  const last = messages[messages.length - 1];
  const text = create(ContentPartSchema, { part: { case: "text", value: delivered } });
  if (last && last.role === Role.ASSISTANT && last.toolCalls.length === 0) {
    messages[messages.length - 1] = { ...last, content: [...last.content, text] };
  } else {
    messages.push(create(MessageSchema, { role: Role.ASSISTANT, content: [text] }));
  }
  // max_tokens bounds the whole answer: the continuation gets what the delivered text (estimated) left of it.
  const maxTokens = input.maxTokens === undefined ? undefined : Math.max(1, input.maxTokens - estimateOutputTokens(delivered.length));
  return { mode: "prefill", input: { ...input, messages, ...(maxTokens === undefined ? {} : { maxTokens }) } };
}

/** The first failure after content was sent, named in any later in-band error. */
export interface OriginalFailure {
  readonly target: string;
  readonly error: GatewayError;
}

/**
 * The in-band error that ends a stream which failed after content was sent and could not be
 * recovered: STREAM_INTERRUPTED naming the original failure and why recovery was not possible,
 * with the original's provider, upstream status and upstream code.
 */
export function interruptedError(original: OriginalFailure, why: string): GatewayError {
  const { error } = original;
  return gatewayError(
    Code.Unavailable,
    Reason.STREAM_INTERRUPTED,
    `the stream from ${original.target} failed after part of the answer was sent (${error.reason}: ${error.rawMessage}); ${why}`,
    {
      ...(error.facts.provider ? { provider: error.facts.provider } : {}),
      ...(error.facts.upstreamStatus ? { upstreamStatus: error.facts.upstreamStatus } : {}),
      ...(error.facts.upstreamCode ? { upstreamCode: error.facts.upstreamCode } : {}),
      ...(error.facts.upstreamExtra ? { upstreamExtra: error.facts.upstreamExtra } : {}),
      afterFirstByte: true,
    },
    error,
  );
}

/**
 * Splices a recovering target's events onto what the caller already has. Both modes drop the
 * target's response_start and reasoning (the caller's reasoning came from the first target).
 * `prefill`: everything else passes; when the delivered text ends in whitespace, leading
 * whitespace of the continuation is dropped (providers such as Anthropic trim a prefill's
 * trailing whitespace). `restart`: the new answer's text is matched against the delivered text;
 * only text beyond it is forwarded; a mismatch, or a tool call, refusal or finish before the
 * delivered text is matched, throws the in-band STREAM_INTERRUPTED error naming the original failure.
 * A choice_extra is no output: it passes as it is, except while a restart replays delivered text,
 * where it goes with the first event forwarded from its chunk, or not at all when that chunk is
 * wholly a replay.
 */
export class RecoverySplice {
  /** How much of the delivered text the restarted answer has repeated so far. */
  private replayed = 0;
  private matched: boolean;
  private trimLeading: boolean;
  /** Whether any event was forwarded from this target. */
  forwarded = false;
  /** The error thrown when the restarted answer diverged, if it did. */
  divergence: GatewayError | undefined;
  /** While a restart replays delivered text: the choice_extra of the chunk being matched, for the event that ends the replay. */
  private heldExtra: ChatStreamResponse | undefined;

  constructor(
    readonly mode: RecoveryMode,
    private readonly delivered: string,
    private readonly original: OriginalFailure,
    private readonly target: string,
  ) {
    this.matched = mode === "prefill" || delivered.length === 0;
    this.trimLeading = mode === "prefill" && /\s$/.test(delivered);
  }

  private diverged(): GatewayError {
    this.divergence = interruptedError(this.original, `the answer restarted on ${this.target} diverged from the text already sent`);
    return this.divergence;
  }

  /** The events to forward for one upstream event; throws when a restarted answer diverges. */
  accept(event: ChatStreamResponse): ChatStreamResponse[] {
    const value = event.event;
    if (value.case === "responseStart" || value.case === "reasoningDelta" || value.case === "routeSummary") return [];
    // Neither is model output: a restarted answer's own pass through as they are.
    if (value.case === "usage" || value.case === "chunkExtra") return [event];
    const out = this.matched ? [event] : this.match(event);
    const result: ChatStreamResponse[] = [];
    for (const next of out) {
      if (this.trimLeading && next.event.case === "textDelta") {
        const text = next.event.value.text.replace(/^\s+/, "");
        if (text.length === 0) continue;
        this.trimLeading = false;
        result.push(textDeltaEvent(next.event.value.choiceIndex, text, text === next.event.value.text ? next.event.value.logprobs : []));
        continue;
      }
      if (next.event.case !== "textDelta" && next.event.case !== "usage" && next.event.case !== "choiceExtra") this.trimLeading = false;
      result.push(next);
    }
    if (result.length > 0) this.forwarded = true;
    return result;
  }

  /** `event`, after the choice_extra held for its chunk, if any. */
  private withHeldExtra(event: ChatStreamResponse): ChatStreamResponse[] {
    const held = this.heldExtra;
    this.heldExtra = undefined;
    return held ? [held, event] : [event];
  }

  private match(event: ChatStreamResponse): ChatStreamResponse[] {
    const value = event.event;
    if (value.case === "choiceExtra") {
      // A standalone one belongs to a chunk of the replay only; another waits for its chunk's events.
      this.heldExtra = value.value.standalone ? undefined : event;
      return [];
    }
    if (value.case === "textDelta" && value.value.choiceIndex === 0) {
      // Each delta is compared where the replay stands: linear in the answer (accumulating the
      // replay and comparing it whole made a long restart quadratic).
      const text = value.value.text;
      const overlap = Math.min(text.length, this.delivered.length - this.replayed);
      if (!this.delivered.startsWith(overlap === text.length ? text : text.slice(0, overlap), this.replayed)) throw this.diverged();
      this.replayed += overlap;
      if (overlap === text.length) {
        if (this.replayed === this.delivered.length) this.matched = true;
        this.heldExtra = undefined;
        return [];
      }
      this.matched = true;
      return this.withHeldExtra(textDeltaEvent(0, text.slice(overlap)));
    }
    if (value.case === "finish" && this.replayed === this.delivered.length) {
      this.matched = true;
      return this.withHeldExtra(event);
    }
    throw this.diverged();
  }
}
