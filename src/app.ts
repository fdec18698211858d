import type http from "node:http";
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import type { GatewayConfig } from "./config/gateway-config.js";
import { createCallerAuthenticator, createHostCheck } from "./core/caller-auth.js";
import { Gateway } from "./core/gateway.js";
import { ModelCatalog } from "./core/model-catalog.js";
import { openAICompatPlugin } from "./http/openai-compat/openai-compat-plugin.js";
import { toRestError } from "./http/openai-compat/error-response.js";
import { createFastChatRoute, createRawChatRoute, RAW_CHAT_PATH, type RawChatRouteOptions } from "./http/openai-compat/raw-chat-route.js";
import type { ProviderAdapter } from "./providers/provider-adapter.js";
import { ADAPTER_FACTORIES } from "./providers/registry.js";
import { createUndiciTransport, type UpstreamTransport } from "./providers/upstream-http.js";
import { connectInterceptors, connectRoutes } from "./rpc/connect-routes.js";
import { capDeadlineHeaders, deadlineOfHeaders } from "./rpc/deadline-headers.js";
import { createGrpcChat } from "./rpc/grpc-chat.js";
import { lateUploadAnswer, rpcErrorAnswer, unknownMethodAnswer } from "./rpc/rpc-refusal.js";
import { corsAnswerHeaders, corsHook, corsPreflightHeaders } from "./server/cors.js";
import { RequestLog, withCause } from "./server/request-log.js";
import type { HostCheckedRequest, HostRefusal } from "./server/host-refusal.js";
import { createOnePortServer, type DualHandler } from "./server/one-port-server.js";

/** What buildApp needs; tests inject a transport to replay or fake upstreams. */
export interface AppDependencies {
  readonly config: GatewayConfig;
  readonly transport?: UpstreamTransport;
  /** Where log lines go instead of stdout (tests read them). */
  readonly logStream?: { write(line: string): void };
}

/** A built gateway: the Fastify app (not listening yet) and its core. */
export interface BuiltApp {
  readonly app: FastifyInstance;
  readonly gateway: Gateway;
  /** Marks the app as draining: /readyz answers 503 from then on. */
  startDraining(): void;
}

/** Fails a route that declares a JSON schema: Switchyard's translators validate every field themselves. */
function noSchemaCompiler(): never {
  throw new Error("Switchyard routes declare no JSON schemas: the translators validate every field (src/app.ts)");
}

/**
 * Fastify's schema compilers, replaced: no route declares a schema, so Fastify's defaults (Ajv with
 * its formats, and fast-json-stringify) would only be loaded, never used: about 4.5 MB of idle heap
 * (bench/PROFILE.md). A route that ever declares a schema fails at start-up, not silently.
 */
const NO_SCHEMA_COMPILERS = { buildValidator: () => noSchemaCompiler, buildSerializer: () => noSchemaCompiler };

/** Creates one adapter per configured account through the registry. */
export function createAdapters(config: GatewayConfig, transport: UpstreamTransport): Map<string, ProviderAdapter> {
  const adapters = new Map<string, ProviderAdapter>();
  for (const account of Object.values(config.providers)) {
    const factory = ADAPTER_FACTORIES[account.type];
    if (!factory) throw new Error(`provider account "${account.name}": type "${account.type}" has no adapter`);
    adapters.set(account.name, factory({ account, transport, config }));
  }
  return adapters;
}

/** The account part of a target id ("<account>/<model>"). */
function accountOf(target: string): string {
  const slash = target.indexOf("/");
  return slash === -1 ? target : target.slice(0, slash);
}

/**
 * Builds the gateway app: one Fastify instance on the one-port server factory (HTTP/1.1 and h2c),
 * serving the OpenAI REST routes, the Connect/gRPC/gRPC-Web services, /healthz and /readyz.
 * Both front doors share one Gateway core. Does not listen.
 */
