import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { gatewayError, Reason, type ErrorFacts } from "../../../src/core/errors.js";
import { classifyFailure, isFailoverError } from "../../../src/core/routing/failure-classification.js";

const error = (reason: Reason, facts: ErrorFacts = {}) => gatewayError(Code.Unknown, reason, "x", facts);

describe("classifyFailure", () => {
  it.each([
    ["connection refused/reset before any byte", error(Reason.PROVIDER_UNREACHABLE, { afterFirstByte: false }), "retry", true],
    ["HTTP 500", error(Reason.PROVIDER_UNAVAILABLE, { upstreamStatus: 500 }), "retry", true],
    ["HTTP 502", error(Reason.PROVIDER_UNAVAILABLE, { upstreamStatus: 502 }), "retry", true],
    ["HTTP 503", error(Reason.PROVIDER_UNAVAILABLE, { upstreamStatus: 503 }), "retry", true],
    ["HTTP 529 overloaded", error(Reason.PROVIDER_UNAVAILABLE, { upstreamStatus: 529 }), "retry", true],
    ["an in-stream provider error", error(Reason.PROVIDER_UNAVAILABLE, { upstreamStatus: 0 }), "retry", true],
    ["HTTP 504 from upstream", error(Reason.UPSTREAM_TIMEOUT, { upstreamStatus: 504 }), "retry", true],
    ["HTTP 429", error(Reason.RATE_LIMIT_EXCEEDED, { upstreamStatus: 429, retryAfterMs: 100 }), "retry", true],
    ["a stream that ended before saying anything", error(Reason.STREAM_INTERRUPTED), "retry", true],
    ["HTTP 500 whose provider said x-should-retry: false", error(Reason.PROVIDER_UNAVAILABLE, { upstreamStatus: 500, noRetry: true }), "failover", true],
    ["HTTP 429 whose provider said x-should-retry: false", error(Reason.RATE_LIMIT_EXCEEDED, { upstreamStatus: 429, noRetry: true }), "failover", true],
    ["HTTP 400 whose provider said x-should-retry: false", error(Reason.UPSTREAM_INVALID_REQUEST, { upstreamStatus: 400, noRetry: true }), "final", false],
    ["our first-byte/first-token timeout", error(Reason.UPSTREAM_TIMEOUT, { afterFirstByte: false }), "failover", true],
    ["a stall", error(Reason.UPSTREAM_TIMEOUT, { afterFirstByte: true }), "failover", true],
    ["our timeout at the target's own bound", error(Reason.UPSTREAM_TIMEOUT, { afterFirstByte: false, timeoutBound: "firstTokenMs" }), "failover", true],
    ["our timeout at a bound tighter than the target's own", error(Reason.UPSTREAM_TIMEOUT, { afterFirstByte: false, timeoutBound: "firstTokenMs", tightenedBound: true }), "failover", false],
    ["HTTP 504 from upstream, whatever our bounds", error(Reason.UPSTREAM_TIMEOUT, { upstreamStatus: 504, tightenedBound: true }), "retry", true],
    ["a connection lost mid-response", error(Reason.PROVIDER_UNREACHABLE, { afterFirstByte: true }), "failover", true],
    ["HTTP 501", error(Reason.PROVIDER_UNAVAILABLE, { upstreamStatus: 501 }), "failover", true],
    ["quota exhausted", error(Reason.INSUFFICIENT_QUOTA, { upstreamStatus: 429 }), "failover", true],
    ["the gateway's provider key rejected", error(Reason.PROVIDER_AUTH_FAILED, { upstreamStatus: 401 }), "failover", true],
    ["a malformed upstream response", error(Reason.INVALID_PROVIDER_RESPONSE), "failover", true],
    ["context length exceeded", error(Reason.CONTEXT_LENGTH_EXCEEDED, { upstreamStatus: 400 }), "failover", false],
    ["an invalid request (ours)", error(Reason.INVALID_REQUEST), "final", false],
    ["an invalid request (upstream)", error(Reason.UPSTREAM_INVALID_REQUEST, { upstreamStatus: 400 }), "final", false],
    ["a content-filter rejection", error(Reason.CONTENT_FILTER, { upstreamStatus: 400 }), "final", false],
    ["the provider's 404 for the model", error(Reason.MODEL_NOT_FOUND, { upstreamStatus: 404 }), "failover", false],
    ["an unknown account (ours, before any attempt)", error(Reason.MODEL_NOT_FOUND), "final", false],
    ["an unsupported feature", error(Reason.UNSUPPORTED_FEATURE), "final", false],
    ["a provider's 413 (its body limit; the next target may take the request)", error(Reason.REQUEST_TOO_LARGE, { upstreamStatus: 413 }), "failover", false],
    ["the gateway's own 413 (before any attempt)", error(Reason.REQUEST_TOO_LARGE), "final", false],
    ["a provider's 409 (a lock timeout: retry)", error(Reason.PROVIDER_UNAVAILABLE, { upstreamStatus: 409 }), "retry", true],
    ["a provider's 425 Too Early", error(Reason.PROVIDER_UNAVAILABLE, { upstreamStatus: 425 }), "retry", true],
    ["our own bug", error(Reason.INTERNAL_ERROR), "final", false],
    ["the caller canceling", error(Reason.CANCELED), "stop", false],
  ])("%s: %s", (_name, failure, action, unhealthy) => {
    expect(classifyFailure(failure)).toMatchObject({ action, unhealthy });
    expect(isFailoverError(failure)).toBe(action === "retry" || action === "failover");
  });

  it.each([
    ["our timeout at a tighter bound", error(Reason.UPSTREAM_TIMEOUT, { timeoutBound: "firstTokenMs", tightenedBound: true }), true],
    ["the gateway at its own bound", error(Reason.GATEWAY_OVERLOADED), true],
    ["our timeout at the target's own bound", error(Reason.UPSTREAM_TIMEOUT, { timeoutBound: "firstTokenMs" }), undefined],
    ["context length exceeded (the provider answered)", error(Reason.CONTEXT_LENGTH_EXCEEDED, { upstreamStatus: 400 }), undefined],
  ])("%s: the provider unheard is %s", (_name, failure, unheard) => {
    expect(classifyFailure(failure).unheard).toBe(unheard);
  });
});
