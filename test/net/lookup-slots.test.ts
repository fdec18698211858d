import { describe, expect, it } from "vitest";
import { withLookupSlots } from "../../src/net/lookup-slots.js";

/** A lookup whose calls the test answers by hand. */
function heldLookup() {
  const calls: { hostname: string; answer: (value: string) => void; fail: (error: Error) => void }[] = [];
  const lookup = (hostname: string) =>
    new Promise<string>((answer, fail) => {
      calls.push({ hostname, answer, fail });
    });
  return { calls, lookup };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe("withLookupSlots", () => {
  it("runs at most `slots` lookups at once and starts the waiting ones in order as each ends", async () => {
    const { calls, lookup } = heldLookup();
    const slotted = withLookupSlots(lookup, 2);
    const signal = new AbortController().signal;
    const results = Promise.allSettled(["a", "b", "c", "d"].map((name) => slotted(name, signal)));
    expect(calls.map((call) => call.hostname)).toEqual(["a", "b"]);
    calls[1]?.answer("B");
    await settled();
    expect(calls.map((call) => call.hostname)).toEqual(["a", "b", "c"]);
    calls[0]?.fail(new Error("no such name"));
    await settled();
    expect(calls.map((call) => call.hostname)).toEqual(["a", "b", "c", "d"]);
    calls[2]?.answer("C");
    calls[3]?.answer("D");
    const outcomes = await results;
    expect(outcomes.map((outcome) => (outcome.status === "fulfilled" ? outcome.value : (outcome.reason as Error).message))).toEqual(["no such name", "B", "C", "D"]);
  });

  it("drops a waiting lookup whose signal aborts: it rejects with the reason and never runs", async () => {
    const { calls, lookup } = heldLookup();
    const slotted = withLookupSlots(lookup, 1);
    const running = slotted("first", new AbortController().signal);
    const controller = new AbortController();
    const waiting = slotted("abandoned", controller.signal);
    const next = slotted("next", new AbortController().signal);
    controller.abort(new Error("fetch timed out"));
    await expect(waiting).rejects.toThrow("fetch timed out");
    calls[0]?.answer("1");
    await running;
    await settled();
    expect(calls.map((call) => call.hostname)).toEqual(["first", "next"]);
    calls[1]?.answer("2");
    await expect(next).resolves.toBe("2");
  });

  it("rejects a running lookup at once on abort, but keeps its slot until the system answers it", async () => {
    const { calls, lookup } = heldLookup();
    const slotted = withLookupSlots(lookup, 1);
    const controller = new AbortController();
    const stalled = slotted("stalled", controller.signal);
    const behind = slotted("behind", new AbortController().signal);
    controller.abort(new Error("caller left"));
    await expect(stalled).rejects.toThrow("caller left");
    await settled();
    // The thread the stalled lookup holds is still busy: the next one waits for it.
    expect(calls.map((call) => call.hostname)).toEqual(["stalled"]);
    calls[0]?.answer("late");
    await settled();
    expect(calls.map((call) => call.hostname)).toEqual(["stalled", "behind"]);
    calls[1]?.answer("ok");
    await expect(behind).resolves.toBe("ok");
  });

  it("rejects at once for an already aborted signal, and frees the slot of a lookup that throws", async () => {
    const slotted = withLookupSlots((hostname: string): Promise<string> => {
      if (hostname === "bad") throw new Error("thrown, not rejected");
      return Promise.resolve(hostname.toUpperCase());
    }, 1);
    const aborted = new AbortController();
    aborted.abort(new Error("already gone"));
    await expect(slotted("x", aborted.signal)).rejects.toThrow("already gone");
    const signal = new AbortController().signal;
    await expect(slotted("bad", signal)).rejects.toThrow("thrown, not rejected");
    await expect(slotted("good", signal)).resolves.toBe("GOOD");
  });
});
