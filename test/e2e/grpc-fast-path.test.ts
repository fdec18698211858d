/**
 * The gRPC fast path (src/rpc/grpc-chat.ts) against a real listening gateway: it must answer
 * exactly as Connect's handler does for ChatService/Chat and ChatStream, keep Connect for what it
 * does not take, and turn every malformed request into the right status, never a hang or a crash.
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { compressionGzip, createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { ChatInputSchema, Role } from "../../gen/switchyard/v1/chat_pb.js";
import { ChatRequestSchema, ChatService, type ChatStreamResponse } from "../../gen/switchyard/v1/chat_service_pb.js";
import { ModelService } from "../../gen/switchyard/v1/model_service_pb.js";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/error_pb.js";
import { buildApp, type BuiltApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";
import { fault } from "../support/fault-injector.js";
import { configYaml, sleep, startInjectors } from "../resilience/resilience-harness.js";
import type { FaultInjector } from "../support/fault-injector.js";

const BODY_LIMIT = 64 * 1024;
const KEY = "sy-grpc-unary-test-key-0123456789";

let upstreams: Record<string, FaultInjector>;
let built: BuiltApp;
let origin: string;
let sessions: Http2SessionManager;
let grpc: Client<typeof ChatService>;
let connect: Client<typeof ChatService>;
const auth = { authorization: `Bearer ${KEY}` };

beforeAll(async () => {
  upstreams = await startInjectors({ a: {} });
  const yaml = configYaml(upstreams, {}, "").replace("server: { host: 127.0.0.1, port: 0,", `server: { host: 127.0.0.1, port: 0, body_limit_bytes: ${BODY_LIMIT},`) + `\nkeys:\n  - { name: test, key: "${KEY}" }\n`;
  built = await buildApp({ config: parseConfigText(yaml, "grpc-unary.yaml", {}) });
  await built.app.listen({ host: "127.0.0.1", port: 0 });
  origin = `http://127.0.0.1:${(built.app.server.address() as AddressInfo).port}`;
  sessions = new Http2SessionManager(origin);
  grpc = createClient(ChatService, createGrpcTransport({ baseUrl: origin, sessionManager: sessions }));
  connect = createClient(ChatService, createConnectTransport({ baseUrl: origin, httpVersion: "1.1" }));
});

afterAll(async () => {
  sessions.abort();
  for (const injector of Object.values(upstreams)) await injector.close();
  await built.app.close();
});

beforeEach(() => {
  for (const upstream of Object.values(upstreams)) upstream.reset();
});

function input(model = "a/m") {
  return create(ChatInputSchema, { model, messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "Say the sentence." } }] }] });
}

function envelope(message: Uint8Array, flags = 0): Buffer {
  const framed = Buffer.alloc(5 + message.length);
  framed[0] = flags;
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
}

/** One raw HTTP/2 request: the response head, the body bytes and the trailers (empty for a trailers-only answer). */
async function rawCall(body: Buffer, headers: http2.OutgoingHttpHeaders = {}): Promise<{ head: http2.IncomingHttpHeaders; data: Buffer; trailers: http2.IncomingHttpHeaders }> {
  const session = http2.connect(origin);
  try {
    return await new Promise((resolve, reject) => {
      const request = session.request({ ":method": "POST", ":path": "/switchyard.v1.ChatService/Chat", "content-type": "application/grpc", te: "trailers", ...auth, ...headers });
      let head: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      request.on("response", (value) => { head = value; });
      request.on("trailers", (value) => { trailers = value; });
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("error", reject);
      request.on("close", () => resolve({ head, data: Buffer.concat(chunks), trailers }));
      request.end(body);
    });
  } finally {
    session.close();
  }
}

function statusOf(answer: { head: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders }): string | undefined {
  return (answer.trailers["grpc-status"] ?? answer.head["grpc-status"]) as string | undefined;
}

