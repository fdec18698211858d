import { EventEmitter } from "node:events";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CLIENT_STALL_MS, DrainWaiter } from "../../src/server/write-drain.js";

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("DrainWaiter", () => {
  it("resolves on drain or close, and gives up a client that takes nothing for CLIENT_STALL_MS", async () => {
    const writable = new EventEmitter();
    const abandon = vi.fn();
    const waiter = new DrainWaiter(writable, abandon);
    const first = waiter.wait();
    writable.emit("drain");
    await first;
    const second = waiter.wait();
    writable.emit("close");
    await second;
    expect(writable.listenerCount("drain") + writable.listenerCount("close")).toBe(0);
    const stalled = waiter.wait();
    await vi.advanceTimersByTimeAsync(CLIENT_STALL_MS - 1);
    expect(abandon).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    await stalled;
    expect(abandon).toHaveBeenCalledTimes(1);
    waiter.dispose();
  });

  it("keeps the deadline for a later wait too (the reused timer is never later than it)", async () => {
    const writable = new EventEmitter();
    const abandon = vi.fn();
    const waiter = new DrainWaiter(writable, abandon, Date.now() + 1000);
    const first = waiter.wait();
    writable.emit("drain");
    await first;
    await vi.advanceTimersByTimeAsync(900);
    const late = waiter.wait();
    await vi.advanceTimersByTimeAsync(99);
    expect(abandon).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    await late;
    expect(abandon).toHaveBeenCalledTimes(1);
    waiter.dispose();
  });

  it("a wait that began after the timer was armed gets its own full stall bound", async () => {
    const writable = new EventEmitter();
    const abandon = vi.fn();
    const waiter = new DrainWaiter(writable, abandon);
    const first = waiter.wait();
    await vi.advanceTimersByTimeAsync(CLIENT_STALL_MS / 2);
    writable.emit("drain");
    await first;
    const second = waiter.wait();
    await vi.advanceTimersByTimeAsync(CLIENT_STALL_MS - 1);
    expect(abandon).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    await second;
    expect(abandon).toHaveBeenCalledTimes(1);
    waiter.dispose();
  });
});

describe("StalledResponses (Node-served responses, e.g. Connect's handler)", () => {
  it("gives up a response whose writes have waited for drain without a break for the stall bound, and forgets finished ones", async () => {
    vi.useRealTimers();
    const { StalledResponses } = await import("../../src/server/write-drain.js");
    const stalls = new StalledResponses(200);
    const make = () => {
      const emitter = new EventEmitter();
      return Object.assign(emitter, { writableNeedDrain: true, destroyed: false, destroy() { this.destroyed = true; } });
    };
    const stuck = make();
    const drains = make();
    const done = make();
    stalls.watch(stuck);
    stalls.watch(drains);
    stalls.watch(done);
    done.emit("finish");
    const ticker = setInterval(() => drains.emit("drain"), 20);
    await vi.waitFor(() => expect(stuck.destroyed).toBe(true), { timeout: 2000, interval: 20 });
    clearInterval(ticker);
    expect(drains.destroyed).toBe(false);
    expect(done.destroyed).toBe(false);
    stalls.close();
  });
});
