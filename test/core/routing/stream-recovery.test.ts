import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { FinishReason, ResponseFormatType, Role } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import { gatewayError, GatewayError, Reason } from "../../../src/core/errors.js";
import { choiceExtraEvent, chunkExtraEvent, finishEvent, reasoningDeltaEvent, responseStartEvent, textDeltaEvent, toolCallDeltaEvent, toolCallStartEvent } from "../../../src/core/stream-events.js";
import { DeliveredAnswer, interruptedError, planRecovery, RecoverySplice } from "../../../src/core/routing/stream-recovery.js";
import { chatInput, target } from "./test-targets.js";

const original = { target: "a/m", error: gatewayError(Code.Unavailable, Reason.PROVIDER_UNREACHABLE, "socket hang up", { afterFirstByte: true }) };
const texts = (events: ChatStreamResponse[]) =>
  events.map((event) => (event.event.case === "textDelta" ? event.event.value.text : event.event.case === "choiceExtra" ? `<extra ${String(event.event.value.extra?.mark)}>` : `<${event.event.case}>`));
/** A choice_extra of choice 0 marked `mark`. */
const extra = (mark: string, standalone = false) => choiceExtraEvent(0, { mark }, undefined, standalone);

function feed(splice: RecoverySplice, events: ChatStreamResponse[]): string[] {
  return events.flatMap((event) => texts(splice.accept(event)));
}

describe("interruptedError", () => {
  it("keeps the original failure's provider, upstream status and upstream code", () => {
    const failure = gatewayError(Code.Unavailable, Reason.PROVIDER_UNAVAILABLE, "The server had an error", { provider: "oa", upstreamStatus: 500, upstreamCode: "server_error", afterFirstByte: true });
    const error = interruptedError({ target: "oa/m", error: failure }, "no fallback is left");
    expect(error.reason).toBe(Reason.STREAM_INTERRUPTED);
    expect(error.facts).toEqual({ provider: "oa", upstreamStatus: 500, upstreamCode: "server_error", afterFirstByte: true });
    expect(error.rawMessage).toContain("PROVIDER_UNAVAILABLE: The server had an error");
  });

  it("keeps the provider's own error fields (Groq's failed_generation of a call that failed after reasoning was streamed)", () => {
    const failure = gatewayError(Code.InvalidArgument, Reason.UPSTREAM_INVALID_REQUEST, "Failed to call a function.", { provider: "groq", upstreamCode: "tool_use_failed", afterFirstByte: true, upstreamExtra: { failed_generation: "<function=f>{}" } });
    expect(interruptedError({ target: "groq/m", error: failure }, "no fallback is left").facts.upstreamExtra).toEqual({ failed_generation: "<function=f>{}" });
  });
});