describe("gRPC Chat and ChatStream on the HTTP/2 fast path", () => {
  it("answers with the same message and route metadata as Connect's handler", async () => {
    let fastHeaders: Headers | undefined;
    let connectHeaders: Headers | undefined;
    const fast = await grpc.chat({ input: input() }, { headers: auth, onHeader: (value) => { fastHeaders = value; } });
    const viaConnect = await connect.chat({ input: input() }, { headers: auth, onHeader: (value) => { connectHeaders = value; } });
    expect(fast.choices[0]?.message?.content).toEqual(viaConnect.choices[0]?.message?.content);
    expect(fast.choices.map((choice) => choice.finishReason)).toEqual(viaConnect.choices.map((choice) => choice.finishReason));
    expect(fast.usage).toEqual(viaConnect.usage);
    expect([fast.model, fast.provider, fast.route?.attempts]).toEqual(["a/m", "a", 1]);
    for (const name of ["x-switchyard-model", "x-switchyard-provider", "x-switchyard-attempts"]) {
      expect(fastHeaders?.get(name), name).toBe(connectHeaders?.get(name));
    }
  });

  it("streams the same events, headers and trailers as Connect's handler", async () => {
    const collect = async (client: Client<typeof ChatService>) => {
      let headers: Headers | undefined;
      let trailers: Headers | undefined;
      const events: ChatStreamResponse[] = [];
      for await (const event of client.chatStream({ input: input() }, { headers: auth, onHeader: (value) => { headers = value; }, onTrailer: (value) => { trailers = value; } })) events.push(event);
      return { headers, trailers, events };
    };
    const fast = await collect(grpc);
    const viaConnect = await collect(connect);
    const shape = (events: ChatStreamResponse[]) => events.map((event) => event.event.case);
    expect(shape(fast.events)).toEqual(shape(viaConnect.events));
    expect(shape(fast.events)[0]).toBe("responseStart");
    expect(shape(fast.events).at(-1)).toBe("routeSummary");
    const text = (events: ChatStreamResponse[]) => events.map((event) => (event.event.case === "textDelta" ? event.event.value.text : "")).join("");
    expect(text(fast.events)).toBe(text(viaConnect.events));
    for (const name of ["x-switchyard-model", "x-switchyard-provider", "x-switchyard-attempts"]) expect(fast.headers?.get(name), name).toBe(viaConnect.headers?.get(name));
    expect(fast.trailers?.get("x-switchyard-model")).toBe("a/m");
    expect(fast.trailers?.get("x-switchyard-model")).toBe(viaConnect.trailers?.get("x-switchyard-model"));
  });

  it("ends a stream that fails before any event with the error status, and cancels the upstream when the client cancels mid-stream", async () => {
    const failed = await (async () => {
      for await (const event of grpc.chatStream({ input: input("nobody/m") }, { headers: auth })) void event;
    })().then(() => undefined, (thrown: unknown) => ConnectError.from(thrown));
    expect(failed?.code).toBe(Code.NotFound);
    expect(failed?.findDetails(ErrorDetailSchema)[0]?.reason).toBe("MODEL_NOT_FOUND");

    upstreams.a?.always(fault.answer({ chunkDelayMs: 100 }));
    const controller = new AbortController();
    let texts = 0;
    const canceled = await (async () => {
      for await (const event of grpc.chatStream({ input: input() }, { headers: auth, signal: controller.signal })) {
        if (event.event.case === "textDelta" && ++texts === 2) controller.abort();
      }
    })().then(() => undefined, (thrown: unknown) => ConnectError.from(thrown));
    expect(canceled?.code).toBe(Code.Canceled);
    await vi.waitFor(() => expect(upstreams.a?.attempts[0]?.closedByClient).toBe(true), { timeout: 3000, interval: 20 });
  });

  it("answers an error with the status and ErrorDetail Connect would send, and a missing key with Unauthenticated", async () => {
    const notFound = await grpc.chat({ input: input("nobody/m") }, { headers: auth }).then(() => undefined, (thrown: unknown) => ConnectError.from(thrown));
    expect(notFound?.code).toBe(Code.NotFound);
    expect(notFound?.findDetails(ErrorDetailSchema)[0]?.reason).toBe("MODEL_NOT_FOUND");
    const viaConnect = await connect.chat({ input: input("nobody/m") }, { headers: auth }).then(() => undefined, (thrown: unknown) => ConnectError.from(thrown));
    expect(notFound?.rawMessage).toBe(viaConnect?.rawMessage);

    const unauthenticated = await grpc.chat({ input: input() }).then(() => undefined, (thrown: unknown) => ConnectError.from(thrown));
    expect(unauthenticated?.code).toBe(Code.Unauthenticated);
    expect(upstreams.a?.attempts).toHaveLength(0);
  });

  it("cancels the upstream call when the client cancels, and bounds it by grpc-timeout", async () => {
    upstreams.a?.always(fault.hang());
    const controller = new AbortController();
    const pending = grpc.chat({ input: input() }, { headers: auth, signal: controller.signal }).then(() => undefined, (thrown: unknown) => ConnectError.from(thrown));
    await sleep(100);
    controller.abort();
    expect((await pending)?.code).toBe(Code.Canceled);
    await vi.waitFor(() => expect(upstreams.a?.attempts[0]?.closedByClient).toBe(true), { timeout: 3000, interval: 20 });

    const started = Date.now();
    const expired = await grpc.chat({ input: input() }, { headers: auth, timeoutMs: 200 }).then(() => undefined, (thrown: unknown) => ConnectError.from(thrown));
    expect(expired?.code).toBe(Code.DeadlineExceeded);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("leaves compressed requests to Connect, which still answers them", async () => {
    const compressing = createClient(ChatService, createGrpcTransport({ baseUrl: origin, sessionManager: sessions, sendCompression: compressionGzip, compressMinBytes: 0 }));
    const response = await compressing.chat({ input: input() }, { headers: auth });
    expect(response.model).toBe("a/m");
  });

  it("rejects malformed requests with a status, never a hang: bad protobuf, bad framing, too large, bad grpc-timeout", async () => {
    const valid = toBinary(ChatRequestSchema, create(ChatRequestSchema, { input: input() }));
    const cases: [string, Buffer, http2.OutgoingHttpHeaders, Code][] = [
      ["not protobuf", envelope(Buffer.from([0xff, 0xff, 0xff, 0xff])), {}, Code.InvalidArgument],
      ["no message", Buffer.alloc(0), {}, Code.InvalidArgument],
      ["truncated envelope", envelope(valid).subarray(0, 10), {}, Code.InvalidArgument],
      ["two messages", Buffer.concat([envelope(valid), envelope(valid)]), {}, Code.InvalidArgument],
      // The gRPC compression spec: "MUST fail with INTERNAL status", as Connect's handler answers it.
      ["compressed flag without grpc-encoding", envelope(valid, 1), {}, Code.Internal],
      ["compressed flag with grpc-encoding identity", envelope(valid, 1), { "grpc-encoding": "identity" }, Code.Internal],
      ["larger than body_limit_bytes", envelope(Buffer.alloc(BODY_LIMIT + 1)), {}, Code.ResourceExhausted],
      ["invalid grpc-timeout", envelope(valid), { "grpc-timeout": "soon" }, Code.InvalidArgument],
    ];
    for (const [label, body, headers, code] of cases) {
      const answer = await rawCall(body, headers);
      expect(answer.head[":status"], label).toBe(200);
      expect(statusOf(answer), label).toBe(String(code));
    }
    expect(upstreams.a?.attempts).toHaveLength(0);
  });

  it("refuses an encoding it does not support with UNIMPLEMENTED and grpc-accept-encoding, on both methods (gRPC compression spec)", async () => {
    const valid = toBinary(ChatRequestSchema, create(ChatRequestSchema, { input: input() }));
    for (const path of ["/switchyard.v1.ChatService/Chat", "/switchyard.v1.ChatService/ChatStream"]) {
      const answer = await rawCall(envelope(valid, 1), { ":path": path, "grpc-encoding": "snappy" });
      expect(statusOf(answer), path).toBe(String(Code.Unimplemented));
      expect(answer.head["grpc-accept-encoding"], path).toBe("gzip, br");
    }
    expect(upstreams.a?.attempts).toHaveLength(0);
  });

  it.each(["/switchyard.v1.ChatService/Nope", "/other.v1.Service/Method"])("answers a gRPC call of a method it does not serve (%s) UNIMPLEMENTED in the HEADERS frame that ends the stream, as gRPC clients read it", async (path) => {
    for (const contentType of ["application/grpc", "application/grpc+json"]) {
      const session = http2.connect(origin);
      try {
        const { head, endedWithHeaders } = await new Promise<{ head: http2.IncomingHttpHeaders; endedWithHeaders: boolean }>((resolve, reject) => {
          const request = session.request({ ":method": "POST", ":path": path, "content-type": contentType, te: "trailers", ...auth });
          request.on("response", (value, flags) => resolve({ head: value, endedWithHeaders: (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0 }));
          request.on("error", reject);
          request.end(Buffer.alloc(5));
        });
        expect([head[":status"], head["grpc-status"], endedWithHeaders], `${path} ${contentType}`).toEqual([200, String(Code.Unimplemented), true]);
      } finally {
        session.close();
      }
    }
    // The methods it serves are not taken for unknown ones: ModelService still answers.
    const models = await createClient(ModelService, createGrpcTransport({ baseUrl: origin, sessionManager: sessions })).listModels({}, { headers: auth });
    expect(models.models.length).toBeGreaterThan(0);
  });

  it("names the method's kind in framing errors, as Connect's handler does", async () => {
    for (const [path, kind] of [["/switchyard.v1.ChatService/Chat", "unary"], ["/switchyard.v1.ChatService/ChatStream", "server_streaming"]]) {
      const answer = await rawCall(Buffer.alloc(0), { ":path": path });
      expect(statusOf(answer)).toBe(String(Code.InvalidArgument));
      expect(decodeURIComponent(String(answer.trailers["grpc-message"] ?? answer.head["grpc-message"]))).toBe(`protocol error: missing input message for ${kind} method`);
    }
  });

  it("refuses a message over body_limit_bytes by the size its envelope declares, before the rest arrives", async () => {
    const declared = envelope(Buffer.alloc(10));
    declared.writeUInt32BE(4 * BODY_LIMIT, 1);
    const answer = await rawCall(declared);
    expect(statusOf(answer)).toBe(String(Code.ResourceExhausted));
    expect(decodeURIComponent(String(answer.trailers["grpc-message"] ?? answer.head["grpc-message"]))).toBe(`message size ${4 * BODY_LIMIT} is larger than configured readMaxBytes ${BODY_LIMIT}`);
  });

  it("frames a success as one length-prefixed message followed by grpc-status 0 in the trailers", async () => {
    const answer = await rawCall(envelope(toBinary(ChatRequestSchema, create(ChatRequestSchema, { input: input() }))));
    expect(answer.head["content-type"]).toBe("application/grpc+proto");
    expect(answer.head["x-switchyard-model"]).toBe("a/m");
    expect(answer.trailers["grpc-status"]).toBe("0");
    expect(answer.data[0]).toBe(0);
    expect(answer.data.readUInt32BE(1)).toBe(answer.data.length - 5);
  });
});

describe("a request message that does not arrive before the call's deadline", () => {
  /** Sends only part of a request message, with `grpc-timeout: 1S`, and resolves with the grpc-status the gateway answered (and when). */
  async function partialUpload(headers: http2.OutgoingHttpHeaders): Promise<{ status: string | undefined; ms: number }> {
    const session = http2.connect(origin);
    const started = Date.now();
    try {
      return await new Promise((resolve, reject) => {
        const request = session.request({ ":method": "POST", ":path": "/switchyard.v1.ChatService/Chat", te: "trailers", "grpc-timeout": "1S", ...auth, ...headers });
        let status: string | undefined;
        request.on("response", (head) => (status ??= head["grpc-status"] as string | undefined));
        request.on("trailers", (trailers) => (status = trailers["grpc-status"] as string | undefined));
        request.on("data", () => undefined);
        request.on("error", () => undefined);
        request.on("close", () => resolve({ status, ms: Date.now() - started }));
        session.on("error", reject);
        // Half of a message and no end: the rest never comes.
        request.write(envelope(toBinary(ChatRequestSchema, create(ChatRequestSchema, { input: input() }))).subarray(0, 10));
      });
    } finally {
      session.destroy();
    }
  }

  it.each([
    ["the fast path", { "content-type": "application/grpc" }],
    ["Connect's handler (a gzip-encoded call)", { "content-type": "application/grpc", "grpc-encoding": "gzip" }],
    ["Connect's handler (+json)", { "content-type": "application/grpc+json" }],
  ])("%s answers DEADLINE_EXCEEDED at the deadline", async (_name, headers) => {
    const answer = await partialUpload(headers);
    expect(answer.status).toBe(String(Code.DeadlineExceeded));
    expect(answer.ms).toBeLessThan(4_000);
  });
});
