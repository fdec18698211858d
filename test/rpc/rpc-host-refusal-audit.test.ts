/**
 * Auth off (no gateway keys): a request addressed to a host name that is not loopback is refused
 * before any handler runs (src/server/one-port-server.ts, src/app.ts). An HTTP/2 client that
 * resets its stream as it opens it (HEADERS and RST_STREAM arrive together) must not crash the
 * process: the refusal used to call respond() on the dead stream, or leave its reset as an
 * unhandled 'error' event.
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp, type BuiltApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";
import { startFakeUpstream, type FakeUpstream } from "../support/fake-upstream.js";

let built: BuiltApp;
let upstream: FakeUpstream;
let port: number;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  const yaml = `server: { host: 127.0.0.1, port: 0 }
providers:
  b: { type: openai-compatible, base_url: "${upstream.baseUrl}" }
logging: { level: silent }
`;
  built = await buildApp({ config: parseConfigText(yaml, "host-refusal.yaml", {}) });
  await built.app.listen({ host: "127.0.0.1", port: 0 });
  port = (built.app.server.address() as AddressInfo).port;
});

afterAll(async () => {
  await built?.app.close();
  await upstream?.close();
});

describe("auth off: an HTTP/2 stream reset as it opens, addressed to another host", () => {
  it("does not crash the gateway, whatever the path and reset code", async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on("uncaughtException", onUncaught);
    try {
      const paths = ["/v1/models", "/v1/chat/completions", "/switchyard.v1.ChatService/Chat", "/switchyard.v1.ModelService/ListModels"];
      const codes = [http2.constants.NGHTTP2_INTERNAL_ERROR, http2.constants.NGHTTP2_CANCEL, http2.constants.NGHTTP2_PROTOCOL_ERROR];
      for (const path of paths) {
        for (const code of codes) {
          // A fresh session: the HEADERS frame and the reset leave in the same write.
          const session = http2.connect(`http://127.0.0.1:${port}`);
          session.on("error", () => undefined);
          const stream = session.request({ ":method": "POST", ":path": path, ":authority": "rebind.attacker.example", "content-type": "application/grpc" }, { endStream: false });
          stream.on("error", () => undefined);
          stream.close(code);
          await new Promise((resolve) => setTimeout(resolve, 40));
          session.destroy();
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off("uncaughtException", onUncaught);
    }
    expect(uncaught).toEqual([]);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
  });
});
