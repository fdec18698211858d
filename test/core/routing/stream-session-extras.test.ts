import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { FinishReason } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import { gatewayError, Reason } from "../../../src/core/errors.js";
import { choiceExtraEvent, chunkExtraEvent, finishEvent, responseStartEvent, textDeltaEvent } from "../../../src/core/stream-events.js";
import { CircuitBreakers } from "../../../src/core/routing/circuit-breaker.js";
import { RequestScope } from "../../../src/core/routing/request-scope.js";
import { RouteRun } from "../../../src/core/routing/route-run.js";
import { runStreamSession } from "../../../src/core/routing/stream-session.js";
import { LatencyTracker } from "../../../src/core/routing/target-selection.js";
import type { ProviderAdapter } from "../../../src/providers/provider-adapter.js";
import { collect } from "../../support/stream-collectors.js";
import { chatInput, target } from "./test-targets.js";

/** An adapter that yields `events`, then throws `failure` if given. */
function scripted(events: ChatStreamResponse[], failure?: Error): ProviderAdapter {
  return {
    family: "openai",
    generate: () => Promise.reject(new Error("not used")),
    stream: () =>
      (async function* (): AsyncGenerator<ChatStreamResponse> {
        yield* events;
        if (failure) throw failure;
      })(),
  };
}

/** A stream session over `targets` in order, with no retries of its own. */
function session(targets: { id: string; adapter: ProviderAdapter }[]): AsyncGenerator<ChatStreamResponse> {
  const input = chatInput();
  const resolved = targets.map(({ id, adapter }) => ({ ...target(id), adapter }));
  return runStreamSession({
    input,
    start: () => {
      const scope = new RequestScope(new AbortController().signal, undefined, Date.now);
      return { scope, run: new RouteRun(resolved, { input, scope, breakers: new CircuitBreakers(Date.now), random: () => 0.5, onAttemptFailed: () => undefined }) };
    },
    latency: new LatencyTracker(),
    now: Date.now,
    onUsage: () => undefined,
  });
}

const extra = (mark: string, standalone: boolean) => choiceExtraEvent(0, { mark }, undefined, standalone);
const summary = (event: ChatStreamResponse) =>
  event.event.case === "choiceExtra" || event.event.case === "chunkExtra" ? `extra ${String(event.event.value.extra?.mark)}` : event.event.case === "responseStart" ? `start ${event.event.value.model}` : event.event.case === "textDelta" ? `text ${event.event.value.text}` : String(event.event.case);

describe("stream session: a provider's unmodelled choice fields (choice_extra)", () => {
  it("wait for the first output with response_start, so a failure before it fails over invisibly and the failed attempt's are dropped", async () => {
    const refused = gatewayError(Code.Unavailable, Reason.PROVIDER_UNAVAILABLE, "overloaded", { provider: "a" });
    const events = await collect(
      session([
        { id: "a/m", adapter: scripted([responseStartEvent("ra", "", 0n), extra("a", true)], refused) },
        { id: "b/m", adapter: scripted([responseStartEvent("rb", "", 0n), extra("b1", true), extra("b2", false), textDeltaEvent(0, "Hi"), extra("b3", false), finishEvent(0, FinishReason.STOP, "stop")]) },
      ]),
    );
    expect(events.map(summary)).toEqual(["start b/m", "extra b1", "extra b2", "text Hi", "extra b3", "finish", "usage", "routeSummary"]);
  });

  it("hold a top-level chunk_extra that comes before the first output the same way", async () => {
    const refused = gatewayError(Code.Unavailable, Reason.PROVIDER_UNAVAILABLE, "overloaded", { provider: "a" });
    const events = await collect(
      session([
        { id: "a/m", adapter: scripted([responseStartEvent("ra", "", 0n), chunkExtraEvent({ mark: "a" })], refused) },
        { id: "b/m", adapter: scripted([responseStartEvent("rb", "", 0n), chunkExtraEvent({ mark: "b1" }), textDeltaEvent(0, "Hi"), finishEvent(0, FinishReason.STOP, "stop"), chunkExtraEvent({ mark: "b2" })]) },
      ]),
    );
    expect(events.map(summary)).toEqual(["start b/m", "extra b1", "text Hi", "finish", "extra b2", "usage", "routeSummary"]);
  });
});
