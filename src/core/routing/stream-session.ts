import { Code } from "@connectrpc/connect";
import type { ChatInput, ResponseStart, Usage } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import { gatewayError, GatewayError, Reason } from "../errors.js";
import type { ResolvedTarget } from "../model-catalog.js";
import { usageEvent } from "../stream-events.js";
import { estimatedUsage } from "../usage-estimate.js";
import { classifyFailure } from "./failure-classification.js";
import { ATTEMPT_OVER, type RequestScope } from "./request-scope.js";
import type { Attempt, RouteRun } from "./route-run.js";
import { DeliveredAnswer, interruptedError, planRecovery, RecoverySplice, type OriginalFailure, type RecoveryMode } from "./stream-recovery.js";
import { isTokenEvent, StreamWatchdog } from "./stream-watchdog.js";
import type { LatencyTracker } from "./target-selection.js";
import { applyTargetParams } from "./target-params.js";

/** After the last finish, how long to wait for the usage event and the end of the upstream stream. */
export const FINISH_GRACE_MS = 2_000;

/** One usage record: the answering attempt's usage, or the partial usage of a canceled stream. */
export interface UsageRecord {
  readonly target: string;
  readonly usage: Usage | undefined;
  /** True when the caller went away before the answer was complete. */
  readonly partial: boolean;
  /** True when the numbers are the gateway's estimate (characters / 4), not the provider's. */
  readonly estimated: boolean;
  /** The name of the gateway key the request came with (CallContext.keyName). */
  readonly keyName?: string | undefined;
}

/** What a stream session needs. */
export interface StreamSessionOptions {
  readonly input: ChatInput;
  /** Plans the route; called on the first next(), so its errors are the stream's. The scope is disposed when the stream ends. */
  readonly start: () => { readonly run: RouteRun; readonly scope: RequestScope };
  readonly latency: LatencyTracker;
  readonly now: () => number;
  /** The name of the gateway key the request came with, for the usage records. */
  readonly keyName?: string | undefined;
  readonly onUsage: (record: UsageRecord) => void;
}

function routeSummaryEvent(model: string, run: RouteRun, recovery: RecoveryMode | undefined): ChatStreamResponse {
  return {
    $typeName: "switchyard.v1.ChatStreamResponse",
    event: { case: "routeSummary", value: { $typeName: "switchyard.v1.RouteSummary", model, route: run.routeInfo(), recovery: recovery ?? "" } },
  };
}

function startEvent(held: ResponseStart | undefined, target: ResolvedTarget, run: RouteRun, now: number): ChatStreamResponse {
  const value: ResponseStart = {
    $typeName: "switchyard.v1.ResponseStart",
    id: held?.id || `chatcmpl-${crypto.randomUUID()}`,
    model: target.id,
    provider: target.account.name,
    created: held?.created ?? BigInt(Math.floor(now / 1000)),
    warnings: held?.warnings ?? [],
    route: run.routeInfo(),
    systemFingerprint: held?.systemFingerprint ?? "",
    serviceTier: held?.serviceTier ?? "",
    ...(held?.extra ? { extra: held.extra } : {}),
  };
  return { $typeName: "switchyard.v1.ChatStreamResponse", event: { case: "responseStart", value } };
}

/**
 * Runs one streamed request over its route and keeps the stream contract: the caller sees
 * response_start (naming the answering target) only together with the first model output (a
 * provider's unmodelled choice fields that come earlier wait for it), so every failure before
 * that fails over invisibly; the stream ends with the finishes, the
 * answering attempt's usage and route_summary, or the generator throws (an in-band error at the
 * edge). A stream that ends without its finishes is never ended normally. After content was sent,
 * a failure is recovered on the next target by prefill or restart (see RecoverySplice) unless a
 * tool call or refusal was already streamed; a caller cancel aborts the upstream at once, stops
 * the route and records the partial usage.
 */
