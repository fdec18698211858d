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
