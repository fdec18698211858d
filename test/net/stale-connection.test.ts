/**
 * A pooled keep-alive connection the upstream closes just as the gateway sends the next request on
 * it (a server's idle timeout without a Keep-Alive hint, as uvicorn's 5 s) is the pool's race, not
 * the provider's failure: the transport sends the request again once on a new connection. A
 * connection that closes before answering its first request is still a failure.
 */
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createUndiciTransport } from "../../src/providers/upstream-http.js";

const ANSWER = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";

/** A raw upstream: `onRequest(socket, index)` gets each request's bytes' socket and its number on that socket. */
async function rawUpstream(onRequest: (socket: net.Socket, index: number) => void): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    let index = 0;
    socket.on("data", (bytes) => {
      // One request per write from undici (a small body goes with its head).
      if (bytes.includes("\r\n\r\n")) onRequest(socket, index++);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let closeUpstream: (() => Promise<void>) | undefined;
afterEach(async () => {
  await closeUpstream?.();
  closeUpstream = undefined;
});

describe("a pooled connection closed under a new request", () => {
  it("sends the request again on a new connection when the reused one closes before any byte of the answer", async () => {
    const upstream = await rawUpstream((socket, index) => {
      if (index === 0) socket.write(ANSWER);
      else socket.end();
    });
    closeUpstream = upstream.close;
    const transport = createUndiciTransport();
    const send = () => transport({ url: `http://127.0.0.1:${upstream.port}/v1/chat/completions`, method: "POST", headers: { "content-type": "application/json" }, body: "{}", signal: new AbortController().signal, connectTimeoutMs: 1000 });
    for (let round = 0; round < 3; round++) {
      const response = await send();
      expect(response.status).toBe(200);
      for await (const _chunk of response.body) void _chunk;
    }
    // Each round after the first found its pooled connection closed and opened a new one.
    expect(upstream.connections()).toBe(3);
  });

  it("is still a failure when a new connection closes before answering (no second try)", async () => {
    const upstream = await rawUpstream((socket) => socket.end());
    closeUpstream = upstream.close;
    const transport = createUndiciTransport();
    const attempt = transport({ url: `http://127.0.0.1:${upstream.port}/v1/chat/completions`, method: "POST", headers: {}, body: "{}", signal: new AbortController().signal, connectTimeoutMs: 1000 });
    await expect(attempt).rejects.toMatchObject({ code: "UND_ERR_SOCKET" });
    expect(upstream.connections()).toBe(1);
  });
});
