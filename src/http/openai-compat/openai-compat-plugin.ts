import type { FastifyInstance, FastifyReply } from "fastify";
import type { CallerAuthenticator } from "../../core/caller-auth.js";
import type { ModelInfo } from "../../../gen/switchyard/v1/model_service_pb.js";
import { GatewayError, invalidRequest, toGatewayError } from "../../core/errors.js";
import { answerChatCompletion, type ChatCompletionsDeps } from "./chat-completions.js";
import { toRestError } from "./error-response.js";
import { checkContentEncoding, decodeBodyText, INVALID_JSON, parseJsonText } from "./json-body.js";

/** What the REST front door needs: what answering a chat completion needs, and caller auth. */
export interface OpenAICompatOptions extends ChatCompletionsDeps {
  readonly authenticate: CallerAuthenticator;
  /** The answer to an unknown URL that another protocol answers in its own form (an RPC of a method not served), else undefined for the REST 404. */
  readonly foreignNotFound?: (path: string, contentType: string | undefined) => { status: number; headers: Readonly<Record<string, string>>; body: Uint8Array } | undefined;
}

declare module "fastify" {
  interface FastifyRequest {
    /** The name (never the secret) of the gateway key the request authenticated with; undefined when auth is off or has not run. */
    gatewayKeyName: string | undefined;
  }
}

/** A model as OpenAI's `/v1/models` endpoints describe one. */
function toOpenAIModel(model: ModelInfo): { id: string; object: "model"; created: number; owned_by: string } {
  return { id: model.id, object: "model", created: 0, owned_by: model.provider };
}

function sendError(reply: FastifyReply, error: GatewayError): FastifyReply {
  const rest = toRestError(error);
  return reply.code(rest.status).headers(rest.headers).send(rest.body);
}

/**
 * The OpenAI-compatible REST front door, as an encapsulated Fastify plugin: POST
 * /v1/chat/completions (JSON and SSE), GET /v1/models and GET /v1/models/{id}, bearer-key auth,
 * and every error (including Fastify's own body errors) in the OpenAI envelope. A thin translator: JSON -> proto,
 * the same Gateway core as gRPC, proto -> JSON/SSE.
 */
export async function openAICompatPlugin(app: FastifyInstance, options: OpenAICompatOptions): Promise<void> {
  const { gateway, authenticate, onError } = options;
  const deps: ChatCompletionsDeps = options;

  app.setErrorHandler((thrown: unknown, request, reply) => {
    const error = toGatewayError(thrown);
    const fastifyCode = (thrown as { code?: unknown }).code;
    const statusCode = (thrown as { statusCode?: unknown }).statusCode;
    if (error.reason === "INTERNAL_ERROR" && typeof statusCode === "number" && statusCode >= 400 && statusCode < 500) {
      const message = fastifyCode === "FST_ERR_CTP_BODY_TOO_LARGE" ? "Request body is too large."
        : fastifyCode === "FST_ERR_CTP_INVALID_JSON_BODY" || (thrown as Error).name === "SyntaxError" ? INVALID_JSON
        : fastifyCode === "FST_ERR_CTP_INVALID_MEDIA_TYPE" ? `Unsupported Content-Type '${request.headers["content-type"] ?? ""}': send the request body as JSON with 'Content-Type: application/json'.`
        : (thrown as Error).message;
      const code = statusCode === 413 ? "request_too_large" : statusCode === 415 ? "unsupported_media_type" : "invalid_request";
      return reply.code(statusCode).send({ error: { message, type: "invalid_request_error", param: null, code } });
    }
    onError(error, request.url, request.gatewayKeyName);
    return sendError(reply, error);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0] ?? "";
    const foreign = options.foreignNotFound?.(path, request.headers["content-type"]);
    if (foreign) return reply.code(foreign.status).headers(foreign.headers).send(Buffer.from(foreign.body));
    return reply.code(404).send({ error: { message: `Unknown request URL: ${request.method} ${path}.`, type: "invalid_request_error", param: null, code: "unknown_url" } });
  });

  // A primitive default: Fastify sets it in the request's constructor (no object per request).
  app.decorateRequest("gatewayKeyName", undefined);
  // Callback style: an async hook costs a promise and a microtask per request. Fastify's hook
  // runner turns a synchronous throw into the same error as a rejection.
  app.addHook("onRequest", (request, _reply, done) => {
    // An RPC of a method nobody serves is answered as such in its own protocol, key or not (as the HTTP/2 gRPC path does).
    if (!(request.is404 && options.foreignNotFound?.(request.url.split("?")[0] ?? "", request.headers["content-type"]))) request.gatewayKeyName = authenticate(request.headers.authorization);
    done();
  });

  // Fastify's own JSON parser replaced (in this plugin only) by the raw route's decoding: the
  // declared charset honoured, invalid UTF-8 refused instead of replaced, content codings refused.
  app.removeContentTypeParser("application/json");
  // Fastify's text/plain parser would hand the JSON route a string; like any type but JSON it is a 415.
  app.removeContentTypeParser("text/plain");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request, body, done) => {
    let text: string;
    try {
      checkContentEncoding(request.headers["content-encoding"]);
      text = decodeBodyText(body as Buffer, request.headers["content-type"]);
    } catch (thrown) {
      done(thrown as Error);
      return;
    }
    if (text.length === 0) return done(invalidRequest("The request body is empty. Send a JSON object."));
    try {
      done(null, parseJsonText(text));
    } catch (thrown) {
      // A GatewayError says what is wrong (a body nested too deep); anything else is JSON that does not parse.
      done(thrown instanceof GatewayError ? thrown : invalidRequest(INVALID_JSON));
    }
  });

  app.get("/v1/models", async () => ({ object: "list", data: gateway.listModels().map(toOpenAIModel) }));

  // Model ids contain "/" (`<account>/<model>`): the OpenAI SDKs send it encoded (%2F), curl as is.
  app.get("/v1/models/*", async (request) => toOpenAIModel(gateway.describeModel((request.params as { "*": string })["*"])));

  // The same handler as the raw route (raw-chat-route.ts), for what that route leaves to Fastify
  // (chunked uploads, HTTP/2, app.inject): the body arrives parsed, the answer goes to the raw response.
  app.post("/v1/chat/completions", (request, reply) => {
    reply.hijack();
    return answerChatCompletion(deps, request.body, request.headers, reply.raw, request.url, request.gatewayKeyName);
  });
}
