import http from "node:http";
import http2 from "node:http2";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ModelService } from "../../gen/switchyard/v1/model_service_pb.js";
import { ListModelsRequestSchema } from "../../gen/switchyard/v1/model_service_pb.js";
import { jsonFixtureAnswer, longTextStreamAnswer } from "../support/fake-upstream.js";
import { GATEWAY_KEY, MODEL, startGateway, type RunningGateway } from "./gateway-harness.js";

interface PlainResponse {
  readonly httpVersion: string;
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One HTTP/1.1 request with node:http; resolves with the whole body. */
function h1Request(origin: string, options: { method?: string; path: string; headers?: Record<string, string>; body?: string; agent?: http.Agent }): Promise<PlainResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${origin}${options.path}`, { method: options.method ?? "GET", headers: options.headers, agent: options.agent ?? false }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (piece: string) => (body += piece));
      response.on("end", () => resolve({ httpVersion: response.httpVersion, status: response.statusCode ?? 0, headers: response.headers, body }));
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end(options.body);
  });
}

/** One HTTP/2 request on an open h2c session; resolves with the whole body. */
function h2Request(session: http2.ClientHttp2Session, options: { method?: string; path: string; headers?: Record<string, string>; body?: string }): Promise<PlainResponse> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": options.method ?? "GET", ":path": options.path, ...options.headers });
    let status = 0;
    let headers: Record<string, string | string[] | undefined> = {};
    let body = "";
    stream.setEncoding("utf8");
    stream.on("response", (received) => {
      status = Number(received[":status"]);
      headers = received;
    });
    stream.on("data", (piece: string) => (body += piece));
    stream.on("end", () => resolve({ httpVersion: "2.0", status, headers, body }));
    stream.on("error", reject);
    stream.end(options.body);
  });
}

const jsonHeaders = { authorization: `Bearer ${GATEWAY_KEY}`, "content-type": "application/json" };
const chatBody = (stream: boolean) => JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "hi" }], stream });

/** The `data:` payloads of an SSE body. */
function sseData(body: string): string[] {
  return body
    .split("\n\n")
    .filter((frame) => frame.startsWith("data: "))
    .map((frame) => frame.slice("data: ".length));
}

describe("one port serves HTTP/1.1 and h2c", () => {
  let gateway: RunningGateway;
  let session: http2.ClientHttp2Session;

  beforeAll(async () => {
    gateway = await startGateway();
    session = http2.connect(gateway.origin);
  });

  afterAll(async () => {
    session?.close();
    await gateway?.close();
  });

  beforeEach(() => gateway.upstream.reset());

  it("answers /healthz and /readyz over HTTP/1.1 and HTTP/2 without a key", async () => {
    for (const path of ["/healthz", "/readyz"]) {
      const overH1 = await h1Request(gateway.origin, { path });
      expect(overH1).toMatchObject({ httpVersion: "1.1", status: 200 });
      const overH2 = await h2Request(session, { path });
      expect(overH2.status).toBe(200);
      expect(JSON.parse(overH1.body)).toEqual(JSON.parse(overH2.body));
    }
    expect(JSON.parse((await h1Request(gateway.origin, { path: "/healthz" })).body)).toEqual({ status: "ok" });
    expect(JSON.parse((await h1Request(gateway.origin, { path: "/readyz" })).body)).toEqual({ status: "ready" });
  });

  it("serves REST chat completions over HTTP/1.1", async () => {
    gateway.upstream.enqueue(jsonFixtureAnswer("openai/chat-nonstream-text.json"));
    const response = await h1Request(gateway.origin, { method: "POST", path: "/v1/chat/completions", headers: jsonHeaders, body: chatBody(false) });
    expect(response.httpVersion).toBe("1.1");
    expect(response.status).toBe(200);
    expect(response.headers["content-type"]).toMatch(/^application\/json/);
    const completion = JSON.parse(response.body) as { object: string; choices: { message: { content: string } }[] };
    expect(completion.object).toBe("chat.completion");
    expect(completion.choices[0]?.message.content).toMatch(/^\*\*Holiday Name:\*\* Galaxy Day/);
  });

  it("serves REST chat completions and SSE over h2c prior knowledge", async () => {
    gateway.upstream.enqueue(jsonFixtureAnswer("openai/chat-nonstream-text.json"));
    const unary = await h2Request(session, { method: "POST", path: "/v1/chat/completions", headers: jsonHeaders, body: chatBody(false) });
    expect(unary.status).toBe(200);
    expect((JSON.parse(unary.body) as { object: string }).object).toBe("chat.completion");

    gateway.upstream.enqueue(longTextStreamAnswer(5, 1));
    const streamed = await h2Request(session, { method: "POST", path: "/v1/chat/completions", headers: jsonHeaders, body: chatBody(true) });
    expect(streamed.status).toBe(200);
    expect(streamed.headers["content-type"]).toMatch(/^text\/event-stream/);
    expect(streamed.headers.connection).toBeUndefined();
    const frames = sseData(streamed.body);
    expect(frames.at(-1)).toBe("[DONE]");
    const text = frames.slice(0, -1).map((frame) => (JSON.parse(frame) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? "").join("");
    expect(text).toBe("tok0 tok1 tok2 tok3 tok4 ");
  });

  it("answers a URL with a malformed percent-escape 400 in the OpenAI envelope, over HTTP/1.1 and h2c", async () => {
    for (const path of ["/v1/models/openai-main%2Fgpt-4o%ZZ", "/v1/chat/completions/%ZZ"]) {
      const answers = [await h1Request(gateway.origin, { path, headers: { authorization: `Bearer ${GATEWAY_KEY}` } }), await h2Request(session, { path, headers: { authorization: `Bearer ${GATEWAY_KEY}` } })];
      for (const answer of answers) {
        expect(answer.status).toBe(400);
        expect(JSON.parse(answer.body)).toEqual({ error: { message: "The request URL is not valid: it has a malformed percent-escape.", type: "invalid_request_error", param: null, code: "invalid_request" } });
      }
    }
  });

  it("answers the OpenAI error envelope over h2c for a missing key", async () => {
    const response = await h2Request(session, { method: "POST", path: "/v1/chat/completions", headers: { "content-type": "application/json" }, body: chatBody(false) });
    expect(response.status).toBe(401);
    expect(JSON.parse(response.body)).toMatchObject({ error: { type: "authentication_error", code: "invalid_api_key" } });
  });

  it("answers /readyz 503 once draining, while /healthz stays 200", async () => {
    const draining = await startGateway();
    try {
      draining.built.startDraining();
      expect((await h1Request(draining.origin, { path: "/readyz" })).status).toBe(503);
      expect((await h1Request(draining.origin, { path: "/healthz" })).status).toBe(200);
    } finally {
      await draining.close();
    }
  });
});

describe("graceful shutdown on the one port", () => {
  let gateway: RunningGateway;
  const agents: http.Agent[] = [];
  const managers: Http2SessionManager[] = [];
  const sessions: http2.ClientHttp2Session[] = [];

  beforeEach(async () => {
    gateway = await startGateway();
  });

  afterEach(async () => {
    for (const manager of managers.splice(0)) manager.abort();
    for (const agent of agents.splice(0)) agent.destroy();
    for (const session of sessions.splice(0)) session.destroy();
    await gateway.close();
  });

  it("closes in under 2 s with an idle keep-alive HTTP/1.1 client and an idle gRPC session connected", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    const first = await h1Request(gateway.origin, { path: "/healthz", agent });
    expect(first.status).toBe(200);
    expect(first.headers.connection).toBe("keep-alive");
    expect(Object.values(agent.freeSockets).flat()).toHaveLength(1);

    const manager = new Http2SessionManager(gateway.origin);
    managers.push(manager);
    const models = createClient(ModelService, createGrpcTransport({ baseUrl: gateway.origin, sessionManager: manager }));
    const listed = await models.listModels(create(ListModelsRequestSchema), { headers: { authorization: `Bearer ${GATEWAY_KEY}` } });
    expect(listed.models.length).toBeGreaterThan(0);
    expect(["open", "idle"]).toContain(manager.state());

    const started = Date.now();
    await gateway.built.app.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    await expect(h1Request(gateway.origin, { path: "/healthz" })).rejects.toThrow(/ECONNREFUSED/);
  });

  it("lets an HTTP/1.1 SSE stream started before close finish normally with [DONE]", async () => {
    gateway.upstream.enqueue(longTextStreamAnswer(20, 25));
    const agent = new http.Agent({ keepAlive: true });
    agents.push(agent);
    let closeStarted = 0;
    let closedAt = 0;
    let closing: Promise<void> | undefined;
    const body = await new Promise<string>((resolve, reject) => {
      const request = http.request(`${gateway.origin}/v1/chat/completions`, { method: "POST", headers: jsonHeaders, agent }, (response) => {
        expect(response.statusCode).toBe(200);
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (piece: string) => {
          text += piece;
          if (!closing && text.includes("tok0")) {
            closeStarted = Date.now();
            closing = gateway.built.app.close().then(() => {
              closedAt = Date.now();
            });
          }
        });
        response.on("end", () => resolve(text));
        response.on("error", reject);
      });
      request.on("error", reject);
      request.end(chatBody(true));
    });
    expect(closing).toBeDefined();
    await closing;
    const frames = sseData(body);
    expect(frames.at(-1)).toBe("[DONE]");
    expect(frames.join("")).toContain("tok19 ");
    // The upstream was not cut by the shutdown: it got to send every token, the finish and the usage.
    expect(gateway.upstream.lastRequest().chunksWritten).toBeGreaterThanOrEqual(23);
    // The close waited for the stream, and did not hang on the connection after it.
    expect(closedAt - closeStarted).toBeGreaterThan(200);
    expect(closedAt - closeStarted).toBeLessThan(5_000);
  });

  it("lets an h2c SSE stream started before close finish normally with [DONE]", async () => {
    gateway.upstream.enqueue(longTextStreamAnswer(20, 25));
    const session = http2.connect(gateway.origin);
    sessions.push(session);
    let closing: Promise<void> | undefined;
    const body = await new Promise<string>((resolve, reject) => {
      const stream = session.request({ ":method": "POST", ":path": "/v1/chat/completions", ...jsonHeaders });
      let text = "";
      stream.setEncoding("utf8");
      stream.on("data", (piece: string) => {
        text += piece;
        if (!closing && text.includes("tok0")) closing = gateway.built.app.close();
      });
      stream.on("end", () => resolve(text));
      stream.on("error", reject);
      stream.end(chatBody(true));
    });
    expect(closing).toBeDefined();
    await closing;
    const frames = sseData(body);
    expect(frames.at(-1)).toBe("[DONE]");
    expect(frames.join("")).toContain("tok19 ");
  });
});
