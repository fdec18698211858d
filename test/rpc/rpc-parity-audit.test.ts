/**
 * The typed front doors against REST, with real clients and a real listening gateway in front of
 * an emulated OpenAI-compatible upstream: for each upstream fault and input bound, every protocol
 * (gRPC on the fast path and through Connect's handler, Connect binary and JSON over HTTP/1.1 and
 * HTTP/2, gRPC-Web) answers Chat and ChatStream with the status and ErrorDetail of the same reason
 * REST gives, the same message and param, and the same route metadata on success.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import zlib from "node:zlib";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { compressionGzip, createConnectTransport, createGrpcTransport, createGrpcWebTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/switchyard/v1/chat_pb.js";
import { ChatRequestSchema, ChatService, ChatStreamRequestSchema } from "../../gen/switchyard/v1/chat_service_pb.js";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/error_pb.js";
import { buildApp, type BuiltApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";

const KEY = "sy-parity-key-0123456789";
const UPSTREAM_KEY = "sk-parity-upstream-SECRET-0123456789abcdef";

type Answer = (url: string, streaming: boolean, response: http.ServerResponse) => void;

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Answer => (_url, _streaming, response) => {
  response.writeHead(status, { "content-type": "application/json", ...headers });
  response.end(typeof body === "string" ? body : JSON.stringify(body));
};
const openAIError = (status: number, message: string, type: string, code: string | null, headers: Record<string, string> = {}) => json(status, { error: { message, type, param: null, code } }, headers);

const chunk = (delta: object, finish: string | null) => `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const SSE = chunk({ role: "assistant", content: "Hello" }, null) + chunk({}, "stop") + "data: [DONE]\n\n";
const JSON_ANSWER = JSON.stringify({ id: "c", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "Hello" }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
const ok: Answer = (_url, streaming, response) => {
  response.writeHead(200, { "content-type": streaming ? "text/event-stream" : "application/json" });
  response.end(streaming ? SSE : JSON_ANSWER);
};

/** What upstream model `m-<scenario>` answers (account `up`; account `alt` always answers). */
const SCENARIOS: Record<string, Answer> = {
  ok,
  garbage: (_url, streaming, response) => {
    response.writeHead(200, { "content-type": streaming ? "text/event-stream" : "application/json" });
    response.end(streaming ? "data: {not json\n\n" : "<html>oops</html>");
  },
  gzip: (_url, streaming, response) => {
    response.writeHead(200, { "content-type": streaming ? "text/event-stream" : "application/json", "content-encoding": "gzip" });
    response.end(zlib.gzipSync(streaming ? SSE : JSON_ANSWER));
  },
  zstd: (_url, streaming, response) => {
    response.writeHead(200, { "content-type": streaming ? "text/event-stream" : "application/json", "content-encoding": "zstd" });
    response.end("not zstd either");
  },
  gone: openAIError(404, "The model does not exist", "invalid_request_error", "model_not_found"),
  limited: openAIError(429, "Rate limit reached", "requests", "rate_limit_exceeded", { "retry-after": "30" }),
  badkey: openAIError(401, `Incorrect API key provided: ${UPSTREAM_KEY}`, "invalid_request_error", "invalid_api_key"),
  context: openAIError(400, "This model's maximum context length is 8192 tokens.", "invalid_request_error", "context_length_exceeded"),
  echo: openAIError(400, `bad ${encodeURIComponent(UPSTREAM_KEY)} / ${UPSTREAM_KEY.replace(/-/g, "\\u002d")} / ${Buffer.from(UPSTREAM_KEY).toString("base64")}`, "invalid_request_error", `x${UPSTREAM_KEY}`),
  down: openAIError(503, "down", "server_error", null),
};

let built: BuiltApp;
let upstream: http.Server;
let origin: string;
const managers: Http2SessionManager[] = [];
const clients: Record<string, Client<typeof ChatService>> = {};