export async function buildApp(dependencies: AppDependencies): Promise<BuiltApp> {
  const { config } = dependencies;
  const transport = dependencies.transport ?? createUndiciTransport();
  const log = new RequestLog(() => app.log, config.logging);
  const gateway = new Gateway(new ModelCatalog(config, createAdapters(config, transport)), {
    // Sampled per account, not per target: callers choose the model part freely, and one key per name would let them bypass the sampling.
    onAttemptFailed: (report) => log.line("warn", `attempt ${accountOf(report.target)} ${report.error.reason}`, withCause({ target: report.target, keyName: report.keyName, attempt: report.attempt, reason: report.error.reason, upstreamStatus: report.error.facts.upstreamStatus, next: report.action, retryInMs: report.retryInMs, why: report.why }, report.error), `upstream attempt failed: ${report.error.rawMessage}`),
    onUsage: (record) => { if (record.partial) log.line("info", `cancel ${accountOf(record.target)}`, { target: record.target, keyName: record.keyName, usage: record.usage && { prompt: record.usage.promptTokens, completion: record.usage.completionTokens }, estimated: record.estimated }, "caller canceled; partial usage recorded"); },
    onCircuitChange: (target, state) => app.log.warn({ target, state }, `circuit ${state}`),
  });
  const authenticate = createCallerAuthenticator(config.keys);
  const hostCheck = createHostCheck(config.keys);
  // A refused RPC is answered in its own protocol (status, message, ErrorDetail), anything else in the OpenAI envelope.
  // The refusal comes before the CORS hook, so it carries the CORS headers itself; and a preflight from an allowed
  // origin (which carries no data either way) is answered as the hook answers it, so that a browser from that
  // origin goes on to the request itself and is shown its 403, not a CORS failure.
  const corsHeaders = config.server.cors ? corsAnswerHeaders(config.server.cors) : undefined;
  const corsPreflight = config.server.cors ? corsPreflightHeaders(config.server.cors) : undefined;
  const refuseHost = hostCheck && ((authority: string | undefined, request: HostCheckedRequest): HostRefusal | undefined => {
    const error = hostCheck(authority);
    if (!error) return undefined;
    const preflight = corsPreflight?.(request.method, request.headers);
    if (preflight) return { status: 204, headers: preflight, body: new Uint8Array(0) };
    const onSent = () => log.error(error, "(host check)", undefined);
    const origin = request.headers.origin;
    const rpc = rpcErrorAnswer(request.path, request.headers["content-type"], error);
    if (rpc) return { ...rpc, headers: { ...rpc.headers, ...corsHeaders?.(origin) }, onSent };
    const rest = toRestError(error);
    return { status: rest.status, headers: { "content-type": "application/json", ...corsHeaders?.(origin) }, body: Buffer.from(JSON.stringify(rest.body)), onSent };
  });
  let draining = false;
  const rawRouteOptions: RawChatRouteOptions = { gateway, authenticate, streamKeepAliveMs: config.server.streamKeepAliveMs, bodyLimitBytes: config.server.bodyLimitBytes, closing: () => !app.server.listening, leavesBrowsers: config.server.cors !== undefined, onError: (error, url, keyName) => log.error(error, url, keyName) };
  const rawChatRoute = createRawChatRoute(rawRouteOptions);
  const fastPath = { path: RAW_CHAT_PATH, take: createFastChatRoute(rawRouteOptions), bodyLimitBytes: config.server.bodyLimitBytes };
  const grpcChat = createGrpcChat({ gateway, authenticate, readMaxBytes: config.server.bodyLimitBytes, onError: (error, procedure, keyName) => log.error(error, procedure, keyName) });
  const app: FastifyInstance = Fastify({
    logger: config.logging.level === "silent" ? false : { level: config.logging.level, ...(dependencies.logStream ? { stream: dependencies.logStream } : {}) },
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.server.bodyLimitBytes,
    schemaController: { compilersFactory: NO_SCHEMA_COMPILERS },
    forceCloseConnections: "idle",
    return503OnClosing: true,
    // Fastify's own errors before routing (a URL with a malformed percent-escape) in the OpenAI envelope too, not Fastify's;
    // they come before the CORS hook, so they get its headers here.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const message = error.code === "FST_ERR_BAD_URL" ? "The request URL is not valid: it has a malformed percent-escape." : error.message;
      const cors = corsHeaders?.(request.headers.origin);
      if (cors) void reply.headers(cors);
      void reply.code(400).send({ error: { message, type: "invalid_request_error", param: null, code: "invalid_request" } });
    },
    // The one-port server is a net.Server that hands connections to inner http/http2 servers;
    // Fastify only needs listen/close and the close*Connections methods from it.
    serverFactory: (handler) => createOnePortServer(handler as unknown as DualHandler, { takeStream: grpcChat, takeRequest: rawChatRoute, fastPath, ...(refuseHost ? { refuseHost } : {}), ...(corsHeaders ? { corsHeaders } : {}), streamDeadline: deadlineOfHeaders, lateUpload: lateUploadAnswer }) as unknown as http.Server,
  });
  // Before every other hook: a preflight carries no credentials, and refusals need the CORS headers to be readable.
  if (config.server.cors) app.addHook("onRequest", corsHook(config.server.cors));
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => (draining ? reply.code(503).send({ status: "draining" }) : { status: "ready" }));
  // Errors of the RPC routes before Connect's handler runs, in Connect's own form: an unsupported
  // content-type is an empty 415 (as Connect answers one), not Fastify's JSON body.
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") return reply.code(415).send();
    throw error;
  });
  // Connect's handler cannot hold a deadline past the longest Node timer (see capDeadlineHeaders).
  app.addHook("onRequest", (request, _reply, done) => {
    capDeadlineHeaders(request.raw.headers);
    done();
  });
  await app.register(fastifyConnectPlugin, {
    routes: connectRoutes(gateway, (error, procedure) => log.error(error, procedure, undefined)),
    interceptors: connectInterceptors(authenticate, (error, procedure, keyName) => log.error(error, procedure, keyName)),
    readMaxBytes: config.server.bodyLimitBytes,
    // Connect's default ignores unknown JSON keys, and with them enum names the proto does not
    // define, which it reads as the zero value: a request silently changed. Refused instead.
    jsonOptions: { ignoreUnknownFields: false },
    grpcWeb: true,
    connect: true,
    grpc: true,
  });
  await app.register(openAICompatPlugin, { gateway, authenticate, streamKeepAliveMs: config.server.streamKeepAliveMs, onError: (error, url, keyName) => log.error(error, url, keyName), foreignNotFound: unknownMethodAnswer });
  app.addHook("onClose", async () => log.flush());
  return { app, gateway, startDraining: () => { draining = true; } };
}
