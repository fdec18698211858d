import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import http from "node:http";
import http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChatInputSchema, Role } from "../../gen/switchyard/v1/chat_pb.js";
import { ChatService } from "../../gen/switchyard/v1/chat_service_pb.js";
import { parseConfigText } from "../../src/config/load-config.js";
import { configRefusal } from "../support/config-refusal.js";
import { connectRaw } from "../support/raw-client.js";
import { jsonAnswer, sseAnswer, startFakeUpstream, type FakeUpstream } from "../support/fake-upstream.js";
import { listenApp, type ListeningApp } from "../support/listening-app.js";

const APP = "https://app.example.com";
const ANSWER = { id: "c1", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "hello" }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } };
const CHAT_BODY = JSON.stringify({ model: "up/m", messages: [{ role: "user", content: "hi" }] });

let upstream: FakeUpstream;
let gateway: ListeningApp;
let open: ListeningApp;
let plain: ListeningApp;
let local: ListeningApp;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  const chunk = (delta: object, finish: string | null) => `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  upstream.setDefault((request) => ((request.body as { stream?: boolean }).stream ? sseAnswer([chunk({ role: "assistant", content: "hel" }, null), chunk({ content: "lo" }, "stop"), "data: [DONE]\n\n"]) : jsonAnswer(ANSWER)));
  const providers = `providers:\n  up: { type: openai-compatible, base_url: "${upstream.baseUrl}" }\n`;
  gateway = await listenApp(`server: { cors: { allow_origins: ["${APP}"], max_age_s: 300 } }\nkeys: [{ name: web, key: k-web-123 }]\n${providers}`, "cors.yaml");
  open = await listenApp(`server: { cors: { allow_origins: ["*"] } }\n${providers}`, "cors-any.yaml");
  plain = await listenApp(providers, "no-cors.yaml");
  local = await listenApp(`server: { cors: { allow_origins: ["${APP}"] } }\n${providers}`, "cors-no-keys.yaml");
});

afterAll(async () => {
  await Promise.all([gateway.close(), open.close(), plain.close(), local.close()]);
  await upstream.close();
});

function preflight(origin: string, url: string, headers = "authorization, content-type, x-stainless-os"): Promise<Response> {
  return fetch(url, { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": headers } });
}

/** An HTTP/1.1 request to the gateway at `origin` with the headers given (Host included); its status, headers and body. */
function h1(origin: string, method: string, path: string, headers: http.OutgoingHttpHeaders, body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const url = new URL(origin);
  return new Promise((resolve, reject) => {
    const request = http.request({ host: url.hostname, port: url.port, method, path, headers, agent: false }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
    });
    request.on("error", reject);
    request.end(body);
  });
}

/** The same over HTTP/2 (prior knowledge), `:authority` from `authority`. */
async function h2(origin: string, authority: string, headers: http2.OutgoingHttpHeaders, body?: string): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }> {
  const session = http2.connect(origin);
  session.on("error", () => undefined);
  try {
    return await new Promise((resolve, reject) => {
      const stream = session.request({ ":authority": authority, ...headers });
      let answer: http2.IncomingHttpHeaders = {};
      let text = "";
      stream.setEncoding("utf8");
      stream.on("response", (received) => (answer = received));
      stream.on("data", (chunk: string) => (text += chunk));
      stream.on("end", () => resolve({ status: Number(answer[":status"]), headers: answer, body: text }));
      stream.on("error", reject);
      stream.end(body);
    });
  } finally {
    session.close();
  }
}

/** Sends `bytes` on a new connection to `origin` and resolves with everything the server sent until it closed. */
async function rawAnswer(origin: string, bytes: string): Promise<string> {
  const connection = await connectRaw(Number(new URL(origin).port));
  connection.socket.write(bytes);
  await connection.closed;
  return connection.received();
}

describe("server.cors", () => {
  it("answers a preflight from an allowed origin before authentication, with the headers the browser asked for", async () => {
    const answer = await preflight(APP, `${gateway.origin}/v1/chat/completions`);
    expect(answer.status).toBe(204);
    expect(answer.headers.get("access-control-allow-origin")).toBe(APP);
    expect(answer.headers.get("access-control-allow-methods")).toContain("POST");
    expect(answer.headers.get("access-control-allow-headers")).toBe("authorization, content-type, x-stainless-os");
    expect(answer.headers.get("access-control-max-age")).toBe("300");
    expect(answer.headers.get("vary")).toContain("origin");
    // A header list that is not a list of names is not echoed: the default list is sent instead.
    const odd = await preflight(APP, `${gateway.origin}/v1/chat/completions`, "authorization; drop");
    expect(odd.headers.get("access-control-allow-headers")).toContain("authorization");
    expect(odd.headers.get("access-control-allow-headers")).not.toContain("drop");
  });

  it("puts the allow and expose headers on answers, the raw fast route's, errors and RPC answers included", async () => {
    const ok = await fetch(`${gateway.origin}/v1/chat/completions`, { method: "POST", headers: { origin: APP, authorization: "Bearer k-web-123", "content-type": "application/json" }, body: CHAT_BODY });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-origin")).toBe(APP);
    expect(ok.headers.get("access-control-expose-headers")).toContain("x-switchyard-model");
    expect(ok.headers.get("access-control-expose-headers")).toContain("x-should-retry");
    expect(ok.headers.get("x-switchyard-model")).toBe("up/m");
    expect(ok.headers.get("vary")).toBe("origin");

    const stream = await fetch(`${gateway.origin}/v1/chat/completions`, { method: "POST", headers: { origin: APP, authorization: "Bearer k-web-123", "content-type": "application/json" }, body: JSON.stringify({ ...(JSON.parse(CHAT_BODY) as object), stream: true }) });
    expect(stream.headers.get("content-type")).toContain("text/event-stream");
    expect(stream.headers.get("access-control-allow-origin")).toBe(APP);
    expect(await stream.text()).toContain('"content":"lo"');

    const refused = await fetch(`${gateway.origin}/v1/chat/completions`, { method: "POST", headers: { origin: APP, "content-type": "application/json" }, body: CHAT_BODY });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe(APP);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("invalid_api_key");

    const models = await fetch(`${gateway.origin}/v1/models`, { headers: { origin: APP, authorization: "Bearer k-web-123" } });
    expect(models.status).toBe(200);
    expect(models.headers.get("access-control-allow-origin")).toBe(APP);

    const rpc = await preflight(APP, `${gateway.origin}/switchyard.v1.ChatService/Chat`, "content-type, x-grpc-web, x-user-agent, authorization");
    expect(rpc.status).toBe(204);
    expect(rpc.headers.get("access-control-allow-headers")).toContain("x-grpc-web");
    const client = createClient(ChatService, createGrpcWebTransport({ baseUrl: gateway.origin, httpVersion: "1.1", interceptors: [(next) => (request) => { request.header.set("origin", APP); request.header.set("authorization", "Bearer k-web-123"); return next(request); }] }));
    let seen: Headers | undefined;
    const response = await client.chat({ input: create(ChatInputSchema, { model: "up/m", messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "hi" } }] }] }) }, { onHeader: (headers) => (seen = headers) });
    expect(response.choices[0]?.message?.content[0]?.part.value).toBe("hello");
    expect(seen?.get("access-control-allow-origin")).toBe(APP);
    expect(seen?.get("access-control-expose-headers")).toContain("grpc-status");
  });

  it("adds no CORS headers for an origin that is not allowed, but Vary: Origin; and nothing when server.cors is absent", async () => {
    const other = await preflight("https://evil.example.net", `${gateway.origin}/v1/chat/completions`);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const stranger = await fetch(`${gateway.origin}/v1/chat/completions`, { method: "POST", headers: { origin: "https://evil.example.net", authorization: "Bearer k-web-123", "content-type": "application/json" }, body: CHAT_BODY });
    expect(stranger.status).toBe(200);
    expect(stranger.headers.get("access-control-allow-origin")).toBeNull();
    expect(stranger.headers.get("vary")).toBe("origin");
    // A cacheable GET without an Origin still varies on it: a shared cache must not serve it to a browser.
    const models = await fetch(`${gateway.origin}/v1/models`, { headers: { authorization: "Bearer k-web-123" } });
    expect(models.status).toBe(200);
    expect(models.headers.get("access-control-allow-origin")).toBeNull();
    expect(models.headers.get("vary")).toBe("origin");

    const off = await preflight(APP, `${plain.origin}/v1/chat/completions`);
    expect(off.status).toBe(404);
    expect(off.headers.get("access-control-allow-origin")).toBeNull();
    const offAnswer = await fetch(`${plain.origin}/v1/chat/completions`, { method: "POST", headers: { origin: APP, "content-type": "application/json" }, body: CHAT_BODY });
    expect(offAnswer.status).toBe(200);
    expect(offAnswer.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("with \"*\", allows any origin with a literal * and no Vary: Origin", async () => {
    const answer = await fetch(`${open.origin}/v1/chat/completions`, { method: "POST", headers: { origin: "https://anywhere.example.org", "content-type": "application/json" }, body: CHAT_BODY });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("access-control-allow-origin")).toBe("*");
    expect(answer.headers.get("vary")).toBeNull();
  });

  it("puts the CORS headers on the refusal of a non-loopback Host (no keys), which comes before the hook: the browser shows the 403", async () => {
    const url = new URL(open.origin);
    const answer = await new Promise<{ status: number; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
      const request = http.request({ host: url.hostname, port: url.port, path: "/v1/models", headers: { host: "gw.internal", origin: APP } }, (response) => {
        response.resume();
        response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers }));
      });
      request.on("error", reject);
      request.end();
    });
    expect(answer.status).toBe(403);
    expect(answer.headers["access-control-allow-origin"]).toBe("*");
    expect(answer.headers["access-control-expose-headers"]).toContain("x-switchyard-model");
    // A Connect call refused the same way, answered in its own protocol, carries them too.
    const rpc = await new Promise<{ status: number; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
      const request = http.request({ host: url.hostname, port: url.port, method: "POST", path: "/switchyard.v1.ModelService/ListModels", headers: { host: "gw.internal", origin: APP, "content-type": "application/json" } }, (response) => {
        response.resume();
        response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers }));
      });
      request.on("error", reject);
      request.end("{}");
    });
    expect(rpc.status).toBe(403);
    expect(rpc.headers["access-control-allow-origin"]).toBe("*");
  });

  it("puts the CORS headers on the answers written before the hook: Node's HTTP/1.1 parser's 431 and 400, a missing Host, a malformed URL", async () => {
    const head = (origin: string, extra: string) => `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: ${origin}\r\n${extra}Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`;
    const big = `X-Note: ${"a".repeat(20_000)}\r\n`;
    const tooLarge = await rawAnswer(gateway.origin, head(APP, big));
    expect(tooLarge).toMatch(/^HTTP\/1\.1 431 /);
    expect(tooLarge).toContain(`\r\naccess-control-allow-origin: ${APP}\r\n`);
    expect(tooLarge).toContain("\r\nvary: origin\r\n");
    expect(tooLarge).toMatch(/\r\naccess-control-expose-headers: [^\r]*x-switchyard-model/);
    expect(tooLarge).toContain('"code":"request_too_large"');
    // The Origin after the header that overflowed (where browsers put it) is found too.
    expect(await rawAnswer(gateway.origin, head(APP, big).replace(`Origin: ${APP}\r\n${big}`, `${big}Origin: ${APP}\r\n`))).toContain(`\r\naccess-control-allow-origin: ${APP}\r\n`);
    const other = await rawAnswer(gateway.origin, head("https://evil.example.net", big));
    expect(other).toMatch(/^HTTP\/1\.1 431 /);
    expect(other).not.toContain("access-control-allow-origin");
    expect(other).toContain("\r\nvary: origin\r\n");
    expect(await rawAnswer(open.origin, head("https://anywhere.example.org", big))).toContain("\r\naccess-control-allow-origin: *\r\n");

    const malformed = await rawAnswer(gateway.origin, head(APP, "Bad Name: x\r\n"));
    expect(malformed).toMatch(/^HTTP\/1\.1 400 /);
    expect(malformed).toContain(`\r\naccess-control-allow-origin: ${APP}\r\n`);
    const noHost = await rawAnswer(gateway.origin, `GET /v1/models HTTP/1.1\r\nOrigin: ${APP}\r\n\r\n`);
    expect(noHost).toMatch(/^HTTP\/1\.1 400 /);
    expect(noHost).toContain(`\r\naccess-control-allow-origin: ${APP}\r\n`);
    // Fastify's refusal of a malformed URL comes before the hook too.
    const badUrl = await fetch(`${gateway.origin}/v1/%zz`, { headers: { origin: APP } });
    expect(badUrl.status).toBe(400);
    expect(badUrl.headers.get("access-control-allow-origin")).toBe(APP);
    // Without server.cors, as before: none.
    expect(await rawAnswer(plain.origin, head(APP, big))).not.toContain("access-control-allow-origin");
  });

  it("with no keys, answers an allowed origin's preflight for a refused Host, so the browser is shown the request's 403; nothing more is served", async () => {
    const port = new URL(local.origin).port;
    const host = `rebind.test:${port}`;
    const asks = { origin: APP, "access-control-request-method": "POST", "access-control-request-headers": "content-type" };
    for (const path of ["/v1/chat/completions", "/switchyard.v1.ChatService/Chat", "/v1/models"]) {
      const preflight = await h1(local.origin, "OPTIONS", path, { host, ...asks });
      expect(preflight.status).toBe(204);
      expect(preflight.headers["access-control-allow-origin"]).toBe(APP);
      expect(preflight.headers["access-control-allow-methods"]).toContain("POST");
      expect(preflight.headers["access-control-allow-headers"]).toBe("content-type");
      expect(preflight.headers["content-length"]).toBeUndefined();
      expect(preflight.body).toBe("");
      const overH2 = await h2(local.origin, host, { ":method": "OPTIONS", ":path": path, ...asks });
      expect(overH2.status).toBe(204);
      expect(overH2.headers["access-control-allow-origin"]).toBe(APP);
    }
    // The request itself is refused as before, with the CORS headers: over HTTP/1.1 (the chat route's fast path too) and HTTP/2.
    const before = upstream.requests.length;
    const refused = await h1(local.origin, "POST", "/v1/chat/completions", { host, origin: APP, "content-type": "application/json", "content-length": Buffer.byteLength(CHAT_BODY) }, CHAT_BODY);
    expect(refused.status).toBe(403);
    expect(refused.headers["access-control-allow-origin"]).toBe(APP);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: "permission_denied" } });
    const refusedH2 = await h2(local.origin, host, { ":method": "POST", ":path": "/v1/chat/completions", origin: APP, "content-type": "application/json" }, CHAT_BODY);
    expect(refusedH2.status).toBe(403);
    expect(refusedH2.headers["access-control-allow-origin"]).toBe(APP);
    expect(upstream.requests.length).toBe(before);
    // Not a preflight from an allowed origin: refused, without CORS headers for another origin.
    const stranger = await h1(local.origin, "OPTIONS", "/v1/chat/completions", { host, ...asks, origin: "https://evil.example.net" });
    expect(stranger.status).toBe(403);
    expect(stranger.headers["access-control-allow-origin"]).toBeUndefined();
    const strangerH2 = await h2(local.origin, host, { ":method": "OPTIONS", ":path": "/v1/chat/completions", ...asks, origin: "https://evil.example.net" });
    expect(strangerH2.status).toBe(403);
    expect(strangerH2.headers["access-control-allow-origin"]).toBeUndefined();
    expect((await h1(local.origin, "OPTIONS", "/v1/chat/completions", { host, origin: APP })).status).toBe(403);
  });

  it("refuses origins that are not origins, and an empty list", () => {
    expect(configRefusal('server: { cors: { allow_origins: ["https://app.example.com/"] } }\n')).toContain("server.cors.allow_origins[0]");
    expect(configRefusal('server: { cors: { allow_origins: ["app.example.com"] } }\n')).toContain("server.cors.allow_origins[0]");
    expect(configRefusal("server: { cors: { allow_origins: [] } }\n")).toContain("server.cors.allow_origins: must list at least one origin");
    expect(configRefusal("server: { cors: { max_age_s: 10 } }\n")).toContain("server.cors.allow_origins");
    expect(parseConfigText('server: { cors: { allow_origins: ["http://localhost:5173", "https://app.example.com"] } }\n', "cors.yaml", {}).server.cors).toEqual({ allowOrigins: ["http://localhost:5173", "https://app.example.com"], maxAgeSeconds: 600 });
    // Written as no browser sends them: kept in the form browsers do send (matching is exact).
    expect(parseConfigText('server: { cors: { allow_origins: ["http://LocalHost:5173", "https://app.example.com:443", "http://localhost:80", "https://bücher.example"] } }\n', "cors.yaml", {}).server.cors?.allowOrigins).toEqual(["http://localhost:5173", "https://app.example.com", "http://localhost", "https://xn--bcher-kva.example"]);
    // What no browser sends at all is refused.
    expect(configRefusal('server: { cors: { allow_origins: ["https://*.example.com"] } }\n')).toContain("server.cors.allow_origins[0]: must be \"*\" or one origin");
    expect(configRefusal('server: { cors: { allow_origins: ["*", "https://user:secret@app.example.com"] } }\n')).toContain("server.cors.allow_origins[1]: must be");
    expect(configRefusal('server: { cors: { allow_origins: ["*", "https://user:secret@app.example.com"] } }\n')).not.toContain("secret");
  });
});

describe("the answer to an HTTP/2 RPC whose request message is late", () => {
  it.each([
    ["gRPC-Web", { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", "grpc-timeout": "1S" }],
    ["Connect unary", { "content-type": "application/json", "connect-timeout-ms": "1000" }],
  ])("%s: carries the CORS headers of an allowed origin", async (_name, headers) => {
    const session = http2.connect(gateway.origin);
    session.on("error", () => undefined);
    try {
      const head = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        const stream = session.request({ ":method": "POST", ":path": "/switchyard.v1.ChatService/Chat", origin: APP, authorization: "Bearer k-web-123", ...headers });
        stream.on("response", resolve);
        stream.on("error", () => undefined);
        stream.on("close", () => reject(new Error("closed without an answer")));
        // The start of a body, and nothing more.
        stream.write(Buffer.from([0, 0, 0, 0, 40, 10]));
      });
      expect(head["access-control-allow-origin"]).toBe(APP);
    } finally {
      session.destroy();
    }
  });
});
