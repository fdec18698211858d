import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LightAbort } from "../../src/core/light-abort.js";
import { exchange, UpstreamBody, type UndiciExchange } from "../../src/net/undici-exchange.js";
import { Agent } from "../../src/net/undici-slim.js";

let server: http.Server;
let origin: string;
const connections: number[] = [];
const agent = new Agent({ keepAliveTimeout: 10_000 });

/** Routes: /text (two chunks 5 ms apart), /hold (head, one chunk, then nothing), /big (2 MB). */
beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === "/text") {
      res.writeHead(200, { "content-type": "text/plain", "x-twice": ["one", "two"] });
      res.write("hello ");
      setTimeout(() => res.end("world"), 5);
    } else if (req.url === "/hold") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("partial");
    } else if (req.url === "/big") {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.end(Buffer.alloc(2 * 1024 * 1024, 97));
    } else {
      res.writeHead(404).end();
    }
  });
  server.on("connection", () => connections.push(Date.now()));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await agent.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function get(path: string, signal = new LightAbort()): Promise<UndiciExchange> {
  return exchange(agent, { origin, path, method: "GET", headers: {} }, signal, 5_000);
}

function text(chunks: readonly Uint8Array[]): string {
  return Buffer.concat(chunks).toString("utf8");
}

describe("UndiciExchange over a real keep-alive connection", () => {
  it("gives the status and headers (case-insensitive, first of a repeated one), and the body by iteration and by collect", async () => {
    const first = await get("/text");
    expect(first.status).toBe(200);
    expect(first.header("content-type")).toBe("text/plain");
    expect(first.header("x-twice")).toBe("one");
    expect(first.header("absent")).toBeUndefined();
    const pulled: Uint8Array[] = [];
    for await (const chunk of first.body) pulled.push(chunk);
    expect(text(pulled)).toBe("hello world");

    const second = await get("/text");
    const pushed: Uint8Array[] = [];
    await second.body.collect((chunk) => { pushed.push(chunk); return true; });
    expect(text(pushed)).toBe("hello world");
    expect(second.body.finished).toBe(true);
  });

  it("dumping the rest after an early stop gives the connection back to the pool", async () => {
    const before = connections.length;
    for (let index = 0; index < 3; index++) {
      const response = await get("/text");
      for await (const chunk of response.body) {
        expect(text([chunk])).toBe("hello ");
        break;
      }
      await response.body.dump(1024);
    }
    expect(connections.length - before).toBeLessThanOrEqual(1);
  });

  it("an abort before the head rejects it with the reason; an abort mid-body fails the body with it", async () => {
    const early = new LightAbort();
    early.abort(new Error("gone before"));
    await expect(get("/text", early)).rejects.toThrow("gone before");

    const late = new LightAbort();
    const response = await get("/hold", late);
    const iterator = response.body[Symbol.asyncIterator]();
    expect(text([(await iterator.next()).value as Uint8Array])).toBe("partial");
    const pending = iterator.next();
    late.abort(new Error("gone during"));
    await expect(pending).rejects.toThrow("gone during");
    expect(response.body.finished).toBe(true);
  });

  it("collect stops and aborts the request when the taker says so, and rejects with what the taker throws", async () => {
    const stopped = await get("/big");
    let seen = 0;
    await stopped.body.collect((chunk) => { seen += chunk.byteLength; return seen < 64 * 1024; });
    expect(seen).toBeLessThan(2 * 1024 * 1024);

    const thrown = await get("/big");
    await expect(thrown.body.collect(() => { throw new Error("too much"); })).rejects.toThrow("too much");
  });

  it("dump aborts a body larger than its limit", async () => {
    const response = await get("/big");
    await expect(response.body.dump(1024)).rejects.toThrow();
  });
});

describe("UpstreamBody back-pressure", () => {
  function stubExchange(): { exchange: UndiciExchange; resumed: number; aborted: unknown[] } {
    const state = { resumed: 0, aborted: [] as unknown[] };
    const stub = { resume: () => { state.resumed++; }, abort: (reason: unknown) => { state.aborted.push(reason); } };
    return { exchange: stub as unknown as UndiciExchange, get resumed() { return state.resumed; }, aborted: state.aborted };
  }

  it("asks undici to pause once 64 KB wait unread, and to resume when the reader caught up", async () => {
    const stub = stubExchange();
    const body = new UpstreamBody(stub.exchange);
    const chunk = new Uint8Array(16 * 1024);
    const answers = [body.push(chunk), body.push(chunk), body.push(chunk), body.push(chunk)];
    expect(answers).toEqual([true, true, true, false]);
    const iterator = body[Symbol.asyncIterator]();
    await iterator.next();
    expect(stub.resumed).toBe(1);
    body.end();
    let rest = 0;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest++;
    expect(rest).toBe(3);
  });

  it("hands a chunk straight to a waiting reader, and ends a waiting reader at the end", async () => {
    const body = new UpstreamBody(stubExchange().exchange);
    const iterator = body[Symbol.asyncIterator]();
    const waiting = iterator.next();
    expect(body.push(new Uint8Array([1]))).toBe(true);
    expect((await waiting).value).toEqual(new Uint8Array([1]));
    const last = iterator.next();
    body.end();
    expect((await last).done).toBe(true);
  });
});
