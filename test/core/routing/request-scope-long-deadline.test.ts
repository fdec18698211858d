import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MAX_TIMER_MS, RequestScope } from "../../../src/core/routing/request-scope.js";

const DAY_MS = 86_400_000;

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe("RequestScope deadlines beyond the longest timer", () => {
  it("a 30-day deadline does not expire at once, nor at the timer limit, and does expire after 30 days", () => {
    const scope = new RequestScope(new AbortController().signal, 30 * DAY_MS);
    const attempt = scope.attemptController();
    vi.advanceTimersByTime(10);
    expect(scope.stopped).toBe(false);
    vi.advanceTimersByTime(MAX_TIMER_MS);
    expect(scope.stopped).toBe(false);
    expect(attempt.signal.aborted).toBe(false);
    vi.advanceTimersByTime(30 * DAY_MS - MAX_TIMER_MS - 20);
    expect(scope.stopped).toBe(false);
    vi.advanceTimersByTime(10);
    expect(scope.stopped).toBe(true);
    expect(scope.expired).toBe(true);
    expect(attempt.signal.aborted).toBe(true);
    expect(scope.stopError()?.reason).toBe("UPSTREAM_TIMEOUT");
    scope.dispose();
  });

  it("a small deadline still fires on time", () => {
    const scope = new RequestScope(new AbortController().signal, 50);
    vi.advanceTimersByTime(49);
    expect(scope.stopped).toBe(false);
    vi.advanceTimersByTime(1);
    expect(scope.stopped).toBe(true);
    expect(scope.stopError()?.code).toBe(Code.DeadlineExceeded);
    scope.dispose();
  });

  it("ignores a front door's deadline abort while more than a day is left (its timer overflowed), but not a cancel", () => {
    const caller = new AbortController();
    const scope = new RequestScope(caller.signal, 25 * DAY_MS);
    vi.advanceTimersByTime(1);
    caller.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    expect(scope.stopped).toBe(false);
    expect(scope.expired).toBe(false);
    expect(scope.canceled).toBe(false);
    expect(scope.stopError()).toBeUndefined();
    scope.dispose();

    const canceling = new AbortController();
    const canceled = new RequestScope(canceling.signal, 25 * DAY_MS);
    canceling.abort();
    expect(canceled.stopped).toBe(true);
    expect(canceled.stopError()?.reason).toBe("CANCELED");
    canceled.dispose();
  });

  it("heeds a front door's deadline abort for an ordinary deadline", () => {
    const caller = new AbortController();
    const scope = new RequestScope(caller.signal, 5_000);
    caller.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    expect(scope.stopped).toBe(true);
    expect(scope.expired).toBe(true);
    expect(scope.stopError()?.code).toBe(Code.DeadlineExceeded);
    scope.dispose();
  });
});
