import type { JsonObject } from "@bufbuild/protobuf";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import type { Usage } from "../../../gen/switchyard/v1/chat_pb.js";
import { Code } from "@connectrpc/connect";
import { gatewayError, Reason } from "../../core/errors.js";
import {
  annotationDeltaEvent,
  audioDeltaEvent,
  choiceExtraEvent,
  choiceIndexOf,
  chunkExtraEvent,
  finishEvent,
  reasoningDeltaEvent,
  refusalDeltaEvent,
  responseStartEvent,
  textDeltaEvent,
  toolCallDeltaEvent,
  toolCallStartEvent,
  usageEvent,
  type AnswerFacts,
} from "../../core/stream-events.js";
import { setOwnEntry } from "../../core/own-entry.js";
import { unmodelledFields } from "../../core/unmodelled-fields.js";
import { distinctToolCallId } from "../generated-ids.js";
import type { SseEvent, SseTranslator } from "../sse-decoder.js";
import { fromOpenAIStreamError } from "./openai-errors.js";
import { ArgumentsClosure } from "./arguments-closure.js";
import { continuedCall, newChoiceCalls, opensAnotherCall, type ChoiceCalls, type OpenCall } from "./streamed-tool-calls.js";
import { answerExtras, CHOICE_KEYS, COMPLETION_KEYS, DELTA_KEYS } from "./openai-extras.js";
import { annotationsOf, audioFieldsOf, callArgumentsText, chunkedContent, contentLogprobsOf, createdSeconds, failedFinishError, fromOpenAILogprobs, fromOpenAIUsage, isRecord, mapOpenAIFinishReason, reasoningTextOf, toolCallList } from "./openai-response.js";
import type { OpenAITokenLogprob, OpenAIUsage } from "../../wire/openai-chat-completions.js";

/** No key: every entry of an object is kept ({@link answerExtras} of fields already picked). */
const NO_KEYS: ReadonlySet<string> = new Set();

interface LenientToolDelta {
  type?: unknown;
  custom?: unknown;
  index?: unknown;
  id?: unknown;
  function?: { name?: unknown; arguments?: unknown; parameters?: unknown };
  extra_content?: unknown;
}

interface LenientChoice {
  index?: unknown;
  delta?: { content?: unknown; refusal?: unknown; reasoning_content?: unknown; reasoning?: unknown; tool_calls?: unknown; function_call?: unknown; audio?: unknown; annotations?: unknown } | null;
  logprobs?: { content?: OpenAITokenLogprob[] | null; refusal?: OpenAITokenLogprob[] | null } | null;
  finish_reason?: unknown;
}

interface LenientChunk {
  id?: unknown;
  object?: unknown;
  created?: unknown;
  system_fingerprint?: unknown;
  service_tier?: unknown;
  choices?: LenientChoice[];
  usage?: OpenAIUsage | null;
  x_groq?: { usage?: OpenAIUsage } | null;
  error?: unknown;
}

/** INVALID_PROVIDER_RESPONSE for a stream event whose data is not JSON (as the Anthropic and Gemini translators answer it). */
function unreadableChunk(provider: string, data: string): Error {
  return gatewayError(Code.Internal, Reason.INVALID_PROVIDER_RESPONSE, `provider "${provider}" sent a stream event that is not JSON (${data.length} characters)`, { provider, afterFirstByte: true });
}

/** The system fingerprint and service tier a chunk states (every chunk of an OpenAI stream repeats them). */
function answerFactsOf(chunk: LenientChunk): AnswerFacts {
  return {
    ...(typeof chunk.system_fingerprint === "string" ? { systemFingerprint: chunk.system_fingerprint } : {}),
    ...(typeof chunk.service_tier === "string" ? { serviceTier: chunk.service_tier } : {}),
  };
}

