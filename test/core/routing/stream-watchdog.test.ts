import { describe, expect, it } from "vitest";
import { FinishReason } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import type { GatewayError } from "../../../src/core/errors.js";
import { finishEvent, responseStartEvent, textDeltaEvent } from "../../../src/core/stream-events.js";
import { StreamWatchdog } from "../../../src/core/routing/stream-watchdog.js";

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

async function drain(watchdog: StreamWatchdog, source: AsyncIterable<ChatStreamResponse>): Promise<{ count: number; error?: GatewayError }> {
  let count = 0;
  try {
    for await (const event of watchdog.watch(source)) {
      void event;
      count++;
    }
    return { count };
  } catch (error) {
    return { count, error: error as GatewayError };
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
    let count = 0;
    for await (const event of watchdog.watch(scripted(controller.signal, [[0, textDeltaEvent(0, "a")], [10, finishEvent(0, FinishReason.STOP, "stop")]]))) {
      void event;
      count++;
      await new Promise((resolve) => setTimeout(resolve, 120));
    }
    expect(count).toBe(2);
  });
});
