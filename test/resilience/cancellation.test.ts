import { performance } from "node:perf_hooks";
import OpenAI from "openai";
import { create } from "@bufbuild/protobuf";
import { describe, expect, it, vi } from "vitest";
import { ChatInputSchema, Role } from "../../gen/switchyard/v1/chat_pb.js";
import type { GatewayError } from "../../src/core/errors.js";
import type { UsageRecord } from "../../src/core/gateway.js";
import { fault } from "../support/fault-injector.js";
import { createCoreGateway, sleep, useResilienceGateway, userMessage } from "./resilience-harness.js";

const rig = useResilienceGateway({ a: {}, b: {} });

describe("the caller going away", () => {
  it("aborts the upstream stream at once and tries no fallback", async () => {
    rig().upstreams.a?.always(fault.answer({ chunkDelayMs: 100 }));
    const controller = new AbortController();
    const body = { model: "a/m", messages: userMessage(), fallbacks: ["b/m"], stream: true };
    const stream = await rig().openai.chat.completions.create(body as OpenAI.ChatCompletionCreateParamsStreaming, { signal: controller.signal });
    let chunks = 0;
    let abortedAt = 0;
    await (async () => {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content) chunks++;
        if (chunks === 2) {
          abortedAt = performance.now();
          controller.abort();
        }
      }
    })().catch(() => undefined);
    await sleep(400);
    const attempt = rig().upstreams.a?.attempts[0];
    expect(attempt?.closedByClient).toBe(true);
    // The rest of the answer would take another ~700 ms; the upstream is closed long before.
    expect((attempt?.closedAt ?? Number.POSITIVE_INFINITY) - abortedAt).toBeLessThan(350);
    expect(attempt?.chunksWritten).toBeLessThan(7);
    expect(rig().upstreams.a?.attempts).toHaveLength(1);
    expect(rig().upstreams.b?.attempts).toHaveLength(0);
  });

  it("aborts a pending unary upstream call", async () => {
    rig().upstreams.a?.always(fault.hang());
    const controller = new AbortController();
    const pending = rig().openai.chat.completions.create({ model: "a/m", messages: userMessage() }, { signal: controller.signal }).catch(() => undefined);
    await sleep(100);
    controller.abort();
    await pending;
    await vi.waitFor(() => expect(rig().upstreams.a?.attempts[0]?.closedByClient).toBe(true), { timeout: 3000, interval: 20 });
    expect(rig().upstreams.b?.attempts).toHaveLength(0);
  });

  it("stops retrying while waiting out a Retry-After", async () => {
    rig().upstreams.a?.always(fault.rateLimited("2"));
    const controller = new AbortController();
    const body = { model: "a/m", messages: userMessage(), fallbacks: ["b/m"] };
    const pending = rig().openai.chat.completions.create(body as OpenAI.ChatCompletionCreateParamsNonStreaming, { signal: controller.signal }).catch(() => undefined);
    await sleep(150);
    controller.abort();
    await pending;
    await sleep(300);
    expect(rig().upstreams.a?.attempts).toHaveLength(1);
    expect(rig().upstreams.b?.attempts).toHaveLength(0);
  });

  it("records the partial usage of a canceled stream, with the name of the gateway key it came with", async () => {
    rig().upstreams.a?.always(fault.answer({ chunkDelayMs: 40 }));
    const records: UsageRecord[] = [];
    const core = createCoreGateway(rig().config, { onUsage: (record) => records.push(record) });
    const controller = new AbortController();
    const input = create(ChatInputSchema, { model: "a/m", messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "Say the sentence." } }] }] });
    let texts = 0;
    let thrown: unknown;
    try {
      for await (const event of core.chatStream(input, { signal: controller.signal, keyName: "team-red" })) {
        if (event.event.case === "textDelta" && ++texts === 3) controller.abort();
      }
    } catch (error) {
      thrown = error;
    }
    expect((thrown as GatewayError).reason).toBe("CANCELED");
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ target: "a/m", partial: true, estimated: true, keyName: "team-red" });
    expect(records[0]?.usage?.completionTokens).toBeGreaterThan(0);
  });

  it("records the partial usage of a stream canceled after its finish, while its usage was awaited", async () => {
    rig().upstreams.a?.always(fault.answer({ omitUsage: true, holdOpenAfterFinish: true }));
    const records: UsageRecord[] = [];
    const core = createCoreGateway(rig().config, { onUsage: (record) => records.push(record) });
    const controller = new AbortController();
    const input = create(ChatInputSchema, { model: "a/m", messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "Say the sentence." } }] }] });
    let thrown: unknown;
    try {
      for await (const event of core.chatStream(input, { signal: controller.signal })) {
        if (event.event.case === "finish") setTimeout(() => controller.abort(), 50);
      }
    } catch (error) {
      thrown = error;
    }
    expect((thrown as GatewayError).reason).toBe("CANCELED");
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ target: "a/m", partial: true, estimated: true });
  });
});
