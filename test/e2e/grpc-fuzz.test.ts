import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Role } from "../../gen/switchyard/v1/chat_pb.js";
import { ChatRequestSchema, ChatStreamRequestSchema } from "../../gen/switchyard/v1/chat_service_pb.js";
import { buildApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";
import { FUZZ_CONFIG, fuzzCases, fuzzRandom, wellBehavedUpstream } from "../support/fuzzing.js";

/*
 * Seeded fuzzing of the gRPC wire on a real h2c connection (the fast path of rpc/grpc-chat.ts and,
 * for what it does not take, Connect's handler): requests with corrupted protobuf, cut or
 * mislabelled envelopes, two messages, random bytes, odd grpc-timeout and encodings, content types
 * the fast path leaves to Connect, and clients that reset mid-upload. Every call must end: with a
 * grpc-status (0 for a good request, a client-error code for a bad one, never 13 INTERNAL from our
 * own path), or with the client's own reset. The connection stays usable throughout.
 */

const MODELS = ["oai/gpt-4o", "anth/claude-sonnet-4-5", "gem/gemini-2.5-flash", "nosuch/x", ""];

function envelope(message: Uint8Array, flags = 0, lengthDelta = 0): Buffer {
  const framed = Buffer.alloc(5 + message.length);
  framed[0] = flags;
  framed.writeUInt32BE(Math.max(0, message.length + lengthDelta), 1);
  framed.set(message, 5);
  return framed;
}

interface CallOutcome {
  readonly httpStatus: number | undefined;
  readonly grpcStatus: string | undefined;
  readonly message: string;
  readonly reset: boolean;
}

function call(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body: Buffer, cancelAfterBytes: number | undefined): Promise<CallOutcome> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers);
    let httpStatus: number | undefined;
    let grpcStatus: string | undefined;
    let message = "";
    let reset = false;
    const timer = setTimeout(() => reject(new Error(`call did not end within 10 s: ${JSON.stringify(headers)}`)), 10_000);
    stream.on("response", (received) => {
      httpStatus = Number(received[":status"]);
      if (received["grpc-status"] !== undefined) grpcStatus = String(received["grpc-status"]);
      if (received["grpc-message"] !== undefined) message = decodeURIComponent(String(received["grpc-message"]));
    });
    stream.on("trailers", (trailers) => {
      grpcStatus = String(trailers["grpc-status"]);
      if (trailers["grpc-message"] !== undefined) message = decodeURIComponent(String(trailers["grpc-message"]));
    });
    stream.on("data", () => undefined);
    stream.on("error", () => {
      reset = true;
    });
    stream.on("close", () => {
      clearTimeout(timer);
      resolve({ httpStatus, grpcStatus, message, reset: reset || (grpcStatus === undefined && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) });
    });
    if (cancelAfterBytes !== undefined) {
      stream.write(body.subarray(0, cancelAfterBytes));
      setTimeout(() => stream.close(http2.constants.NGHTTP2_CANCEL), 5);
    } else stream.end(body);
  });
}

describe("the gRPC wire under fuzzing (seeded, real h2c connection)", () => {
  it("ends every call with a grpc-status that is not INTERNAL (or the client's own reset), and stays up", async () => {
    const { app } = await buildApp({ config: parseConfigText(FUZZ_CONFIG, "fuzz.yaml", {}), transport: wellBehavedUpstream });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const session = http2.connect(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);
    const random = fuzzRandom(7);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const seen = { ok: 0, refused: 0, canceled: 0 };
    try {
      for (let index = 0; index < fuzzCases(400); index++) {
        const streaming = random() < 0.4;
        const schema = streaming ? ChatStreamRequestSchema : ChatRequestSchema;
        const input = { model: pick(MODELS), maxTokens: 20, messages: [{ role: Role.USER, content: [{ part: { case: "text" as const, value: "hi" } }] }] };
        const message = Buffer.from(toBinary(schema, create(schema, { input })));
        const roll = random();
        let body: Buffer;
        if (roll < 0.15) {
          for (let flip = 0; flip < 3; flip++) message[Math.floor(random() * message.length)] = Math.floor(random() * 256);
          body = envelope(message);
        } else if (roll < 0.25) body = envelope(message).subarray(0, Math.floor(random() * (message.length + 5)));
        else if (roll < 0.35) body = envelope(message, 0, Math.floor(random() * 20) - 10);
        else if (roll < 0.42) body = envelope(message, 1);
        else if (roll < 0.5) body = Buffer.concat([envelope(message), envelope(message)]);
        else if (roll < 0.58) body = Buffer.from(Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
        else body = envelope(message);
        const headers: http2.OutgoingHttpHeaders = {
          ":method": "POST",
          ":path": `/switchyard.v1.ChatService/${streaming ? "ChatStream" : "Chat"}`,
          "content-type": pick(["application/grpc", "application/grpc", "application/grpc+proto", "application/grpc+json"]),
          te: "trailers",
        };
        if (random() < 0.15) headers["grpc-timeout"] = pick(["1m", "5S", "0n", "abc", "99999999999H", "10u"]);
        if (random() < 0.05) headers["grpc-encoding"] = pick(["gzip", "identity", "zstd"]);
        const cancelAfterBytes = random() < 0.05 ? Math.min(3, body.length) : undefined;
        const outcome = await call(session, headers, body, cancelAfterBytes);
        const context = `call ${index}: ${JSON.stringify({ headers, bytes: body.length, cancelAfterBytes })} -> ${JSON.stringify(outcome)}`;
        if (cancelAfterBytes !== undefined) {
          seen.canceled++;
          continue;
        }
        expect(outcome.httpStatus, context).toBe(200);
        expect(outcome.grpcStatus, context).toBeDefined();
        // INTERNAL only for Connect's compressed-envelope framing error; a message that does not parse is INVALID_ARGUMENT on every path.
        if (outcome.grpcStatus === "13") expect(outcome.message, context).toMatch(/^(?:protocol error: )?received compressed envelope/);
        if (outcome.message.startsWith("parse binary")) expect(outcome.grpcStatus, context).toBe("3");
        if (outcome.grpcStatus === "0") seen.ok++;
        else seen.refused++;
      }
      // The connection still serves a good call after everything above.
      const good = Buffer.from(toBinary(ChatRequestSchema, create(ChatRequestSchema, { input: { model: "oai/gpt-4o", messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "hi" } }] }] } })));
      expect((await call(session, { ":method": "POST", ":path": "/switchyard.v1.ChatService/Chat", "content-type": "application/grpc", te: "trailers" }, envelope(good), undefined)).grpcStatus).toBe("0");
    } finally {
      // destroy, not close: a call that never ended must not keep the test waiting for it.
      session.destroy();
      await app.close();
    }
    expect(seen.ok).toBeGreaterThan(40);
    expect(seen.refused).toBeGreaterThan(100);
  }, 120_000);
});
