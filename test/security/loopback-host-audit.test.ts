import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { buildApp } from "../../src/app.js";
import { isLoopbackHost } from "../../src/core/caller-auth.js";
import { parseConfigText } from "../../src/config/load-config.js";
import { startFakeUpstream, type FakeUpstream } from "../support/fake-upstream.js";

/*
 * With no gateway keys, auth is off and the gateway listens on loopback only. A web page can still
 * reach it: its site rebinds its own DNS name to 127.0.0.1 (DNS rebinding), and its same-origin
 * `fetch` POSTs JSON to the gateway and reads the answer, spending the operator's provider keys.
 * Such requests carry the page's host name in Host / :authority; before this check they were served.
 */

const CHAT = JSON.stringify({ model: "b/m", messages: [{ role: "user", content: "hi" }] });
const ANSWER = JSON.stringify({ id: "x", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }] });

async function gateway(keys: string): Promise<{ port: number; upstream: FakeUpstream; close: () => Promise<void> }> {
  const upstream = await startFakeUpstream();
  upstream.setDefault({ status: 200, headers: { "content-type": "application/json" }, chunks: [ANSWER] });
  const yaml = `server: { host: 127.0.0.1, port: 0 }
${keys}
providers:
  b: { type: openai-compatible, api_key: "sk-upstream-0123456789", base_url: "${upstream.baseUrl}" }
logging: { level: silent }
`;
  const built = await buildApp({ config: parseConfigText(yaml, "host.yaml", {}) });
  await built.app.listen({ host: "127.0.0.1", port: 0 });
  const port = (built.app.server.address() as AddressInfo).port;
  return { port, upstream, close: async () => { await built.app.close(); await upstream.close(); } };
}

function h1(port: number, host: string, path = "/v1/chat/completions", headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: "127.0.0.1", port, path, method: path.startsWith("/v1/models") ? "GET" : "POST", headers: { host, "content-type": "application/json", ...headers } }, (response) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString()));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on("error", reject);
    request.end(path.startsWith("/v1/models") ? undefined : path.includes("ChatService") ? JSON.stringify({ input: { model: "b/m", messages: [{ role: "ROLE_USER", content: [{ text: "hi" }] }] } }) : CHAT);
  });
}

function h2(port: number, authority: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on("error", reject);
    const stream = session.request({ ":method": "POST", ":path": "/v1/chat/completions", ":authority": authority, "content-type": "application/json" });
    let status = 0;
    let body = "";
    stream.on("response", (headers) => (status = Number(headers[":status"])));
    stream.on("data", (chunk: Buffer) => (body += chunk.toString()));
    stream.on("end", () => {
      session.close();
      resolve({ status, body });
    });
    stream.on("error", reject);
    stream.end(CHAT);
  });
}

describe("auth off: only requests naming a loopback host are served", () => {
  let server: Awaited<ReturnType<typeof gateway>>;
  beforeAll(async () => {
    server = await gateway("");
  });
  afterAll(async () => server.close());

  it.each(["localhost", "127.0.0.1", "[::1]", "api.localhost", "LOCALHOST."])("serves Host %s (with and without a port)", async (host) => {
    expect((await h1(server.port, host)).status).toBe(200);
    expect((await h1(server.port, `${host}:${server.port}`)).status).toBe(200);
  });

  it.each([
    ["REST", "/v1/chat/completions"],
    ["REST models", "/v1/models"],
    ["Connect", "/switchyard.v1.ChatService/Chat"],
  ])("refuses a rebound web page's Host with 403 permission_denied (%s), without calling the provider", async (_name, path) => {
    const before = server.upstream.requests.length;
    for (const host of [`rebind.attacker.example:${server.port}`, "attacker.example", "127.0.0.1.attacker.example", "10.0.0.5"]) {
      const answer = await h1(server.port, host, path);
      expect(answer.status).toBe(403);
      // An RPC is refused in its own protocol (Connect's error JSON, with the ErrorDetail); REST in the OpenAI envelope.
      const expected = path.includes("ChatService") ? { code: "permission_denied", details: [{ type: "switchyard.v1.ErrorDetail", debug: { reason: "PERMISSION_DENIED" } }] } : { error: { code: "permission_denied", type: "permission_error" } };
      expect(JSON.parse(answer.body)).toMatchObject(expected);
    }
    expect(server.upstream.requests.length).toBe(before);
  });

  it("checks :authority over HTTP/2 too", async () => {
    expect((await h2(server.port, `127.0.0.1:${server.port}`)).status).toBe(200);
    const refused = await h2(server.port, `rebind.attacker.example:${server.port}`);
    expect(refused.status).toBe(403);
    expect(refused.body).toContain("permission_denied");
  });
});

describe("auth on: the Host is not checked (keys protect the gateway)", () => {
  it("serves any Host with a valid key", async () => {
    const server = await gateway(`keys:\n  - { name: dev, key: "sy-key-0123456789" }`);
    try {
      expect((await h1(server.port, "gateway.internal.example", "/v1/chat/completions", { authorization: "Bearer sy-key-0123456789" })).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe("isLoopbackHost", () => {
  it.each(["localhost", "localhost:8080", "LocalHost.", "a.localhost", "127.0.0.1", "127.8.9.1:80", "[::1]", "[::1]:8080", "0.0.0.0:8080", "[::]:8080"])("accepts %s", (host) => {
    expect(isLoopbackHost(host)).toBe(true);
  });
  it.each(["", "evil.example", "localhost.evil.example", "127.0.0.1.evil.example", "0.0.0.0.evil.example", "10.0.0.1", "[::ffff:8.8.8.8]", "127.1", "2130706433", "localhost:8080:1"])("refuses %s", (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});

describe("the log of a refused Host", () => {
  it("has one line per refused request, on the HTTP/1.1 fast path (which asks before handing it on) and on HTTP/2", async () => {
    const lines: string[] = [];
    const { listenApp } = await import("../support/listening-app.js");
    const app = await listenApp("server: { host: 127.0.0.1, port: 0 }\nproviders:\n  b: { type: openai-compatible, base_url: \"http://127.0.0.1:9/v1\" }\nlogging: { level: info }\n", "host-log.yaml", { write: (line) => void lines.push(line) });
    try {
      const port = Number(new URL(app.origin).port);
      expect((await h1(port, "rebind.test")).status).toBe(403);
      expect((await h2(port, "rebind.test")).status).toBe(403);
      expect(lines.filter((line) => line.includes('"where":"(host check)"'))).toHaveLength(2);
    } finally {
      await app.close();
    }
  });
});
