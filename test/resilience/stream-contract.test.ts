import OpenAI from "openai";
import { describe, expect, it, vi } from "vitest";
import { fault } from "../support/fault-injector.js";
import { startResilienceGateway, useResilienceGateway, userMessage } from "./resilience-harness.js";

const TEXT = "The quick brown fox jumps over the lazy dog.";
const PREFILL = "[{ name: m, supports: { prefill: true } }]";

const rig = useResilienceGateway({
  a: {},
  prefill: { models: PREFILL },
  restart: { rejectPrefill: true },
  diverge: { text: "The quick brown cat sleeps." },
  liar: { models: PREFILL, rejectPrefill: true },
});

/** Streams a/m with `fallbacks` through the SDK; returns the text received and the error, if the stream failed. */
async function stream(fallbacks: string[], extra: Record<string, unknown> = {}) {
  const body = { model: "a/m", messages: userMessage(), fallbacks, stream: true, stream_options: { include_usage: true }, ...extra };
  let text = "";
  let finish: string | undefined;
  let usage: OpenAI.CompletionUsage | undefined;
  const toolArguments: string[] = [];
  let error: unknown;
  try {
    for await (const chunk of await rig().openai.chat.completions.create(body as OpenAI.ChatCompletionCreateParamsStreaming)) {
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices) {
        text += choice.delta.content ?? "";
        for (const call of choice.delta.tool_calls ?? []) toolArguments[call.index] = (toolArguments[call.index] ?? "") + (call.function?.arguments ?? "");
        if (choice.finish_reason) finish = choice.finish_reason;
      }
    }
  } catch (thrown) {
    error = thrown;
  }
  return { text, finish, usage, error, toolArguments };
}

