/**
 * Deadlines longer than a Node timer can hold (2^31 - 1 ms, about 24.8 days) on every front door
 * that takes one: they must not expire at once (a setTimeout beyond that fires after 1 ms).
 */
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatInputSchema, Role } from "../../gen/switchyard/v1/chat_pb.js";
import { ChatRequestSchema, ChatStreamRequestSchema } from "../../gen/switchyard/v1/chat_service_pb.js";
import { fault } from "../support/fault-injector.js";
import { useResilienceGateway } from "./resilience-harness.js";

const rig = useResilienceGateway({ a: { text: "Answer from a." } });

function envelope(message: Uint8Array): Buffer {
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
}

const input = create(ChatInputSchema, { model: "a/m", messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "Say the sentence." } }] }] });

/** One gRPC call over raw HTTP/2 (the fast path), with a `grpc-timeout` header: its grpc-status and body. */
async function grpcCall(method: "Chat" | "ChatStream", timeout: string): Promise<{ status: string | undefined; data: string }> {
  const body = method === "Chat" ? toBinary(ChatRequestSchema, create(ChatRequestSchema, { input })) : toBinary(ChatStreamRequestSchema, create(ChatStreamRequestSchema, { input }));
  const session = http2.connect(rig().origin);
  try {
    return await new Promise((resolve, reject) => {
      const request = session.request({ ":method": "POST", ":path": `/switchyard.v1.ChatService/${method}`, "content-type": "application/grpc", te: "trailers", "grpc-timeout": timeout });
      let status: string | undefined;
      const chunks: Buffer[] = [];
      const statusOf = (headers: http2.IncomingHttpHeaders) => {
        const value = headers["grpc-status"];
        if (typeof value === "string") status = value;
      };
      request.on("response", statusOf);
      request.on("trailers", statusOf);
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("error", reject);
      request.on("close", () => resolve({ status, data: Buffer.concat(chunks).toString("latin1") }));
      request.end(envelope(body));
    });
  } finally {
    session.close();
  }
}

const connectBody = JSON.stringify({ input: { model: "a/m", messages: [{ role: "ROLE_USER", content: [{ text: "Say the sentence." }] }] } });

describe("deadlines beyond the longest timer (2^31 - 1 ms)", () => {
  it.each(["2147484S", "99999999H"])("gRPC Chat with grpc-timeout %s answers", async (timeout) => {
    const { status, data } = await grpcCall("Chat", timeout);
    expect(status).toBe("0");
    expect(data).toContain("Answer from a.");
  });

  it("gRPC ChatStream with a 25-day grpc-timeout streams the answer", async () => {
    const { status, data } = await grpcCall("ChatStream", `${25 * 24}H`);
    expect(status).toBe("0");
    expect(data).toContain("Answer");
  });

  it("Connect Chat with connect-timeout-ms 2147483648 answers", async () => {
    const response = await fetch(`${rig().origin}/switchyard.v1.ChatService/Chat`, { method: "POST", headers: { "content-type": "application/json", "connect-timeout-ms": "2147483648" }, body: connectBody });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    expect(text).toContain("Answer from a.");
  });

  it("Connect ChatStream with a 30-day connect-timeout-ms streams the answer and ends without an error", async () => {
    const body = envelope(new TextEncoder().encode(connectBody));
    const response = await fetch(`${rig().origin}/switchyard.v1.ChatService/ChatStream`, { method: "POST", headers: { "content-type": "application/connect+json", "connect-timeout-ms": String(30 * 86_400_000) }, body });
    const text = Buffer.from(await response.arrayBuffer()).toString("utf8");
    expect(response.status).toBe(200);
    expect(text).toContain("Answer");
    expect(text).toContain("routeSummary");
    expect(text).not.toContain("deadline_exceeded");
  });

  it.each([
    ["Connect (connect-timeout-ms 9999999999)", { "content-type": "application/json", "connect-timeout-ms": "9999999999" }],
    ["gRPC through Connect's handler (grpc+json, grpc-timeout 99999999H)", { "content-type": "application/grpc+json", te: "trailers", "grpc-timeout": "99999999H" }],
  ])("%s: a caller that leaves still cancels the upstream call, and no timer overflows", async (_name, headers) => {
    rig().upstreams.a?.script(fault.hang());
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on("warning", onWarning);
    try {
      const grpcJson = headers["content-type"] === "application/grpc+json";
      const session = http2.connect(rig().origin);
      const request = session.request({ ":method": "POST", ":path": "/switchyard.v1.ChatService/Chat", ...headers });
      request.on("error", () => undefined);
      request.end(grpcJson ? envelope(new TextEncoder().encode(connectBody)) : connectBody);
      await expect.poll(() => rig().upstreams.a?.attempts.length ?? 0, { timeout: 2000 }).toBe(1);
      request.close(http2.constants.NGHTTP2_CANCEL);
      await expect.poll(() => rig().upstreams.a?.attempts[0]?.closedByClient, { timeout: 2000 }).toBe(true);
      session.close();
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings).not.toContain("TimeoutOverflowWarning");
  });

  it("still ends a call at a short deadline", async () => {
    rig().upstreams.a?.script(fault.hang(), fault.hang());
    const started = Date.now();
    const response = await fetch(`${rig().origin}/switchyard.v1.ChatService/Chat`, { method: "POST", headers: { "content-type": "application/json", "connect-timeout-ms": "100" }, body: connectBody });
    expect(response.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(1000);
    const grpc = await grpcCall("Chat", "100m");
    expect(grpc.status).toBe("4");
  });
});
