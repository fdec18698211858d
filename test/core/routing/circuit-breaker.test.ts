import { describe, expect, it } from "vitest";
import { CircuitBreaker, CircuitBreakers, type CircuitState } from "../../../src/core/routing/circuit-breaker.js";

function setup(threshold = 3, cooldownMs = 1000) {
  let now = 0;
  const changes: CircuitState[] = [];
  const breaker = new CircuitBreaker({ failureThreshold: threshold, cooldownMs }, () => now, (state) => changes.push(state));
  return { breaker, changes, advance: (ms: number) => { now += ms; } };
}

describe("CircuitBreaker", () => {
  it("opens after the threshold of consecutive failures", () => {
    const { breaker, changes } = setup();
    breaker.tryAcquire()?.failed();
    breaker.tryAcquire()?.failed();
    expect(breaker.state).toBe("closed");
    breaker.tryAcquire()?.failed();
    expect(breaker.state).toBe("open");
    expect(breaker.tryAcquire()).toBeUndefined();
    expect(changes).toEqual(["open"]);
  });

  it("a success resets the count of consecutive failures", () => {
    const { breaker } = setup();
    breaker.tryAcquire()?.failed();
    breaker.tryAcquire()?.failed();
    breaker.tryAcquire()?.succeeded();
    breaker.tryAcquire()?.failed();
    breaker.tryAcquire()?.failed();
    expect(breaker.state).toBe("closed");
  });

  it("lets exactly one probe through after the cool-down; its success closes the circuit", () => {
    const { breaker, advance, changes } = setup(1, 1000);
    breaker.tryAcquire()?.failed();
    advance(999);
    expect(breaker.tryAcquire()).toBeUndefined();
    expect(breaker.msUntilProbe()).toBe(1);
    advance(1);
    expect(breaker.state).toBe("half-open");
    const probe = breaker.tryAcquire();
    expect(probe?.probe).toBe(true);
    expect(breaker.tryAcquire()).toBeUndefined();
    probe?.succeeded();
    expect(breaker.state).toBe("closed");
    expect(breaker.tryAcquire()?.probe).toBe(false);
    expect(changes).toEqual(["open", "half-open", "closed"]);
  });

  it("a failed probe re-opens the circuit for another cool-down", () => {
    const { breaker, advance } = setup(1, 1000);
    breaker.tryAcquire()?.failed();
    advance(1000);
    breaker.tryAcquire()?.failed();
    expect(breaker.state).toBe("open");
    advance(500);
    expect(breaker.tryAcquire()).toBeUndefined();
    advance(500);
    expect(breaker.tryAcquire()?.probe).toBe(true);
  });

  it("a released probe (caller canceled) frees the slot without a verdict", () => {
    const { breaker, advance } = setup(1, 1000);
    breaker.tryAcquire()?.failed();
    advance(1000);
    breaker.tryAcquire()?.released();
    expect(breaker.state).toBe("half-open");
    expect(breaker.tryAcquire()?.probe).toBe(true);
  });

  it("ignores late verdicts of calls that started before the last state change", () => {
    const { breaker, advance } = setup(1, 1000);
    const old = breaker.tryAcquire();
    breaker.tryAcquire()?.failed();
    advance(1000);
    breaker.tryAcquire()?.succeeded();
    old?.failed();
    expect(breaker.state).toBe("closed");
  });

  it("ignores a second verdict on the same permit", () => {
    const { breaker } = setup(2);
    const permit = breaker.tryAcquire();
    permit?.failed();
    permit?.failed();
    expect(breaker.state).toBe("closed");
  });
});

describe("CircuitBreakers", () => {
  it("keeps one breaker per target", () => {
    const breakers = new CircuitBreakers(() => 0);
    const settings = { failureThreshold: 1, cooldownMs: 10 };
    breakers.for("a/m", settings).tryAcquire()?.failed();
    expect(breakers.for("a/m", settings).state).toBe("open");
    expect(breakers.for("b/m", settings).state).toBe("closed");
  });
});