beforeAll(async () => {
  upstream = http.createServer((request, response) => {
    let text = "";
    request.on("data", (piece: Buffer) => (text += piece.toString()));
    request.on("end", () => {
      const body = JSON.parse(text) as { model: string; stream?: boolean };
      const scenario = request.url?.startsWith("/alt/") ? ok : SCENARIOS[body.model.replace(/^m-/, "")] ?? ok;
      scenario(request.url ?? "", body.stream === true, response);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const yaml = `server: { host: 127.0.0.1, port: 0 }
keys:
  - { name: t, key: "${KEY}" }
providers:
  up: { type: openai-compatible, base_url: "${base}/up/v1", api_key: "${UPSTREAM_KEY}" }
  alt: { type: openai-compatible, base_url: "${base}/alt/v1" }
routing:
  retry: { max_retries: 1, base_delay_ms: 5, max_delay_ms: 10, budget_ms: 1000 }
  circuit_breaker: { failure_threshold: 1000, cooldown_ms: 300 }
logging: { level: silent }
`;
  built = await buildApp({ config: parseConfigText(yaml, "parity.yaml", {}) });
  await built.app.listen({ host: "127.0.0.1", port: 0 });
  origin = `http://127.0.0.1:${(built.app.server.address() as AddressInfo).port}`;
  const session = () => {
    const manager = new Http2SessionManager(origin);
    managers.push(manager);
    return manager;
  };
  const transports: Record<string, Transport> = {
    "gRPC fast path": createGrpcTransport({ baseUrl: origin, sessionManager: session() }),
    "gRPC via Connect (gzip)": createGrpcTransport({ baseUrl: origin, sessionManager: session(), sendCompression: compressionGzip, compressMinBytes: 0 }),
    "Connect binary h1": createConnectTransport({ baseUrl: origin, httpVersion: "1.1" }),
    "Connect JSON h1": createConnectTransport({ baseUrl: origin, httpVersion: "1.1", useBinaryFormat: false }),
    "Connect h2": createConnectTransport({ baseUrl: origin, httpVersion: "2", sessionManager: session() }),
    "gRPC-Web h1": createGrpcWebTransport({ baseUrl: origin, httpVersion: "1.1" }),
  };
  for (const [name, transport] of Object.entries(transports)) clients[name] = createClient(ChatService, transport);
});

afterAll(async () => {
  for (const manager of managers) manager.abort();
  await built?.app.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

/** What a caller can compare across protocols. */
interface Seen {
  readonly outcome: string;
  readonly reason?: string;
  readonly param?: string;
  readonly message?: string;
  readonly retryAfter?: string;
  readonly model?: string;
  readonly failed?: string;
}

const auth = { authorization: `Bearer ${KEY}` };

async function restCall(model: string, fallbacks: string[], stream: boolean): Promise<Seen> {
  const response = await fetch(`${origin}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...auth },
    body: JSON.stringify({ model, fallbacks, stream, messages: [{ role: "user", content: "hi" }] }),
  });
  const text = await response.text();
  if (response.status === 200) return { outcome: "ok", model: response.headers.get("x-switchyard-model") ?? "", failed: response.headers.get("x-switchyard-failed") ?? "" };
  const error = (JSON.parse(text) as { error: { code: string; param: string | null; message: string } }).error;
  return { outcome: "error", reason: error.code.toUpperCase(), param: error.param ?? "", message: error.message, retryAfter: response.headers.get("retry-after") ?? "" };
}

async function rpcCall(client: Client<typeof ChatService>, model: string, fallbacks: string[], stream: boolean): Promise<Seen & { code?: Code; providerInDetail?: string }> {
  const input = { model, fallbacks, messages: [{ role: Role.USER, content: [{ part: { case: "text" as const, value: "hi" } }] }] };
  const headers = new Headers();
  const keep = (received: Headers) => received.forEach((value, name) => headers.set(name, value));
  try {
    if (stream) {
      for await (const _event of client.chatStream(create(ChatStreamRequestSchema, { input }), { headers: auth, onHeader: keep, onTrailer: keep })) {
        // the events are compared elsewhere; the route metadata is what matters here
      }
    } else {
      await client.chat(create(ChatRequestSchema, { input }), { headers: auth, onHeader: keep });
    }
    return { outcome: "ok", model: headers.get("x-switchyard-model") ?? "", failed: headers.get("x-switchyard-failed") ?? "" };
  } catch (thrown) {
    const error = ConnectError.from(thrown);
    const detail = error.findDetails(ErrorDetailSchema)[0];
    return { outcome: "error", code: error.code, reason: detail?.reason ?? "(no ErrorDetail)", param: detail?.param ?? "", message: error.rawMessage, retryAfter: error.metadata.get("retry-after") ?? "", providerInDetail: detail?.provider ?? "" };
  }
}

/** The gRPC code of each reason (README, Errors). */
const CODE_OF: Record<string, Code> = {
  INVALID_PROVIDER_RESPONSE: Code.Internal,
  MODEL_NOT_FOUND: Code.NotFound,
  RATE_LIMIT_EXCEEDED: Code.ResourceExhausted,
  PROVIDER_AUTH_FAILED: Code.Internal,
  CONTEXT_LENGTH_EXCEEDED: Code.InvalidArgument,
  UPSTREAM_INVALID_REQUEST: Code.InvalidArgument,
  PROVIDER_UNAVAILABLE: Code.Unavailable,
  INVALID_REQUEST: Code.InvalidArgument,
};

const CASES: { name: string; model: string; fallbacks?: string[]; reason?: string; answeredBy?: string }[] = [
  { name: "a gzip-compressed answer", model: "up/m-gzip", answeredBy: "up/m-gzip" },
  { name: "a 200 that is not the API's answer", model: "up/m-garbage", reason: "INVALID_PROVIDER_RESPONSE" },
  { name: "a content-encoding the gateway cannot decode", model: "up/m-zstd", reason: "INVALID_PROVIDER_RESPONSE" },
  { name: "the provider's 404 for the model", model: "up/m-gone", reason: "MODEL_NOT_FOUND" },
  { name: "the provider's 404, with a fallback", model: "up/m-gone", fallbacks: ["alt/m"], answeredBy: "alt/m" },
  { name: "a 429 with Retry-After", model: "up/m-limited", reason: "RATE_LIMIT_EXCEEDED" },
  { name: "the gateway's provider key refused", model: "up/m-badkey", reason: "PROVIDER_AUTH_FAILED" },
  { name: "context length exceeded", model: "up/m-context", reason: "CONTEXT_LENGTH_EXCEEDED" },
  { name: "a 400 echoing the provider key in several encodings", model: "up/m-echo", reason: "UPSTREAM_INVALID_REQUEST" },
  { name: "a 503 after retries", model: "up/m-down", reason: "PROVIDER_UNAVAILABLE" },
  { name: "a model name over 256 characters", model: `up/${"x".repeat(257)}`, reason: "INVALID_REQUEST" },
  { name: "a fallback name over 256 characters", model: "up/m", fallbacks: [`alt/${"y".repeat(300)}`], reason: "INVALID_REQUEST" },
  { name: "an unknown account", model: "nope/m", reason: "MODEL_NOT_FOUND" },
];

describe.each(CASES)("$name: every protocol as REST", ({ model, fallbacks = [], reason, answeredBy }) => {
  it.each([false, true])("streaming %s", async (stream) => {
    const rest = await restCall(model, fallbacks, stream);
    if (reason) expect(rest).toMatchObject({ outcome: "error", reason });
    else expect(rest).toMatchObject({ outcome: "ok", model: answeredBy });
    for (const [name, client] of Object.entries(clients)) {
      const seen = await rpcCall(client, model, fallbacks, stream);
      const { code, providerInDetail, ...comparable } = seen;
      expect({ name, ...comparable }).toEqual({ name, ...rest });
      if (reason) {
        expect({ name, code }).toEqual({ name, code: CODE_OF[reason] });
        if (model.startsWith("up/m-")) expect({ name, providerInDetail }).toEqual({ name, providerInDetail: "up" });
      }
    }
    if (model === "up/m-echo") {
      expect(rest.message).not.toContain("SECRET");
      expect(rest.message).not.toContain(Buffer.from(UPSTREAM_KEY).toString("base64").slice(0, 20));
    }
  });
});
