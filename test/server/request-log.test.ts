/**
 * The per-request log lines (src/server/request-log.ts) as a listening gateway writes them: what
 * they say about the request, and the secrets a caller may send that they never carry.
 */
import http from "node:http";
import http2 from "node:http2";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ChatInputSchema, Role } from "../../gen/switchyard/v1/chat_pb.js";
import { ChatService } from "../../gen/switchyard/v1/chat_service_pb.js";
import { listenApp, type ListeningApp } from "../support/listening-app.js";

interface LogLine {
  readonly msg: string;
  readonly where?: string;
  readonly reason?: string;
  readonly keyName?: string;
  readonly target?: string;
}

const RED_KEY = "key-red-123";
const BLUE_KEY = "key-blue-456";
const GOOGLE_KEY = "AIzaSyD-CALLER-SECRET";
const CONFIG = `keys: [ { name: team-red, key: ${RED_KEY} }, { name: team-blue, key: ${BLUE_KEY} } ]
providers:
  oa: { type: openai-compatible, base_url: "http://127.0.0.1:9/v1", retry: { max_retries: 0 } }
logging: { level: info, max_similar_per_second: 0 }
`;

let gateway: ListeningApp;
const written: string[] = [];

beforeAll(async () => {
  gateway = await listenApp(CONFIG, "request-log.yaml", { write: (line) => written.push(line) });
});

afterAll(async () => {
  await gateway.close();
});

beforeEach(() => {
  written.length = 0;
});

/** The error lines written so far (each line is one JSON object). */
function errorLines(): LogLine[] {
  return written.map((line) => JSON.parse(line) as LogLine).filter((line) => line.where !== undefined);
}

/** Every line written so far. */
function allLines(): LogLine[] {
  return written.map((line) => JSON.parse(line) as LogLine);
}

const BLUE = { authorization: `Bearer ${BLUE_KEY}` };
const UNKNOWN_MODEL = { model: "nope/x", messages: [{ role: "user", content: "hi" }] };

/** A POST of `body` as JSON to `path`, on a connection of `agent` (a new one when undefined); resolves with the status. */
async function post(path: string, body: unknown, agent?: http.Agent): Promise<number> {
  const text = JSON.stringify(body);
  const url = new URL(path, gateway.origin);
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: "POST", agent: agent ?? false, headers: { ...BLUE, "content-type": "application/json", "content-length": Buffer.byteLength(text) } }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode ?? 0));
    });
    request.on("error", reject);
    request.end(text);
  });
}

/** A ChatService/Chat call of `model` (by default one no account serves) with the blue key, over `transport`; resolves when it failed. */
async function failingRpc(transport: Parameters<typeof createClient>[1], model = "nope/x"): Promise<void> {
  const client = createClient(ChatService, transport);
  const input = create(ChatInputSchema, { model, messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "hi" } }] }] });
  await expect(client.chat({ input }, { headers: BLUE })).rejects.toThrow();
}

/** One gRPC call over HTTP/2 to `path`; resolves when the stream closes. */
async function grpcCall(path: string): Promise<void> {
  const session = http2.connect(gateway.origin);
  try {
    await new Promise<void>((resolve, reject) => {
      const request = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" });
      request.on("error", reject);
      request.on("close", resolve);
      request.resume();
      request.end();
    });
  } finally {
    session.close();
  }
}

