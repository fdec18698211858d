/**
 * Running one row of the adapter contract (test/providers/adapter-contract*.test.ts) through a
 * provider kit, and judging what came back against the expected outcome or error.
 */
import { expect } from "vitest";
import { FinishReason, type ChatInput } from "../../gen/switchyard/v1/chat_pb.js";
import { GatewayError } from "../../src/core/errors.js";
import { callOptions } from "./proto-builders.js";
import {
  outcomeOfResponse, outcomeOfStream,
  type ExpectedError, type ExpectedOutcome, type FixtureRow, type Mode, type Outcome, type ProviderKit, type SentRequest,
} from "./provider-kits.js";
import { replayTransport, type ReplayAnswer, type ReplayTransport } from "./replay-transport.js";
import { drain } from "./stream-collectors.js";

/** What one row produced: the replay (with the request sent), and the outcome, the error, or both. */
export interface Run {
  readonly replay: ReplayTransport;
  readonly outcome?: Outcome;
  readonly error?: unknown;
  /** Stream events that arrived before the error (stream mode). */
  readonly eventCount: number;
}

/** Runs one row: the kit's adapter over a replay of `answer`, in `mode`; a stream is drained and its contract asserted. */
export async function runRow(kit: ProviderKit, options: { mode: Mode; model: string; input: ChatInput; answer: ReplayAnswer; account?: FixtureRow["account"] }): Promise<Run> {
  const replay = replayTransport(options.answer);
  const adapter = kit.createAdapter(replay.transport, options.account);
  if (options.mode === "generate") {
    try {
      return { replay, outcome: outcomeOfResponse(await adapter.generate(options.input, callOptions(options.model))), eventCount: 0 };
    } catch (error) {
      return { replay, error, eventCount: 0 };
    }
  }
  const { events, error } = await drain(adapter.stream(options.input, callOptions(options.model)));
  return { replay, ...(events.length > 0 ? { outcome: outcomeOfStream(events) } : {}), error, eventCount: events.length };
}

/** The one upstream request of a run (asserting there was exactly one). */
export function sentRequest(run: Run): SentRequest {
  expect(run.replay.requests, "exactly one upstream request").toHaveLength(1);
  const sent = run.replay.requests[0];
  if (!sent) throw new Error("no request");
  return { url: sent.url, headers: sent.headers, json: sent.json };
}

const SYNTHETIC_ID = /^call_[0-9A-Za-z]{24}$/;

/** Asserts a run finished with the expected outcome (a run that failed rethrows its error); returns the outcome. */
export function assertOutcome(run: Run, expected: ExpectedOutcome): Outcome {
  if (run.error) throw run.error;
  const outcome = run.outcome;
  if (!outcome) throw new Error("no outcome");
  expect(outcome.text).toBe(expected.text);
  if (expected.reasoning instanceof RegExp) expect(outcome.reasoning).toMatch(expected.reasoning);
  else expect(outcome.reasoning).toBe(expected.reasoning ?? "");
  expect(outcome.refusal).toBe(expected.refusal ?? "");
  expect(outcome.toolCalls.map((call) => call.name)).toEqual(expected.toolCalls.map((call) => call.name));
  outcome.toolCalls.forEach((call, index) => {
    const want = expected.toolCalls[index];
    expect(call.index).toBe(index);
    if (want?.id === "synthetic") expect(call.id).toMatch(SYNTHETIC_ID);
    else expect(call.id).toBe(want?.id);
    // Gotcha 2: arguments are never "", and a zero-argument call is exactly "{}".
    if (want && typeof want.arguments === "object" && want.arguments !== null && Object.keys(want.arguments).length === 0) expect(call.arguments).toBe("{}");
    expect(JSON.parse(call.arguments)).toEqual(want?.arguments);
  });
  if (expected.finish === FinishReason.UNSPECIFIED) {
    expect(outcome.finish, "no finish is invented for a stream that never finished").toBeUndefined();
  } else {
    expect(outcome.finish).toBe(expected.finish);
    expect(outcome.rawFinish).toBe(expected.rawFinish);
  }
  if (expected.usage) expect(outcome.usage).toEqual(expected.usage);
  if (expected.warnings) expect(outcome.warnings).toEqual(expected.warnings);
  return outcome;
}

/** Asserts a run failed with the expected GatewayError, whose message leaks no key; returns the error. */
export function assertError(run: Run, expected: ExpectedError, kit: ProviderKit): GatewayError {
  expect(run.error).toBeInstanceOf(GatewayError);
  const error = run.error as GatewayError;
  expect({ code: error.code, reason: error.reason }).toEqual({ code: expected.code, reason: expected.reason });
  if (expected.upstreamStatus !== undefined) expect(error.facts.upstreamStatus).toBe(expected.upstreamStatus);
  if (expected.messageIncludes !== undefined) expect(error.rawMessage).toContain(expected.messageIncludes);
  if (expected.param !== undefined) expect(error.facts.param).toBe(expected.param);
  expect(error.message).not.toContain(kit.apiKey);
  return error;
}
