import type { JsonObject } from "@bufbuild/protobuf";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import type { Usage } from "../../../gen/switchyard/v1/chat_pb.js";
import { Code } from "@connectrpc/connect";
import { gatewayError, Reason } from "../../core/errors.js";
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
import { fromOpenAIError } from "./openai-errors.js";
import { argumentsText, fromOpenAILogprobs, fromOpenAIUsage, mapOpenAIFinishReason } from "./openai-response.js";
import type { OpenAITokenLogprob, OpenAIUsage } from "../../wire/openai-chat-completions.js";

interface LenientToolDelta {
  index?: unknown;
  id?: unknown;
  function?: { name?: unknown; arguments?: unknown };
  extra_content?: unknown;
}

interface LenientChunk {
  id?: unknown;
  created?: unknown;
  choices?: {
    index?: unknown;
    delta?: { content?: unknown; refusal?: unknown; reasoning_content?: unknown; reasoning?: unknown; tool_calls?: unknown } | null;
    logprobs?: { content?: OpenAITokenLogprob[] | null } | null;
    finish_reason?: unknown;
  }[];
  usage?: OpenAIUsage | null;
  x_groq?: { usage?: OpenAIUsage } | null;
  error?: unknown;
}

/** State of one open tool call of one choice. */
interface OpenCall {
  readonly index: number;
  argumentsSeen: boolean;
}

/**
 * Translates an OpenAI-dialect SSE stream into proto stream events, normalising known upstream
 * quirks: a first chunk with empty choices (Azure), tool-call deltas without `index` (Mistral) or
 * with non-dense indexes (Anthropic's compat endpoint), arguments sent as objects, usage riding on
 * the finish chunk (Groq). Tool-call indexes are the gateway's own dense per-choice counters; id
 * and name are emitted once per call; a call that never received arguments gets "{}". The usage
 * event comes once, after the finishes, at `[DONE]` or EOF. An in-stream `{"error":…}` throws.
 * A chunk that is not JSON is skipped (counted in `malformed`).
 * @see https://platform.openai.com/docs/api-reference/chat-streaming
 */
export async function* fromOpenAIStream(events: AsyncIterable<SseEvent>, provider: string, stats: { malformed: number } = { malformed: 0 }): AsyncGenerator<ChatStreamResponse> {
  let started = false;
  let usage: Usage | undefined;
  const callsByChoice = new Map<number, { byKey: Map<string, OpenCall>; next: number; lastKey: string | undefined }>();
  const finished = new Set<number>();

  function* closeCalls(choiceIndex: number): Generator<ChatStreamResponse> {
    const calls = callsByChoice.get(choiceIndex);
    if (!calls) return;
    for (const call of calls.byKey.values()) {
      if (!call.argumentsSeen) {
        call.argumentsSeen = true;
        yield toolCallDeltaEvent(choiceIndex, call.index, "{}");
      }
    }
  }

  for await (const event of events) {
    const data = event.data;
    if (data === "[DONE]") break;
    let chunk: LenientChunk;
    try {
      chunk = JSON.parse(data) as LenientChunk;
    } catch {
      stats.malformed++;
      continue;
    }
    if (chunk === null || typeof chunk !== "object") {
      stats.malformed++;
      continue;
    }
    if (chunk.error !== undefined && chunk.error !== null) throw fromOpenAIError(0, chunk, provider);
    if (!started && typeof chunk.id === "string" && chunk.id.length > 0) {
      started = true;
      const created = typeof chunk.created === "number" && chunk.created > 0 ? chunk.created : Math.floor(Date.now() / 1000);
      yield responseStartEvent(chunk.id, "", BigInt(Math.floor(created)));
    }
    const chunkUsage = chunk.usage ?? chunk.x_groq?.usage;
    if (chunkUsage && typeof chunkUsage === "object") usage = fromOpenAIUsage(chunkUsage);
    if (!Array.isArray(chunk.choices)) continue;
    for (const choice of chunk.choices) {
      if (!started) {
        started = true;
        yield responseStartEvent(`chatcmpl-${crypto.randomUUID()}`, "", BigInt(Math.floor(Date.now() / 1000)));
      }
      const choiceIndex = typeof choice.index === "number" ? choice.index : 0;
      const delta = choice.delta ?? {};
      const reasoning = typeof delta.reasoning_content === "string" ? delta.reasoning_content : typeof delta.reasoning === "string" ? delta.reasoning : "";
      if (reasoning) yield reasoningDeltaEvent(choiceIndex, reasoning);
      if (typeof delta.content === "string" && delta.content.length > 0) {
        yield textDeltaEvent(choiceIndex, delta.content, fromOpenAILogprobs(choice.logprobs?.content));
      }
      if (typeof delta.refusal === "string" && delta.refusal.length > 0) yield refusalDeltaEvent(choiceIndex, delta.refusal);
      if (Array.isArray(delta.tool_calls)) {
        let calls = callsByChoice.get(choiceIndex);
        if (!calls) {
          calls = { byKey: new Map(), next: 0, lastKey: undefined };
          callsByChoice.set(choiceIndex, calls);
        }
        for (const raw of delta.tool_calls as LenientToolDelta[]) {
          const id = typeof raw.id === "string" && raw.id.length > 0 ? raw.id : undefined;
          const key = (typeof raw.index === "number" ? `i${raw.index}` : id !== undefined ? `id:${id}` : calls.lastKey) ?? `n${calls.next}`;
          let call = calls.byKey.get(key);
          if (!call) {
            call = { index: calls.next++, argumentsSeen: false };
            calls.byKey.set(key, call);
            const name = typeof raw.function?.name === "string" ? raw.function.name : "";
            const extra = raw.extra_content && typeof raw.extra_content === "object" ? (raw.extra_content as JsonObject) : undefined;
            yield toolCallStartEvent(choiceIndex, call.index, id ?? `call_${crypto.randomUUID().replace(/-/g, "").slice(0, 24)}`, name, extra);
          }
          calls.lastKey = key;
          const args = argumentsText(raw.function?.arguments);
          if (args.length > 0) {
            call.argumentsSeen = true;
            yield toolCallDeltaEvent(choiceIndex, call.index, args);
          }
        }
      }
      if (typeof choice.finish_reason === "string" && choice.finish_reason.length > 0 && !finished.has(choiceIndex)) {
        finished.add(choiceIndex);
        yield* closeCalls(choiceIndex);
        yield finishEvent(choiceIndex, mapOpenAIFinishReason(choice.finish_reason), choice.finish_reason);
      }
    }
  }
  if (!started) {
    throw gatewayError(Code.Unavailable, Reason.STREAM_INTERRUPTED, `provider "${provider}" ended the stream without sending anything`, { provider, afterFirstByte: true });
  }
  if (usage) yield usageEvent(usage);
}