describe("the request log", () => {
  it("logs a REST body that is not JSON, on the fast path too, with the key's name", async () => {
    const response = await fetch(`${gateway.origin}/v1/chat/completions`, { method: "POST", headers: { ...BLUE, "content-type": "application/json" }, body: "{bad" });
    await response.arrayBuffer();
    expect(response.status).toBe(400);
    expect(errorLines().map((line) => [line.where, line.keyName])).toEqual([["/v1/chat/completions", "team-blue"]]);
  });

  it.each([
    ["GET", `/v1/models?key=${RED_KEY}`, "/v1/models"],
    ["POST", `/v1beta/models/gemini-pro:generateContent?key=${GOOGLE_KEY}`, "/v1beta/models/gemini-pro:generateContent"],
    ["POST", `/v1/chat/completions?key=${RED_KEY}&alt=sse`, "/v1/chat/completions"],
  ])("logs the path of a REST request, never its query string, where a caller may put a key (%s %s)", async (method, url, path) => {
    const response = await fetch(`${gateway.origin}${url}`, { method, ...(method === "POST" ? { headers: { "content-type": "application/json" }, body: "{}" } : {}) });
    await response.arrayBuffer();
    expect(response.status).toBe(401);
    expect(errorLines().map((line) => line.where)).toEqual([path]);
    expect(written.join("")).not.toContain(RED_KEY);
    expect(written.join("")).not.toContain(GOOGLE_KEY);
  });

  it.each([
    ["Connect", "application/proto", Buffer.from([0xff, 0xff, 0xff])],
    ["gRPC-Web", "application/grpc-web+proto", Buffer.from([0, 0, 0, 0, 3, 0xff, 0xff, 0xff])],
  ])("logs a %s request that does not decode (Connect's own error, before the interceptor)", async (_, contentType, body) => {
    const response = await fetch(`${gateway.origin}/switchyard.v1.ChatService/Chat`, { method: "POST", headers: { ...BLUE, "content-type": contentType }, body });
    await response.arrayBuffer();
    expect(errorLines().map((line) => [line.where, line.reason])).toEqual([["Chat", "INVALID_REQUEST"]]);
  });

  it("logs a gRPC call of a method nobody serves by its path, never its query string, in the line's fields or its message", async () => {
    await grpcCall(`/google.ai.Generative/Generate?key=${GOOGLE_KEY}`);
    const lines = errorLines();
    expect(lines.map((line) => [line.where, line.msg])).toEqual([["/google.ai.Generative/Generate", "unknown method /google.ai.Generative/Generate"]]);
    expect(written.join("")).not.toContain(GOOGLE_KEY);
  });

  describe("names the gateway key a request used (never the key) on every front door", () => {
    it("REST: the HTTP/1.1 fast path, Node's server after a connection changed hands, and the Fastify route", async () => {
      expect(await post("/v1/chat/completions", UNKNOWN_MODEL)).toBe(404);
      // A GET first moves the connection from the fast path to Node's server, where the raw route takes the POST.
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        await new Promise<void>((resolve, reject) => http.get(new URL("/healthz", gateway.origin), { agent }, (response) => response.resume().on("end", resolve)).on("error", reject));
        expect(await post("/v1/chat/completions", UNKNOWN_MODEL, agent)).toBe(404);
      } finally {
        agent.destroy();
      }
      // A query string leaves the request to the Fastify route.
      expect(await post("/v1/chat/completions?trace=1", UNKNOWN_MODEL)).toBe(404);
      const models = await fetch(`${gateway.origin}/v1/models/nope/x`, { headers: BLUE });
      await models.arrayBuffer();
      expect(models.status).toBe(404);
      expect(errorLines().map((line) => [line.where, line.keyName])).toEqual([
        ["/v1/chat/completions", "team-blue"],
        ["/v1/chat/completions", "team-blue"],
        ["/v1/chat/completions", "team-blue"],
        ["/v1/models/nope/x", "team-blue"],
      ]);
      expect(written.join("")).not.toContain(BLUE_KEY);
    });

    it("gRPC (the HTTP/2 fast path), Connect and gRPC-Web", async () => {
      const sessions = new Http2SessionManager(gateway.origin);
      try {
        await failingRpc(createGrpcTransport({ baseUrl: gateway.origin, sessionManager: sessions }));
      } finally {
        sessions.abort();
      }
      await failingRpc(createConnectTransport({ baseUrl: gateway.origin, httpVersion: "1.1" }));
      await failingRpc(createGrpcWebTransport({ baseUrl: gateway.origin, httpVersion: "1.1" }));
      expect(errorLines().map((line) => [line.where, line.keyName])).toEqual([
        ["Chat", "team-blue"],
        ["Chat", "team-blue"],
        ["Chat", "team-blue"],
      ]);
      expect(written.join("")).not.toContain(BLUE_KEY);
    });

    it("on a failed upstream attempt's line too (REST and Connect); none when the key was refused", async () => {
      expect(await post("/v1/chat/completions", { ...UNKNOWN_MODEL, model: "oa/m" })).toBe(503);
      await failingRpc(createConnectTransport({ baseUrl: gateway.origin, httpVersion: "1.1" }), "oa/m");
      const refused = await fetch(`${gateway.origin}/v1/chat/completions`, { method: "POST", headers: { authorization: "Bearer wrong", "content-type": "application/json" }, body: "{}" });
      await refused.arrayBuffer();
      expect(refused.status).toBe(401);
      const lines = allLines();
      expect(lines.filter((line) => line.target === "oa/m").map((line) => line.keyName)).toEqual(["team-blue", "team-blue"]);
      expect(errorLines().map((line) => [line.reason, line.keyName])).toEqual([
        ["PROVIDER_UNREACHABLE", "team-blue"],
        ["PROVIDER_UNREACHABLE", "team-blue"],
        ["INVALID_API_KEY", undefined],
      ]);
    });
  });
});
