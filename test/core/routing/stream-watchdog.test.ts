import { describe, expect, it } from "vitest";
import { FinishReason } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import type { GatewayError } from "../../../src/core/errors.js";
import { choiceExtraEvent, finishEvent, responseStartEvent, textDeltaEvent } from "../../../src/core/stream-events.js";
import { isTokenEvent, StreamWatchdog } from "../../../src/core/routing/stream-watchdog.js";

/** An upstream double: yields events after delays, and throws AbortError when its signal aborts. */
async function* scripted(signal: AbortSignal, steps: [number, ChatStreamResponse][]): AsyncGenerator<ChatStreamResponse> {
  for (const [delay, event] of steps) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, delay);
      signal.addEventListener("abort", () => { clearTimeout(timer); reject(Object.assign(new Error("aborted"), { name: "AbortError" })); }, { once: true });
    });
    yield event;
  }
}

/** Reads `source` through the watchdog as the stream session does; `hold` is called with each event before the next read. */
async function drain(watchdog: StreamWatchdog, source: AsyncIterable<ChatStreamResponse>, hold?: () => Promise<void>): Promise<{ count: number; error?: GatewayError }> {
  let count = 0;
  const iterator = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await watchdog.next(iterator);
      if (next.done) return { count };
      count++;
      await hold?.();
    }
  } catch (error) {
    return { count, error: error as GatewayError };
  } finally {
    await watchdog.close(iterator);
  }
}

describe("StreamWatchdog", () => {
  it("does not count an early response_start as the first token", async () => {
    const controller = new AbortController();
    const watchdog = new StreamWatchdog({ target: "a/m", provider: "a", firstTokenMs: 50, idleMs: 1000, controller });
    const result = await drain(watchdog, scripted(controller.signal, [[0, responseStartEvent("x", "", 0n)], [200, textDeltaEvent(0, "late")]]));
    expect(result.count).toBe(1);
    expect(result.error?.reason).toBe("UPSTREAM_TIMEOUT");
    expect(result.error?.facts.afterFirstByte).toBe(false);
    expect(result.error?.rawMessage).toMatch(/no token within 50 ms/);
  });

  it("does not count a provider's unmodelled choice fields (Azure's filter results ahead of any text) as the first token", async () => {
    expect(isTokenEvent(choiceExtraEvent(0, { content_filter_results: {} }, undefined, true))).toBe(false);
    const controller = new AbortController();
    const watchdog = new StreamWatchdog({ target: "a/m", provider: "a", firstTokenMs: 50, idleMs: 1000, controller });
    const result = await drain(watchdog, scripted(controller.signal, [[0, responseStartEvent("x", "", 0n)], [0, choiceExtraEvent(0, { content_filter_results: {} }, undefined, true)], [200, textDeltaEvent(0, "late")]]));
    expect(result.count).toBe(2);
    expect(result.error?.reason).toBe("UPSTREAM_TIMEOUT");
  });

  it("detects a stall between events", async () => {
    const controller = new AbortController();
    const watchdog = new StreamWatchdog({ target: "a/m", provider: "a", firstTokenMs: 1000, idleMs: 50, controller });
    const result = await drain(watchdog, scripted(controller.signal, [[0, textDeltaEvent(0, "a")], [10, textDeltaEvent(0, "b")], [300, textDeltaEvent(0, "c")]]));
    expect(result.count).toBe(2);
    expect(result.error?.rawMessage).toMatch(/stalled/);
    expect(result.error?.facts.afterFirstByte).toBe(true);
  });

  it("does not count time the consumer holds an event", async () => {
    const controller = new AbortController();
    const watchdog = new StreamWatchdog({ target: "a/m", provider: "a", firstTokenMs: 1000, idleMs: 50, controller });
    const result = await drain(watchdog, scripted(controller.signal, [[0, textDeltaEvent(0, "a")], [10, finishEvent(0, FinishReason.STOP, "stop")]]), () => new Promise((resolve) => setTimeout(resolve, 120)));
    expect(result).toEqual({ count: 2 });
  });

  it("close stops the upstream iterator and disarms the timer", async () => {
    const controller = new AbortController();
    const watchdog = new StreamWatchdog({ target: "a/m", provider: "a", firstTokenMs: 30, idleMs: 30, controller });
    let stopped = false;
    async function* upstream(): AsyncGenerator<ChatStreamResponse> {
      try {
        yield textDeltaEvent(0, "a");
        yield textDeltaEvent(0, "b");
      } finally {
        stopped = true;
      }
    }
    const iterator = upstream();
    expect((await watchdog.next(iterator)).done).toBe(false);
    await watchdog.close(iterator);
    expect(stopped).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(controller.signal.aborted).toBe(false);
    expect(watchdog.breached).toBeUndefined();
  });
});
