/**
 * The raw node:http route for POST /v1/chat/completions (src/http/openai-compat/raw-chat-route.ts):
 * which requests it takes and which it leaves to Fastify, and that what it answers is what the
 * Fastify route answers for the same request (parity through app.inject).
 */
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { Gateway } from "../../src/core/gateway.js";
import { createRawChatRoute } from "../../src/http/openai-compat/raw-chat-route.js";
import { readFixture } from "../support/replay-transport.js";
import { BODY_LIMIT, GATEWAY_KEY, testApp, type TestApp } from "./rest-test-setup.js";

const KEY = "sy-raw-route-key-0123456789";
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** One HTTP/1.1 request with a Content-Length body (or chunked with `chunked`). */
function send(port: number, options: { path?: string; contentType?: string; body: string; authorization?: string; chunked?: boolean }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { "content-type": options.contentType ?? "application/json" };
    if (options.authorization) headers.authorization = options.authorization;
    if (!options.chunked) headers["content-length"] = Buffer.byteLength(options.body);
    const request = http.request({ host: "127.0.0.1", port, method: "POST", path: options.path ?? "/v1/chat/completions", headers }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => { body += chunk; });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    request.on("error", reject);
    // A write before end() makes Node send the body chunked (end(body) alone sets Content-Length).
    if (options.chunked) request.write(options.body);
    request.end(options.chunked ? undefined : options.body);
  });
}

describe("which requests the raw route takes", () => {
  async function serverWith(closing = false): Promise<{ port: number; fallbacks: string[]; calls: number[] }> {
    const fallbacks: string[] = [];
    const calls: number[] = [];
    const gateway = { chat: async () => { calls.push(1); throw new Error("stub gateway"); } } as unknown as Gateway;
    const take = createRawChatRoute({
      gateway,
      authenticate: (header) => {
        if (header !== `Bearer ${KEY}`) throw new Error("no");
        return "test";
      },
      bodyLimitBytes: 1024,
      closing: () => closing,
      onError: () => undefined,
    });
    const server = http.createServer((request, response) => {
      if (take(request, response)) return;
      fallbacks.push(`${request.url} ${request.headers["content-type"]}`);
      request.resume();
      response.writeHead(299).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    return { port: (server.address() as AddressInfo).port, fallbacks, calls };
  }

  it("leaves query strings, other content types, chunked and oversized uploads, and a closing server to Fastify", async () => {
    const { port, fallbacks, calls } = await serverWith();
    const body = JSON.stringify({ model: "a/m", messages: [] });
    const authorization = `Bearer ${KEY}`;
    expect((await send(port, { body, authorization, path: "/v1/chat/completions?x=1" })).status).toBe(299);
    expect((await send(port, { body, authorization, contentType: "text/plain" })).status).toBe(299);
    expect((await send(port, { body, authorization, chunked: true })).status).toBe(299);
    expect((await send(port, { body: "x".repeat(2048), authorization })).status).toBe(299);
    expect(fallbacks).toHaveLength(4);
    expect(calls).toHaveLength(0);

    const closing = await serverWith(true);
    expect((await send(closing.port, { body, authorization })).status).toBe(299);
  });

  it("takes a plain JSON request with a Content-Length (also with charset=utf-8) and calls the gateway", async () => {
    const { port, fallbacks, calls } = await serverWith();
    const body = JSON.stringify({ model: "a/m", messages: [{ role: "user", content: "hi" }] });
    const plain = await send(port, { body, authorization: `Bearer ${KEY}` });
    const charset = await send(port, { body, authorization: `Bearer ${KEY}`, contentType: "application/json; charset=utf-8" });
    expect(fallbacks).toHaveLength(0);
    expect(calls).toHaveLength(2);
    // The stub gateway throws a plain Error: an internal error, in the envelope, never a crash.
    expect(plain.status).toBe(500);
    expect(JSON.parse(charset.body)).toMatchObject({ error: { type: "server_error" } });
  });
});

describe("the raw route answers what the Fastify route answers", () => {
  async function listening(harness: TestApp): Promise<number> {
    await harness.app.listen({ host: "127.0.0.1", port: 0 });
    closers.push(() => harness.app.close());
    return (harness.app.server.address() as AddressInfo).port;
  }

  async function viaInject(harness: TestApp, body: string, authorization: string | undefined): Promise<Answer> {
    const response = await harness.app.inject({ method: "POST", url: "/v1/chat/completions", headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) }, payload: body });
    return { status: response.statusCode, headers: response.headers as http.IncomingHttpHeaders, body: response.body };
  }

  it("for a good request, a bad key, invalid JSON, prototype poisoning, a bad field and a body over the limit", async () => {
    const answer = () => ({ headers: { "content-type": "application/json" }, body: readFixture("openai/chat-nonstream-text.json") });
    const harness = await testApp(answer(), answer());
    const port = await listening(harness);
    const authorization = `Bearer ${GATEWAY_KEY}`;
    const good = JSON.stringify({ model: "openai-main/gpt-4.1-nano", messages: [{ role: "user", content: "hi" }] });
    const cases: [string, string, string | undefined][] = [
      ["good", good, authorization],
      ["bad key", good, "Bearer wrong"],
      ["invalid JSON", '{"model": ', authorization],
      ["__proto__", '{"model":"openai-main/m","messages":[],"__proto__":{"x":1}}', authorization],
      ["constructor.prototype", '{"model":"openai-main/m","messages":[],"constructor":{"prototype":{"x":1}}}', authorization],
      ["bad field", JSON.stringify({ model: "openai-main/m", messages: "hi" }), authorization],
      ["over the limit", JSON.stringify({ model: "openai-main/m", messages: [{ role: "user", content: "x".repeat(BODY_LIMIT) }] }), authorization],
    ];
    for (const [label, body, key] of cases) {
      const raw = await send(port, { body, ...(key ? { authorization: key } : {}) });
      const fastify = await viaInject(harness, body, key);
      expect(raw.status, label).toBe(fastify.status);
      expect(raw.headers["content-type"], label).toBe(fastify.headers["content-type"]);
      for (const name of ["x-switchyard-model", "x-switchyard-provider", "x-switchyard-attempts"]) expect(raw.headers[name], `${label} ${name}`).toBe(fastify.headers[name]);
      expect(JSON.parse(raw.body), label).toEqual(JSON.parse(fastify.body));
    }
  });
});

