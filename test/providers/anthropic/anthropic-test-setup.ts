import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { ChatInputSchema, FinishReason, MessageSchema, Role, type ChatInput, type Usage } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import { DEFAULT_TIMEOUTS, parseGatewayConfig, type CatalogModel, type ProviderAccount } from "../../../src/config/gateway-config.js";
import { createAnthropicAdapter } from "../../../src/providers/anthropic/anthropic-adapter.js";
import type { CallOptions, ProviderAdapter } from "../../../src/providers/provider-adapter.js";
import type { ReplayTransport } from "../../support/replay-transport.js";

/** The fake key every test account uses; tests assert it never leaks into error messages. */
export const TEST_API_KEY = "sk-ant-api03-TESTKEY0123456789abcdef";

type MessageInit = MessageInitShape<typeof MessageSchema>;

/** Builds a ChatInput from an init object (model defaults to an anthropic account). */
export function chatInput(init: MessageInitShape<typeof ChatInputSchema>): ChatInput {
  return create(ChatInputSchema, { model: "anthropic-main/claude", ...init });
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

/** Builds the adapter for a test account over a replay transport. */
export function adapterFor(replay: ReplayTransport, account: Partial<ProviderAccount> = {}): ProviderAdapter {
  const config = parseGatewayConfig({}, { workers: 1 }).config;
  if (!config) throw new Error("default config did not parse");
  return createAnthropicAdapter({
    account: { name: "anthropic-main", type: "anthropic", apiKey: TEST_API_KEY, headers: {}, models: [], ...account },
    transport: replay.transport,
    config,
  });
}

/** Call options for an upstream model. */
export function callOptions(upstreamModel: string, extra: { signal?: AbortSignal; catalogModel?: CatalogModel } = {}): CallOptions {
  return { upstreamModel, signal: extra.signal ?? new AbortController().signal, timeouts: DEFAULT_TIMEOUTS, ...(extra.catalogModel ? { catalogModel: extra.catalogModel } : {}) };
}

/** Reads a whole async iterable. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** A stream event as a readable tuple, for explicit expectations. */
export type EventSummary =
  | ["start", string, string[]]
  | ["text", string]
  | ["refusal", string]
  | ["reasoning", string, string]
  | ["tool_start", number, string, string]
  | ["tool_delta", number, string]
  | ["finish", FinishReason, string]
  | ["usage", UsageSummary]
  | ["other", string];

/** Usage without the protobuf type tag. */
export interface UsageSummary {
  prompt: number;
  completion: number;
  total: number;
  cached: number;
  reasoning: number;
  cacheWrite: number;
}

/** Strips the protobuf type tag from a Usage. */
export function usageSummary(usage: Usage | undefined): UsageSummary | undefined {
  if (!usage) return undefined;
  return {
    prompt: usage.promptTokens,
    completion: usage.completionTokens,
    total: usage.totalTokens,
    cached: usage.cachedPromptTokens,
    reasoning: usage.reasoningTokens,
    cacheWrite: usage.cacheWritePromptTokens,
  };
}

/** Turns stream events into tuples; every event of choice 0. */
export function summarize(events: readonly ChatStreamResponse[]): EventSummary[] {
  return events.map((event): EventSummary => {
    const e = event.event;
    switch (e.case) {
      case "responseStart":
        return ["start", e.value.id, e.value.warnings];
      case "textDelta":
        return ["text", e.value.text];
      case "refusalDelta":
        return ["refusal", e.value.text];
      case "reasoningDelta":
        return ["reasoning", e.value.text, e.value.signature];
      case "toolCallStart":
        return ["tool_start", e.value.index, e.value.id, e.value.name];
      case "toolCallDelta":
        return ["tool_delta", e.value.index, e.value.arguments];
      case "finish":
        return ["finish", e.value.finishReason, e.value.rawFinishReason];
      case "usage":
        return ["usage", usageSummary(e.value) ?? { prompt: 0, completion: 0, total: 0, cached: 0, reasoning: 0, cacheWrite: 0 }];
      default:
        return ["other", String(e.case)];
    }
  });
}

/** Usage summary with defaults for the counters a test does not care about. */
export function usage(fields: Partial<UsageSummary> & { prompt: number; completion: number }): UsageSummary {
  return { total: fields.prompt + fields.completion, cached: 0, reasoning: 0, cacheWrite: 0, ...fields };
}

/** Collapses consecutive text summaries into one, so tests can assert the whole text. */
export function joinText(events: readonly EventSummary[]): EventSummary[] {
  const out: EventSummary[] = [];
  for (const event of events) {
    const last = out[out.length - 1];
    if (event[0] === "text" && last?.[0] === "text") last[1] += event[1];
    else out.push(event[0] === "text" ? ["text", event[1]] : event);
  }
  return out;
}
