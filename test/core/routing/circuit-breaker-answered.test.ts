import { describe, expect, it } from "vitest";
import { CircuitBreaker, type CircuitState } from "../../../src/core/routing/circuit-breaker.js";

function setup(threshold = 3, cooldownMs = 1000) {
  let now = 0;
  const changes: CircuitState[] = [];
  const breaker = new CircuitBreaker({ failureThreshold: threshold, cooldownMs }, () => now, (state) => changes.push(state));
  return { breaker, changes, advance: (ms: number) => { now += ms; } };
}

/** A breaker opened by `threshold` failures whose cool-down has passed, and its probe permit. */
function halfOpen(threshold = 3) {
  const context = setup(threshold);
  for (let index = 0; index < threshold; index++) context.breaker.tryAcquire()?.failed();
  context.advance(1000);
  const probe = context.breaker.tryAcquire();
  expect(probe?.probe).toBe(true);
  return { ...context, probe };
}

describe("CircuitPermit.answered (a stream's first token)", () => {
  it("closes a half-open circuit at once and frees the probe slot; the end of the stream changes nothing more", () => {
    const { breaker, changes, probe } = halfOpen();
    expect(breaker.tryAcquire()).toBeUndefined();
    probe?.answered();
    expect(breaker.state).toBe("closed");
    const other = breaker.tryAcquire();
    expect(other?.probe).toBe(false);
    other?.succeeded();
    probe?.succeeded();
    probe?.answered();
    expect(changes).toEqual(["open", "half-open", "closed"]);
  });

  it("a failure after the answer counts as one failure of a closed circuit, not as a failed probe", () => {
    const { breaker, probe } = halfOpen(3);
    probe?.answered();
    probe?.failed();
    expect(breaker.state).toBe("closed");
    breaker.tryAcquire()?.failed();
    expect(breaker.state).toBe("closed");
    breaker.tryAcquire()?.failed();
    expect(breaker.state).toBe("open");
  });

  it("with a threshold of one, a cut after the answer opens the circuit again", () => {
    const { breaker, probe } = halfOpen(1);
    probe?.answered();
    expect(breaker.state).toBe("closed");
    probe?.failed();
    expect(breaker.state).toBe("open");
  });

  it("keeps the failure count of a closed circuit: streams that all fail after their first token open it", () => {
    const { breaker, changes } = setup(3);
    for (let index = 0; index < 3; index++) {
      const stream = breaker.tryAcquire();
      stream?.answered();
      expect(breaker.state).toBe("closed");
      stream?.failed();
    }
    expect(breaker.state).toBe("open");
    expect(changes).toEqual(["open"]);
  });

  it("leaves the count to the stream's end: a success resets it, and so does a stream the caller left after its first token", () => {
    const { breaker, changes } = setup(2);
    breaker.tryAcquire()?.failed();
    const finished = breaker.tryAcquire();
    finished?.answered();
    finished?.succeeded();
    breaker.tryAcquire()?.failed();
    expect(breaker.state).toBe("closed");
    // A chat UI's stop button: the stream was answering when the caller left.
    const left = breaker.tryAcquire();
    left?.answered();
    left?.callerLeft();
    breaker.tryAcquire()?.failed();
    expect(breaker.state).toBe("closed");
    // One of the gateway's own bounds cutting an answering stream (a tighter idle bound) is no verdict: no reset.
    const cut = breaker.tryAcquire();
    cut?.answered();
    cut?.released();
    // Nor is a caller leaving before the first token.
    breaker.tryAcquire()?.callerLeft();
    breaker.tryAcquire()?.failed();
    expect(breaker.state).toBe("open");
    expect(changes).toEqual(["open"]);
  });

  it("is ignored for a call that started before the circuit opened", () => {
    const { breaker, advance } = setup(1);
    const old = breaker.tryAcquire();
    breaker.tryAcquire()?.failed();
    expect(breaker.state).toBe("open");
    old?.answered();
    expect(breaker.state).toBe("open");
    old?.failed();
    advance(1000);
    expect(breaker.tryAcquire()?.probe).toBe(true);
  });

  it("is ignored after the attempt's verdict", () => {
    const { breaker, probe } = halfOpen(1);
    probe?.failed();
    expect(breaker.state).toBe("open");
    probe?.answered();
    expect(breaker.state).toBe("open");
  });
});
