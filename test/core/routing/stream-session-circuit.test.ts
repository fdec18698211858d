import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { FinishReason } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import { gatewayError, Reason } from "../../../src/core/errors.js";
import { finishEvent, responseStartEvent, textDeltaEvent } from "../../../src/core/stream-events.js";
import { CircuitBreakers } from "../../../src/core/routing/circuit-breaker.js";
import { RequestScope } from "../../../src/core/routing/request-scope.js";
import { RouteRun } from "../../../src/core/routing/route-run.js";
import { runStreamSession } from "../../../src/core/routing/stream-session.js";
import { LatencyTracker } from "../../../src/core/routing/target-selection.js";
import type { ProviderAdapter } from "../../../src/providers/provider-adapter.js";
import { chatInput, target } from "./test-targets.js";

const settings = { failureThreshold: 1, cooldownMs: 1000 };
const cut = gatewayError(Code.Unavailable, Reason.PROVIDER_UNREACHABLE, "socket hang up", { afterFirstByte: true });

/** A stream that sends its first token at once, then waits for `more` (a generation that runs for minutes) before the rest or a cut. */
function slowAfterFirstToken(more: Promise<"finish" | "cut">): ProviderAdapter {
  return {
    family: "openai",
    generate: () => Promise.reject(new Error("not used")),
    stream: () =>
      (async function* (): AsyncGenerator<ChatStreamResponse> {
        yield responseStartEvent("r", "m", 0n);
        yield textDeltaEvent(0, "Hello");
        if ((await more) === "cut") throw cut;
        yield textDeltaEvent(0, " world");
        yield finishEvent(0, FinishReason.STOP, "stop");
      })(),
  };
}

/** A half-open breaker for "a/m" (opened by one failure, cool-down passed) and a stream session over it whose upstream is held after its first token. */
function probeStream() {
  let now = 0;
  const clock = () => now;
  const breakers = new CircuitBreakers(clock);
  const breaker = breakers.for("a/m", settings);
  breaker.tryAcquire()?.failed();
  now += settings.cooldownMs;
  expect(breaker.state).toBe("half-open");
  let release: (how: "finish" | "cut") => void = () => undefined;
  const more = new Promise<"finish" | "cut">((resolve) => {
    release = resolve;
  });
  const primary = { ...target("a/m"), circuitBreaker: settings, adapter: slowAfterFirstToken(more) };
  const input = chatInput();
  const session = runStreamSession({
    input,
    start: () => {
      const scope = new RequestScope(new AbortController().signal, undefined, clock);
      return { scope, run: new RouteRun([primary], { input, scope, breakers, random: () => 0.5, onAttemptFailed: () => undefined }) };
    },
    latency: new LatencyTracker(),
    now: clock,
    onUsage: () => undefined,
  });
  return { breaker, session, release };
}

/** Reads events until the first text delta. */
async function untilFirstToken(session: AsyncGenerator<ChatStreamResponse>): Promise<void> {
  for (;;) {
    const next = await session.next();
    if (next.done) throw new Error("the stream ended before its first token");
    if (next.value.event.case === "textDelta") return;
  }
}

describe("a stream that is a half-open circuit's probe", () => {
  it("closes the circuit at its first token, so other requests get through while it still streams", async () => {
    const { breaker, session, release } = probeStream();
    await untilFirstToken(session);
    expect(breaker.state).toBe("closed");
    const other = breaker.tryAcquire();
    expect(other?.probe).toBe(false);
    other?.succeeded();
    release("finish");
    const rest: string[] = [];
    for await (const event of session) rest.push(event.event.case ?? "");
    expect(rest).toContain("routeSummary");
    expect(breaker.state).toBe("closed");
  });

  it("still counts a failure when it is cut after its first token, as for any stream", async () => {
    const { breaker, session, release } = probeStream();
    await untilFirstToken(session);
    expect(breaker.state).toBe("closed");
    release("cut");
    await expect(async () => {
      for await (const _event of session) void _event;
    }).rejects.toThrow(/socket hang up|interrupted|could continue/i);
    // One consecutive failure against a threshold of 1: the circuit opens again.
    expect(breaker.state).toBe("open");
  });
});

describe("a stream of a closed circuit", () => {
  it("that fails after its first token on every request opens the circuit at the threshold", async () => {
    const breakers = new CircuitBreakers(() => 0);
    const threshold = { failureThreshold: 3, cooldownMs: 1000 };
    const failing = { ...target("a/m"), circuitBreaker: threshold, adapter: slowAfterFirstToken(Promise.resolve("cut")) };
    const input = chatInput();
    for (let request = 0; request < 3; request++) {
      expect(breakers.for("a/m", threshold).state).toBe("closed");
      const session = runStreamSession({
        input,
        start: () => {
          const scope = new RequestScope(new AbortController().signal, undefined, () => 0);
          return { scope, run: new RouteRun([failing], { input, scope, breakers, random: () => 0.5, onAttemptFailed: () => undefined }) };
        },
        latency: new LatencyTracker(),
        now: () => 0,
        onUsage: () => undefined,
      });
      await expect(async () => {
        for await (const _event of session) void _event;
      }).rejects.toThrow(/socket hang up|interrupted|could continue/i);
    }
    expect(breakers.for("a/m", threshold).state).toBe("open");
  });
});

describe("a fallback whose restarted answer diverges from the text already sent", () => {
  it("is not counted against its circuit: it answered, and only differently", async () => {
    const breakers = new CircuitBreakers(() => 0);
    const lenient = { failureThreshold: 100, cooldownMs: 1000 };
    const strict = { failureThreshold: 2, cooldownMs: 1000 };
    const primary = { ...target("a/m"), circuitBreaker: lenient, adapter: slowAfterFirstToken(Promise.resolve("cut")) };
    const other: ProviderAdapter = {
      family: "openai",
      generate: () => Promise.reject(new Error("not used")),
      stream: () =>
        (async function* (): AsyncGenerator<ChatStreamResponse> {
          yield responseStartEvent("r", "m", 0n);
          yield textDeltaEvent(0, "Goodbye");
          yield finishEvent(0, FinishReason.STOP, "stop");
        })(),
    };
    const fallback = { ...target("b/m"), circuitBreaker: strict, adapter: other };
    const input = chatInput();
    for (let request = 0; request < 3; request++) {
      const session = runStreamSession({
        input,
        start: () => {
          const scope = new RequestScope(new AbortController().signal, undefined, () => 0);
          return { scope, run: new RouteRun([primary, fallback], { input, scope, breakers, random: () => 0.5, onAttemptFailed: () => undefined }) };
        },
        latency: new LatencyTracker(),
        now: () => 0,
        onUsage: () => undefined,
      });
      await expect(async () => {
        for await (const _event of session) void _event;
      }).rejects.toThrow(/diverged/);
    }
    expect(breakers.for("b/m", strict).state).toBe("closed");
  });
});