/**
 * Translates an OpenAI-dialect SSE stream into proto stream events, one event at a time (push
 * style: no generator per chunk), normalising known upstream quirks: a first chunk with empty
 * choices (Azure), tool-call deltas without `index` (Mistral) or with non-dense indexes
 * (Anthropic's compat endpoint), arguments sent as objects, usage riding on the finish chunk
 * (Groq), content sent as an array of thinking and text chunks (Mistral's reasoning models), a
 * tool-call name that comes after the call's first delta (the call is held until it
 * does, or until the finish, then sent unnamed). Tool-call indexes are the gateway's own dense
 * per-choice counters; id and name are emitted once per call; a call that never received
 * arguments gets "{}". The usage event comes once, after the finishes: with a usage-only chunk
 * that follows them (so a stream whose `[DONE]` never comes still has usage), else at `[DONE]` or
 * the end. A choice's and its delta's fields the gateway does not model (Azure's
 * `content_filter_results`, OpenRouter's `reasoning_details`) go in a choice_extra ahead of that
 * choice's events of the chunk; a chunk without such fields costs one pass over the keys of each
 * choice and delta, and allocates nothing for it. Top-level fields the gateway does not model go on
 * response_start when they come up to the chunk that starts the answer (Perplexity's `citations`,
 * Azure's `prompt_filter_results`); one that first appears later, or comes again with another value
 * (OpenAI's `moderation`: a provisional report, then the final one), goes in a chunk_extra ahead of
 * that chunk's events: a field repeated with the value already sent is not sent again (Perplexity
 * repeats its fields on every chunk), nor is a `null` after a value (no report in that chunk, as the
 * OpenAI SDKs read it, not a withdrawal). A chunk without such fields costs one pass over its keys and
 * allocates nothing; one with them, a JSON text of each to compare. An in-stream `{"error":…}` throws.
 * A chunk that is not a JSON object is skipped.
 * @see https://platform.openai.com/docs/api-reference/chat-streaming
 */
export class OpenAIStreamTranslator implements SseTranslator<ChatStreamResponse> {
  private started = false;
  /** Top-level fields of the chunks so far that the gateway does not model, for response_start. */
  private startExtra: JsonObject | undefined;
  /** The JSON text of each unmodelled top-level field's value last sent (on response_start or in a chunk_extra), by key. */
  private readonly sentExtras = new Map<string, string>();
  private usage: Usage | undefined;
  private usageSent = false;
  /**
   * Usage came on a chunk before any finish (vLLM's `continuous_usage_stats`: a running count on
   * every chunk, per choice): a finish chunk's is then not the total, which the usage-only chunk
   * after the finishes (or the end) brings.
   */
  private runningUsage = false;
  private readonly callsByChoice = new Map<number, ChoiceCalls>();
  private readonly finished = new Set<number>();
  private ended = false;

  /** `warnings` go on the response_start event; `choices`: how many the request asked for (n), usage goes out once that many have finished. */
  constructor(
    private readonly provider: string,
    private readonly warnings: string[] = [],
    private readonly choices = 1,
  ) {}

  /** True once `[DONE]` arrived: nothing after it is read. */
  get done(): boolean {
    return this.ended;
  }

  /** Sends response_start with the chunk's fingerprint and tier and the unmodelled fields so far, which are not sent again. */
  private start(id: string, created: bigint, chunk: LenientChunk, out: ChatStreamResponse[]): void {
    this.started = true;
    const facts = answerFactsOf(chunk);
    if (this.startExtra) for (const key of Object.keys(this.startExtra)) this.sentExtras.set(key, JSON.stringify(this.startExtra[key]));
    out.push(responseStartEvent(id, "", created, this.warnings, this.startExtra ? { ...facts, extra: this.startExtra } : facts));
  }

  /**
   * The unmodelled top-level fields of a chunk after the start whose value differs from the one last
   * sent (a first value included), recorded as sent; undefined when there are none. A `null` after a
   * value is not a change: it reports nothing.
   */
  private changedExtras(chunk: Readonly<Record<string, unknown>>): JsonObject | undefined {
    const present = unmodelledFields(chunk, COMPLETION_KEYS);
    if (!present) return undefined;
    let changed: Record<string, unknown> | undefined;
    for (const key of Object.keys(present)) {
      const value = present[key];
      const sent = this.sentExtras.get(key);
      if (value === null && sent !== undefined) continue;
      // The raw value's text: what a Struct keeps of it (answerExtras) has the same text.
      const text = JSON.stringify(value);
      if (text === sent) continue;
      this.sentExtras.set(key, text);
      setOwnEntry((changed ??= {}), key, value);
    }
    return changed ? answerExtras(changed, NO_KEYS) : undefined;
  }