export async function* runStreamSession(options: StreamSessionOptions): AsyncGenerator<ChatStreamResponse> {
  const { input, latency, now } = options;
  const { run, scope } = options.start();
  const choices = Math.max(1, input.n ?? 1);
  const delivered = new DeliveredAnswer();
  const prefillRejected = new Set<string>();
  let startSent = false;
  let original: OriginalFailure | undefined;
  let recovery: RecoveryMode | undefined;
  let answering: ResolvedTarget | undefined;
  // What the answering attempt was sent, and the output delivered before it: an estimated usage
  // counts that attempt only (a prefill continuation's prompt has the prefill, its output does not).
  let answeringRequest = input;
  let outputBefore = 0;
  let finishedNormally = false;
  let failed = false;
  let current: Attempt | undefined;
  try {
    for (;;) {
      const attempt = await run.next();
      if (!attempt) break;
      current = attempt;
      const { target } = attempt;
      answering = target;
      let request = applyTargetParams(input, target);
      let splice: RecoverySplice | undefined;
      if (delivered.contentSent && original) {
        const plan = planRecovery(request, delivered.text, target, prefillRejected.has(target.id));
        request = plan.input;
        splice = new RecoverySplice(plan.mode, delivered.text, original, target.id);
      }
      answeringRequest = request;
      // A restart regenerates what the caller already has: all of it is this attempt's output.
      outputBefore = splice?.mode === "prefill" ? delivered.outputCharacters : 0;
      const controller = scope.attemptController();
      const { timeouts } = attempt;
      const watchdog = new StreamWatchdog({ target: target.id, provider: target.account.name, firstTokenMs: timeouts.firstTokenMs, idleMs: timeouts.idleMs, controller, now });
      let held: ResponseStart | undefined;
      // A provider's unmodelled choice fields (or its usage) that came before the first output: they wait for it (see below).
      let early: ChatStreamResponse[] | undefined;
      let tokenSeen = false;
      let usage: Usage | undefined;
      try {
        const events = target.adapter.stream(request, {
          upstreamModel: target.upstreamModel,
          ...(target.catalogModel ? { catalogModel: target.catalogModel } : {}),
          signal: controller.signal,
          timeouts,
          request: scope,
          beforeRequest: (work) => watchdog.holdFirstToken(work),
        })[Symbol.asyncIterator]();
        try {
          for (;;) {
            const next = await watchdog.next(events);
            if (next.done) break;
            const event = next.value;
            if (event.event.case === "responseStart") {
              held = event.event.value;
              continue;
            }
            if (!tokenSeen && isTokenEvent(event)) {
              tokenSeen = true;
              latency.record(target.id, true, now() - watchdog.started);
              // The target answers: a half-open circuit closes now, not when a minutes-long stream ends
              // (a closed one's failure count waits for the stream's end).
              run.answered(attempt);
            }
            if (event.event.case === "usage") usage = event.event.value;
            for (const out of splice ? splice.accept(event) : [event]) {
              if (!startSent) {
                // Not output (Azure sends its filter results before any text; a server may send its usage
                // and then end with no choice at all; the logprobs of a token that is part of a character
                // come with no text): held with the start, so a failure before the first output still fails
                // over invisibly, and a failed attempt's are dropped.
                if (out.event.case === "choiceExtra" || out.event.case === "chunkExtra" || out.event.case === "usage" || (out.event.case === "textDelta" && out.event.value.text === "")) {
                  (early ??= []).push(out);
                  continue;
                }
                startSent = true;
                yield startEvent(held, target, run, now());
                if (early) yield* early;
              }
              delivered.record(out);
              yield out;
            }
            if (delivered.complete(choices)) {
              if (usage) break;
              watchdog.tighten(FINISH_GRACE_MS);
            }
          }
        } finally {
          await watchdog.close(events);
        }
        if (!delivered.endedCleanly()) {
          throw gatewayError(Code.Unavailable, Reason.STREAM_INTERRUPTED, `the upstream stream of ${target.id} ended before the answer was finished`, { provider: target.account.name, afterFirstByte: true });
        }
      } catch (thrown) {
        // Every choice had finished: a cut, a stall or the deadline while waiting for usage ends a complete
        // answer normally. A caller that left is not answered: its cancel ends the stream as every cancel does.
        if (!delivered.complete(choices) || scope.canceled) {
          const error = run.failureOf(attempt, thrown);
          const next = handleFailure({ attempt, error, splice, delivered, run, prefillRejected, original });
          original = next.original;
          if (next.throw) throw next.throw;
          continue;
        }
      } finally {
        controller.abort(ATTEMPT_OVER);
      }
      if (!startSent) yield startEvent(held, target, run, now());
      run.succeeded(attempt);
      recovery = splice?.mode;
      finishedNormally = true;
      // The usage event is part of every finished stream (chat_service.proto): an upstream that
      // sent none (a server that ignores stream_options) gets an estimate, marked as one.
      const reported = usage !== undefined;
      usage ??= estimatedUsage(answeringRequest, delivered.outputCharacters - outputBefore);
      if (!reported) yield usageEvent(usage);
      options.onUsage({ target: target.id, usage, partial: false, estimated: !reported, keyName: options.keyName });
      yield routeSummaryEvent(target.id, run, recovery);
      return;
    }
    const stop = run.stopError();
    if (stop) throw stop;
    if (original) throw interruptedError(original, "no fallback could continue it");
    throw run.error();
  } catch (thrown) {
    failed = !scope.stopped;
    // A stream interrupted mid-answer ends with its own error: it names the route too.
    if (failed && thrown instanceof GatewayError) thrown.route ??= run.routeInfo();
    throw thrown;
  } finally {
    try {
      // A consumer that stops early leaves the last permit unsettled: the caller left (a no-op when settled).
      current?.permit.callerLeft();
      if (!finishedNormally && !failed && delivered.contentSent && answering) {
        options.onUsage({ target: answering.id, usage: estimatedUsage(answeringRequest, delivered.outputCharacters - outputBefore), partial: true, estimated: true, keyName: options.keyName });
      }
    } finally {
      scope.dispose();
    }
  }
}

