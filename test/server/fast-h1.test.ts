/**
 * The HTTP/1.1 fast path (src/server/fast-h1.ts) inside the one-port server, over raw sockets:
 * what it serves (in awkward slices, pipelined, keep-alive and `Connection: close`), the answer
 * bytes against Node's for the same headers, every shape it hands to Node's HTTP server (with the
 * request intact, and for good), its timeouts, a client that goes away, and shutdown.
 */
import { spawn } from "node:child_process";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { FastRequest, FastResponse } from "../../src/server/fast-h1.js";
import { connectRaw } from "../support/raw-client.js";
import { corsAnswerHeaders } from "../../src/server/cors.js";
import { createOnePortServer, type DualHandler, type OnePortOptions, type OnePortServer } from "../../src/server/one-port-server.js";

const PATH = "/v1/chat/completions";
const TIMEOUT_MS = 400;
const ANSWER_HEADERS = { "x-route": "a/b", "content-type": "application/json; charset=utf-8" };

let server: OnePortServer | undefined;
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  if (server) await new Promise<void>((resolve) => server?.close(() => resolve()));
  server = undefined;
});

interface Harness {
  readonly port: number;
  /** Requests the fast path answered: their headers and body. */
  readonly fast: FastRequest[];
  /** Requests Node's server got: method, URL and body. */
  readonly node: string[];
  /** Fast responses the client left before they were answered. */
  readonly gone: string[];
  /** Error codes of refused `writeHead` calls. */
  readonly refused: string[];
}

/**
 * A one-port server whose fast taker answers `{"echo":<body>}` (after `x-wait` ms, when set)
 * and declines bodies that say `"decline"`; Node's handler answers `node <method> <url> <body>`.
 */
async function start(options: Pick<OnePortOptions, "keepAliveTimeoutMs" | "headersTimeoutMs" | "requestTimeoutMs" | "corsHeaders"> = {}): Promise<Harness> {
  const harness: Harness = { port: 0, fast: [], node: [], gone: [], refused: [] };
  const handler: DualHandler = (request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (body += chunk));
    request.on("end", () => {
      harness.node.push(`${request.method} ${request.url} ${body}`);
      const text = `node ${request.method} ${request.url} ${body}`;
      (response as http.ServerResponse).writeHead(200, { ...ANSWER_HEADERS, "content-length": String(Buffer.byteLength(text)) }).end(text);
    });
  };
  const take = (request: FastRequest, response: FastResponse): boolean => {
    const body = request.body.toString("utf8");
    if (body.includes("decline")) return false;
    harness.fast.push(request);
    if (body === "stream") {
      streamLikeSse(response);
      return true;
    }
    if (body === "big") {
      response.writeHead(200, { "content-type": "text/plain" });
      let writes = 0;
      while (response.write("x".repeat(64 * 1024))) writes++;
      harness.refused.push(`full after ${writes + 1} writes`);
      response.on("drain", () => {
        harness.refused.push("drained");
        response.end("end");
      });
      return true;
    }
    if (body === "huge") {
      // 32 MB in one end(): over at once for the handler; it leaves as the client reads.
      response.writeHead(200, { "content-type": "text/plain", "content-length": String(32 * 1024 * 1024) });
      response.end("x".repeat(32 * 1024 * 1024));
      return true;
    }
    if (body === "inject") {
      for (const headers of [{ "x-bad": "a\r\nx-injected: 1" }, { "bad name": "a" }]) {
        try {
          response.writeHead(200, headers);
        } catch (error) {
          harness.refused.push((error as NodeJS.ErrnoException).code ?? "");
        }
      }
    }
    const text = JSON.stringify({ echo: body });
    const extra = body === "latin" ? { "x-latin": "caf\u00e9" } : {};
    const answer = () => response.writeHead(200, { ...ANSWER_HEADERS, ...extra, "content-length": String(Buffer.byteLength(text)) }).end(text);
    const wait = Number(request.headers["x-wait"] ?? 0);
    if (wait === 0) answer();
    else {
      response.on("close", () => harness.gone.push(body));
      setTimeout(answer, wait);
    }
    return true;
  };
  server = createOnePortServer(handler, { headersTimeoutMs: TIMEOUT_MS, requestTimeoutMs: TIMEOUT_MS * 2, ...options, fastPath: { path: PATH, take, bodyLimitBytes: 4096 } });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return { ...harness, port: (server.address() as AddressInfo).port };
}

