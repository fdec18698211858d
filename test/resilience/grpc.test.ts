import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it, vi } from "vitest";
import { ChatInputSchema, Role } from "../../gen/switchyard/v1/chat_pb.js";
import type { ChatStreamResponse } from "../../gen/switchyard/v1/chat_service_pb.js";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/error_pb.js";
import { fault } from "../support/fault-injector.js";
import { useResilienceGateway } from "./resilience-harness.js";

const TEXT = "The quick brown fox jumps over the lazy dog.";

const rig = useResilienceGateway({ a: {}, b: {}, prefill: { models: "[{ name: m, supports: { prefill: true } }]" } });

function input(fallbacks: string[] = []) {
  return create(ChatInputSchema, { model: "a/m", fallbacks, messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "Say the sentence." } }] }] });
}

describe("routing over gRPC", () => {
  it("unary: fails over, and the response fields and headers name the answering target, the attempts and the failures", async () => {
    rig().upstreams.a?.always(fault.serverError(503));
    let headers: Headers | undefined;
    const response = await rig().grpc.chat({ input: input(["b/m"]) }, { onHeader: (value) => { headers = value; } });
    expect(response.model).toBe("b/m");
    expect(response.provider).toBe("b");
    expect(response.route?.attempts).toBe(4);
    expect(response.route?.failures.map((failure) => [failure.model, failure.reason, failure.upstreamStatus])).toEqual([
      ["a/m", "PROVIDER_UNAVAILABLE", 503],
      ["a/m", "PROVIDER_UNAVAILABLE", 503],
      ["a/m", "PROVIDER_UNAVAILABLE", 503],
    ]);
    expect(response.usage?.completionTokens).toBe(9);
    expect(headers?.get("x-switchyard-model")).toBe("b/m");
    expect(headers?.get("x-switchyard-attempts")).toBe("4");
    expect(headers?.get("x-switchyard-failed")).toContain("a/m provider_unavailable");
  });

  it("unary: an answer without provider usage carries an estimate, marked", async () => {
    rig().upstreams.a?.always(fault.answer({ omitUsage: true }));
    const response = await rig().grpc.chat({ input: input() });
    expect(response.usage).toMatchObject({ completionTokens: Math.ceil(TEXT.length / 4), estimated: true });
    rig().upstreams.a?.always(fault.answer({}));
    expect((await rig().grpc.chat({ input: input() })).usage).toMatchObject({ completionTokens: 9, estimated: false });
  });

  it("streams: recovers a cut stream by prefill and reports it in route_summary and the trailers", async () => {
    rig().upstreams.a?.always(fault.answer({ cutAfterChunks: 2 }));
    let trailers: Headers | undefined;
    const events: ChatStreamResponse[] = [];
    for await (const event of rig().grpc.chatStream({ input: input(["prefill/m"]) }, { onTrailer: (value) => { trailers = value; } })) events.push(event);
    const text = events.map((event) => (event.event.case === "textDelta" ? event.event.value.text : "")).join("");
    expect(text).toBe(TEXT);
    expect(events[0]?.event.case).toBe("responseStart");
    const last = events.at(-1)?.event;
    expect(last?.case).toBe("routeSummary");
    if (last?.case === "routeSummary") {
      expect(last.value.model).toBe("prefill/m");
      expect(last.value.recovery).toBe("prefill");
      expect(last.value.route?.failures[0]?.reason).toBe("PROVIDER_UNREACHABLE");
    }
    expect(trailers?.get("x-switchyard-model")).toBe("prefill/m");
    expect(trailers?.get("x-switchyard-recovery")).toBe("prefill");
  });

  it("streams: an upstream that sends no usage still gives one usage event, estimated, before route_summary", async () => {
    rig().upstreams.a?.always(fault.answer({ omitUsage: true }));
    const events: ChatStreamResponse[] = [];
    for await (const event of rig().grpc.chatStream({ input: input() })) events.push(event);
    const kinds = events.map((event) => event.event.case);
    expect(kinds.filter((kind) => kind === "usage")).toHaveLength(1);
    expect(kinds.slice(-3)).toEqual(["finish", "usage", "routeSummary"]);
    const usage = events.find((event) => event.event.case === "usage")?.event.value;
    expect(usage).toMatchObject({ completionTokens: Math.ceil(TEXT.length / 4), estimated: true });
  });

  it("streams: the provider's usage is passed on, not marked estimated", async () => {
    rig().upstreams.a?.always(fault.answer({}));
    const events: ChatStreamResponse[] = [];
    for await (const event of rig().grpc.chatStream({ input: input() })) events.push(event);
    const usage = events.filter((event) => event.event.case === "usage");
    expect(usage).toHaveLength(1);
    expect(usage[0]?.event.value).toMatchObject({ completionTokens: 9, estimated: false });
  });

  it("streams: an unrecoverable mid-stream failure ends the stream with an error status, never a normal end", async () => {
    rig().upstreams.a?.always(fault.answer({ stallAfterChunks: 2 }));
    const kinds: string[] = [];
    const error = await (async () => {
      for await (const event of rig().grpc.chatStream({ input: input() })) kinds.push(event.event.case ?? "");
    })().then(() => undefined, (thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.Unavailable);
    expect((error as ConnectError).findDetails(ErrorDetailSchema)[0]?.reason).toBe("STREAM_INTERRUPTED");
    expect(kinds).not.toContain("routeSummary");
    expect(kinds).not.toContain("finish");
  });

  it("the gRPC deadline bounds everything and aborts the upstream", async () => {
    rig().upstreams.a?.always(fault.hang());
    rig().upstreams.b?.always(fault.hang());
    const started = Date.now();
    const error = await rig().grpc.chat({ input: input(["b/m"]) }, { timeoutMs: 300 }).then(() => undefined, (thrown: unknown) => thrown);
    expect((error as ConnectError).code).toBe(Code.DeadlineExceeded);
    expect(Date.now() - started).toBeLessThan(1000);
    await vi.waitFor(() => expect(rig().upstreams.a?.attempts[0]?.closedByClient).toBe(true), { timeout: 3000, interval: 20 });
  });

  it("cancelling a stream aborts the upstream and tries no fallback", async () => {
    rig().upstreams.a?.always(fault.answer({ chunkDelayMs: 100 }));
    const controller = new AbortController();
    let texts = 0;
    await (async () => {
      for await (const event of rig().grpc.chatStream({ input: input(["b/m"]) }, { signal: controller.signal })) {
        if (event.event.case === "textDelta" && ++texts === 2) controller.abort();
      }
    })().catch(() => undefined);
    await vi.waitFor(() => expect(rig().upstreams.a?.attempts[0]?.closedByClient).toBe(true), { timeout: 3000, interval: 20 });
    expect(rig().upstreams.b?.attempts).toHaveLength(0);
  });
});
