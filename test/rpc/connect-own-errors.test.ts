import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";
import { fromBinary } from "@bufbuild/protobuf";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/error_pb.js";
import { withGatewayErrorForm } from "../../src/rpc/connect-own-errors.js";
import { FUZZ_CONFIG, wellBehavedUpstream } from "../support/fuzzing.js";

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

async function bytes(body: AsyncIterable<Uint8Array> | undefined): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  if (body) for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function text(body: AsyncIterable<Uint8Array> | undefined): Promise<string> {
  let out = "";
  if (body) for await (const chunk of body) out += Buffer.from(chunk).toString("utf8");
  return out;
}

function jsonError(status: number, payload: object) {
  const bytes = new TextEncoder().encode(JSON.stringify(payload));
  return { status, header: new Headers({ "content-type": "application/json", "content-length": String(bytes.byteLength) }), body: once(bytes) };
}

/** The ErrorDetail reason of a Connect JSON error body. */
function jsonDetailReason(body: string): string | undefined {
  const details = (JSON.parse(body) as { details?: { type: string; value: string }[] }).details ?? [];
  const detail = details.find((entry) => entry.type === "switchyard.v1.ErrorDetail");
  return detail ? fromBinary(ErrorDetailSchema, Buffer.from(detail.value, "base64")).reason : undefined;
}

/** The ErrorDetail reason of gRPC trailers (grpc-status-details-bin). */
function trailerDetailReason(trailer: Headers): string | undefined {
  return findTrailerError(trailer)?.findDetails(ErrorDetailSchema)[0]?.reason;
}

describe("Connect's own errors, in the gateway's form", () => {
  it("turns Connect's 500 internal 'parse binary' into 400 invalid_argument with an ErrorDetail, with its content-length", async () => {
    const answer = await withGatewayErrorForm(jsonError(500, { code: "internal", message: "parse binary: premature EOF" }));
    const body = await text(answer.body);
    expect(answer.status).toBe(400);
    expect(JSON.parse(body)).toMatchObject({ code: "invalid_argument", message: "parse binary: premature EOF" });
    expect(jsonDetailReason(body)).toBe("INVALID_REQUEST");
    expect(answer.header?.get("content-length")).toBe(String(Buffer.byteLength(body)));
  });

  it("gives Connect's other errors an ErrorDetail by their code, and passes answers that have details, or no error, as they were", async () => {
    const ok = { status: 200, header: new Headers({ "content-type": "application/proto" }), body: once(new Uint8Array([1, 2])) };
    expect(await withGatewayErrorForm(ok)).toBe(ok);
    const tooLarge = await withGatewayErrorForm(jsonError(429, { code: "resource_exhausted", message: "message size 40000000 is larger than configured readMaxBytes 33554432" }));
    const tooLargeBody = await text(tooLarge.body);
    expect(tooLarge.status).toBe(429);
    expect(JSON.parse(tooLargeBody)).toMatchObject({ code: "resource_exhausted" });
    expect(jsonDetailReason(tooLargeBody)).toBe("REQUEST_TOO_LARGE");
    const badTimeout = await withGatewayErrorForm(jsonError(400, { code: "invalid_argument", message: "protocol error: invalid connect timeout value: x" }));
    expect(jsonDetailReason(await text(badTimeout.body))).toBe("INVALID_REQUEST");
    const internal = await withGatewayErrorForm(jsonError(500, { code: "internal", message: "internal error" }));
    expect(internal.status).toBe(500);
    expect(jsonDetailReason(await text(internal.body))).toBe("INTERNAL_ERROR");
    const detailed = { code: "unavailable", message: "provider down", details: [{ type: "switchyard.v1.ErrorDetail", value: "" }] };
    expect(JSON.parse(await text((await withGatewayErrorForm(jsonError(503, detailed))).body))).toEqual(detailed);
  });

  it("over the Connect protocol, an undecodable binary request is a 400 invalid_argument, not a 500", async () => {
    const { app } = await buildApp({ config: parseConfigText(FUZZ_CONFIG, "connect.yaml", {}), transport: wellBehavedUpstream });
    await app.ready();
    try {
      const headers = { "content-type": "application/proto", "connect-protocol-version": "1" };
      const garbage = await app.inject({ method: "POST", url: "/switchyard.v1.ChatService/Chat", headers, payload: Buffer.from([0x0a, 0xff, 0xff, 0xff]) });
      expect(garbage.statusCode).toBe(400);
      expect(garbage.json()).toMatchObject({ code: "invalid_argument", message: expect.stringMatching(/^parse binary: /) });
      const json = await app.inject({ method: "POST", url: "/switchyard.v1.ChatService/Chat", headers: { ...headers, "content-type": "application/json" }, payload: '{"input":{"model":"oai/gpt-4o","messages":[{"role":"ROLE_USER","content":[{"text":"hi"}]}]}}' });
      expect(json.statusCode).toBe(200);
      expect(json.json()).toMatchObject({ choices: [{ message: { content: [{ text: "ok" }] } }] });
    } finally {
      await app.close();
    }
  });

  it.each([
    ["an enum name the proto does not define", '{"input":{"model":"oai/gpt-4o","messages":[{"role":"ROLE_USER","content":[{"text":"hi"}]}],"tools":[{"name":"f"}],"toolChoice":{"mode":"TOOL_CHOICE_MODE_NEVER"}}}', "TOOL_CHOICE_MODE_NEVER"],
    ["an enum name in a response format", '{"input":{"model":"oai/gpt-4o","messages":[{"role":"ROLE_USER","content":[{"text":"hi"}]}],"responseFormat":{"type":"RESPONSE_FORMAT_TYPE_JSON"}}}', "RESPONSE_FORMAT_TYPE_JSON"],
    ["a key the proto does not define", '{"input":{"model":"oai/gpt-4o","messages":[{"role":"ROLE_USER","content":[{"text":"hi"}]}],"temprature":0.2}}', "temprature"],
  ])("over Connect JSON, %s is a 400 invalid_argument naming it, not read as the zero value (the request silently changed)", async (_name, payload, named) => {
    const { app } = await buildApp({ config: parseConfigText(FUZZ_CONFIG, "connect.yaml", {}), transport: wellBehavedUpstream });
    await app.ready();
    try {
      const answer = await app.inject({ method: "POST", url: "/switchyard.v1.ChatService/Chat", headers: { "content-type": "application/json", "connect-protocol-version": "1" }, payload });
      expect(answer.statusCode).toBe(400);
      expect(answer.json()).toMatchObject({ code: "invalid_argument", message: expect.stringContaining(named) });
    } finally {
      await app.close();
    }
  });
});

