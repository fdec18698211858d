/**
 * The connect phase of an upstream request: bounded by a native timer to the configured
 * milliseconds (undici's own connect timeout ticks every ~0.5 s), ended at once by an abort (the
 * caller leaving, the request's deadline) even while a connection attempt is still pending, and
 * keyed to one connection pool per configured connect timeout, whatever deadlines callers send.
 */
import http from "node:http";
import type { AddressInfo, LookupFunction } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUndiciTransport } from "../../src/providers/upstream-http.js";
import { listenApp, type ListeningApp } from "../support/listening-app.js";

/** A DNS lookup that never answers: every connection attempt to a host name stays pending. */
const stalled: LookupFunction = () => undefined;

describe("the connect bound", () => {
  it("fails a request with no connection within connect_ms at that time, not at undici's next tick", async () => {
    const transport = createUndiciTransport(stalled);
    const bounds = [120, 200, 300];
    const elapsed = await Promise.all(
      bounds.map(async (connectTimeoutMs) => {
        const started = performance.now();
        const attempt = transport({ url: "http://stalled.example.test:9/v1/x", method: "POST", headers: {}, body: "{}", signal: new AbortController().signal, connectTimeoutMs });
        await expect(attempt).rejects.toMatchObject({ code: "UND_ERR_CONNECT_TIMEOUT" });
        return performance.now() - started;
      }),
    );
    // undici's timers fire on ~499 ms ticks: 120, 200 and 300 ms all ended after 0.5-1 s.
    elapsed.forEach((ms, index) => {
      expect(ms).toBeGreaterThanOrEqual((bounds[index] ?? 0) - 2);
      expect(ms).toBeLessThan((bounds[index] ?? 0) + 250);
    });
  });

  it("an abort while the connection is pending settles the request at once, with the abort's reason", async () => {
    const transport = createUndiciTransport(stalled);
    const controller = new AbortController();
    const started = performance.now();
    const attempt = transport({ url: "http://stalled.example.test:9/v1/x", method: "POST", headers: {}, body: "{}", signal: controller.signal, connectTimeoutMs: 60_000 });
    setTimeout(() => controller.abort(new Error("the caller left")), 50);
    await expect(attempt).rejects.toThrow("the caller left");
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe("callers' deadlines and the connection pool", () => {
  let upstream: http.Server;
  let gateway: ListeningApp;
  let connections = 0;

  beforeAll(async () => {
    upstream = http.createServer((request, response) => {
      request.resume();
      request.on("end", () => {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ id: "c", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
      });
    });
    upstream.on("connection", () => connections++);
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
    gateway = await listenApp(`providers:\n  up: { type: openai-compatible, base_url: "${base}" }\nlogging: { level: silent }\n`, "pool.yaml");
  });

  afterAll(async () => {
    await gateway?.close();
    upstream?.closeAllConnections();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  it("reuse one keep-alive connection, whatever x-switchyard-timeout each request sends", async () => {
    for (let index = 0; index < 12; index++) {
      const response = await fetch(`${gateway.origin}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-switchyard-timeout": `${1_000 + index * 37}ms` },
        body: JSON.stringify({ model: "up/m", messages: [{ role: "user", content: "hi" }] }),
      });
      expect(response.status).toBe(200);
      await response.text();
    }
    // Each distinct deadline used to key a pool of its own: a new upstream connection per request.
    expect(connections).toBe(1);
  });
});
