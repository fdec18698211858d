import { describe, expect, it } from "vitest";
import { parseCallerTimeout, RequestScope } from "../../../src/core/routing/request-scope.js";

describe("parseCallerTimeout", () => {
  it.each([
    ["1500", 1500],
    ["1500ms", 1500],
    ["1.5s", 1500],
    [" 2s ", 2000],
    ["250MS", 250],
  ])("%s -> %d ms", (value, expected) => {
    expect(parseCallerTimeout(value)).toBe(expected);
  });

  it("is undefined without a header", () => {
    expect(parseCallerTimeout(undefined)).toBeUndefined();
  });

  it.each(["soon", "0", "-5", "1h", "99999999999"])("rejects %s as the caller's mistake", (value) => {
    expect(() => parseCallerTimeout(value)).toThrow(/x-switchyard-timeout/);
  });
});

describe("RequestScope", () => {
  it("caps a target's timeouts to the time left before the caller's deadline, but for connect_ms (it keys the connection pool)", () => {
    let now = 1000;
    const scope = new RequestScope(new AbortController().signal, 500, () => now);
    now = 1200;
    expect(scope.capTimeouts({ connectMs: 5000, firstTokenMs: 100, idleMs: 30000, totalMs: 600000 })).toEqual({ connectMs: 5000, firstTokenMs: 100, idleMs: 300, totalMs: 300 });
    scope.dispose();
  });

  it("aborts at the deadline with a deadline error, and on caller cancel with CANCELED", async () => {
    const scope = new RequestScope(new AbortController().signal, 20);
    const attempt = scope.attemptController();
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(attempt.signal.aborted).toBe(true);
    expect(scope.stopError()?.reason).toBe("UPSTREAM_TIMEOUT");
    scope.dispose();
    const caller = new AbortController();
    const canceled = new RequestScope(caller.signal, undefined);
    caller.abort();
    expect(canceled.signal.aborted).toBe(true);
    expect(canceled.canceled).toBe(true);
    expect(canceled.stopError()?.reason).toBe("CANCELED");
    canceled.dispose();
  });

  it("sleeps, and wakes early when the request stops", async () => {
    const caller = new AbortController();
    const scope = new RequestScope(caller.signal, undefined);
    const started = Date.now();
    setTimeout(() => caller.abort(), 20);
    await scope.sleep(5000);
    expect(Date.now() - started).toBeLessThan(1000);
    scope.dispose();
  });
});
