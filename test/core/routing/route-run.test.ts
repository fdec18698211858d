import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Role } from "../../../gen/switchyard/v1/chat_pb.js";
import { DEFAULT_TIMEOUTS } from "../../../src/config/gateway-config.js";
import { gatewayError, Reason } from "../../../src/core/errors.js";
import { CircuitBreakers } from "../../../src/core/routing/circuit-breaker.js";
import { RequestScope } from "../../../src/core/routing/request-scope.js";
import { RouteRun, type AttemptReport } from "../../../src/core/routing/route-run.js";
import { chatInput, target } from "./test-targets.js";

const unavailable = gatewayError(Code.Unavailable, Reason.PROVIDER_UNAVAILABLE, "down", { upstreamStatus: 503 });
const fast = { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 2, budgetMs: 1000 };

function run(targets: ReturnType<typeof target>[], input = chatInput(), breakers = new CircuitBreakers()) {
  const reports: AttemptReport[] = [];
  const scope = new RequestScope(new AbortController().signal, undefined);
  const routeRun = new RouteRun(targets, { input, scope, breakers, random: () => 0.5, onAttemptFailed: (report) => reports.push(report) });
  return { routeRun, reports, scope };
}

const withRetry = (id: string, extra: Parameters<typeof target>[1] = {}) => ({ ...target(id, extra), retry: fast });

describe("RouteRun", () => {
  it("retries a target up to maxRetries, then moves to the next, and reports every step", async () => {
    const { routeRun, reports } = run([withRetry("a/m"), withRetry("b/m")]);
    const seen: string[] = [];
    for (let attempt = await routeRun.next(); attempt; attempt = await routeRun.next()) {
      seen.push(`${attempt.target.id}#${attempt.retry}`);
      if (attempt.target.id === "b/m") {
        routeRun.succeeded(attempt);
        break;
      }
      routeRun.failed(attempt, unavailable);
    }
    expect(seen).toEqual(["a/m#0", "a/m#1", "a/m#2", "b/m#0"]);
    expect(reports.map((report) => report.action)).toEqual(["retry", "retry", "failover"]);
    expect(routeRun.routeInfo().attempts).toBe(4);
    expect(routeRun.routeInfo().failures).toHaveLength(3);
  });

  it("ends at a final error and answers with it", async () => {
    const { routeRun } = run([withRetry("a/m"), withRetry("b/m")]);
    const attempt = await routeRun.next();
    const invalid = gatewayError(Code.InvalidArgument, Reason.UPSTREAM_INVALID_REQUEST, "bad", { upstreamStatus: 400 });
    expect(attempt && routeRun.failed(attempt, invalid)).toBe("final");
    expect(await routeRun.next()).toBeUndefined();
    expect(routeRun.error()).toBe(invalid);
  });

  it("skips targets whose circuit is open, and answers 503 with Retry-After when all are", async () => {
    const breakers = new CircuitBreakers();
    const settings = { failureThreshold: 1, cooldownMs: 60_000 };
    breakers.for("a/m", settings).tryAcquire()?.failed();
    const a = { ...withRetry("a/m"), circuitBreaker: settings };
    const { routeRun } = run([a, withRetry("b/m")], chatInput(), breakers);
    expect((await routeRun.next())?.target.id).toBe("b/m");
    expect(routeRun.routeInfo().skipped.map((skip) => [skip.model, skip.reason])).toEqual([["a/m", "CIRCUIT_OPEN"]]);
    const lonely = run([a], chatInput(), breakers).routeRun;
    expect(await lonely.next()).toBeUndefined();
    expect(lonely.error().reason).toBe(Reason.PROVIDER_UNAVAILABLE);
    expect(lonely.error().facts.retryAfterMs).toBeGreaterThan(59_000);
  });

  it("skips targets that cannot take the request, but tries the primary when none can", async () => {
    const noImages = { name: "m", supports: { images: false } };
    const input = chatInput("x", { messages: [{ role: Role.USER, content: [{ part: { case: "image", value: { source: { case: "url", value: "https://x/y.png" } } } }] }] });
    const some = run([withRetry("a/m", { catalogModel: noImages }), withRetry("b/m")], input).routeRun;
    expect((await some.next())?.target.id).toBe("b/m");
    const none = run([{ ...withRetry("a/m", { catalogModel: noImages }), retry: { ...fast, maxRetries: 0 } }, withRetry("c/m", { catalogModel: noImages })], input).routeRun;
    const primary = await none.next();
    expect(primary?.target.id).toBe("a/m");
    expect(none.routeInfo().skipped).toEqual([]);
    if (primary) none.failed(primary, unavailable);
    expect(await none.next()).toBeUndefined();
    expect(none.routeInfo().skipped.map((skip) => skip.model)).toEqual(["c/m"]);
    expect(none.error()).toBe(unavailable);
  });

  it("records skips in route order, circuit and capability alike", async () => {
    const breakers = new CircuitBreakers();
    const settings = { failureThreshold: 1, cooldownMs: 60_000 };
    breakers.for("a/m", settings).tryAcquire()?.failed();
    const input = chatInput("x", { messages: [{ role: Role.USER, content: [{ part: { case: "image", value: { source: { case: "url", value: "https://x/y.png" } } } }] }] });
    const { routeRun } = run([{ ...withRetry("a/m"), circuitBreaker: settings }, withRetry("b/m", { catalogModel: { name: "m", supports: { images: false } } }), withRetry("c/m")], input, breakers);
    expect((await routeRun.next())?.target.id).toBe("c/m");
    expect(routeRun.routeInfo().skipped.map((skip) => [skip.model, skip.reason])).toEqual([["a/m", "CIRCUIT_OPEN"], ["b/m", Reason.UNSUPPORTED_FEATURE]]);
  });

  it("names no skip for a target the route never reached", async () => {
    const input = chatInput("x", { messages: [{ role: Role.USER, content: [{ part: { case: "image", value: { source: { case: "url", value: "https://x/y.png" } } } }] }] });
    const { routeRun } = run([withRetry("a/m"), withRetry("b/m", { catalogModel: { name: "m", supports: { images: false } } })], input);
    const attempt = await routeRun.next();
    expect(attempt?.target.id).toBe("a/m");
    if (attempt) routeRun.succeeded(attempt);
    expect(routeRun.routeInfo().skipped).toEqual([]);
  });

  it("answers 503 naming only the targets skipped for an open circuit", async () => {
    const breakers = new CircuitBreakers();
    const settings = { failureThreshold: 1, cooldownMs: 60_000 };
    breakers.for("a/m", settings).tryAcquire()?.failed();
    const input = chatInput("x", { tools: [{ name: "f" }] });
    const { routeRun } = run([{ ...withRetry("a/m"), circuitBreaker: settings }, withRetry("b/m", { catalogModel: { name: "m", supports: { tools: false } } })], input, breakers);
    expect(await routeRun.next()).toBeUndefined();
    expect(routeRun.error().reason).toBe(Reason.PROVIDER_UNAVAILABLE);
    expect(routeRun.error().message).toMatch(/circuit open\): a\/m$/);
    expect(routeRun.error().facts.retryAfterMs).toBeGreaterThan(59_000);
  });
});