describe("recovery after content was sent", () => {
  it("continues on a prefill-capable fallback with the delivered text as prefill, streaming only the continuation", async () => {
    rig().upstreams.a?.always(fault.answer({ cutAfterChunks: 3 }));
    const result = await stream(["prefill/m"]);
    expect(result.error).toBeUndefined();
    expect(result.text).toBe(TEXT);
    expect(result.finish).toBe("stop");
    const continuation = rig().upstreams.prefill?.attempts[0];
    expect(continuation?.lastRole).toBe("assistant");
    expect(continuation?.prefill).toBe("The quick brown");
    expect(result.usage?.completion_tokens).toBe(6);
  });

  it("gives the prefill continuation what the delivered text left of max_tokens; a restart gets all of it", async () => {
    rig().upstreams.a?.always(fault.answer({ cutAfterChunks: 3 }));
    expect((await stream(["prefill/m"], { max_tokens: 50 })).error).toBeUndefined();
    // "The quick brown" is 15 characters, about 4 tokens.
    expect(rig().upstreams.prefill?.attempts[0]?.body.max_tokens).toBe(46);
    expect((await stream(["restart/m"], { max_tokens: 50 })).error).toBeUndefined();
    expect(rig().upstreams.restart?.attempts[0]?.body.max_tokens).toBe(50);
  });

  it("estimates the usage of the continuing attempt only when its upstream reports none", async () => {
    rig().upstreams.a?.always(fault.answer({ cutAfterChunks: 3 }));
    rig().upstreams.prefill?.always(fault.answer({ omitUsage: true }));
    const recovered = await stream(["prefill/m"]);
    expect(recovered.error).toBeUndefined();
    expect(recovered.text).toBe(TEXT);
    // The continuation's characters, not the whole answer's; the prompt includes the prefill.
    expect(recovered.usage).toMatchObject({ completion_tokens: Math.ceil((TEXT.length - "The quick brown".length) / 4), estimated: true });
    rig().upstreams.a?.always(fault.answer({ omitUsage: true }));
    const direct = await stream([]);
    expect(recovered.usage?.prompt_tokens).toBeGreaterThan(direct.usage?.prompt_tokens ?? Infinity);
  });

  it("recovers a stalled stream the same way", async () => {
    rig().upstreams.a?.always(fault.answer({ stallAfterChunks: 4 }));
    const result = await stream(["prefill/m"]);
    expect(result.error).toBeUndefined();
    expect(result.text).toBe(TEXT);
    expect(rig().upstreams.prefill?.attempts[0]?.prefill).toBe("The quick brown fox");
  });

  it("restarts on a fallback without the prefill capability and streams only what goes beyond the delivered text", async () => {
    rig().upstreams.a?.always(fault.answer({ cutAfterChunks: 3 }));
    const result = await stream(["restart/m"]);
    expect(result.error).toBeUndefined();
    expect(result.text).toBe(TEXT);
    expect(rig().upstreams.restart?.attempts.map((attempt) => attempt.lastRole)).toEqual(["user"]);
  });

  it("ends with an in-band error naming the original failure when the restarted answer diverges", async () => {
    rig().upstreams.a?.always(fault.answer({ cutAfterChunks: 4 }));
    const result = await stream(["diverge/m"]);
    expect(result.error).toBeInstanceOf(OpenAI.APIError);
    const message = String((result.error as Error).message);
    expect(message).toContain("a/m");
    expect(message).toMatch(/PROVIDER_UNREACHABLE/);
    expect(message).toMatch(/diverged/);
    expect(result.text).toBe("The quick brown fox");
    expect(result.finish).toBeUndefined();
  });

  it("falls back to a restart when a target the catalogue calls prefill-capable rejects the prefill", async () => {
    rig().upstreams.a?.always(fault.answer({ cutAfterChunks: 3 }));
    const result = await stream(["liar/m"]);
    expect(result.error).toBeUndefined();
    expect(result.text).toBe(TEXT);
    expect(rig().upstreams.liar?.attempts.map((attempt) => attempt.outcome)).toEqual(["prefill rejected", "answer"]);
  });

  it("completes a stream that lost only its finish on a fallback", async () => {
    rig().upstreams.a?.always(fault.answer({ omitFinish: true }));
    const result = await stream(["prefill/m"]);
    expect(result.error).toBeUndefined();
    expect(result.text).toBe(TEXT);
    expect(result.finish).toBe("stop");
  });

  it("restarts a tool-call stream on a fallback when no tool-call delta was sent yet", async () => {
    const toolCall = { name: "lookup", arguments: "{\"city\":\"Paris\"}" };
    rig().upstreams.a?.always(fault.answer({ text: "Let me check.", toolCall, cutAfterChunks: 2 }));
    rig().upstreams.restart?.always(fault.answer({ text: "Let me check.", toolCall }));
    const result = await stream(["restart/m"], { tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object" } } }] });
    expect(result.error).toBeUndefined();
    expect(result.text).toBe("Let me check.");
    expect(result.toolArguments).toEqual([toolCall.arguments]);
    expect(result.finish).toBe("tool_calls");
  });

  it("does not restart a tool-call stream once a tool-call delta was sent", async () => {
    rig().upstreams.a?.always(fault.answer({ text: "Let me check.", toolCall: { name: "lookup", arguments: "{\"city\":\"Paris\"}" }, cutAfterChunks: 4 }));
    const result = await stream(["restart/m"], { tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object" } } }] });
    expect(result.error).toBeInstanceOf(OpenAI.APIError);
    expect(String((result.error as Error).message)).toMatch(/tool call/);
    expect(rig().upstreams.restart?.attempts).toHaveLength(0);
  });
});

describe("a stream never ends normally after a failure", () => {
  it.each([
    ["a cut connection", fault.answer({ cutAfterChunks: 3 })],
    ["a stall", fault.answer({ stallAfterChunks: 3 })],
    ["a missing finish", fault.answer({ omitFinish: true })],
    ["a clean end without finish or [DONE]", fault.answer({ omitFinish: true, omitDone: true })],
    // A chunk that is not JSON may have held content: the answer cannot be known complete.
    ["an upstream event that is not JSON", fault.answer({ malformedAtChunk: 2 })],
  ])("%s without a fallback ends with an in-band error", async (_name, step) => {
    rig().upstreams.a?.always(step);
    const result = await stream([]);
    expect(result.error).toBeInstanceOf(OpenAI.APIError);
    expect(result.finish).toBeUndefined();
  });


  it("finalises a stream that has its finish but no [DONE], with usage", async () => {
    rig().upstreams.a?.always(fault.answer({ omitDone: true }));
    const result = await stream([]);
    expect(result.error).toBeUndefined();
    expect(result.finish).toBe("stop");
    expect(result.usage?.total_tokens).toBe(19);
  });

  it("still ends with a usage chunk, marked estimated, when the upstream sends no usage", async () => {
    rig().upstreams.a?.always(fault.answer({ omitUsage: true }));
    const result = await stream([]);
    expect(result.error).toBeUndefined();
    expect(result.text).toBe(TEXT);
    expect(result.finish).toBe("stop");
    // About four characters per token: the 44 characters sent, and the prompt.
    expect(result.usage).toMatchObject({ completion_tokens: Math.ceil(TEXT.length / 4), estimated: true });
    expect(result.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(result.usage?.total_tokens).toBe((result.usage?.prompt_tokens ?? 0) + (result.usage?.completion_tokens ?? 0));
  });

  it("reports the provider's usage unmarked, and no usage chunk when none was asked for", async () => {
    rig().upstreams.a?.always(fault.answer({}));
    const asked = await stream([]);
    expect(asked.usage).toBeDefined();
    expect(asked.usage).not.toHaveProperty("estimated");
    rig().upstreams.a?.always(fault.answer({ omitUsage: true }));
    const notAsked = await stream([], { stream_options: { include_usage: false } });
    expect(notAsked.error).toBeUndefined();
    expect(notAsked.text).toBe(TEXT);
    expect(notAsked.usage).toBeUndefined();
  });

  it("ends a complete answer normally when the caller's deadline passes while waiting for usage after the finish", async () => {
    // Idle and total timeouts longer than the wait for usage (2 s), so the caller's deadline (700 ms) is what ends it.
    const patient = await startResilienceGateway({ a: {} }, `routing:
  timeouts: { connect_ms: 1000, first_token_ms: 2000, idle_ms: 5000, total_ms: 10000 }`);
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    let error: unknown;
    try {
      patient.upstreams.a?.always(fault.answer({ omitUsage: true, holdOpenAfterFinish: true }));
      const body = { model: "a/m", messages: userMessage(), stream: true as const, stream_options: { include_usage: true } };
      for await (const chunk of await patient.openai.chat.completions.create(body, { headers: { "x-switchyard-timeout": "700ms" } })) chunks.push(chunk);
    } catch (thrown) {
      error = thrown;
    } finally {
      await patient.close();
    }
    expect(error).toBeUndefined();
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe(TEXT);
    expect(chunks.some((chunk) => chunk.choices[0]?.finish_reason === "stop")).toBe(true);
    expect(chunks.at(-1)?.usage).toMatchObject({ estimated: true });
  });

  it("finalises at once when the upstream holds the connection open after finish and usage", async () => {
    const patient = await startResilienceGateway({ a: {} }, `routing:
  timeouts: { connect_ms: 1000, first_token_ms: 2000, idle_ms: 5000, total_ms: 10000 }`);
    try {
      patient.upstreams.a?.always(fault.answer({ holdOpenAfterFinish: true }));
      const started = Date.now();
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of await patient.openai.chat.completions.create({ model: "a/m", messages: userMessage(), stream: true, stream_options: { include_usage: true } })) usage = chunk.usage ?? usage;
      expect(usage?.total_tokens).toBe(19);
      expect(Date.now() - started).toBeLessThan(1500);
      await vi.waitFor(() => expect(patient.upstreams.a?.attempts[0]?.closedByClient).toBe(true), { timeout: 3000, interval: 20 });
    } finally {
      await patient.close();
    }
  });
});
