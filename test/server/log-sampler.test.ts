import { afterEach, describe, expect, it, vi } from "vitest";
import { LogSampler } from "../../src/server/log-sampler.js";

function sampler(perSecond: number) {
  let now = 10_000;
  const reports: [string, number][] = [];
  const instance = new LogSampler({ perSecond, now: () => now, report: (key, suppressed) => reports.push([key, suppressed]) });
  return { instance, reports, advance: (ms: number) => (now += ms) };
}

describe("LogSampler", () => {
  afterEach(() => vi.useRealTimers());

  it("logs the first perSecond lines of a key in a window and counts the rest", () => {
    const { instance, advance } = sampler(3);
    const decisions = Array.from({ length: 10 }, () => instance.admit("attempt a/m UPSTREAM_UNAVAILABLE"));
    expect(decisions).toEqual([0, 0, 0, undefined, undefined, undefined, undefined, undefined, undefined, undefined]);
    advance(999);
    expect(instance.admit("attempt a/m UPSTREAM_UNAVAILABLE")).toBeUndefined();
    advance(1);
    // The first line of the next window carries every line dropped before it.
    expect(instance.admit("attempt a/m UPSTREAM_UNAVAILABLE")).toBe(8);
    expect(instance.admit("attempt a/m UPSTREAM_UNAVAILABLE")).toBe(0);
  });

  it("keeps keys apart", () => {
    const { instance } = sampler(1);
    expect(instance.admit("a")).toBe(0);
    expect(instance.admit("b")).toBe(0);
    expect(instance.admit("a")).toBeUndefined();
    expect(instance.admit("b")).toBeUndefined();
  });

  it("reports a storm that ended without a later line, once, and forgets the window", () => {
    const { instance, reports, advance } = sampler(2);
    for (let i = 0; i < 7; i++) instance.admit("k");
    instance.flush(false);
    expect(reports).toEqual([]);
    advance(1_000);
    instance.flush(false);
    expect(reports).toEqual([["k", 5]]);
    instance.flush(false);
    expect(reports).toHaveLength(1);
    // The window was forgotten: the next line starts afresh and carries nothing.
    expect(instance.admit("k")).toBe(0);
  });

  it("flush(true) reports the windows still open (shutdown)", () => {
    const { instance, reports } = sampler(1);
    for (let i = 0; i < 4; i++) instance.admit("k");
    instance.flush(true);
    expect(reports).toEqual([["k", 3]]);
  });

  it("reports on its own timer after the window ends", () => {
    vi.useFakeTimers({ now: 50_000 });
    const reports: [string, number][] = [];
    const instance = new LogSampler({ perSecond: 1, report: (key, suppressed) => reports.push([key, suppressed]) });
    instance.admit("k");
    instance.admit("k");
    instance.admit("k");
    vi.advanceTimersByTime(1_000);
    expect(reports).toEqual([["k", 2]]);
    // Nothing pending: the timer stopped.
    expect(vi.getTimerCount()).toBe(0);
  });

  it("with perSecond 0 logs every line", () => {
    const { instance, reports } = sampler(0);
    expect(Array.from({ length: 50 }, () => instance.admit("k")).every((decision) => decision === 0)).toBe(true);
    instance.flush(true);
    expect(reports).toEqual([]);
  });
});
