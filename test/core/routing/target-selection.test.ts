import { describe, expect, it } from "vitest";
import { LatencyTracker, latencyOrder, orderTargets, weightedOrder } from "../../../src/core/routing/target-selection.js";
import { sequence, target } from "./test-targets.js";

const ids = (targets: readonly { id: string }[]) => targets.map((entry) => entry.id);

describe("LatencyTracker", () => {
  it("keeps an exponentially weighted average per target and mode", () => {
    const tracker = new LatencyTracker(0.5);
    expect(tracker.estimate("a/m", true)).toBeUndefined();
    tracker.record("a/m", true, 100);
    tracker.record("a/m", true, 200);
    expect(tracker.estimate("a/m", true)).toBe(150);
    expect(tracker.estimate("a/m", false)).toBeUndefined();
  });
});

describe("latencyOrder", () => {
  const targets = [target("a/m"), target("b/m"), target("c/m")];

  it("measures unmeasured targets first, in config order", () => {
    const latency = new LatencyTracker();
    latency.record("a/m", true, 10);
    expect(ids(latencyOrder(targets, { latency, streaming: true, random: () => 0 }))).toEqual(["b/m", "c/m", "a/m"]);
  });

  it("puts the fastest recent time to first token first, the rest as fallbacks", () => {
    const latency = new LatencyTracker();
    latency.record("a/m", true, 300);
    latency.record("b/m", true, 50);
    latency.record("c/m", true, 120);
    expect(ids(latencyOrder(targets, { latency, streaming: true, random: () => 0.99 }))).toEqual(["b/m", "c/m", "a/m"]);
  });

  it("explores: with the exploration probability a slower target goes first", () => {
    const latency = new LatencyTracker();
    latency.record("a/m", true, 300);
    latency.record("b/m", true, 50);
    latency.record("c/m", true, 120);
    expect(ids(latencyOrder(targets, { latency, streaming: true, random: sequence(0.05, 0.9), explorationRate: 0.1 }))).toEqual(["a/m", "b/m", "c/m"]);
    let explored = 0;
    for (let index = 0; index < 2000; index++) if (latencyOrder(targets, { latency, streaming: true, random: Math.random })[0]?.id !== "b/m") explored++;
    expect(explored / 2000).toBeGreaterThan(0.05);
    expect(explored / 2000).toBeLessThan(0.15);
  });

  it("adapts when the fastest target becomes slow", () => {
    const latency = new LatencyTracker(0.3);
    latency.record("a/m", true, 50);
    latency.record("b/m", true, 100);
    for (let index = 0; index < 5; index++) latency.record("a/m", true, 400);
    expect(latencyOrder([target("a/m"), target("b/m")], { latency, streaming: true, random: () => 0.99 })[0]?.id).toBe("b/m");
  });
});

describe("weightedOrder", () => {
  it("draws the first target with probability weight / total and keeps zero weights last", () => {
    const targets = [target("a/m", { weight: 3 }), target("b/m", { weight: 1 }), target("z/m", { weight: 0 })];
    let a = 0;
    let shapeOk = true;
    for (let index = 0; index < 4000; index++) {
      const order = weightedOrder(targets, Math.random);
      shapeOk &&= order.length === 3 && order[2]?.id === "z/m";
      if (order[0]?.id === "a/m") a++;
    }
    expect(shapeOk).toBe(true);
    expect(a / 4000).toBeGreaterThan(0.7);
    expect(a / 4000).toBeLessThan(0.8);
  });
});

describe("orderTargets", () => {
  it("keeps the configured order for the fallback strategy", () => {
    const plan = { strategy: "fallback" as const, targets: [target("b/m"), target("a/m")] };
    expect(ids(orderTargets(plan, { latency: new LatencyTracker(), streaming: false, random: Math.random }))).toEqual(["b/m", "a/m"]);
  });
});
