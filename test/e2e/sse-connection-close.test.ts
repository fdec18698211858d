/**
 * A streamed answer to a `Connection: close` request says so and closes after the stream, on the
 * HTTP/1.1 fast path and on Node's path (a chunked upload) alike. The SSE head used to set
 * `Connection: keep-alive` itself, so Node's path kept the connection open until the keep-alive
 * timeout, and the fast path said keep-alive while closing.
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDialectUpstream, type DialectUpstream } from "../support/dialect-upstream.js";
import { listenApp, type ListeningApp } from "../support/listening-app.js";

const KEYS = { openai: "sk-sse-close-openai-0123456789", anthropic: "sk-ant-sse-close-0123456789", gemini: "AIzaSseClose0123456789" };
let upstream: DialectUpstream;
let gateway: ListeningApp;

beforeAll(async () => {
  upstream = await startDialectUpstream({ keys: KEYS, models: { openai: ["gpt-4o-mini"], anthropic: [], gemini: [] } });
  gateway = await listenApp(`providers:\n  oa: { type: openai, api_key: "${KEYS.openai}", base_url: "${upstream.origin}/v1" }\nlogging: { level: silent }\n`, "sse-connection-close.yaml");
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

/** Sends `bytes` on a new connection; resolves with everything received once the server closes it (or after 3 s). */
async function exchange(bytes: string): Promise<{ text: string; closedByServer: boolean }> {
  const url = new URL(gateway.origin);
  const socket = net.connect(Number(url.port), url.hostname);
  let text = "";
  socket.setEncoding("latin1");
  socket.on("data", (chunk: string) => (text += chunk));
  socket.on("error", () => undefined);
  const closed = new Promise<boolean>((resolve) => socket.once("close", () => resolve(true)));
  socket.write(bytes);
  const closedByServer = await Promise.race([closed, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3_000))]);
  socket.destroy();
  return { text, closedByServer };
}

const body = JSON.stringify({ model: "oa/gpt-4o-mini", stream: true, messages: [{ role: "user", content: "hi" }] });

describe("a streamed answer to a Connection: close request", () => {
  it.each([
    ["the fast path (Content-Length)", `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`],
    ["Node's path (a chunked upload)", `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n${Buffer.byteLength(body).toString(16)}\r\n${body}\r\n0\r\n\r\n`],
  ])("says Connection: close and closes after the stream, on %s", async (_name, bytes) => {
    const { text, closedByServer } = await exchange(bytes);
    const head = text.slice(0, text.indexOf("\r\n\r\n")).toLowerCase();
    expect(head).toContain("content-type: text/event-stream");
    expect(head).toContain("connection: close");
    expect(head).not.toContain("keep-alive");
    expect(text).toContain("data: [DONE]");
    expect(closedByServer).toBe(true);
  });
});
