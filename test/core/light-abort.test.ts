import { describe, expect, it } from "vitest";
import { LightAbort, toAbortSignal } from "../../src/core/light-abort.js";

describe("LightAbort", () => {
  it("runs each listener once, in order, with the reason set, and ignores later aborts", () => {
    const abort = new LightAbort();
    const seen: string[] = [];
    abort.addEventListener("abort", () => seen.push(`first:${String(abort.reason)}`));
    abort.addEventListener("abort", () => seen.push("second"));
    expect(abort.aborted).toBe(false);
    abort.abort("why");
    abort.abort("again");
    expect(abort.aborted).toBe(true);
    expect(abort.reason).toBe("why");
    expect(seen).toEqual(["first:why", "second"]);
  });

  it("does not run a removed listener, nor one added after the abort", () => {
    const abort = new LightAbort();
    const seen: string[] = [];
    const removed = () => seen.push("removed");
    abort.addEventListener("abort", removed);
    abort.addEventListener("abort", () => seen.push("kept"));
    abort.removeEventListener("abort", removed);
    abort.abort(undefined);
    abort.addEventListener("abort", () => seen.push("late"));
    expect(seen).toEqual(["kept"]);
  });

  it("runs every listener registered when abort() was called, even one an earlier listener removes", () => {
    const abort = new LightAbort();
    const seen: string[] = [];
    const second = () => seen.push("second");
    abort.addEventListener("abort", () => {
      seen.push("first");
      abort.removeEventListener("abort", second);
    });
    abort.addEventListener("abort", second);
    abort.abort(undefined);
    expect(seen).toEqual(["first", "second"]);
  });
});

describe("toAbortSignal", () => {
  it("returns a DOM signal as it is", () => {
    const controller = new AbortController();
    expect(toAbortSignal(controller.signal)).toBe(controller.signal);
  });

  it("gives a DOM signal that follows a LightAbort, already aborted or later, with its reason", () => {
    const later = new LightAbort();
    const signal = toAbortSignal(later);
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(signal.aborted).toBe(false);
    later.abort("gone");
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe("gone");

    const before = new LightAbort();
    before.abort("early");
    expect(toAbortSignal(before).reason).toBe("early");
  });
});
