import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { ChatInputSchema, MessageSchema, Role, type ChatInput, type FinishReason, type TokenLogprob, type Usage } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import { DEFAULT_TIMEOUTS, parseGatewayConfig, type ProviderAccount } from "../../../src/config/gateway-config.js";
import { GatewayError } from "../../../src/core/errors.js";
import { createOpenAIAdapter } from "../../../src/providers/openai/openai-adapter.js";
import type { CallOptions, ProviderAdapter } from "../../../src/providers/provider-adapter.js";
import type { ReplayTransport } from "../../support/replay-transport.js";

/** The fake key every OpenAI test account uses; tests assert it never leaks into error messages. */
export const TEST_API_KEY = "sk-proj-TESTKEY0123456789abcdefOPENAI";

type MessageInit = MessageInitShape<typeof MessageSchema>;

/** Builds a ChatInput from an init object. */
export function chatInput(init: MessageInitShape<typeof ChatInputSchema>): ChatInput {
  return create(ChatInputSchema, { model: "openai-main/gpt-4o-mini", ...init });
}

/** A message with the given role and text parts. */
export function textMessage(role: Role, ...texts: string[]): MessageInit {
  return { role, content: texts.map((text) => ({ part: { case: "text" as const, value: text } })) };
}

/** A user message with text parts. */
export const user = (...texts: string[]): MessageInit => textMessage(Role.USER, ...texts);

/** A tool result message. */
export function toolResult(toolCallId: string, text: string): MessageInit {
  return { role: Role.TOOL, toolCallId, content: [{ part: { case: "text", value: text } }] };
}

/** Builds the OpenAI adapter for a test account (type openai, OpenAI's base URL) over a replay transport. */
export function adapterFor(replay: ReplayTransport, account: { [K in keyof ProviderAccount]?: ProviderAccount[K] | undefined } = {}): ProviderAdapter {
  const config = parseGatewayConfig({}, { workers: 1 }).config;
  if (!config) throw new Error("default config did not parse");
  const merged: Record<string, unknown> = { name: "openai-main", type: "openai", apiKey: TEST_API_KEY, headers: {}, models: [], ...account };
  for (const key of Object.keys(merged)) if (merged[key] === undefined) delete merged[key];
  return createOpenAIAdapter({
    account: merged as unknown as ProviderAccount,
    transport: replay.transport,
    config,
  });
}

/** Call options for an upstream model. */
export function callOptions(upstreamModel: string, signal: AbortSignal = new AbortController().signal): CallOptions {
  return { upstreamModel, signal, timeouts: DEFAULT_TIMEOUTS };
}

/** Reads a whole async iterable. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Reads an async iterable until it throws; returns what came before and the error. */
export async function collectUntilError<T>(iterable: AsyncIterable<T>): Promise<{ items: T[]; error: GatewayError }> {
  const items: T[] = [];
  try {
    for await (const item of iterable) items.push(item);
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    return { items, error };
  }
  throw new Error("expected the iterable to throw");
}

/** Usage without the protobuf type tag. */
export interface UsageSummary {
  prompt: number;
  completion: number;
  total: number;
  cached: number;
  reasoning: number;
}

/** Usage summary with defaults for the counters a test does not care about. */
export function usage(fields: Partial<UsageSummary> & { prompt: number; completion: number }): UsageSummary {
  return { total: fields.prompt + fields.completion, cached: 0, reasoning: 0, ...fields };
}

function usageSummary(value: Usage): UsageSummary {
  return { prompt: value.promptTokens, completion: value.completionTokens, total: value.totalTokens, cached: value.cachedPromptTokens, reasoning: value.reasoningTokens };
}

/** A token logprob without the protobuf type tags. */
export interface LogprobSummary {
  token: string;
  logprob: number;
  bytes: number[];
  top: { token: string; logprob: number }[];
}

function logprobSummary(entries: readonly TokenLogprob[]): LogprobSummary[] {
  return entries.map((entry) => ({ token: entry.token, logprob: entry.logprob, bytes: Array.from(entry.bytes), top: entry.topLogprobs.map((top) => ({ token: top.token, logprob: top.logprob })) }));
}

/** A stream event as a readable tuple; choice indexes are explicit. */
export type EventSummary =
  | ["start", string]
  | ["text", number, string]
  | ["text+logprobs", number, string, LogprobSummary[]]
  | ["refusal", number, string]
  | ["reasoning", number, string]
  | ["tool_start", number, number, string, string]
  | ["tool_delta", number, number, string]
  | ["finish", number, FinishReason, string]
  | ["usage", UsageSummary]
  | ["other", string];

/** Turns stream events into tuples. */
export function summarize(events: readonly ChatStreamResponse[]): EventSummary[] {
  return events.map((event): EventSummary => {
    const e = event.event;
    switch (e.case) {
      case "responseStart":
        return ["start", e.value.id];
      case "textDelta":
        return e.value.logprobs.length > 0 ? ["text+logprobs", e.value.choiceIndex, e.value.text, logprobSummary(e.value.logprobs)] : ["text", e.value.choiceIndex, e.value.text];
      case "refusalDelta":
        return ["refusal", e.value.choiceIndex, e.value.text];
      case "reasoningDelta":
        return ["reasoning", e.value.choiceIndex, e.value.text];
      case "toolCallStart":
        return ["tool_start", e.value.choiceIndex, e.value.index, e.value.id, e.value.name];
      case "toolCallDelta":
        return ["tool_delta", e.value.choiceIndex, e.value.index, e.value.arguments];
      case "finish":
        return ["finish", e.value.choiceIndex, e.value.finishReason, e.value.rawFinishReason];
      case "usage":
        return ["usage", usageSummary(e.value)];
      default:
        return ["other", String(e.case)];
    }
  });
}

/** The JSON of an SSE stream made of the given data payloads (objects are stringified), ending with [DONE] unless told. */
export function sse(payloads: readonly (object | string)[], done = true): string {
  return payloads.map((payload) => `data: ${typeof payload === "string" ? payload : JSON.stringify(payload)}\n\n`).join("") + (done ? "data: [DONE]\n\n" : "");
}

/** One OpenAI chunk with one choice. */
export function chunk(delta: object, extra: { finish?: string | null; index?: number; id?: string; usage?: object } = {}): object {
  return {
    id: extra.id ?? "chatcmpl-hand",
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model: "gpt-4o-mini",
    choices: [{ index: extra.index ?? 0, delta, finish_reason: extra.finish ?? null }],
    ...(extra.usage ? { usage: extra.usage } : {}),
  };
}
