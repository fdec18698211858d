/**
 * A client that stops reading a stream (its HTTP/2 window stays full) while the upstream has
 * plenty more to say. Before, the gateway waited for 'drain' without bound: the upstream was cut at
 * the caller's deadline, but the client's stream stayed open with no trailers and no reset, for as
 * long as the client cared to hold it. Now the wait ends at the caller's deadline (or after
 * CLIENT_STALL_MS) with a reset. Also: the gRPC fast path's deadline counts from the start of the
 * call, so a request message that arrives after it is DEADLINE_EXCEEDED and reaches no upstream.
 */
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ChatInputSchema, Role } from "../../gen/switchyard/v1/chat_pb.js";
import { ChatRequestSchema, ChatStreamRequestSchema } from "../../gen/switchyard/v1/chat_service_pb.js";
import { listenApp, type ListeningApp } from "../support/listening-app.js";

let upstream: http.Server;
let gateway: ListeningApp;
let requests = 0;
let upstreamClosed = 0;

beforeAll(async () => {
  // An endless fast stream: ~600 bytes a chunk, as fast as the gateway takes them.
  upstream = http.createServer((request, response) => {
    requests++;
    request.resume();
    response.writeHead(200, { "content-type": "text/event-stream" });
    const base = { id: "c", object: "chat.completion.chunk", created: 1, model: "m" };
    const chunk = `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: "x".repeat(600) }, finish_reason: null }] })}\n\n`;
    response.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] })}\n\n`);
    const pump = () => {
      while (!response.destroyed && response.write(chunk));
    };
    response.on("drain", pump);
    response.on("close", () => upstreamClosed++);
    pump();
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
  gateway = await listenApp(`providers:\n  up: { type: openai-compatible, base_url: "${base}" }\nrouting:\n  retry: { max_retries: 0 }\nlogging: { level: silent }\n`, "stalled-reader.yaml");
});

afterAll(async () => {
  await gateway?.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

const input = () => create(ChatInputSchema, { model: "up/m", messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "Talk." } }] }] });

function envelope(message: Uint8Array): Buffer {
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
}

/** Opens `headers` on a fresh HTTP/2 session, sends `body`, reads the first data and then nothing: resolves with the stream's reset code and when it closed. */
function readOnceThenStall(headers: http2.OutgoingHttpHeaders, body: Buffer | string): Promise<{ rstCode: number; closedAfterMs: number; trailers: boolean }> {
  const session = http2.connect(gateway.origin);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ...headers });
    let trailers = false;
    stream.on("trailers", () => { trailers = true; });
    stream.once("data", () => stream.pause());
    stream.on("error", () => {});
    stream.on("close", () => {
      resolve({ rstCode: stream.rstCode ?? -1, closedAfterMs: Date.now() - started, trailers });
      session.close();
    });
    session.on("error", reject);
    stream.end(body);
  });
}

describe("a client that stops reading a stream", () => {
  it("gRPC ChatStream: reset (CANCEL) at the caller's deadline, the upstream cut", async () => {
    const closedBefore = upstreamClosed;
    const body = envelope(toBinary(ChatStreamRequestSchema, create(ChatStreamRequestSchema, { input: input() })));
    const outcome = await readOnceThenStall({ ":path": "/switchyard.v1.ChatService/ChatStream", "content-type": "application/grpc", te: "trailers", "grpc-timeout": "1000m" }, body);
    expect(outcome.rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
    expect(outcome.trailers).toBe(false);
    expect(outcome.closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(outcome.closedAfterMs).toBeLessThan(5000);
    await vi.waitFor(() => expect(upstreamClosed).toBeGreaterThan(closedBefore), { timeout: 3000, interval: 20 });
  });

  it("REST SSE over HTTP/2: reset (CANCEL) at x-switchyard-timeout", async () => {
    const outcome = await readOnceThenStall(
      { ":path": "/v1/chat/completions", "content-type": "application/json", "x-switchyard-timeout": "1000" },
      JSON.stringify({ model: "up/m", stream: true, messages: [{ role: "user", content: "Talk." }] }),
    );
    expect(outcome.rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
    expect(outcome.closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(outcome.closedAfterMs).toBeLessThan(5000);
  });
});

describe("the gRPC fast path's deadline", () => {
  it("runs from the start of the call: a request message that arrives after it is DEADLINE_EXCEEDED, and no upstream is called", async () => {
    const before = requests;
    const body = envelope(toBinary(ChatRequestSchema, create(ChatRequestSchema, { input: input() })));
    const session = http2.connect(gateway.origin);
    const answer = await new Promise<{ status: unknown; afterMs: number }>((resolve, reject) => {
      const started = Date.now();
      const stream = session.request({ ":method": "POST", ":path": "/switchyard.v1.ChatService/Chat", "content-type": "application/grpc", te: "trailers", "grpc-timeout": "500m" });
      let status: unknown;
      stream.on("response", (headers) => { status ??= headers["grpc-status"]; });
      stream.on("trailers", (headers) => { status = headers["grpc-status"]; });
      stream.on("error", () => {});
      stream.on("close", () => resolve({ status, afterMs: Date.now() - started }));
      stream.resume();
      session.on("error", reject);
      stream.write(body.subarray(0, 3));
      setTimeout(() => { if (!stream.destroyed) stream.end(body.subarray(3)); }, 1200);
    });
    session.close();
    expect(answer.status).toBe("4");
    expect(answer.afterMs).toBeLessThan(1100);
    expect(requests).toBe(before);
  });
});