describe("RouteRun.failureOf for the gateway's own timeouts", () => {
  const firstToken = gatewayError(Code.DeadlineExceeded, Reason.UPSTREAM_TIMEOUT, "no token", { afterFirstByte: false, timeoutBound: "firstTokenMs" });

  it("marks a timeout at a virtual-model target's override tighter than the target's own bound", async () => {
    const tight = { ...target("a/m"), timeouts: { ...DEFAULT_TIMEOUTS, firstTokenMs: 100 } };
    const { routeRun } = run([tight]);
    const attempt = await routeRun.next();
    if (!attempt) throw new Error("no attempt");
    expect(routeRun.failureOf(attempt, firstToken).facts.tightenedBound).toBe(true);
    // Another bound of the same target is its own: a timeout there counts.
    const total = gatewayError(Code.DeadlineExceeded, Reason.UPSTREAM_TIMEOUT, "not finished", { timeoutBound: "totalMs" });
    expect(routeRun.failureOf(attempt, total).facts.tightenedBound).toBeUndefined();
  });

  it("marks a timeout at a bound the caller's deadline shortened, and not one at the target's own bound", async () => {
    const breakers = new CircuitBreakers();
    const deadlineScope = new RequestScope(new AbortController().signal, 500);
    try {
      const capped = new RouteRun([target("a/m")], { input: chatInput(), scope: deadlineScope, breakers, random: () => 0.5, onAttemptFailed: () => undefined });
      const attempt = await capped.next();
      if (!attempt) throw new Error("no attempt");
      expect(capped.failureOf(attempt, firstToken).facts.tightenedBound).toBe(true);
    } finally {
      deadlineScope.dispose();
    }
    const { routeRun } = run([target("a/m")]);
    const own = await routeRun.next();
    if (!own) throw new Error("no attempt");
    expect(routeRun.failureOf(own, firstToken)).toBe(firstToken);
  });
});

describe("RouteRun.failed when the provider was not heard from", () => {
  it("neither charges nor credits the circuit: no failure counted, and no reset of the count", async () => {
    const breakers = new CircuitBreakers(() => 0);
    const settings = { failureThreshold: 2, cooldownMs: 1_000 };
    const one = { ...target("a/m"), circuitBreaker: settings, retry: { ...fast, maxRetries: 0 } };
    const attemptOnce = async (error: ReturnType<typeof gatewayError>) => {
      const { routeRun } = run([one], chatInput(), breakers);
      const attempt = await routeRun.next();
      if (!attempt) throw new Error("no attempt");
      routeRun.failed(attempt, error);
    };
    const timeout = gatewayError(Code.DeadlineExceeded, Reason.UPSTREAM_TIMEOUT, "slow", { timeoutBound: "firstTokenMs" });
    const tightened = gatewayError(Code.DeadlineExceeded, Reason.UPSTREAM_TIMEOUT, "slow", { timeoutBound: "firstTokenMs", tightenedBound: true });
    const overloaded = gatewayError(Code.Unavailable, Reason.GATEWAY_OVERLOADED, "busy");
    await attemptOnce(timeout);
    // Neither resets the count of the real failure before them...
    await attemptOnce(tightened);
    await attemptOnce(overloaded);
    expect(breakers.for("a/m", settings).state).toBe("closed");
    // ...so the next real failure opens the circuit.
    await attemptOnce(timeout);
    expect(breakers.for("a/m", settings).state).toBe("open");
  });
});
