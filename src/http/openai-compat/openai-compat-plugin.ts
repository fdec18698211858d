import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import type { CallerAuthenticator } from "../../core/caller-auth.js";
import { toGatewayError, type GatewayError } from "../../core/errors.js";
import { LightAbort } from "../../core/light-abort.js";
import type { Gateway } from "../../core/gateway.js";
import { parseCallerTimeout } from "../../core/routing/request-scope.js";
import { OpenAIChunkEncoder, toOpenAICompletion } from "./from-proto.js";
import { SseWriter } from "./sse-writer.js";
import { toProtoChatRequest } from "./to-proto.js";
import { routeHeaders } from "../../server/route-headers.js";
import { toRestError } from "./error-response.js";

/** What the REST front door needs. */
export interface OpenAICompatOptions {
  readonly gateway: Gateway;
  readonly authenticate: CallerAuthenticator;
  /** Called once per error answered (the edge's one log line per error). */
  readonly onError: (error: GatewayError, request: FastifyRequest) => void;
}

/** The abort reason when the client goes away (shared: a DOMException captures a stack). */
const CLIENT_GONE = new DOMException("the client closed the connection", "AbortError");

/** Aborts when the client goes away before the gateway ended the response (toolchain.md trap 12). */
function clientSignal(reply: FastifyReply, endedByServer: () => boolean): LightAbort {
  const controller = new LightAbort();
  reply.raw.on("close", () => {
    if (!endedByServer()) controller.abort(CLIENT_GONE);
  });
  return controller;
}

function sendError(reply: FastifyReply, error: GatewayError): FastifyReply {
  const rest = toRestError(error);
  return reply.code(rest.status).headers(rest.headers).send(rest.body);
}

/**
 * The OpenAI-compatible REST front door, as an encapsulated Fastify plugin: POST
 * /v1/chat/completions (JSON and SSE) and GET /v1/models, bearer-key auth, and every error
 * (including Fastify's own body errors) in the OpenAI envelope. A thin translator: JSON -> proto,
 * the same Gateway core as gRPC, proto -> JSON/SSE.
 */
export async function openAICompatPlugin(app: FastifyInstance, options: OpenAICompatOptions): Promise<void> {
  const { gateway, authenticate, onError } = options;

  app.setErrorHandler((thrown: unknown, request, reply) => {
    const error = toGatewayError(thrown);
    const fastifyCode = (thrown as { code?: unknown }).code;
    const statusCode = (thrown as { statusCode?: unknown }).statusCode;
    if (error.reason === "INTERNAL_ERROR" && typeof statusCode === "number" && statusCode >= 400 && statusCode < 500) {
      const message = fastifyCode === "FST_ERR_CTP_BODY_TOO_LARGE" ? "Request body is too large." : fastifyCode === "FST_ERR_CTP_INVALID_JSON_BODY" || (thrown as Error).name === "SyntaxError" ? "We could not parse the JSON body of your request. Send valid JSON." : (thrown as Error).message;
      const code = statusCode === 413 ? "request_too_large" : statusCode === 415 ? "unsupported_media_type" : "invalid_request";
      return reply.code(statusCode).send({ error: { message, type: "invalid_request_error", param: null, code } });
    }
    onError(error, request);
    return sendError(reply, error);
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: { message: `Unknown request URL: ${request.method} ${request.url.split("?")[0]}.`, type: "invalid_request_error", param: null, code: "unknown_url" } });
  });

  // Callback style: an async hook costs a promise and a microtask per request. Fastify's hook
  // runner turns a synchronous throw into the same error as a rejection.
  app.addHook("onRequest", (request, _reply, done) => {
    authenticate(request.headers.authorization);
    done();
  });

  app.get("/v1/models", async () => ({
    object: "list",
    data: gateway.listModels().map((model) => ({ id: model.id, object: "model", created: 0, owned_by: model.provider })),
  }));

  app.post("/v1/chat/completions", async (request, reply) => {
    const parsed = toProtoChatRequest(request.body);
    const timeoutMs = parseCallerTimeout(request.headers["x-switchyard-timeout"]);
    if (!parsed.stream) {
      let answered = false;
      const controller = clientSignal(reply, () => answered);
      const response = await gateway.chat(parsed.input, { signal: controller, timeoutMs });
      answered = true;
      reply.headers(routeHeaders(response.model, response.provider, response.route, response.warnings));
      return reply.send(toOpenAICompletion(response));
    }
    return streamAnswer(request, reply, parsed.input, parsed.includeUsage, timeoutMs);
  });

  async function streamAnswer(request: FastifyRequest, reply: FastifyReply, input: Parameters<Gateway["chatStream"]>[0], includeUsage: boolean, timeoutMs: number | undefined): Promise<FastifyReply | undefined> {
    let writer: SseWriter | undefined;
    const controller = clientSignal(reply, () => writer?.endedByServer ?? false);
    const events = gateway.chatStream(input, { signal: controller, timeoutMs });
    let first: IteratorResult<ChatStreamResponse>;
    try {
      first = await events.next();
    } catch (thrown) {
      const error = toGatewayError(thrown);
      onError(error, request);
      return sendError(reply, error);
    }
    reply.hijack();
    writer = new SseWriter(reply.raw);
    const encoder = new OpenAIChunkEncoder(includeUsage);
    const start = first.done ? undefined : first.value.event;
    const headers = start?.case === "responseStart" ? routeHeaders(start.value.model, start.value.provider, start.value.route, start.value.warnings) : {};
    writer.open(headers, request.raw.httpVersionMajor === 2);
    try {
      // writer.data returns a promise only under back-pressure: no await (and no microtask hop) per frame otherwise.
      if (!first.done) for (const chunk of encoder.encode(first.value)) await writer.data(chunk);
      for (;;) {
        const next = await events.next();
        if (next.done) break;
        for (const chunk of encoder.encode(next.value)) {
          const drained = writer.data(chunk);
          if (drained) await drained;
        }
      }
      writer.done();
    } catch (thrown) {
      const error = toGatewayError(thrown);
      onError(error, request);
      if (!controller.aborted) writer.error(toRestError(error).body);
    }
    return undefined;
  }
}
