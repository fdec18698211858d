import type { RetrySettings } from "../../config/gateway-config.js";
import type { GatewayError } from "../errors.js";
import type { FailureClassification } from "./failure-classification.js";

/** A source of uniform random numbers in [0, 1); injectable so tests are deterministic. */
export type RandomSource = () => number;

/**
 * The full-jitter backoff before retry number `retryIndex` (0 for the first retry): a uniform
 * random wait in [0, min(maxDelayMs, baseDelayMs * 2^retryIndex)). Never negative, never above
 * maxDelayMs.
 * @see https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
export function backoffDelayMs(retryIndex: number, settings: Pick<RetrySettings, "baseDelayMs" | "maxDelayMs">, random: RandomSource = Math.random): number {
  const ceiling = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** Math.max(0, retryIndex));
  return Math.max(0, Math.floor(random() * ceiling));
}

/** What to do after a failed attempt on one target. */
export type RetryDecision =
  | { readonly kind: "retry"; readonly delayMs: number; readonly honoredRetryAfter: boolean }
  | { readonly kind: "failover"; readonly why: string; readonly retryAfterTooLong?: boolean };

/** The facts a retry decision needs. */
export interface RetryQuestion {
  readonly error: GatewayError;
  readonly classification: FailureClassification;
  /** Retries already made on this target for this request. */
  readonly retriesDone: number;
  readonly settings: RetrySettings;
  /** Time left for waiting, in ms: the smaller of the retry budget less the waits already scheduled in this request, and the time before the caller's deadline. */
  readonly remainingMs: number;
  readonly random?: RandomSource;
}

/**
 * Decides between retrying the same target (and after how long) and failing over. Only `retry`
 * failures are retried, at most `maxRetries` times. A Retry-After (`facts.retryAfterMs`, from the
 * header, an HTTP date, or a provider body such as Gemini's RetryInfo) is honoured, never cut
 * short, when it fits in the remaining time; when it does not, the decision is to fail over at
 * once rather than wait. Otherwise the wait is the full-jitter backoff, which must also fit.
 */
export function decideRetry(question: RetryQuestion): RetryDecision {
  const { error, classification, retriesDone, settings, remainingMs } = question;
  if (classification.action !== "retry") return { kind: "failover", why: "not retryable" };
  if (retriesDone >= settings.maxRetries) return { kind: "failover", why: `${retriesDone} retries made` };
  const jitter = backoffDelayMs(retriesDone, settings, question.random);
  const retryAfter = error.facts.retryAfterMs;
  if (retryAfter !== undefined) {
    if (retryAfter > remainingMs) return { kind: "failover", why: `Retry-After of ${retryAfter} ms exceeds the ${Math.max(0, Math.floor(remainingMs))} ms left`, retryAfterTooLong: true };
    return { kind: "retry", delayMs: Math.max(retryAfter, Math.min(jitter, remainingMs)), honoredRetryAfter: true };
  }
  if (jitter >= remainingMs) return { kind: "failover", why: "retry budget exhausted" };
  return { kind: "retry", delayMs: jitter, honoredRetryAfter: false };
}