describe("RecoverySplice, restart mode", () => {
  it("forwards only the text beyond what was delivered", () => {
    const splice = new RecoverySplice("restart", "Hello wor", original, "b/m");
    const out = feed(splice, [responseStartEvent("x", "", 0n), textDeltaEvent(0, "Hel"), textDeltaEvent(0, "lo w"), textDeltaEvent(0, "orld"), textDeltaEvent(0, "!"), finishEvent(0, FinishReason.STOP, "stop")]);
    expect(out).toEqual(["ld", "!", "<finish>"]);
  });

  it("forwards the finish when the new answer is exactly the delivered text", () => {
    const splice = new RecoverySplice("restart", "Hello", original, "b/m");
    expect(feed(splice, [textDeltaEvent(0, "Hello"), finishEvent(0, FinishReason.STOP, "stop")])).toEqual(["<finish>"]);
  });

  it("throws an in-band error naming the original failure when the answer diverges", () => {
    const splice = new RecoverySplice("restart", "Hello world", original, "b/m");
    const thrown = (() => {
      try {
        feed(splice, [textDeltaEvent(0, "Hello"), textDeltaEvent(0, " there")]);
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(thrown).toBeInstanceOf(GatewayError);
    expect((thrown as GatewayError).reason).toBe(Reason.STREAM_INTERRUPTED);
    expect((thrown as GatewayError).rawMessage).toContain("a/m");
    expect((thrown as GatewayError).rawMessage).toContain("PROVIDER_UNREACHABLE");
    expect(splice.divergence).toBe(thrown);
  });

  it("treats an answer shorter than the delivered text, or a tool call before it is matched, as divergence", () => {
    expect(() => feed(new RecoverySplice("restart", "Hello world", original, "b/m"), [textDeltaEvent(0, "Hello"), finishEvent(0, FinishReason.STOP, "stop")])).toThrow(/diverged/);
    expect(() => feed(new RecoverySplice("restart", "Hello", original, "b/m"), [toolCallStartEvent(0, 0, "c", "f")])).toThrow(/diverged/);
  });

  it("matches a long restart delta by delta, in any slicing, and catches a divergence wherever it falls", () => {
    const delivered = "The quick brown fox jumps over the lazy dog. ".repeat(40);
    const answer = `${delivered}And then it slept.`;
    for (const size of [1, 2, 3, 7, 64, delivered.length, answer.length]) {
      const deltas = Array.from({ length: Math.ceil(answer.length / size) }, (_, index) => textDeltaEvent(0, answer.slice(index * size, (index + 1) * size)));
      expect(feed(new RecoverySplice("restart", delivered, original, "b/m"), deltas).join("")).toBe("And then it slept.");
      for (const at of [0, 1, Math.min(size, delivered.length - 1), 997, delivered.length - 1]) {
        const changed = `${answer.slice(0, at)}#${answer.slice(at + 1)}`;
        const diverging = Array.from({ length: Math.ceil(changed.length / size) }, (_, index) => textDeltaEvent(0, changed.slice(index * size, (index + 1) * size)));
        expect(() => feed(new RecoverySplice("restart", delivered, original, "b/m"), diverging)).toThrow(/diverged/);
      }
    }
  });

  it("drops the new target's reasoning and response_start", () => {
    const splice = new RecoverySplice("restart", "Hi", original, "b/m");
    expect(feed(splice, [responseStartEvent("x", "", 0n), reasoningDeltaEvent(0, "thinking"), textDeltaEvent(0, "Hi there")])).toEqual([" there"]);
  });

  it("keeps a provider's unmodelled choice fields off the replay: those of the chunk that ends it go with its text, later ones pass", () => {
    const splice = new RecoverySplice("restart", "Hello wor", original, "b/m");
    const events = [extra("a", true), extra("b"), textDeltaEvent(0, "Hel"), extra("c"), textDeltaEvent(0, "lo w"), extra("d"), textDeltaEvent(0, "orld"), extra("e"), textDeltaEvent(0, "!"), extra("f"), finishEvent(0, FinishReason.STOP, "stop"), extra("g", true)];
    expect(feed(splice, events)).toEqual(["<extra d>", "ld", "<extra e>", "!", "<extra f>", "<finish>", "<extra g>"]);
    const exact = new RecoverySplice("restart", "Hello", original, "b/m");
    expect(feed(exact, [extra("a"), textDeltaEvent(0, "Hello"), extra("b"), finishEvent(0, FinishReason.STOP, "stop")])).toEqual(["<extra b>", "<finish>"]);
  });

  it("passes a provider's top-level fields new in the stream (chunk_extra) while it replays the delivered text, as it passes usage", () => {
    const splice = new RecoverySplice("restart", "Hello", original, "b/m");
    expect(feed(splice, [textDeltaEvent(0, "Hel"), chunkExtraEvent({ moderation: {} }), textDeltaEvent(0, "lo!"), finishEvent(0, FinishReason.STOP, "stop")])).toEqual(["<chunkExtra>", "!", "<finish>"]);
  });

  it("passes tool calls after the delivered text was matched", () => {
    const splice = new RecoverySplice("restart", "Let me check.", original, "b/m");
    expect(feed(splice, [textDeltaEvent(0, "Let me check."), toolCallStartEvent(0, 0, "c", "f"), toolCallDeltaEvent(0, 0, "{}")])).toEqual(["<toolCallStart>", "<toolCallDelta>"]);
  });
});

describe("RecoverySplice, prefill mode", () => {
  it("forwards the continuation as is", () => {
    const splice = new RecoverySplice("prefill", "Hello", original, "b/m");
    expect(feed(splice, [textDeltaEvent(0, " world"), finishEvent(0, FinishReason.STOP, "stop")])).toEqual([" world", "<finish>"]);
  });

  it("drops leading whitespace of the continuation when the delivered text ends in whitespace", () => {
    const splice = new RecoverySplice("prefill", "Hello ", original, "b/m");
    expect(feed(splice, [textDeltaEvent(0, " "), textDeltaEvent(0, " world"), textDeltaEvent(0, " again")])).toEqual(["world", " again"]);
  });

  it("still drops that whitespace when a provider's unmodelled choice fields come first", () => {
    const splice = new RecoverySplice("prefill", "Hello ", original, "b/m");
    expect(feed(splice, [extra("a"), textDeltaEvent(0, " "), extra("b"), textDeltaEvent(0, " world")])).toEqual(["<extra a>", "<extra b>", "world"]);
  });
});

describe("planRecovery", () => {
  const prefillTarget = target("p/m", { catalogModel: { name: "m", supports: { prefill: true } } });

  it("sends the delivered text as a trailing assistant message to a prefill-capable target", () => {
    const plan = planRecovery(chatInput(), "Hello", prefillTarget, false);
    expect(plan.mode).toBe("prefill");
    const last = plan.input.messages.at(-1);
    expect(last?.role).toBe(Role.ASSISTANT);
    expect(last?.content[0]?.part).toEqual({ case: "text", value: "Hello" });
  });

  it("never sends a prefill to a target without the capability, or one that rejected it", () => {
    expect(planRecovery(chatInput(), "Hello", target("b/m"), false).mode).toBe("restart");
    expect(planRecovery(chatInput(), "Hello", target("b/m", { catalogModel: { name: "m", supports: {} } }), false).mode).toBe("restart");
    expect(planRecovery(chatInput(), "Hello", prefillTarget, true).mode).toBe("restart");
  });

  it("restarts an answer bound to a json_schema (a provider may emulate it with a tool call, which cannot continue text)", () => {
    const input = chatInput("q", { responseFormat: { type: ResponseFormatType.JSON_SCHEMA, jsonSchema: { name: "w", schema: { type: "object" } } } });
    expect(planRecovery(input, '{"city":', prefillTarget, false)).toEqual({ mode: "restart", input });
    expect(planRecovery(chatInput("q", { responseFormat: { type: ResponseFormatType.JSON_OBJECT } }), "{", prefillTarget, false).mode).toBe("prefill");
  });

  it("appends to the caller's own trailing assistant prefill", () => {
    const input = chatInput("q", { messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "q" } }] }, { role: Role.ASSISTANT, content: [{ part: { case: "text", value: "Sure: " } }] }] });
    const plan = planRecovery(input, "one", prefillTarget, false);
    expect(plan.input.messages).toHaveLength(2);
    expect(plan.input.messages[1]?.content.map((part) => part.part.value)).toEqual(["Sure: ", "one"]);
    expect(input.messages[1]?.content).toHaveLength(1);
  });
});

describe("DeliveredAnswer", () => {
  it("blocks recovery once a tool call was streamed", () => {
    const delivered = new DeliveredAnswer();
    delivered.record(textDeltaEvent(0, "Let me"));
    expect(delivered.recoveryBlocker()).toBeUndefined();
    delivered.record(toolCallStartEvent(0, 0, "c", "f"));
    expect(delivered.recoveryBlocker()).toMatch(/tool call/);
  });

  it("knows when the answer is complete", () => {
    const delivered = new DeliveredAnswer();
    delivered.record(textDeltaEvent(0, "x"));
    expect(delivered.endedCleanly()).toBe(false);
    delivered.record(finishEvent(0, FinishReason.STOP, "stop"));
    expect(delivered.complete(1)).toBe(true);
    expect(delivered.endedCleanly()).toBe(true);
  });
});