describe("answers at the RPC routes' edge, in the RPC protocols' own form", () => {
  it("an unsupported content-type is an empty 415 (as Connect answers one), a GET of a POST method a 405 with Allow, an unknown gRPC method UNIMPLEMENTED", async () => {
    const { app } = await buildApp({ config: parseConfigText(FUZZ_CONFIG, "connect.yaml", {}), transport: wellBehavedUpstream });
    await app.ready();
    try {
      for (const contentType of ["application/xml", "text/plain", undefined]) {
        const answer = await app.inject({ method: "POST", url: "/switchyard.v1.ChatService/Chat", headers: contentType ? { "content-type": contentType } : {}, payload: "x" });
        expect(answer.statusCode, contentType).toBe(415);
        expect(answer.body, contentType).toBe("");
      }
      const get = await app.inject({ method: "GET", url: "/switchyard.v1.ChatService/Chat?encoding=json&message=%7B%7D" });
      expect(get.statusCode).toBe(405);
      expect(get.headers.allow).toBe("POST");
      const grpc = await app.inject({ method: "POST", url: "/switchyard.v1.ChatService/Nope", headers: { "content-type": "application/grpc" }, payload: Buffer.alloc(5) });
      expect([grpc.statusCode, grpc.headers["grpc-status"]]).toEqual([200, "12"]);
      const web = await app.inject({ method: "POST", url: "/other.v1.Service/Method", headers: { "content-type": "application/grpc-web+proto" }, payload: Buffer.alloc(5) });
      expect(web.statusCode).toBe(200);
      expect(grpcWebTrailers(web.rawPayload)[0]?.["grpc-status"]).toBe("12");
      // REST keeps its own 404.
      const rest = await app.inject({ method: "POST", url: "/v1/nothing", headers: { "content-type": "application/json" }, payload: "{}" });
      expect(rest.statusCode).toBe(404);
      expect(rest.json()).toMatchObject({ error: { code: "unknown_url" } });
    } finally {
      await app.close();
    }
  });
});