interface FailureContext {
  readonly attempt: Attempt;
  readonly error: GatewayError;
  readonly splice: RecoverySplice | undefined;
  readonly delivered: DeliveredAnswer;
  readonly run: RouteRun;
  readonly prefillRejected: Set<string>;
  readonly original: OriginalFailure | undefined;
}

/**
 * Decides what a failed stream attempt leads to and returns the error to end the stream with, if
 * any. Before any content reached the caller, the normal retry/failover rules apply invisibly. A
 * recovering target that fails before it forwarded anything is also retried normally. Once content
 * was sent, the failing target is left (never retried) and the next one continues, unless a tool
 * call or refusal was already streamed or the continuation diverged.
 */
function handleFailure(context: FailureContext): { original: OriginalFailure | undefined; throw?: GatewayError } {
  const { attempt, error, splice, delivered, run } = context;
  const target = attempt.target.id;
  if (splice?.divergence !== undefined && splice.divergence === error) {
    // The target answered; its answer just differs from the one the caller already has.
    run.failed(attempt, error, { failover: true, targetAnswered: true });
    return { original: context.original, throw: error };
  }
  if (splice?.mode === "prefill" && !splice.forwarded && classifyFailure(error).action === "final") {
    context.prefillRejected.add(target);
    run.repeat(attempt, error);
    return { original: context.original };
  }
  if (!delivered.contentSent) {
    run.failed(attempt, error);
    return { original: context.original };
  }
  const original = context.original ?? { target, error };
  const sentByThisAttempt = splice ? splice.forwarded : true;
  const blocker = delivered.recoveryBlocker();
  const action = run.failed(attempt, error, { failover: sentByThisAttempt || blocker !== undefined });
  if (blocker) return { original, throw: interruptedError(original, `it cannot be continued elsewhere because ${blocker}`) };
  if (action === "final") return { original, throw: interruptedError(original, `${target} could not continue it (${error.reason}: ${error.rawMessage})`) };
  return { original };
}