  /** Translates one SSE event, appending the resulting events to `out`. */
  push(event: SseEvent, out: ChatStreamResponse[]): void {
    const data = event.data;
    // `[DONE]` as the SDKs read it: also with trailing blanks (`data: [DONE] `, as Azure's samples and some servers write it).
    if (data.startsWith("[DONE]")) {
      this.ended = true;
      return;
    }
    // An event with no data carries nothing (some servers send them as keep-alives).
    if (data.trim() === "") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      // A chunk that cannot be read (cut, garbled) may have held content: the stream cannot end normally without it.
      throw unreadableChunk(this.provider, data);
    }
    // Google's error envelope in a one-element array (Gemini's OpenAI-compatible endpoint) is an error event.
    if (Array.isArray(parsed) && parsed.length === 1 && isRecord(parsed[0]) && isRecord(parsed[0].error)) throw fromOpenAIStreamError(parsed, this.provider);
    // JSON that is not a chunk object (null, another array) holds no content this format defines: skipped.
    if (!isRecord(parsed)) return;
    const chunk = parsed as LenientChunk;
    // OpenAI wraps a mid-stream error in {"error": …}; vLLM sends the error object itself ({"object": "error", "message", "code"}),
    // llama.cpp in an `error:` field (an event named error).
    if ((chunk.error !== undefined && chunk.error !== null) || chunk.object === "error" || event.event === "error") throw fromOpenAIStreamError(chunk, this.provider);
    if (!this.started) {
      // Top-level fields the gateway does not model, up to the chunk that starts the answer (Azure's prompt_filter_results come before it).
      const extra = answerExtras(chunk as Record<string, unknown>, COMPLETION_KEYS);
      if (extra) this.startExtra = this.startExtra ? { ...this.startExtra, ...extra } : extra;
    }
    if (this.started) {
      // A field that first appears after the start, or whose value changed (OpenAI's `moderation`), goes now, in an event of its own.
      const later = this.changedExtras(chunk as Record<string, unknown>);
      if (later) out.push(chunkExtraEvent(later));
    } else if (typeof chunk.id === "string" && chunk.id.length > 0) {
      this.start(chunk.id, createdSeconds(chunk.created), chunk, out);
    }
    const chunkUsage = isRecord(chunk.usage) ? chunk.usage : isRecord(chunk.x_groq) && isRecord(chunk.x_groq.usage) ? chunk.x_groq.usage : undefined;
    if (chunkUsage && !this.usageSent) {
      this.usage = fromOpenAIUsage(chunkUsage);
      if (this.finished.size === 0 && Array.isArray(chunk.choices) && chunk.choices.length > 0 && !chunk.choices.some((choice) => isRecord(choice) && choice.finish_reason)) this.runningUsage = true;
    }
    if (this.usage && this.finished.size > 0 && (!Array.isArray(chunk.choices) || chunk.choices.length === 0)) {
      // The usage-only chunk after the finishes ends the answer: emit it now, so that a stream whose [DONE] never comes still ends with usage.
      this.sendUsage(this.usage, out);
    }
    if (!Array.isArray(chunk.choices)) return;
    for (const choice of chunk.choices) {
      if (!isRecord(choice)) continue;
      if (!this.started) this.start(`chatcmpl-${crypto.randomUUID()}`, BigInt(Math.floor(Date.now() / 1000)), chunk, out);
      const choiceIndex = choiceIndexOf(choice.index, 0);
      // A finished choice is over: its deltas are not part of the answer. Its own fields still are
      // (Azure's asynchronous filter sends its last annotations after the finish).
      const finished = this.finished.has(choiceIndex);
      const extra = answerExtras(choice as Record<string, unknown>, CHOICE_KEYS);
      const deltaExtra = !finished && isRecord(choice.delta) ? answerExtras(choice.delta, DELTA_KEYS) : undefined;
      const mark = out.length;
      if (!finished) this.choiceEvents(choice, choiceIndex, out);
      // Ahead of the choice's events of this chunk, so the REST edge can put the fields back in the chunk it writes for them.
      if (extra || deltaExtra) out.splice(mark, 0, choiceExtraEvent(choiceIndex, extra, deltaExtra, out.length === mark));
    }
    // Every choice asked for has finished: usage that rode on a finish chunk (Groq, Mistral, vLLM) goes now, not
    // only at the end marker, which a connection cut or held open after the finish would delay or lose.
    if (this.usage && this.finished.size >= this.choices && !this.runningUsage) this.sendUsage(this.usage, out);
  }

  /** The events of one unfinished choice of a chunk: its delta's content, reasoning, refusal, tool calls, audio and annotations, then its finish. */
  private choiceEvents(choice: LenientChoice, choiceIndex: number, out: ChatStreamResponse[]): void {
    const delta = isRecord(choice.delta) ? choice.delta : {};
    const reasoning = reasoningTextOf(delta);
    if (reasoning) out.push(reasoningDeltaEvent(choiceIndex, reasoning));
    if (typeof delta.content === "string") {
      // An empty text still carries the logprobs of a token that is part of a character (its bytes come whole later).
      const logprobs = fromOpenAILogprobs(contentLogprobsOf(choice.logprobs));
      if (delta.content.length > 0 || logprobs.length > 0) out.push(textDeltaEvent(choiceIndex, delta.content, logprobs));
    } else if (Array.isArray(delta.content)) {
      // Mistral's reasoning models stream content as chunks: thinking, then text.
      const chunked = chunkedContent(delta.content);
      if (chunked.reasoning) out.push(reasoningDeltaEvent(choiceIndex, chunked.reasoning));
      if (chunked.text) out.push(textDeltaEvent(choiceIndex, chunked.text, fromOpenAILogprobs(contentLogprobsOf(choice.logprobs))));
    }
    if (typeof delta.refusal === "string") {
      const logprobs = fromOpenAILogprobs(isRecord(choice.logprobs) ? choice.logprobs.refusal : undefined);
      if (delta.refusal.length > 0 || logprobs.length > 0) out.push(refusalDeltaEvent(choiceIndex, delta.refusal, logprobs));
    }
    // One call object rather than a list: older text-generation-inference.
    if (Array.isArray(delta.tool_calls) || isRecord(delta.tool_calls)) this.toolCallEvents(choiceIndex, toolCallList(delta.tool_calls), out);
    // A legacy function_call delta (servers that still answer that way) is the choice's one tool call, as in a whole answer.
    else if (isRecord(delta.function_call)) this.toolCallEvents(choiceIndex, [{ index: 0, function: delta.function_call }], out);
    // Checked before reading: most chunks have neither, and this runs for every chunk.
    if (delta.audio !== undefined) {
      const audio = audioFieldsOf(delta.audio);
      if (audio) out.push(audioDeltaEvent(choiceIndex, audio));
    }
    if (Array.isArray(delta.annotations) && delta.annotations.length > 0) {
      const annotations = annotationsOf(delta.annotations);
      if (annotations.length > 0) out.push(annotationDeltaEvent(choiceIndex, annotations));
    }
    if (typeof choice.finish_reason === "string" && choice.finish_reason.length > 0) {
      const failed = failedFinishError(choice.finish_reason, this.provider, choiceIndex, true);
      if (failed) throw failed;
      this.finished.add(choiceIndex);
      this.closeCalls(choiceIndex, out);
      const calledTools = (this.callsByChoice.get(choiceIndex)?.all.length ?? 0) > 0;
      out.push(finishEvent(choiceIndex, mapOpenAIFinishReason(choice.finish_reason, { calledTools }), choice.finish_reason));
    }
  }

  /** Emits the answer's usage, once: a server that repeats it later is not read again. */
  private sendUsage(usage: Usage, out: ChatStreamResponse[]): void {
    out.push(usageEvent(usage));
    this.usage = undefined;
    this.usageSent = true;
  }

  /** Ends the stream (after `[DONE]` or at the end of the body): the pending usage, or a failure when nothing came. */
  end(out: ChatStreamResponse[]): void {
    if (!this.started) {
      throw gatewayError(Code.Unavailable, Reason.STREAM_INTERRUPTED, `provider "${this.provider}" ended the stream without sending anything`, { provider: this.provider, afterFirstByte: true });
    }
    // A call still waiting for its name when the stream ends goes out unnamed rather than lost.
    for (const [choiceIndex, calls] of this.callsByChoice) {
      for (const call of calls.all) if (!call.started) this.startCall(choiceIndex, calls, call, "", out);
    }
    if (this.usage) out.push(usageEvent(this.usage));
    this.usage = undefined;
  }

  /** Finishes a choice's calls: one whose name never came starts now (unnamed); one without arguments gets "{}". */
  private closeCalls(choiceIndex: number, out: ChatStreamResponse[]): void {
    const calls = this.callsByChoice.get(choiceIndex);
    if (!calls) return;
    for (const call of calls.all) {
      if (!call.started) this.startCall(choiceIndex, calls, call, "", out);
      if (!call.argumentsSeen && !call.custom) {
        call.argumentsSeen = true;
        out.push(toolCallDeltaEvent(choiceIndex, call.index, "{}"));
      }
    }
  }

  /** Sends tool_call_start, then the arguments that came before the name. */
  private startCall(choiceIndex: number, calls: ChoiceCalls, call: OpenCall, name: string, out: ChatStreamResponse[]): void {
    call.started = true;
    call.name = name;
    out.push(toolCallStartEvent(choiceIndex, call.index, distinctToolCallId(call.startId, calls.sentIds), name, call.extra, call.custom));
    if (call.heldArguments !== "") {
      out.push(toolCallDeltaEvent(choiceIndex, call.index, call.heldArguments));
      call.heldArguments = "";
    }
  }

  private toolCallEvents(choiceIndex: number, deltas: readonly unknown[], out: ChatStreamResponse[]): void {
    let calls = this.callsByChoice.get(choiceIndex);
    if (!calls) {
      calls = newChoiceCalls();
      this.callsByChoice.set(choiceIndex, calls);
    }
    for (const raw of deltas) {
      if (!isRecord(raw)) continue;
      const delta = raw as LenientToolDelta;
      const id = typeof delta.id === "string" && delta.id.length > 0 ? delta.id : undefined;
      const upstreamIndex = typeof delta.index === "number" && Number.isInteger(delta.index) ? delta.index : undefined;
      // A custom tool's call streams `custom: {name, input}` where a function call streams `function: {name, arguments}`.
      const custom = isRecord(delta.custom) ? delta.custom : undefined;
      const fn = custom ?? (isRecord(delta.function) ? delta.function : {});
      const name = typeof fn.name === "string" ? fn.name : "";
      const args = custom ? (typeof custom.input === "string" ? custom.input : "") : callArgumentsText(fn);
      let extra = isRecord(delta.extra_content) ? (delta.extra_content as JsonObject) : undefined;
      let callName = name;
      let call = continuedCall(calls, upstreamIndex, id);
      const repeated = call?.repeated;
      if (call) call.repeated = undefined;
      if (call && opensAnotherCall(call, name)) {
        // The same name again and nothing else: only arguments that follow can tell a second call from a repeat.
        if (name === call.name && args.length === 0) {
          call.repeated = { extra };
          continue;
        }
        call = undefined;
      } else if (call && repeated && args.length > 0 && call.arguments.complete()) {
        callName = call.name;
        extra = repeated.extra;
        call = undefined;
      }
      if (!call) {
        call = { index: calls.all.length, id: id ?? "", argumentsSeen: false, started: false, startId: id, extra, heldArguments: "", name: "", arguments: new ArgumentsClosure(), custom: custom !== undefined || delta.type === "custom" };
        calls.all.push(call);
      }
      if (!call.started) {
        call.startId ??= id;
        // Some OpenAI-compatible servers send the name after the first delta: hold the call until it comes.
        if (callName !== "") this.startCall(choiceIndex, calls, call, callName, out);
      }
      if (upstreamIndex !== undefined) calls.byIndex.set(upstreamIndex, call);
      if (id !== undefined && !calls.byId.has(id)) calls.byId.set(id, call);
      calls.last = call;
      if (args.length > 0) {
        call.argumentsSeen = true;
        call.arguments.append(args);
        if (call.started) out.push(toolCallDeltaEvent(choiceIndex, call.index, args));
        else call.heldArguments += args;
      }
    }
  }
}
