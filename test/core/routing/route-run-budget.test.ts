import { Code } from "@connectrpc/connect";
import { afterEach, describe, expect, it, vi } from "vitest";
import { gatewayError, Reason } from "../../../src/core/errors.js";
import { CircuitBreakers } from "../../../src/core/routing/circuit-breaker.js";
import { RequestScope } from "../../../src/core/routing/request-scope.js";
import { RouteRun, type Attempt, type AttemptReport } from "../../../src/core/routing/route-run.js";
import { chatInput, target } from "./test-targets.js";

const unavailable = gatewayError(Code.Unavailable, Reason.PROVIDER_UNAVAILABLE, "down", { upstreamStatus: 503 });
const retryAfter = (ms: number) => gatewayError(Code.Unavailable, Reason.PROVIDER_UNAVAILABLE, "busy", { upstreamStatus: 503, retryAfterMs: ms });

afterEach(() => {
  vi.useRealTimers();
});

/** A run over `ids`, each with a retry budget of `budgetMs`, on a clock the test moves by hand. */
function run(ids: string[], budgetMs: number, timeoutMs?: number) {
  vi.useFakeTimers();
  const reports: AttemptReport[] = [];
  const retry = { maxRetries: 2, baseDelayMs: 10, maxDelayMs: 10, budgetMs };
  const scope = new RequestScope(new AbortController().signal, timeoutMs);
  const routeRun = new RouteRun(ids.map((id) => ({ ...target(id), retry })), { input: chatInput(), scope, breakers: new CircuitBreakers(), random: () => 0.5, onAttemptFailed: (report) => reports.push(report) });
  return { routeRun, reports, scope };
}

/** The next attempt, letting any scheduled wait pass on the fake clock. */
async function next(routeRun: RouteRun): Promise<Attempt | undefined> {
  const pending = routeRun.next();
  await vi.runAllTimersAsync();
  return pending;
}

describe("the retry budget counts waiting between attempts, not time spent in attempts", () => {
  it("a slow failure of the primary leaves the fallback its retries", async () => {
    const { routeRun, reports } = run(["a/m", "b/m"], 5_000);
    const primary = await next(routeRun);
    // The primary answers 503 after 5.2 s: longer than the whole budget, but none of it was waiting.
    vi.advanceTimersByTime(5_200);
    expect(routeRun.failed(primary as Attempt, unavailable)).toBe("retry");
    const primaryRetry = await next(routeRun);
    expect(primaryRetry?.target.id).toBe("a/m");
    vi.advanceTimersByTime(5_200);
    routeRun.failed(primaryRetry as Attempt, unavailable);
    const primaryLast = await next(routeRun);
    routeRun.failed(primaryLast as Attempt, unavailable);
    const fallback = await next(routeRun);
    expect(fallback?.target.id).toBe("b/m");
    expect(routeRun.failed(fallback as Attempt, unavailable)).toBe("retry");
    const fallbackRetry = await next(routeRun);
    expect(fallbackRetry?.target.id).toBe("b/m");
    expect(fallbackRetry?.retry).toBe(1);
    expect(reports.map((report) => report.action)).toEqual(["retry", "retry", "failover", "retry"]);
  });

  it("fails over once the waits already scheduled leave too little of the budget", async () => {
    const { routeRun, reports } = run(["a/m", "b/m"], 100);
    const first = await next(routeRun);
    expect(routeRun.failed(first as Attempt, retryAfter(60))).toBe("retry");
    const second = await next(routeRun);
    expect(second?.target.id).toBe("a/m");
    // 60 of the 100 ms were waited: a second 60 ms Retry-After no longer fits.
    expect(routeRun.failed(second as Attempt, retryAfter(60))).toBe("failover");
    expect(reports[1]?.why).toBe("Retry-After of 60 ms exceeds the 40 ms left");
    expect((await next(routeRun))?.target.id).toBe("b/m");
  });

  it("still fits each wait before the caller's deadline", async () => {
    const { routeRun, reports, scope } = run(["a/m", "b/m"], 60_000, 1_000);
    // The first attempt needs no wait (and running the timers would run the deadline's).
    const first = await routeRun.next();
    vi.advanceTimersByTime(900);
    expect(routeRun.failed(first as Attempt, retryAfter(500))).toBe("failover");
    expect(reports[0]?.why).toMatch(/exceeds the 100 ms left/);
    scope.dispose();
  });
});
