import type { FinishReason, TokenLogprob } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import { createOpenAIAdapter } from "../../../src/providers/openai/openai-adapter.js";
import type { ProviderAdapter } from "../../../src/providers/provider-adapter.js";
import { chatInputFor } from "../../support/proto-builders.js";
import type { ReplayTransport } from "../../support/replay-transport.js";
import { defaultTestConfig, testAccount, type AccountFields } from "../../support/test-accounts.js";
import { usageSummary, type UsageSummary } from "../../support/usage-summary.js";

/** The fake key every OpenAI test account uses; tests assert it never leaks into error messages. */
export const TEST_API_KEY = "sk-proj-TESTKEY0123456789abcdefOPENAI";

/** Builds a ChatInput from an init object (model defaults to the openai-main account). */
export const chatInput = chatInputFor("openai-main/gpt-4o-mini");

/** Builds the OpenAI adapter for a test account (type openai, OpenAI's base URL) over a replay transport. */
export function adapterFor(replay: ReplayTransport, account: AccountFields = {}): ProviderAdapter {
  return createOpenAIAdapter({
    account: testAccount("openai-main", "openai", TEST_API_KEY, account),
    transport: replay.transport,
    config: defaultTestConfig(),
  });
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
