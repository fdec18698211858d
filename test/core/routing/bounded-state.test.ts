import { describe, expect, it } from "vitest";
import { parseConfigText } from "../../../src/config/load-config.js";
import { MAX_CACHED_TARGETS, ModelCatalog } from "../../../src/core/model-catalog.js";
import { CircuitBreakers, MAX_TRACKED_BREAKERS } from "../../../src/core/routing/circuit-breaker.js";
import { LatencyTracker } from "../../../src/core/routing/target-selection.js";
import type { ProviderAdapter } from "../../../src/providers/provider-adapter.js";

// Callers choose the model part of "<account>/<model>" freely (it is passed through to the
// provider), so every per-target table of the gateway must stay bounded however many distinct
// names arrive; before, each distinct name stayed in memory for good (~750 bytes each).

const SETTINGS = { failureThreshold: 1, cooldownMs: 60_000 };

describe("per-target state stays bounded under distinct caller-chosen model names", () => {
  it("the catalog's target cache drops its oldest entry past MAX_CACHED_TARGETS", () => {
    const config = parseConfigText("providers: { a: { type: openai, api_key: k } }", "bounded.yaml", {});
    const catalog = new ModelCatalog(config, new Map([["a", { family: "openai" } as ProviderAdapter]]));
    const first = catalog.target("a/first");
    expect(catalog.target("a/first")).toBe(first);
    for (let index = 0; index < MAX_CACHED_TARGETS; index++) catalog.target(`a/model-${index}`);
    const again = catalog.target("a/first");
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
  });

  it("the breakers forget closed circuits past MAX_TRACKED_BREAKERS, and keep open ones", () => {
    let now = 0;
    const breakers = new CircuitBreakers(() => now);
    const failing = breakers.for("a/failing", SETTINGS);
    failing.tryAcquire()?.failed();
    expect(failing.state).toBe("open");
    const healthy = breakers.for("a/healthy", SETTINGS);
    healthy.tryAcquire()?.succeeded();
    for (let index = 0; index < MAX_TRACKED_BREAKERS + 10; index++) breakers.for(`a/model-${index}`, SETTINGS).tryAcquire()?.succeeded();
    expect(breakers.for("a/failing", SETTINGS)).toBe(failing);
    expect(breakers.for("a/failing", SETTINGS).tryAcquire()).toBeUndefined();
    expect(breakers.for("a/healthy", SETTINGS)).not.toBe(healthy);
    now += 60_000;
    expect(breakers.for("a/failing", SETTINGS).state).toBe("half-open");
  });

  it("the latency tracker forgets its oldest average past its capacity", () => {
    const latency = new LatencyTracker(0.3, 2);
    latency.record("a/one", true, 10);
    latency.record("a/two", true, 20);
    latency.record("a/two", true, 30);
    latency.record("a/three", true, 40);
    expect(latency.estimate("a/one", true)).toBeUndefined();
    expect(latency.estimate("a/two", true)).toBe(23);
    expect(latency.estimate("a/three", true)).toBe(40);
  });

  it("the latency tracker keeps streams and unary calls apart, within one capacity", () => {
    const latency = new LatencyTracker(0.3, 2);
    latency.record("a/one", true, 10);
    latency.record("a/one", false, 100);
    expect(latency.estimate("a/one", true)).toBe(10);
    expect(latency.estimate("a/one", false)).toBe(100);
    // Full: a new unary average replaces the oldest unary one.
    latency.record("a/two", false, 200);
    expect(latency.estimate("a/one", false)).toBeUndefined();
    expect(latency.estimate("a/one", true)).toBe(10);
    expect(latency.estimate("a/two", false)).toBe(200);
    // Full: a new stream average replaces the oldest stream one.
    latency.record("a/three", true, 30);
    expect(latency.estimate("a/one", true)).toBeUndefined();
    expect(latency.estimate("a/two", false)).toBe(200);
    expect(latency.estimate("a/three", true)).toBe(30);
  });

  it("the latency tracker makes room in the other mode when a full tracker has none of this one", () => {
    const latency = new LatencyTracker(0.3, 2);
    latency.record("a/one", false, 10);
    latency.record("a/two", false, 20);
    latency.record("a/three", true, 30);
    expect(latency.estimate("a/one", false)).toBeUndefined();
    expect(latency.estimate("a/two", false)).toBe(20);
    expect(latency.estimate("a/three", true)).toBe(30);
  });
});
