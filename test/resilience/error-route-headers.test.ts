import { create } from "@bufbuild/protobuf";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import OpenAI from "openai";
import { beforeEach, describe, expect, it } from "vitest";
import { ChatInputSchema, Role } from "../../gen/switchyard/v1/chat_pb.js";
import { ChatService } from "../../gen/switchyard/v1/chat_service_pb.js";
import { fault } from "../support/fault-injector.js";
import { thrown } from "../support/thrown.js";
import { useResilienceGateway, userMessage } from "./resilience-harness.js";

// When every target fails, the caller still learns how the request was routed: the same
// x-switchyard-attempts / -failed / -skipped an answer carries, on REST (JSON and a stream that
// failed before its head), gRPC and Connect.

const rig = useResilienceGateway({ a: {}, b: {} });

// After the helper's reset (hooks run in registration order): every target fails.
beforeEach(() => {
  rig().upstreams.a?.always(fault.serverError(503));
  rig().upstreams.b?.always(fault.authFailed());
});

function input() {
  return create(ChatInputSchema, { model: "a/m", fallbacks: ["b/m"], messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "Say the sentence." } }] }] });
}

/** a/m: three 503s (two retries), then b/m: one 401 (fail over, no retry); the first target's error is answered. */
const ATTEMPTS = "4";
const FAILED = "a/m provider_unavailable, a/m provider_unavailable, a/m provider_unavailable, b/m provider_auth_failed";

describe("route headers on an error answer", () => {
  it("REST, JSON and streamed: the attempts and every failed target, with the first target's error", async () => {
    for (const stream of [false, true]) {
      const error = await thrown(() => rig().openai.chat.completions.create({ model: "a/m", fallbacks: ["b/m"], messages: userMessage(), stream } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming));
      expect(error).toBeInstanceOf(OpenAI.APIError);
      const apiError = error as InstanceType<typeof OpenAI.APIError>;
      expect(apiError.status).toBe(503);
      expect(apiError.code).toBe("provider_unavailable");
      expect(apiError.headers?.get("x-switchyard-attempts")).toBe(ATTEMPTS);
      expect(apiError.headers?.get("x-switchyard-failed")).toBe(FAILED);
    }
  });

  it("an error before any routing (an unknown account) has none", async () => {
    const error = (await thrown(() => rig().openai.chat.completions.create({ model: "nosuch/m", messages: userMessage() }))) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(404);
    expect(error.headers?.get("x-switchyard-attempts")).toBeNull();
  });

  it("gRPC (the fast path), unary and streamed: in the error's trailers", async () => {
    const unary = ConnectError.from(await thrown(() => rig().grpc.chat({ input: input() })));
    expect(unary.metadata.get("x-switchyard-attempts")).toBe(ATTEMPTS);
    expect(unary.metadata.get("x-switchyard-failed")).toBe(FAILED);
    const streamed = ConnectError.from(
      await thrown(async () => {
        for await (const event of rig().grpc.chatStream({ input: input() })) void event;
      }),
    );
    expect(streamed.metadata.get("x-switchyard-attempts")).toBe(ATTEMPTS);
    expect(streamed.metadata.get("x-switchyard-failed")).toBe(FAILED);
  });

  it("gRPC: a stream interrupted after content, with no target left, names its route in the trailers", async () => {
    rig().upstreams.a?.always(fault.answer({ cutAfterChunks: 2 }));
    const events: string[] = [];
    const error = ConnectError.from(
      await thrown(async () => {
        for await (const event of rig().grpc.chatStream({ input: create(ChatInputSchema, { ...input(), fallbacks: [] }) })) events.push(event.event.case ?? "");
      }),
    );
    expect(events).toContain("textDelta");
    // The error's metadata is the stream's headers (sent at response_start, before any failure) and its trailers.
    expect(error.metadata.get("x-switchyard-failed")).toBe("a/m provider_unreachable");
  });

  it("Connect, unary and streamed: in the error's metadata", async () => {
    const connect = createClient(ChatService, createConnectTransport({ baseUrl: rig().origin, httpVersion: "1.1" }));
    const unary = ConnectError.from(await thrown(() => connect.chat({ input: input() })));
    expect(unary.metadata.get("x-switchyard-attempts")).toBe(ATTEMPTS);
    expect(unary.metadata.get("x-switchyard-failed")).toBe(FAILED);
    const streamed = ConnectError.from(
      await thrown(async () => {
        for await (const event of connect.chatStream({ input: input() })) void event;
      }),
    );
    expect(streamed.metadata.get("x-switchyard-attempts")).toBe(ATTEMPTS);
    expect(streamed.metadata.get("x-switchyard-failed")).toBe(FAILED);
  });
});
