import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_RPC_MESSAGE_BYTES } from "../../src/rpc/rpc-error-message.js";
import { errorAnswer, jsonFixtureAnswer, longTextStreamAnswer, sseFixtureAnswer } from "../support/fake-upstream.js";
import { GATEWAY_KEY, MODEL, startGateway, type RunningGateway } from "./gateway-harness.js";

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
/** Debian's interpreter, which has python3-grpcio and python3-protobuf (a pyenv python3 on PATH may not). */
const PYTHON = "/usr/bin/python3";

/** What test/python/client.py prints. */
interface PythonReport {
  grpcio: string;
  temperature_has_presence: boolean;
  unary: { model: string; provider: string; text: string; finish_reason: string; usage: number[] };
  stream: { kinds: string[]; text: string; usage: number[] | null; route_model: string | null };
  cancel: { deltas_before_cancel: number; code: string | null };
  no_key: { code: string };
  unknown_model: { code: string; details?: { reason: string; param: string }[] };
  long_error: { code: string; message_bytes?: number; message_start?: string; details?: { reason: string; param: string }[] };
}

/**
 * Generates the Python stubs from proto/ the way other teams do (protoc + grpc_python_plugin,
 * see buf.gen.python.yaml). Missing tools are a test failure with the install line, never a skip.
 */
async function generatePythonStubs(outDir: string): Promise<void> {
  const missing: string[] = [];
  if (!existsSync(PYTHON)) missing.push(`${PYTHON} (apt-get install python3-grpcio python3-protobuf)`);
  for (const tool of ["protoc", "grpc_python_plugin"]) {
    try {
      await run("/bin/sh", ["-c", `command -v ${tool}`]);
    } catch {
      missing.push(`${tool} (apt-get install protobuf-compiler protobuf-compiler-grpc libprotobuf-dev)`);
    }
  }
  if (missing.length > 0) throw new Error(`the Python gRPC e2e test needs: ${missing.join("; ")}`);
  const { stdout: plugin } = await run("/bin/sh", ["-c", "command -v grpc_python_plugin"]);
  const protos = readdirSync(join(ROOT, "proto/switchyard/v1"))
    .filter((name) => name.endsWith(".proto"))
    .map((name) => `switchyard/v1/${name}`);
  await run("protoc", ["-I", join(ROOT, "proto"), `--python_out=${outDir}`, `--grpc_python_out=${outDir}`, `--plugin=protoc-gen-grpc_python=${plugin.trim()}`, ...protos]);
  await run(PYTHON, ["-c", "import grpc, google.protobuf"]).catch((error: Error) => {
    throw new Error(`${PYTHON} cannot import grpc/protobuf (apt-get install python3-grpcio python3-protobuf): ${error.message}`);
  });
}

describe("Python grpcio client generated from proto/", () => {
  let gateway: RunningGateway;
  let genDir: string;

  beforeAll(async () => {
    genDir = mkdtempSync(join(tmpdir(), "switchyard-python-"));
    await generatePythonStubs(genDir);
    gateway = await startGateway();
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    if (genDir) rmSync(genDir, { recursive: true, force: true });
  });

  it("generated stubs for every service", () => {
    const files = readdirSync(join(genDir, "switchyard/v1")).sort();
    expect(files).toEqual(expect.arrayContaining(["chat_pb2.py", "chat_service_pb2.py", "chat_service_pb2_grpc.py", "error_pb2.py", "model_service_pb2_grpc.py"]));
  });

  it("calls unary Chat, streams ChatStream, cancels a stream, and sees the right error codes", async () => {
    gateway.upstream.reset();
    gateway.upstream.enqueue(
      jsonFixtureAnswer("openai/chat-nonstream-text.json"),
      sseFixtureAnswer("openai/chat-stream-text-after-tool-result-include-usage.sse.txt", { chunkDelayMs: 2 }),
      longTextStreamAnswer(300, 20),
      // A provider validation error of 7,000 characters, with a 9,000-character code: grpcio refuses
      // response metadata over 8 KiB, and the message travels in it twice, the code in the
      // ErrorDetail (each reached this client as RESOURCE_EXHAUSTED).
      errorAnswer(400, { message: `Invalid schema for function 'f': ${"'foo' is not valid under any of the given schemas. ".repeat(140)}`, type: "invalid_request_error", code: `invalid_function_parameters.${"x".repeat(9000)}`, param: "tools" }),
    );
    const { stdout } = await run(PYTHON, [join(ROOT, "test/python/client.py"), "--gen", genDir, "--target", `127.0.0.1:${gateway.port}`, "--key", GATEWAY_KEY, "--model", MODEL], {
      timeout: 60_000,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: "1" },
    });
    const report = JSON.parse(stdout) as PythonReport;

    expect(report.temperature_has_presence).toBe(true);
    expect(report.unary).toMatchObject({ model: MODEL, provider: "openai-main", finish_reason: "FINISH_REASON_STOP", usage: [16, 363, 379] });
    expect(report.unary.text).toMatch(/^\*\*Holiday Name:\*\* Galaxy Day/);
    expect(report.stream).toEqual({
      kinds: ["response_start", "text_delta", "finish", "usage", "route_summary"],
      text: "The capital of the UK is London.",
      usage: [78, 9, 87],
      route_model: MODEL,
    });
    expect(report.cancel.code).toBe("CANCELLED");
    expect(report.cancel.deltas_before_cancel).toBeGreaterThanOrEqual(1);
    expect(report.cancel.deltas_before_cancel).toBeLessThan(100);
    expect(report.no_key.code).toBe("UNAUTHENTICATED");
    expect(report.unknown_model).toEqual({ code: "NOT_FOUND", details: [{ reason: "MODEL_NOT_FOUND", param: "model" }] });
    expect(report.long_error).toMatchObject({ code: "INVALID_ARGUMENT", message_start: "Invalid schema for function 'f': 'foo' i", details: [{ reason: "UPSTREAM_INVALID_REQUEST", param: "tools" }] });
    expect(report.long_error.message_bytes).toBeLessThanOrEqual(MAX_RPC_MESSAGE_BYTES);

    expect(gateway.upstream.requests).toHaveLength(4);
    const [unary, streamed, cancelled] = gateway.upstream.requests;
    // proto3 `optional` presence: temperature 0.0 set in Python reaches the upstream as 0.
    expect(unary?.body).toMatchObject({ model: "gpt-4o-mini", temperature: 0, messages: [{ role: "user", content: "Invent a holiday." }] });
    expect(streamed?.body).toMatchObject({ stream: true });
    await gateway.upstream.waitSettled(cancelled!, 3_000);
    expect(cancelled?.closedEarly).toBe(true);
    expect(cancelled?.chunksWritten).toBeLessThan(100);
  }, 90_000);
});
