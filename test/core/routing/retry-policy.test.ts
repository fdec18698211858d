import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { gatewayError, Reason } from "../../../src/core/errors.js";
import { classifyFailure } from "../../../src/core/routing/failure-classification.js";
import { backoffDelayMs, decideRetry } from "../../../src/core/routing/retry-policy.js";

const settings = { maxRetries: 2, baseDelayMs: 100, maxDelayMs: 1000, budgetMs: 5000 };
const unavailable = gatewayError(Code.Unavailable, Reason.PROVIDER_UNAVAILABLE, "x", { upstreamStatus: 503 });
const rateLimited = (retryAfterMs: number) => gatewayError(Code.ResourceExhausted, Reason.RATE_LIMIT_EXCEEDED, "x", { upstreamStatus: 429, retryAfterMs });

describe("backoffDelayMs (full jitter)", () => {
  it("stays within [0, min(max, base * 2^n))", () => {
    for (let retry = 0; retry < 8; retry++) {
      const ceiling = Math.min(1000, 100 * 2 ** retry);
      expect(backoffDelayMs(retry, settings, () => 0)).toBe(0);
      expect(backoffDelayMs(retry, settings, () => 0.999999)).toBe(Math.floor(0.999999 * ceiling));
      for (let sample = 0; sample < 50; sample++) {
        const delay = backoffDelayMs(retry, settings);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(ceiling);
      }
    }
  });

  it("grows exponentially until the cap", () => {
    const half = () => 0.5;
    expect([0, 1, 2, 3, 4, 5].map((retry) => backoffDelayMs(retry, settings, half))).toEqual([50, 100, 200, 400, 500, 500]);
  });
});

describe("decideRetry", () => {
  const ask = (error = unavailable, retriesDone = 0, remainingMs = 5000) =>
    decideRetry({ error, classification: classifyFailure(error), retriesDone, settings, remainingMs, random: () => 0.5 });

  it("retries a retryable failure after the jittered backoff", () => {
    expect(ask()).toEqual({ kind: "retry", delayMs: 50, honoredRetryAfter: false });
  });

  it("fails over after maxRetries retries", () => {
    expect(ask(unavailable, 2).kind).toBe("failover");
  });

  it("never retries failures that are not retryable", () => {
    const error = gatewayError(Code.DeadlineExceeded, Reason.UPSTREAM_TIMEOUT, "silent", { afterFirstByte: false });
    expect(ask(error).kind).toBe("failover");
  });

  it("honours a Retry-After that fits, never waiting less", () => {
    expect(ask(rateLimited(3000))).toEqual({ kind: "retry", delayMs: 3000, honoredRetryAfter: true });
    expect(ask(rateLimited(0))).toEqual({ kind: "retry", delayMs: 50, honoredRetryAfter: true });
  });

  it("fails over at once when the Retry-After does not fit in the time left", () => {
    const decision = ask(rateLimited(6000), 0, 5000);
    expect(decision.kind).toBe("failover");
  });

  it("fails over when even the backoff does not fit", () => {
    expect(ask(unavailable, 0, 10).kind).toBe("failover");
  });
});
