import { FinishReason, Role, type ChatInput } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import type { ProviderAccount } from "../../../src/config/gateway-config.js";
import { createAnthropicAdapter } from "../../../src/providers/anthropic/anthropic-adapter.js";
import type { ProviderAdapter } from "../../../src/providers/provider-adapter.js";
import { chatInputFor, toolResult, user } from "../../support/proto-builders.js";
import { readJsonFixture, replayTransport, type ReplayTransport } from "../../support/replay-transport.js";
import { asGatewaySendsTools } from "../../support/recorded-exchange.js";
import { defaultTestConfig, testAccount } from "../../support/test-accounts.js";
import { usageSummary, type UsageSummary } from "../../support/usage-summary.js";

/** The fake key every test account uses; tests assert it never leaks into error messages. */
export const TEST_API_KEY = "sk-ant-api03-TESTKEY0123456789abcdef";

/** Builds a ChatInput from an init object (model defaults to an anthropic account). */
export const chatInput = chatInputFor("anthropic-main/claude");

/** Builds the adapter for a test account over a replay transport. */
export function adapterFor(replay: ReplayTransport, account: Partial<ProviderAccount> = {}): ProviderAdapter {
  return createAnthropicAdapter({
    account: testAccount("anthropic-main", "anthropic", TEST_API_KEY, account),
    transport: replay.transport,
    config: defaultTestConfig(),
  });
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
        return ["usage", usageSummary(e.value)];
      default:
        return ["other", String(e.case)];
    }
  });
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

const SSE_HEADERS = { "content-type": "text/event-stream" };

/** A replay transport that serves `body` as an Anthropic event stream, in the given slices. */
export const sse = (body: string, sliceSizes?: number[]): ReplayTransport =>
  replayTransport({ status: 200, headers: SSE_HEADERS, body, ...(sliceSizes ? { sliceSizes } : {}) });

/** The recorded request body of fixture `anthropic/<name>.request.json`, as the gateway sends its tools. */
export const fixtureBody = (name: string): unknown => asGatewaySendsTools(readJsonFixture<{ body: unknown }>(`anthropic/${name}.request.json`).body);

/** The proto input that should produce messages-stream-after-two-tool-results.request.json. */
export const twoToolResultsInput = (stop: string[] = []): ChatInput =>
  chatInput({
    temperature: 1,
    stop,
    tools: [{ name: "pelican_name_generator" }],
    messages: [
      user("Two names for a pet pelican"),
      {
        role: Role.ASSISTANT,
        content: [{ part: { case: "text", value: "I'll help you generate two names for a pet pelican using the pelican name generator tool. " } }],
        toolCalls: [
          { id: "toolu_017ngBid8gmdReTeroVSZf7r", name: "pelican_name_generator", arguments: "{}" },
          { id: "toolu_01FJrHJrmnfEqR6NxkQ3yhpu", name: "pelican_name_generator", arguments: "{}" },
        ],
      },
      toolResult("toolu_017ngBid8gmdReTeroVSZf7r", "Charles"),
      toolResult("toolu_01FJrHJrmnfEqR6NxkQ3yhpu", "Sammy"),
    ],
  });
