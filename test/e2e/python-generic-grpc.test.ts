/**
 * The protos as another team uses them without our stub generator: message classes from plain
 * `protoc --python_out` (no grpc plugin), methods called by name through grpcio's generic API
 * (test/python/generic_client.py), against a real listening gateway and an emulated upstream.
 * Every error reaches it as the gRPC status of its reason, with the ErrorDetail decodable from
 * grpc-status-details-bin with the proto's ErrorDetail, and the route metadata on success.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp, type BuiltApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
/** Debian's interpreter, which has python3-grpcio and python3-protobuf. */
const PYTHON = "/usr/bin/python3";
const KEY = "sy-python-generic-key-0123456789";

interface Outcome {
  code: string;
  message?: string;
  details?: { reason: string; param: string; provider: string; upstream_status: number; retry_after_ms: number }[];
  metadata?: Record<string, string>;
  kinds?: string[];
  model?: string;
}
interface Report {
  calls: Record<string, { chat: Outcome; stream: Outcome }>;
  list_models: Outcome & { ids?: string[] };
}

const chunk = (delta: object, finish: string | null) => `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const SSE = chunk({ role: "assistant", content: "Hello" }, null) + chunk({}, "stop") + "data: [DONE]\n\n";
const ANSWER = JSON.stringify({ id: "c", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "Hello" }, finish_reason: "stop" }] });

/** The upstream: model `e429`, `e401`, … answer that error; anything else answers "Hello". */
function answer(model: string, streaming: boolean, response: http.ServerResponse): void {
  const error = (status: number, message: string, code: string | null, headers: Record<string, string> = {}) => {
    response.writeHead(status, { "content-type": "application/json", ...headers });
    response.end(JSON.stringify({ error: { message, type: "invalid_request_error", param: null, code } }));
  };
  if (model === "e429") return error(429, "slow down", "rate_limit_exceeded", { "retry-after": "7" });
  if (model === "e401") return error(401, "bad key", "invalid_api_key");
  if (model === "e404") return error(404, "no such model", "model_not_found");
  if (model === "ectx") return error(400, "maximum context length is 10 tokens", "context_length_exceeded");
  if (model === "e503") return error(503, "down", null);
  if (model === "garbage") {
    response.writeHead(200, { "content-type": streaming ? "text/event-stream" : "application/json" });
    return void response.end(streaming ? "data: {not json\n\n" : "{not json");
  }
  response.writeHead(200, { "content-type": streaming ? "text/event-stream" : "application/json" });
  response.end(streaming ? SSE : ANSWER);
}

let upstream: http.Server;
let genDir: string;
const gateways: BuiltApp[] = [];

async function startGateway(keys: string): Promise<number> {
  const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
  const yaml = `server: { host: 127.0.0.1, port: 0 }\n${keys}\nproviders:\n  up: { type: openai-compatible, base_url: "${base}" }\nrouting:\n  retry: { max_retries: 0 }\nlogging: { level: silent }\n`;
  const built = await buildApp({ config: parseConfigText(yaml, "python-generic.yaml", {}) });
  gateways.push(built);
  await built.app.listen({ host: "127.0.0.1", port: 0 });
  return (built.app.server.address() as AddressInfo).port;
}

async function client(port: number, key: string, models: string[], authority?: string): Promise<Report> {
  const args = [join(ROOT, "test/python/generic_client.py"), "--gen", genDir, "--target", `127.0.0.1:${port}`, "--key", key, "--models", models.join(","), ...(authority ? ["--authority", authority] : [])];
  const { stdout } = await run(PYTHON, args, { timeout: 60_000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" } });
  return JSON.parse(stdout) as Report;
}

beforeAll(async () => {
  genDir = mkdtempSync(join(tmpdir(), "switchyard-python-plain-"));
  const protos = readdirSync(join(ROOT, "proto/switchyard/v1")).filter((name) => name.endsWith(".proto")).map((name) => `switchyard/v1/${name}`);
  await run("protoc", ["-I", join(ROOT, "proto"), `--python_out=${genDir}`, ...protos]).catch((error: Error) => {
    throw new Error(`protoc is needed (apt-get install protobuf-compiler libprotobuf-dev): ${error.message}`);
  });
  upstream = http.createServer((request, response) => {
    let text = "";
    request.on("data", (piece: Buffer) => (text += piece.toString()));
    request.on("end", () => {
      const body = JSON.parse(text) as { model: string; stream?: boolean };
      answer(body.model, body.stream === true, response);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
}, 60_000);

afterAll(async () => {
  for (const built of gateways) await built.app.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
  if (genDir) rmSync(genDir, { recursive: true, force: true });
});

describe("grpcio's generic API with plain protoc --python_out messages", () => {
  it("gets answers with route metadata, and every error as its status with a decodable ErrorDetail", async () => {
    const port = await startGateway(`keys:\n  - { name: t, key: "${KEY}" }`);
    const longName = `up/${"z".repeat(300)}`;
    const report = await client(port, KEY, ["up/m", "up/e429", "up/e401", "up/e404", "up/ectx", "up/e503", "up/garbage", "nope/x", longName]);
    const route = { "x-switchyard-model": "up/m", "x-switchyard-provider": "up", "x-switchyard-attempts": "1" };
    expect(report.calls["up/m"]).toEqual({
      chat: { code: "OK", model: "up/m", metadata: route },
      stream: { code: "OK", kinds: ["response_start", "text_delta", "finish", "usage", "route_summary"], metadata: route },
    });
    const expected: Record<string, [string, string, string, number]> = {
      "up/e429": ["RESOURCE_EXHAUSTED", "RATE_LIMIT_EXCEEDED", "", 429],
      "up/e401": ["INTERNAL", "PROVIDER_AUTH_FAILED", "", 401],
      "up/e404": ["NOT_FOUND", "MODEL_NOT_FOUND", "", 404],
      "up/ectx": ["INVALID_ARGUMENT", "CONTEXT_LENGTH_EXCEEDED", "", 400],
      "up/e503": ["UNAVAILABLE", "PROVIDER_UNAVAILABLE", "", 503],
      "up/garbage": ["INTERNAL", "INVALID_PROVIDER_RESPONSE", "", 200],
      "nope/x": ["NOT_FOUND", "MODEL_NOT_FOUND", "model", 0],
      [longName]: ["INVALID_ARGUMENT", "INVALID_REQUEST", "model", 0],
    };
    for (const [model, [code, reason, param, upstreamStatus]] of Object.entries(expected)) {
      for (const call of ["chat", "stream"] as const) {
        const seen = report.calls[model]?.[call];
        // upstream_status on Chat only: a stream event that is not JSON comes after the 200, and names none.
        const status = (detail: { upstream_status: number }) => (call === "chat" ? { upstream_status: detail.upstream_status } : {});
        expect({ model, call, code: seen?.code, details: seen?.details?.map((detail) => ({ reason: detail.reason, param: detail.param, ...status(detail) })) }).toEqual({
          model, call, code, details: [{ reason, param, ...status({ upstream_status: upstreamStatus }) }],
        });
      }
    }
    expect(report.calls["up/e429"]?.chat.details?.[0]?.retry_after_ms).toBe(7000);
    // The error's trailers: Retry-After and the route it took (one attempt, no retry within the budget).
    expect(report.calls["up/e429"]?.chat.metadata).toEqual({ "retry-after": "7", "x-switchyard-attempts": "1", "x-switchyard-failed": "up/e429 rate_limit_exceeded" });
    expect(report.list_models).toMatchObject({ code: "OK", ids: [] });

    const noKey = await client(port, "", ["up/m"]);
    expect(noKey.calls["up/m"]?.chat).toMatchObject({ code: "UNAUTHENTICATED", details: [{ reason: "INVALID_API_KEY" }] });
    expect(noKey.list_models).toMatchObject({ code: "UNAUTHENTICATED", details: [{ reason: "INVALID_API_KEY" }] });
  }, 90_000);

  it("auth off and another :authority: PERMISSION_DENIED with the gateway's message and ErrorDetail on every method", async () => {
    const port = await startGateway("");
    const report = await client(port, "", ["up/m"], "rebind.attacker.example");
    for (const seen of [report.calls["up/m"]?.chat, report.calls["up/m"]?.stream, report.list_models]) {
      expect(seen).toMatchObject({ code: "PERMISSION_DENIED", details: [{ reason: "PERMISSION_DENIED" }] });
      expect(seen?.message).toMatch(/no API keys configured/);
    }
    const local = await client(port, "", ["up/m"], `localhost:${port}`);
    expect(local.calls["up/m"]?.chat.code).toBe("OK");
  }, 90_000);
});
