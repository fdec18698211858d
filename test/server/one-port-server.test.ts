import http from "node:http";
import http2 from "node:http2";
import net, { type AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { corsAnswerHeaders } from "../../src/server/cors.js";
import { createOnePortServer, type DualHandler, type OnePortServer } from "../../src/server/one-port-server.js";
import { connectRaw } from "../support/raw-client.js";

const IDLE_MS = 300;
const REQUEST_MS = 300;

/** What the handler saw of each request. */
interface Seen {
  readonly path: string;
  outcome: "answered" | "aborted" | "open";
}

let server: OnePortServer | undefined;
const sessions: http2.ClientHttp2Session[] = [];

afterEach(async () => {
  for (const session of sessions.splice(0)) session.destroy();
  if (server) await new Promise<void>((resolve) => server?.close(() => resolve()));
  server = undefined;
});

/** A one-port server whose handler reads the whole body, waits `?wait=<ms>`, then answers with the body's length. */
async function start(): Promise<{ origin: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const handler: DualHandler = (request, response) => {
    const record: Seen = { path: request.url ?? "", outcome: "open" };
    seen.push(record);
    let size = 0;
    request.on("data", (chunk: Buffer) => (size += chunk.length));
    request.on("aborted", () => (record.outcome = "aborted"));
    request.on("end", () => {
      // Node's compatibility layer ends the request after an abort too.
      if (record.outcome === "aborted") return;
      const wait = Number(new URL(request.url ?? "/", "http://x").searchParams.get("wait") ?? 0);
      setTimeout(() => {
        record.outcome = "answered";
        (response as http.ServerResponse).end(`got ${size}`);
      }, wait);
    });
  };
  server = createOnePortServer(handler, { headersTimeoutMs: REQUEST_MS, requestTimeoutMs: REQUEST_MS, http2IdleTimeoutMs: IDLE_MS });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function connect(origin: string): { session: http2.ClientHttp2Session; closed: Promise<number> } {
  const session = http2.connect(origin);
  sessions.push(session);
  session.on("error", () => undefined);
  const opened = Date.now();
  const closed = new Promise<number>((resolve) => session.once("close", () => resolve(Date.now() - opened)));
  return { session, closed };
}

/** One HTTP/2 request; resolves with the status and body, or the stream's reset code. */
function request(session: http2.ClientHttp2Session, path: string, body: string | undefined, endUpload = true): Promise<{ status: number; body: string; rstCode: number }> {
  return new Promise((resolve) => {
    const stream = session.request({ ":method": "POST", ":path": path });
    let status = 0;
    let text = "";
    stream.setEncoding("utf8");
    stream.on("response", (headers) => (status = Number(headers[":status"])));
    stream.on("data", (piece: string) => (text += piece));
    stream.on("error", () => undefined);
    stream.on("close", () => resolve({ status, body: text, rstCode: stream.rstCode ?? 0 }));
    if (body !== undefined) stream.write(body);
    if (endUpload) stream.end();
  });
}

describe("HTTP/2 connections on the one-port server", () => {
  it("closes a connection that has had no open stream for the idle timeout, with GOAWAY", async () => {
    const { origin } = await start();
    const { session, closed } = connect(origin);
    let goaway = false;
    session.on("goaway", () => (goaway = true));
    expect((await request(session, "/a", "hello")).body).toBe("got 5");
    const lifetime = await closed;
    expect(goaway).toBe(true);
    expect(lifetime).toBeGreaterThanOrEqual(IDLE_MS - 20);
    expect(lifetime).toBeLessThan(IDLE_MS + 1_000);
  });

  it("advertises bounded header lists and concurrent streams; a header block over the bound costs its stream only", async () => {
    const { origin } = await start();
    const { session } = connect(origin);
    const settings = await new Promise<http2.Settings>((resolve) => session.once("remoteSettings", resolve));
    expect(settings.maxHeaderListSize).toBe(64_000);
    expect(settings.maxConcurrentStreams).toBe(1_000);
    const refused = await new Promise<number>((resolve) => {
      const stream = session.request({ ":method": "POST", ":path": "/big", "x-big": "a".repeat(64_500) });
      stream.on("error", () => undefined);
      stream.on("close", () => resolve(stream.rstCode ?? 0));
      stream.end();
    });
    expect(refused).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    expect((await request(session, "/after", "ok")).body).toBe("got 2");
    // Many small fields within the byte bound are served, as on HTTP/1.1 (Node's HTTP/2 default stops at 128).
    const many = await new Promise<number>((resolve) => {
      const fields = Object.fromEntries(Array.from({ length: 300 }, (_, index) => [`x-meta-${index}`, "v"]));
      const stream = session.request({ ":method": "POST", ":path": "/many", ...fields });
      stream.on("response", (headers) => resolve(Number(headers[":status"])));
      stream.on("error", () => resolve(-1));
      stream.resume();
      stream.end("ok");
    });
    expect(many).toBe(200);
  });

  it("keeps a connection open while a stream is in flight, however quiet, and closes it once idle after", async () => {
    const { origin } = await start();
    const { session, closed } = connect(origin);
    const started = Date.now();
    // The handler holds this answer for three idle periods: the connection must outlive it.
    const answer = await request(session, `/slow?wait=${3 * IDLE_MS}`, "x");
    expect(answer).toMatchObject({ status: 200, body: "got 1" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * IDLE_MS - 20);
    expect(session.closed || session.destroyed).toBe(false);
    const lifetime = await closed;
    expect(lifetime).toBeGreaterThanOrEqual(4 * IDLE_MS - 40);
  });

  it.each([
    ["an HTTP/1.1 request without Host", "GET /healthz HTTP/1.1\r\n\r\n", /^HTTP\/1\.1 400 /, "An HTTP/1.1 request must have a Host header."],
    ["a CONNECT request", "CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n", /^HTTP\/1\.1 405 /, "CONNECT is not supported: this is not a proxy."],
  ])("answers %s in the OpenAI envelope, then closes", async (_name, head, status, message) => {
    const { origin } = await start();
    const answer = await new Promise<string>((resolve) => {
      const socket = net.connect(Number(new URL(origin).port), "127.0.0.1", () => socket.write(head));
      let text = "";
      socket.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
      socket.on("close", () => resolve(text));
      socket.on("error", () => resolve(text));
    });
    expect(answer).toMatch(status);
    expect(answer).toContain(`{"error":{"message":"${message}","type":"invalid_request_error","param":null,"code":"invalid_request"}}`);
  });

  it("still serves an HTTP/1.0 request without Host", async () => {
    const { origin } = await start();
    const answer = await new Promise<string>((resolve) => {
      const socket = net.connect(Number(new URL(origin).port), "127.0.0.1", () => socket.write("POST /old HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi"));
      let text = "";
      socket.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
      socket.on("close", () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toContain("got 2");
  });

  it("answers 408 to an HTTP/1.1 request whose headers do not arrive in time, within about a second of the bound (not Node's 30 s check)", async () => {
    const { origin } = await start();
    const net = await import("node:net");
    const port = Number(new URL(origin).port);
    const started = Date.now();
    const answer = await new Promise<string>((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => socket.write("POST /slow HTTP/1.1\r\nHost: x\r\n"));
      let text = "";
      socket.on("data", (chunk: Buffer) => (text += chunk.toString("latin1")));
      socket.on("close", () => resolve(text));
      socket.on("error", () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(answer).toContain('{"error":{"message":"The request did not arrive in time.","type":"invalid_request_error","param":null,"code":"request_timeout"}}');
    expect(Date.now() - started).toBeGreaterThanOrEqual(REQUEST_MS - 20);
    expect(Date.now() - started).toBeLessThan(REQUEST_MS + 1_500);
  });

  it("answers 408 to an HTTP/1.1 body that does not arrive in time with the CORS headers of the request's Origin", async () => {
    const app = "https://app.example.com";
    server = createOnePortServer((request) => request.resume(), { headersTimeoutMs: REQUEST_MS, requestTimeoutMs: REQUEST_MS, corsHeaders: corsAnswerHeaders({ allowOrigins: [app], maxAgeSeconds: 600 }) });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const connection = await connectRaw((server.address() as AddressInfo).port);
    connection.socket.write(`POST /slow HTTP/1.1\r\nHost: x\r\nOrigin: ${app}\r\nContent-Length: 10\r\n\r\n01234`);
    await connection.closed;
    expect(connection.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(connection.received()).toContain(`\r\naccess-control-allow-origin: ${app}\r\n`);
    expect(connection.received()).toContain('"code":"request_timeout"');
  });

  it("answers 408 and resets a stream whose request does not arrive in time; the handler sees it aborted", async () => {
    const { origin, seen } = await start();
    const { session } = connect(origin);
    const started = Date.now();
    const answer = await request(session, "/upload", "part of a body", false);
    expect(answer.status).toBe(408);
    expect(answer.rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
    expect(Date.now() - started).toBeGreaterThanOrEqual(REQUEST_MS - 20);
    expect(Date.now() - started).toBeLessThan(REQUEST_MS + 1_000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(seen).toEqual([{ path: "/upload", outcome: "aborted" }]);
    // The connection itself is fine: the next request on it is answered.
    expect((await request(session, "/after", "ok")).body).toBe("got 2");
  });

  it("does not cut a request whose upload finished, even when its answer takes longer than the bound", async () => {
    const { origin } = await start();
    const { session } = connect(origin);
    const answer = await request(session, `/slow?wait=${2 * REQUEST_MS}`, "done");
    expect(answer).toMatchObject({ status: 200, body: "got 4", rstCode: 0 });
  });
});

describe("answers that start before their request's body was read to the end", () => {
  /** A one-port server whose handler reads one piece of the body and answers 429 without reading on (as Connect does at readMaxBytes). */
  async function startEarly(): Promise<string> {
    const handler: DualHandler = (request, response) => {
      if (request.url === "/whole") {
        request.resume();
        request.on("end", () => (response as http.ServerResponse).end("whole"));
        return;
      }
      request.once("data", () => {
        request.pause();
        (response as http.ServerResponse).writeHead(429, { "content-type": "text/plain" });
        (response as http.ServerResponse).end("too big");
      });
    };
    server = createOnePortServer(handler, { headersTimeoutMs: 5_000, requestTimeoutMs: 5_000, http2IdleTimeoutMs: 0 });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** An HTTP/1.1 connection that collects what it reads; `closed` resolves when the server ends it. */
  function connectH1(origin: string): { socket: net.Socket; read: () => string; closed: Promise<void> } {
    const socket = net.connect(Number(new URL(origin).port), "127.0.0.1");
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (piece: string) => (text += piece));
    socket.on("error", () => undefined);
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    return { socket, read: () => text, closed };
  }

  const CHUNKED_HEAD = "POST /rpc HTTP/1.1\r\nHost: x\r\nContent-Type: application/proto\r\nTransfer-Encoding: chunked\r\n\r\n";
  const chunk = (size: number) => `${size.toString(16)}\r\n${"a".repeat(size)}\r\n`;

  it("HTTP/1.1: says Connection: close, lets the client finish its upload and read the answer, then closes", async () => {
    const origin = await startEarly();
    const { socket, read, closed } = connectH1(origin);
    socket.write(CHUNKED_HEAD + chunk(1024));
    await vi.waitFor(() => expect(read()).toContain("too big"), { timeout: 3_000, interval: 10 });
    expect(read()).toMatch(/^HTTP\/1\.1 429/);
    expect(read().toLowerCase()).toContain("connection: close");
    // The client is still uploading: its writes are not refused while the connection lingers.
    let refused = false;
    socket.on("error", () => (refused = true));
    await new Promise<void>((resolve) => socket.write(chunk(64 * 1024), () => resolve()));
    const started = Date.now();
    await closed;
    expect(refused).toBe(false);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("HTTP/1.1: keeps the connection of a request read to the end", async () => {
    const origin = await startEarly();
    const { socket, read } = connectH1(origin);
    socket.write("POST /whole HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok");
    await vi.waitFor(() => expect(read()).toContain("whole"), { timeout: 3_000, interval: 10 });
    expect(read().toLowerCase()).toContain("connection: keep-alive");
    socket.write("POST /whole HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok");
    await vi.waitFor(() => expect(read().match(/whole/g)).toHaveLength(2), { timeout: 3_000, interval: 10 });
    socket.destroy();
  });
});

const CONNECT = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";

/** Starts listening with the `server` already created, and opens a raw connection to it. */
async function rawClient(): Promise<{ socket: net.Socket; received: () => string; closed: Promise<void> }> {
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return connectRaw((server?.address() as AddressInfo).port);
}

describe("the first bytes and pipelined refusals", () => {
  it("takes a connection as HTTP/2 only once the whole preface is in: part of it gets no SETTINGS frame", async () => {
    const { origin } = await start();
    const socket = net.connect(Number(new URL(origin).port), "127.0.0.1");
    let received = 0;
    socket.on("data", (chunk: Buffer) => (received += chunk.length));
    socket.on("error", () => undefined);
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write("PRI ");
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Before, the 4 bytes made it an HTTP/2 session (a SETTINGS frame at once), held open until the 300 s idle timeout.
    expect(received).toBe(0);
    socket.write("* HTTP/2.0\r\n\r\nSM\r\n\r\n");
    await vi.waitFor(() => expect(received).toBeGreaterThan(0), { timeout: 2_000 });
    socket.destroy();
  });

  it("answers a CONNECT pipelined behind an answer still being written after that answer, never inside it", async () => {
    server = createOnePortServer((_request, response) => {
      const raw = response as http.ServerResponse;
      raw.writeHead(200, { "content-type": "text/plain" });
      raw.write("one ");
      setTimeout(() => raw.end("two"), 300);
    });
    const client = await rawClient();
    client.socket.write("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    await vi.waitFor(() => expect(client.received()).toContain("one "));
    client.socket.write(CONNECT);
    await client.closed;
    const text = client.received();
    const streamEnd = text.indexOf("0\r\n\r\n");
    expect(streamEnd).toBeGreaterThan(0);
    expect(text.indexOf("HTTP/1.1 405")).toBeGreaterThan(streamEnd);
  });

  it("answers every request pipelined before a CONNECT, the queued ones too, before its 405", async () => {
    server = createOnePortServer((request, response) => {
      const raw = response as http.ServerResponse;
      if (request.url === "/stream") {
        raw.writeHead(200, { "content-type": "text/plain" });
        raw.write("one ");
        setTimeout(() => raw.end("two"), 200);
      } else setTimeout(() => raw.end("slow done"), 400);
    });
    const client = await rawClient();
    client.socket.write(`GET /stream HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\n${CONNECT}`);
    await client.closed;
    const text = client.received();
    expect(text.match(/HTTP\/1\.1 \d{3}/g)).toEqual(["HTTP/1.1 200", "HTTP/1.1 200", "HTTP/1.1 405"]);
    expect(text.indexOf("slow done")).toBeLessThan(text.indexOf("HTTP/1.1 405"));
  });

  it("survives a client that resets its connection while a CONNECT waits behind a pending answer", async () => {
    server = createOnePortServer((_request, response) => {
      setTimeout(() => (response as http.ServerResponse).end("late"), 500);
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const socket = net.connect(port, "127.0.0.1");
    socket.on("error", () => undefined);
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write("GET /slow HTTP/1.1\r\nHost: x\r\n\r\nCONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.resetAndDestroy();
    // Before, the reset was an 'error' event nobody listened to: the process went down.
    await new Promise((resolve) => setTimeout(resolve, 700));
    const status = await new Promise<number>((resolve, reject) => {
      http.get({ host: "127.0.0.1", port, path: "/after" }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      }).on("error", reject);
    });
    expect(status).toBe(200);
  });
});

describe("an HTTP/2 answer the client never takes (its flow-control window stays shut)", () => {
  /** A server that answers every stream with `size` bytes, on either handler: the raw stream (`takeStream`, as the gRPC fast path) or Node's compatibility layer. */
  async function startAnswering(size: number, take: boolean, deadlineMs?: number, stallMs = 300): Promise<string> {
    const body = Buffer.alloc(size, 97);
    server = createOnePortServer(
      (_request, response) => (response as http.ServerResponse).end(body),
      {
        headersTimeoutMs: 5_000,
        requestTimeoutMs: 5_000,
        clientStallMs: stallMs,
        ...(take ? { takeStream: (stream: http2.ServerHttp2Stream) => (stream.respond({ ":status": 200 }), stream.end(body), true) } : {}),
        ...(deadlineMs !== undefined ? { streamDeadline: () => Date.now() + deadlineMs } : {}),
      },
    );
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Opens a stream with a window of 0 and resolves with the RST_STREAM code the server sent (or "ended"). */
  function unread(origin: string): Promise<number | "ended"> {
    const session = http2.connect(origin, { settings: { initialWindowSize: 0 } });
    sessions.push(session);
    session.on("error", () => undefined);
    const stream = session.request({ ":method": "POST", ":path": "/x" });
    stream.end("hi");
    stream.on("error", () => undefined);
    return new Promise((resolve) => {
      stream.on("end", () => resolve("ended"));
      stream.on("close", () => resolve(stream.rstCode));
    });
  }

  it.each([["the raw stream (gRPC fast path)", true], ["Node's compatibility layer (Connect)", false]] as const)("%s: a small answer is reset (CANCEL) after the stall bound, not held forever", async (_name, take) => {
    const origin = await startAnswering(100, take);
    const started = Date.now();
    expect(await unread(origin)).toBe(http2.constants.NGHTTP2_CANCEL);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it.each([[48 * 1024, 1024], [1024 * 1024, 16 * 1024]])("lets a slow reader that keeps taking bytes finish, however long it takes past the stall bound (%i bytes, window %i)", async (size, window) => {
    const origin = await startAnswering(size, true);
    const session = http2.connect(origin, { settings: { initialWindowSize: window } });
    sessions.push(session);
    const stream = session.request({ ":method": "POST", ":path": "/x" });
    stream.end("hi");
    stream.pause();
    let received = 0;
    // One window every 50 ms: about 2.4 s (or 3.2 s) for the answer, many times the 300 ms stall bound.
    const reader = setInterval(() => {
      let piece: Buffer | null;
      while ((piece = stream.read(window) as Buffer | null) !== null) received += piece.length;
    }, 50);
    const outcome = await new Promise<number | "ended">((resolve) => {
      stream.on("end", () => resolve("ended"));
      stream.on("close", () => resolve(stream.rstCode));
    });
    clearInterval(reader);
    expect(outcome).toBe("ended");
    expect(received).toBe(size);
  }, 15_000);

  it("is reset at the caller's deadline when that comes first (within the sweep's few seconds)", async () => {
    const origin = await startAnswering(100, true, 0, 600_000);
    const started = Date.now();
    expect(await unread(origin)).toBe(http2.constants.NGHTTP2_CANCEL);
    expect(Date.now() - started).toBeLessThan(8_000);
  }, 15_000);
});