describe("an unknown gRPC-Web method on a gateway with keys", () => {
  it("is UNIMPLEMENTED in gRPC-Web form without a key too, as on HTTP/2 gRPC, not the REST 401", async () => {
    const { app } = await buildApp({ config: parseConfigText(`${FUZZ_CONFIG}keys:\n  - { name: dev, key: "sy-keyed-0123456789abcdef" }\n`, "keyed.yaml", {}), transport: wellBehavedUpstream });
    await app.ready();
    try {
      for (const authorization of [undefined, "Bearer wrong"]) {
        const answer = await app.inject({ method: "POST", url: "/other.v1.Service/Method", headers: { "content-type": "application/grpc-web+proto", ...(authorization ? { authorization } : {}) }, payload: Buffer.alloc(5) });
        expect(answer.statusCode, authorization).toBe(200);
        expect(grpcWebTrailers(answer.rawPayload)[0]?.["grpc-status"], authorization).toBe("12");
      }
      // A REST URL nobody serves still asks for the key first.
      expect((await app.inject({ method: "POST", url: "/v1/nothing", headers: { "content-type": "application/json" }, payload: "{}" })).statusCode).toBe(401);
    } finally {
      await app.close();
    }
  });
});

/** One gRPC-Web / gRPC envelope. */
function envelope(flags: number, data: Uint8Array): Buffer {
  const framed = Buffer.alloc(5 + data.byteLength);
  framed[0] = flags;
  framed.writeUInt32BE(data.byteLength, 1);
  framed.set(data, 5);
  return framed;
}

/** The trailer frames of a gRPC-Web body, as header maps. */
function grpcWebTrailers(body: Buffer): Record<string, string>[] {
  const trailers: Record<string, string>[] = [];
  for (let at = 0; at + 5 <= body.length; ) {
    const length = body.readUInt32BE(at + 1);
    if (body[at] === 0x80) {
      const lines = body.subarray(at + 5, at + 5 + length).toString("utf8").split("\r\n").filter(Boolean);
      trailers.push(Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(":")).trim().toLowerCase(), line.slice(line.indexOf(":") + 1).trim()])));
    }
    at += 5 + length;
  }
  return trailers;
}

/** A request message protobuf cannot decode (a length-delimited field that runs past the end). */
const UNDECODABLE = new Uint8Array([0x0a, 0xff, 0xff, 0xff]);