describe("the HTTP/1.1 fast path answers what the node:http route answers", () => {
  /** Sends `requests` in order on one new connection (each after the previous answer) and returns the raw answers. */
  async function onOneConnection(port: number, requests: readonly string[]): Promise<string[]> {
    const socket = net.connect(port, "127.0.0.1");
    closers.push(async () => void socket.destroy());
    // latin1: one character per byte, so Content-Length counts characters.
    socket.setEncoding("latin1");
    let text = "";
    const answers: string[] = [];
    let wake = () => undefined as void;
    socket.on("data", (chunk: string) => {
      text += chunk;
      wake();
    });
    for (const request of requests) {
      text = "";
      socket.write(request);
      // One answer with a Content-Length body, or an SSE stream that ends with [DONE].
      await new Promise<void>((resolve) => {
        const check = () => {
          const end = text.indexOf("\r\n\r\n");
          const length = /\r\ncontent-length: (\d+)/i.exec(text.slice(0, end))?.[1];
          if (end >= 0 && (length !== undefined ? text.length >= end + 4 + Number(length) : text.endsWith("data: [DONE]\n\n\r\n0\r\n\r\n"))) resolve();
        };
        wake = check;
        check();
      });
      answers.push(text);
    }
    return answers;
  }

  function post(body: string, authorization: string): string {
    return `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: ${authorization}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  }

  it("for answers, errors and streams, request after request on one connection", async () => {
    const answer = () => ({ headers: { "content-type": "application/json" }, body: readFixture("openai/chat-nonstream-text.json") });
    const stream = () => ({ headers: { "content-type": "text/event-stream" }, body: readFixture("openai/chat-stream-finish-length.sse.txt") });
    // Upstream calls in order: the fast connection's two answers and stream, then the node:http one's.
    const harness = await testApp(answer(), stream(), answer(), answer(), stream(), answer());
    await harness.app.listen({ host: "127.0.0.1", port: 0 });
    closers.push(() => harness.app.close());
    const port = (harness.app.server.address() as AddressInfo).port;
    const key = `Bearer ${GATEWAY_KEY}`;
    const good = JSON.stringify({ model: "openai-main/gpt-4.1-nano", messages: [{ role: "user", content: "hi" }] });
    const streamed = JSON.stringify({ model: "openai-main/gpt-4.1-nano", messages: [{ role: "user", content: "hi" }], stream: true });
    const requests = [post(good, key), post(good, "Bearer wrong"), post('{"model": ', key), post(JSON.stringify({ model: "openai-main/m", messages: "hi" }), key), post(streamed, key), post(good, key)];
    // A fresh connection: the fast path. After a GET, the connection is Node's: the node:http route.
    const fast = await onOneConnection(port, requests);
    const viaNode = (await onOneConnection(port, ["GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", ...requests])).slice(1);
    const withoutDate = (text: string) => text.replace(/\r\nDate: [^\r]+/, "");
    expect(fast.map(withoutDate)).toEqual(viaNode.map(withoutDate));
    expect(fast.map((text) => text.slice(0, 12))).toEqual(["HTTP/1.1 200", "HTTP/1.1 401", "HTTP/1.1 400", "HTTP/1.1 400", "HTTP/1.1 200", "HTTP/1.1 200"]);
    expect(fast[4]).toMatch(/\r\ncontent-type: text\/event-stream[\s\S]*\r\nTransfer-Encoding: chunked\r\n\r\n[\s\S]*data: \[DONE\]\n\n\r\n0\r\n\r\n$/);
    expect(harness.replay.requests).toHaveLength(6);
  });
});