/** What an SSE answer does on a response: head, an early flush, frames (one empty), the last frame at the end. */
function streamLikeSse(response: Pick<http.ServerResponse, "writeHead" | "flushHeaders" | "write" | "end"> | FastResponse): void {
  const target = response as http.ServerResponse;
  target.writeHead(200, { "content-type": "text/event-stream", connection: "keep-alive" });
  target.flushHeaders();
  setTimeout(() => {
    target.write("data: a\n\n");
    target.write("");
    target.write("data: ünïcode\n\n");
    target.end("data: [DONE]\n\n");
  }, 10);
}

/** A request's bytes: `POST /v1/chat/completions HTTP/1.1` unless `line` says otherwise. */
function requestBytes(body: string, extra = "", line = `POST ${PATH} HTTP/1.1`): string {
  return `${line}\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}

/** A raw client connection that collects everything the server sends, and when it closed. */
async function client(port: number): Promise<{ socket: net.Socket; received: () => string; closed: Promise<void> }> {
  const connection = await connectRaw(port);
  sockets.push(connection.socket);
  return connection;
}

/** Splits a stream of HTTP/1.1 answers with Content-Length bodies into heads and bodies. */
function answers(text: string): { head: string; body: string }[] {
  const out: { head: string; body: string }[] = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf("\r\n\r\n");
    if (end < 0) break;
    const head = rest.slice(0, end);
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    out.push({ head, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return out;
}

async function until(check: () => boolean, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("the HTTP/1.1 fast path", () => {
  it("serves a request sent one byte at a time, with the head Node writes for the same headers", async () => {
    const harness = await start();
    const connection = await client(harness.port);
    const bytes = Buffer.from(requestBytes('{"model":"a/b","note":"héllo"}', "Authorization: Bearer k1\r\nX-Extra:   padded value\r\n"));
    for (const byte of bytes) {
      connection.socket.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await until(() => answers(connection.received()).length === 1);
    const [answer] = answers(connection.received());
    expect(JSON.parse(Buffer.from(answer?.body ?? "", "latin1").toString("utf8"))).toEqual({ echo: '{"model":"a/b","note":"héllo"}' });
    expect(harness.fast[0]?.headers).toMatchObject({ host: "127.0.0.1", authorization: "Bearer k1", "x-extra": "padded value", "content-type": "application/json" });
    expect(harness.node).toEqual([]);

    // Node's own answer with the same status and headers, for comparison (Date aside).
    const reference = http.createServer({ keepAliveTimeout: 65_000 }, (request, response) => {
      request.resume();
      const text = answer?.body ?? "";
      response.writeHead(200, { ...ANSWER_HEADERS, "content-length": String(Buffer.byteLength(text, "latin1")) }).end(text);
    });
    await new Promise<void>((resolve) => reference.listen(0, "127.0.0.1", resolve));
    const nodeClient = await client((reference.address() as AddressInfo).port);
    nodeClient.socket.write(bytes);
    await until(() => answers(nodeClient.received()).length === 1);
    nodeClient.socket.destroy();
    await new Promise((resolve) => reference.close(resolve));
    const withoutDate = (head: string) => head.replace(/\r\nDate: [^\r]+/, "");
    expect(withoutDate(answer?.head ?? "")).toBe(withoutDate(answers(nodeClient.received())[0]?.head ?? ""));
    expect(answer?.head).toMatch(/\r\nDate: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT\r\n/);
  });

  it("refuses a header name or value Node would refuse (no header injection)", async () => {
    const harness = await start();
    const connection = await client(harness.port);
    connection.socket.write(requestBytes("inject"));
    await until(() => answers(connection.received()).length === 1);
    expect(harness.refused).toEqual(["ERR_INVALID_CHAR", "ERR_INVALID_HTTP_TOKEN"]);
    expect(connection.received()).not.toContain("x-injected");
    expect(answers(connection.received())[0]?.body).toBe(JSON.stringify({ echo: "inject" }));
  });

  it("writes a header value with obs-text as latin1, as Node does, and the body as UTF-8", async () => {
    const harness = await start();
    const connection = await client(harness.port);
    connection.socket.write(requestBytes("latin"));
    await until(() => answers(connection.received()).length === 1);
    // The client reads latin1: one character per byte.
    expect(connection.received()).toContain("\r\nx-latin: caf\u00e9\r\n");
    expect(answers(connection.received())[0]?.body).toBe(JSON.stringify({ echo: "latin" }));
    expect(harness.fast).toHaveLength(1);
  });

  it("streams a chunked answer byte for byte as Node does, then serves the next request on the connection", async () => {
    const harness = await start();
    const connection = await client(harness.port);
    connection.socket.write(requestBytes("stream") + requestBytes("after"));
    await until(() => connection.received().includes('{"echo":"after"}'));
    const reference = http.createServer({ keepAliveTimeout: 65_000 }, (request, response) => {
      request.resume();
      streamLikeSse(response);
    });
    await new Promise<void>((resolve) => reference.listen(0, "127.0.0.1", resolve));
    const nodeClient = await client((reference.address() as AddressInfo).port);
    nodeClient.socket.write(requestBytes("stream"));
    await until(() => nodeClient.received().endsWith("0\r\n\r\n"));
    nodeClient.socket.destroy();
    await new Promise((resolve) => reference.close(resolve));
    const withoutDate = (text: string) => text.replace(/\r\nDate: [^\r]+/, "");
    const streamed = connection.received().slice(0, connection.received().indexOf("HTTP/1.1 200", 10));
    expect(withoutDate(streamed)).toBe(withoutDate(nodeClient.received()));
    expect(streamed).toContain("Transfer-Encoding: chunked");
    expect(harness.fast.map((request) => request.body.toString())).toEqual(["stream", "after"]);
  });

  it("reports back-pressure: write returns false over the socket's high-water mark, and 'drain' follows", async () => {
    const harness = await start();
    const connection = await client(harness.port);
    connection.socket.write(requestBytes("big"));
    await until(() => connection.received().endsWith("3\r\nend\r\n0\r\n\r\n"), 10_000);
    expect(harness.refused).toEqual(["full after 1 writes", "drained"]);
    expect(connection.received()).toContain(`10000\r\n${"x".repeat(64 * 1024)}\r\n3\r\nend`);
  });

  it("stops reading while a client leaves its answers unread, as Node does, and serves the rest once it reads", async () => {
    // Timeouts longer than the test: a client that leaves its answers unread past the headers timeout is cut (see the next test).
    const harness = await start({ headersTimeoutMs: 20_000, requestTimeoutMs: 20_000 });
    // The client is its own process (a paused socket's reads stall when both ends share a test worker's loop).
    const count = 5_000;
    const script = `
      const net = require("node:net");
      const socket = net.connect(${harness.port}, "127.0.0.1");
      socket.on("data", () => undefined);
      socket.pause();
      socket.once("connect", () => {
        socket.write(${JSON.stringify(requestBytes("x".repeat(4096)))}.repeat(${count}));
        process.stdout.write("sent\\n");
        process.stdin.once("data", () => socket.resume());
      });`;
    const child = spawn(process.execPath, ["-e", script], { stdio: ["pipe", "pipe", "inherit"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    try {
      await until(() => output.includes("sent"), 5_000);
      // 5,000 pipelined requests of 4 KiB (20 MB), each answered at once with its echo, not read:
      // without back-pressure every one was served and its answer buffered in the gateway.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(harness.fast.length).toBeLessThan(count * 0.8);
      child.stdin.write("read\n");
      await until(() => harness.fast.length === count, 15_000);
    } finally {
      child.kill();
    }
  });

  it("runs the keep-alive clock only once an answer has left: a slow reader of a large one is not cut as idle", async () => {
    const harness = await start({ keepAliveTimeoutMs: 2_000 });
    const socket = net.connect(harness.port, "127.0.0.1");
    sockets.push(socket);
    socket.on("error", () => undefined);
    let received = 0;
    // At most 64 KiB per 10 ms: the 32 MB answer takes several keep-alive timeouts to leave.
    socket.on("data", (chunk: Buffer) => {
      received += chunk.length;
      socket.pause();
      setTimeout(() => socket.resume(), 10);
    });
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write(requestBytes("huge"));
    await until(() => received >= 32 * 1024 * 1024 || socket.destroyed, 25_000);
    expect(received).toBeGreaterThan(32 * 1024 * 1024);
  });

  it("serves pipelined and keep-alive requests in order on one connection", async () => {
    const harness = await start();
    const connection = await client(harness.port);
    // The first answer is slow: the two behind it must wait for it, not overtake it.
    connection.socket.write(requestBytes("one", "x-wait: 50\r\n") + requestBytes("two") + requestBytes("three").slice(0, 40));
    await new Promise((resolve) => setTimeout(resolve, 20));
    connection.socket.write(requestBytes("three").slice(40));
    await until(() => answers(connection.received()).length === 3);
    connection.socket.write(requestBytes("four"));
    await until(() => answers(connection.received()).length === 4);
    expect(answers(connection.received()).map((answer) => answer.body)).toEqual(["one", "two", "three", "four"].map((echo) => JSON.stringify({ echo })));
    expect(harness.node).toEqual([]);
  });

  it("answers Connection: close with Connection: close and closes", async () => {
    const harness = await start();
    const connection = await client(harness.port);
    connection.socket.write(requestBytes("bye", "Connection: close\r\n"));
    await connection.closed;
    const [answer] = answers(connection.received());
    expect(answer?.head).toContain("\r\nConnection: close");
    expect(answer?.head).not.toContain("Keep-Alive");
    expect(answer?.body).toBe(JSON.stringify({ echo: "bye" }));
  });

  const handedOver: readonly (readonly [string, string])[] = [
    ["another method and path", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"],
    ["a query string", requestBytes("q", "", `POST ${PATH}?x=1 HTTP/1.1`)],
    ["HTTP/1.0", requestBytes("old", "Connection: keep-alive\r\n", `POST ${PATH} HTTP/1.0`)],
    ["a chunked body", `POST ${PATH} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`],
    ["Expect: 100-continue", requestBytes("expect", "Expect: 100-continue\r\n")],
    ["a repeated header", requestBytes("twice", "X-A: 1\r\nx-a: 2\r\n")],
    ["a header named like an Object property", requestBytes("proto", "__proto__: x\r\n")],
    ["obs-text in a value", requestBytes("obs", "X-A: caf\u00e9\r\n")],
    ["a bare LF", requestBytes("lf", "X-A: 1\nX-B: 2\r\n")],
    ["a folded header line", requestBytes("fold", "X-A: 1\r\n  more\r\n")],
    ["a tab or trailing whitespace in a value", requestBytes("tab", "Content-Length-Like: 1\t\r\nX-A: 1 \r\n")],
    ["an upgrade", requestBytes("up", "Connection: upgrade\r\nUpgrade: websocket\r\n")],
    ["a body over the limit", requestBytes("x".repeat(5000))],
    ["a request the taker declines", requestBytes("decline")],
  ];
  for (const [what, bytes] of handedOver) {
    it(`hands ${what} to Node with the request intact, and the connection for good`, async () => {
      const harness = await start();
      const connection = await client(harness.port);
      connection.socket.write(requestBytes("first") + bytes);
      await until(() => harness.node.length === 1 || connection.received().includes("HTTP/1.1 4"));
      // Whatever Node made of it, the fast path served the first request and nothing after it.
      expect(harness.fast.map((request) => request.body.toString())).toEqual(["first"]);
      if (harness.node.length === 1) {
        expect(harness.node[0]).toContain(bytes.slice(bytes.indexOf("\r\n\r\n") + 4).includes("abc") ? "abc" : bytes.slice(bytes.indexOf("\r\n\r\n") + 4));
        connection.socket.write(requestBytes("after"));
        await until(() => harness.node.length === 2);
        expect(harness.node[1]).toBe(`POST ${PATH} after`);
        expect(harness.fast).toHaveLength(1);
      }
    });
  }

  for (const [what, head] of [
    ["a head ended by bare LFs (it never has a CRLF CRLF)", "GET /healthz HTTP/1.1\nHost: x\n\n"],
    ["a head of the served request line with bare LFs", `POST ${PATH} HTTP/1.1\nHost: x\nContent-Length: 2\n\nhi`],
  ] as const) {
    it(`hands ${what} to Node at once, which answers 400, instead of waiting for a head end`, async () => {
      const harness = await start();
      const connection = await client(harness.port);
      const started = Date.now();
      connection.socket.write(head);
      await until(() => connection.received().length > 0, TIMEOUT_MS * 3);
      expect(connection.received()).toMatch(/^HTTP\/1\.1 400 /);
      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS);
      expect(harness.fast).toEqual([]);
    });
  }

  it("hands a head over 16 KiB to Node, which refuses it with 431", async () => {
    const harness = await start();
    const connection = await client(harness.port);
    connection.socket.write(`POST ${PATH} HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(17 * 1024)}\r\n`);
    await until(() => connection.received().length > 0);
    expect(connection.received()).toMatch(/^HTTP\/1\.1 431 /);
    expect(harness.fast).toEqual([]);
  });

  it("answers 408 to a head or a body that does not arrive in time", async () => {
    const harness = await start();
    const slowHead = await client(harness.port);
    slowHead.socket.write(`POST ${PATH} HTTP/1.1\r\nHost: x\r\n`);
    const slowBody = await client(harness.port);
    slowBody.socket.write(requestBytes("0123456789").slice(0, -5));
    const started = Date.now();
    await slowHead.closed;
    expect(slowHead.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n[\s\S]*"code":"request_timeout"/);
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 1_500);
    await slowBody.closed;
    expect(slowBody.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS * 2 - 50);
    expect(harness.fast).toEqual([]);
  });

  it("answers its 408s with the CORS headers of the request's Origin", async () => {
    const app = "https://app.example.com";
    const harness = await start({ corsHeaders: corsAnswerHeaders({ allowOrigins: [app], maxAgeSeconds: 600 }) });
    const slowHead = await client(harness.port);
    slowHead.socket.write(`POST ${PATH} HTTP/1.1\r\nHost: x\r\nOrigin: ${app}\r\n`);
    const slowBody = await client(harness.port);
    slowBody.socket.write(requestBytes("0123456789", `Origin: ${app}\r\n`).slice(0, -5));
    const stranger = await client(harness.port);
    stranger.socket.write(requestBytes("0123456789", "Origin: https://evil.example.net\r\n").slice(0, -5));
    await Promise.all([slowHead.closed, slowBody.closed, stranger.closed]);
    for (const answer of [slowHead.received(), slowBody.received()]) {
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(answer).toContain(`\r\naccess-control-allow-origin: ${app}\r\n`);
      expect(answer).toContain("\r\nvary: origin\r\n");
    }
    expect(stranger.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(stranger.received()).not.toContain("access-control-allow-origin");
    expect(harness.fast).toEqual([]);
  });

  it("closes a keep-alive connection idle past the keep-alive timeout", async () => {
    const harness = await start({ keepAliveTimeoutMs: 300 });
    const connection = await client(harness.port);
    connection.socket.write(requestBytes("once"));
    await until(() => answers(connection.received()).length === 1);
    expect(answers(connection.received())[0]?.head).toContain("Keep-Alive: timeout=0");
    const answeredAt = Date.now();
    await connection.closed;
    expect(Date.now() - answeredAt).toBeGreaterThanOrEqual(250);
  });

  it("tells a pending response that its client went away", async () => {
    const harness = await start();
    const connection = await client(harness.port);
    connection.socket.write(requestBytes("left", "x-wait: 150\r\n"));
    await until(() => harness.fast.length === 1);
    connection.socket.destroy();
    await until(() => harness.gone.length === 1);
    expect(harness.gone).toEqual(["left"]);
  });

  it("closes idle fast connections on shutdown and lets a pending answer finish first", async () => {
    const harness = await start();
    const idle = await client(harness.port);
    idle.socket.write(requestBytes("idle"));
    await until(() => answers(idle.received()).length === 1);
    const busy = await client(harness.port);
    busy.socket.write(requestBytes("busy", "x-wait: 150\r\n"));
    await until(() => harness.fast.length === 2);
    const closed = new Promise<void>((resolve) => server?.close(() => resolve()));
    server = undefined;
    await idle.closed;
    await busy.closed;
    await closed;
    expect(answers(busy.received()).map((answer) => answer.body)).toEqual([JSON.stringify({ echo: "busy" })]);
  });
});