describe("Connect's parse errors over gRPC and gRPC-Web", () => {
  it("rewrites grpc-status 13 'parse binary' to 3 in a gRPC trailer, and leaves other statuses alone", async () => {
    const trailer = new Headers({ "grpc-status": "13", "grpc-message": encodeURIComponent("parse binary: premature EOF") });
    const parseError = { status: 200, header: new Headers({ "content-type": "application/grpc+proto" }), body: once(new Uint8Array()), trailer };
    await withGatewayErrorForm(parseError);
    expect(trailer.get("grpc-status")).toBe("3");
    expect(trailerDetailReason(trailer)).toBe("INVALID_REQUEST");
    expect(decodeURIComponent(trailer.get("grpc-message") ?? "")).toBe("parse binary: premature EOF");
    const internal = new Headers({ "grpc-status": "13", "grpc-message": "internal%20error" });
    await withGatewayErrorForm({ ...parseError, trailer: internal });
    expect(internal.get("grpc-status")).toBe("13");
  });

  it("answers a call with no request message, or two, INVALID_ARGUMENT as the fast path does; an unknown compression stays UNIMPLEMENTED, the caller's (not INTERNAL_ERROR)", async () => {
    const header = new Headers({ "content-type": "application/grpc+proto" });
    for (const message of ["protocol error: missing input message for unary method", "protocol error: received extra input message for server_streaming method"]) {
      const trailer = new Headers({ "grpc-status": "12", "grpc-message": encodeURIComponent(message) });
      await withGatewayErrorForm({ status: 200, header, body: once(new Uint8Array()), trailer });
      expect(trailer.get("grpc-status")).toBe("3");
      expect(trailerDetailReason(trailer)).toBe("INVALID_REQUEST");
    }
    const compression = new Headers({ "grpc-status": "12", "grpc-message": encodeURIComponent('unknown compression "snappy": supported encodings are gzip,br') });
    await withGatewayErrorForm({ status: 200, header, body: once(new Uint8Array()), trailer: compression });
    expect(compression.get("grpc-status")).toBe("12");
    expect(trailerDetailReason(compression)).toBe("UNSUPPORTED_FEATURE");
  });

  it("rewrites only a gRPC-Web trailer frame holding that error, and passes messages through", async () => {
    const frame = envelope(0x80, new TextEncoder().encode(`grpc-status: 13\r\ngrpc-message: ${encodeURIComponent("parse binary: premature EOF")}\r\n`));
    const answer = await withGatewayErrorForm({ status: 200, header: new Headers({ "content-type": "application/grpc-web+proto" }), body: once(frame) });
    const [rewritten] = grpcWebTrailers(await bytes(answer.body));
    expect(rewritten?.["grpc-status"]).toBe("3");
    expect(rewritten?.["grpc-message"]).toBe(encodeURIComponent("parse binary: premature EOF"));
    expect(trailerDetailReason(new Headers(rewritten))).toBe("INVALID_REQUEST");
    const message = envelope(0, new Uint8Array([8, 1]));
    const trailerOk = envelope(0x80, new TextEncoder().encode("grpc-status: 0\r\n"));
    async function* both(): AsyncIterable<Uint8Array> {
      yield message;
      yield trailerOk;
    }
    const passed = await withGatewayErrorForm({ status: 200, header: new Headers({ "content-type": "application/grpc-web+proto" }), body: both() });
    const chunks: Uint8Array[] = [];
    for await (const chunk of passed.body as AsyncIterable<Uint8Array>) chunks.push(chunk);
    expect(chunks).toEqual([message, trailerOk]);
  });

  it("answers an undecodable request with INVALID_ARGUMENT over gRPC-Web and over gRPC through Connect's handler", async () => {
    const { app } = await buildApp({ config: parseConfigText(FUZZ_CONFIG, "connect.yaml", {}), transport: wellBehavedUpstream });
    await app.listen({ host: "127.0.0.1", port: 0 });
    try {
      for (const method of ["Chat", "ChatStream"]) {
        const web = await app.inject({ method: "POST", url: `/switchyard.v1.ChatService/${method}`, headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" }, payload: envelope(0, UNDECODABLE) });
        expect(web.statusCode).toBe(200);
        const [trailer] = grpcWebTrailers(web.rawPayload);
        expect(trailer?.["grpc-status"], method).toBe("3");
        expect(trailerDetailReason(new Headers(trailer)), method).toBe("INVALID_REQUEST");
        expect(decodeURIComponent(trailer?.["grpc-message"] ?? "")).toMatch(/^parse binary: /);
      }
      // A gzip-compressed request is Connect's to decode (the fast path takes identity only).
      const session = http2.connect(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);
      try {
        const stream = session.request({ ":method": "POST", ":path": "/switchyard.v1.ChatService/Chat", "content-type": "application/grpc", "grpc-encoding": "gzip", te: "trailers" });
        const status = new Promise<{ status: string; message: string; details: string }>((resolve) => {
          let found = { status: "", message: "", details: "" };
          const read = (headers: http2.IncomingHttpHeaders) => {
            if (headers["grpc-status"] !== undefined) found = { status: String(headers["grpc-status"]), message: decodeURIComponent(String(headers["grpc-message"] ?? "")), details: String(headers["grpc-status-details-bin"] ?? "") };
          };
          stream.on("response", read);
          stream.on("trailers", read);
          stream.on("data", () => undefined);
          stream.on("close", () => resolve(found));
        });
        stream.end(envelope(1, gzipSync(UNDECODABLE)));
        const outcome = await status;
        expect(outcome.status).toBe("3");
        expect(outcome.message).toMatch(/^parse binary: /);
        expect(trailerDetailReason(new Headers({ "grpc-status": outcome.status, "grpc-status-details-bin": outcome.details }))).toBe("INVALID_REQUEST");
      } finally {
        session.destroy();
      }
    } finally {
      await app.close();
    }
  });
});
