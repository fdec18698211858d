/**
 * Auth off (no gateway keys): a request addressed to a host name that is not loopback is refused
 * before any handler runs (src/server/one-port-server.ts, src/app.ts). These tests pin two things
 * about that refusal on the typed front doors, with real clients against a listening gateway:
 * - an HTTP/2 client that resets its stream as it opens it (HEADERS and RST_STREAM arrive
 *   together) must not crash the process: the refusal used to call respond() on the dead stream,
 *   or leave its reset as an unhandled 'error' event;
 * - every RPC protocol gets PERMISSION_DENIED with the gateway's message and an ErrorDetail, as
 *   from the service itself, not a bare HTTP 403 that clients report as "HTTP 403".
 */
import dns from "node:dns";
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { compressionGzip, createConnectTransport, createGrpcTransport, createGrpcWebTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/switchyard/v1/chat_pb.js";
import { ChatRequestSchema, ChatService, ChatStreamRequestSchema } from "../../gen/switchyard/v1/chat_service_pb.js";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/error_pb.js";
import { ModelService } from "../../gen/switchyard/v1/model_service_pb.js";
import { buildApp, type BuiltApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";
import { startFakeUpstream, type FakeUpstream } from "../support/fake-upstream.js";

let built: BuiltApp;
let upstream: FakeUpstream;
let port: number;
const managers: Http2SessionManager[] = [];

beforeAll(async () => {
  upstream = await startFakeUpstream();
  const yaml = `server: { host: 127.0.0.1, port: 0 }
providers:
  b: { type: openai-compatible, base_url: "${upstream.baseUrl}" }
logging: { level: silent }
`;
  built = await buildApp({ config: parseConfigText(yaml, "host-refusal.yaml", {}) });
  await built.app.listen({ host: "127.0.0.1", port: 0 });
  port = (built.app.server.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const manager of managers) manager.abort();
  await built?.app.close();
  await upstream?.close();
});

describe("auth off: an HTTP/2 stream reset as it opens, addressed to another host", () => {
  it("does not crash the gateway, whatever the path and reset code", async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on("uncaughtException", onUncaught);
    try {
      const paths = ["/v1/models", "/v1/chat/completions", "/switchyard.v1.ChatService/Chat", "/switchyard.v1.ModelService/ListModels"];
      const codes = [http2.constants.NGHTTP2_INTERNAL_ERROR, http2.constants.NGHTTP2_CANCEL, http2.constants.NGHTTP2_PROTOCOL_ERROR];
      for (const path of paths) {
        for (const code of codes) {
          // A fresh session: the HEADERS frame and the reset leave in the same write.
          const session = http2.connect(`http://127.0.0.1:${port}`);
          session.on("error", () => undefined);
          const stream = session.request({ ":method": "POST", ":path": path, ":authority": "rebind.attacker.example", "content-type": "application/grpc" }, { endStream: false });
          stream.on("error", () => undefined);
          stream.close(code);
          await new Promise((resolve) => setTimeout(resolve, 40));
          session.destroy();
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off("uncaughtException", onUncaught);
    }
    expect(uncaught).toEqual([]);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
  });
});

/** Resolves every name to 127.0.0.1, so a client can address the gateway as another host. */
const toLoopback = ((_host: string, options: unknown, callback: (error: null, address: string | dns.LookupAddress[], family?: number) => void) => {
  if (typeof options === "object" && options !== null && (options as { all?: boolean }).all) callback(null, [{ address: "127.0.0.1", family: 4 }]);
  else callback(null, "127.0.0.1", 4);
}) as unknown as typeof dns.lookup;

const transports: Record<string, (baseUrl: string) => Transport> = {
  "gRPC (fast path)": (baseUrl) => createGrpcTransport({ baseUrl, sessionManager: session(baseUrl) }),
  "gRPC, compressed (Connect's handler)": (baseUrl) => createGrpcTransport({ baseUrl, sessionManager: session(baseUrl), sendCompression: compressionGzip, compressMinBytes: 0 }),
  "Connect binary over HTTP/1.1": (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", nodeOptions: { lookup: toLoopback } }),
  "Connect JSON over HTTP/1.1": (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false, nodeOptions: { lookup: toLoopback } }),
  "Connect over HTTP/2": (baseUrl) => createConnectTransport({ baseUrl, httpVersion: "2", sessionManager: session(baseUrl) }),
  "gRPC-Web over HTTP/1.1": (baseUrl) => createGrpcWebTransport({ baseUrl, httpVersion: "1.1", nodeOptions: { lookup: toLoopback } }),
};

function session(baseUrl: string): Http2SessionManager {
  const manager = new Http2SessionManager(baseUrl, undefined, { lookup: toLoopback } as http2.SecureClientSessionOptions);
  managers.push(manager);
  return manager;
}

async function failure(call: () => Promise<unknown>): Promise<ConnectError | undefined> {
  try {
    await call();
    return undefined;
  } catch (thrown) {
    return ConnectError.from(thrown);
  }
}

const input = { model: "b/m", messages: [{ role: Role.USER, content: [{ part: { case: "text" as const, value: "hi" } }] }] };

describe.each(Object.keys(transports))("auth off, another host name, over %s", (name) => {
  it("Chat, ChatStream and ListModels fail with PERMISSION_DENIED, the gateway's message and an ErrorDetail; the provider is not called", async () => {
    const transport = transports[name]!(`http://rebind.attacker.example:${port}`);
    const chat = createClient(ChatService, transport);
    const models = createClient(ModelService, transport);
    const before = upstream.requests.length;
    const errors = [
      await failure(() => chat.chat(create(ChatRequestSchema, { input }))),
      await failure(async () => {
        for await (const _event of chat.chatStream(create(ChatStreamRequestSchema, { input }))) {
          // no event expected
        }
      }),
      await failure(() => models.listModels({})),
    ];
    for (const error of errors) {
      expect(error?.code).toBe(Code.PermissionDenied);
      expect(error?.rawMessage).toMatch(/no API keys configured.*a loopback name.*localhost, \*\.localhost, 127\.x\.x\.x, \[::1\], 0\.0\.0\.0 or \[::\]/);
      expect(error?.findDetails(ErrorDetailSchema).map((detail) => detail.reason)).toEqual(["PERMISSION_DENIED"]);
    }
    expect(upstream.requests.length).toBe(before);
  });
});

describe("auth off, another host name, REST", () => {
  it("keeps the OpenAI envelope (403 permission_denied)", async () => {
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = http.request({ host: "127.0.0.1", port, path: "/v1/models", headers: { host: "rebind.attacker.example" } }, (response) => {
        let body = "";
        response.on("data", (chunk: Buffer) => (body += chunk.toString()));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      });
      request.on("error", reject);
      request.end();
    });
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: "permission_denied", type: "permission_error" } });
  });
});
