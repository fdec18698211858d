import type http from "node:http";
import Fastify, { LogController, type FastifyInstance } from "fastify";
import { fastifyConnectPlugin } from "@connectrpc/connect-fastify";
import type { GatewayConfig } from "./config/gateway-config.js";
import { createCallerAuthenticator } from "./core/caller-auth.js";
import type { GatewayError } from "./core/errors.js";
import { Gateway } from "./core/gateway.js";
import { ModelCatalog } from "./core/model-catalog.js";
import { openAICompatPlugin } from "./http/openai-compat/openai-compat-plugin.js";
import { createRawChatRoute } from "./http/openai-compat/raw-chat-route.js";
import type { ProviderAdapter } from "./providers/provider-adapter.js";
import { ADAPTER_FACTORIES } from "./providers/registry.js";
import { createUndiciTransport, type UpstreamTransport } from "./providers/upstream-http.js";
import { connectInterceptors, connectRoutes } from "./rpc/connect-routes.js";
import { createGrpcChat } from "./rpc/grpc-chat.js";
import { createOnePortServer, type DualHandler } from "./server/one-port-server.js";

/** What buildApp needs; tests inject a transport to replay or fake upstreams. */
export interface AppDependencies {
  readonly config: GatewayConfig;
  readonly transport?: UpstreamTransport;
}

/** A built gateway: the Fastify app (not listening yet) and its core. */
export interface BuiltApp {
  readonly app: FastifyInstance;
  readonly gateway: Gateway;
  /** Marks the app as draining: /readyz answers 503 from then on. */
  startDraining(): void;
}

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

function logError(app: FastifyInstance, error: GatewayError, where: string): void {
  const fields = { reason: error.reason, code: error.code, where, provider: error.facts.provider, upstreamStatus: error.facts.upstreamStatus };
  if (error.reason === "INTERNAL_ERROR") app.log.error({ ...fields, cause: error.cause instanceof Error ? error.cause.stack : String(error.cause) }, error.rawMessage);
  else app.log.warn(fields, error.rawMessage);
}

/**
 * Builds the gateway app: one Fastify instance on the one-port server factory (HTTP/1.1 and h2c),
 * serving the OpenAI REST routes, the Connect/gRPC/gRPC-Web services, /healthz and /readyz.
 * Both front doors share one Gateway core. Does not listen.
 */
export async function buildApp(dependencies: AppDependencies): Promise<BuiltApp> {
  const { config } = dependencies;
  const transport = dependencies.transport ?? createUndiciTransport();
  const gateway = new Gateway(new ModelCatalog(config, createAdapters(config, transport)), {
    onAttemptFailed: (report) => app.log.warn({ target: report.target, attempt: report.attempt, reason: report.error.reason, upstreamStatus: report.error.facts.upstreamStatus, next: report.action, retryInMs: report.retryInMs, why: report.why }, `upstream attempt failed: ${report.error.rawMessage}`),
    onUsage: (record) => { if (record.partial) app.log.info({ target: record.target, usage: record.usage && { prompt: record.usage.promptTokens, completion: record.usage.completionTokens }, estimated: record.estimated }, "caller canceled; partial usage recorded"); },
    onCircuitChange: (target, state) => app.log.warn({ target, state }, `circuit ${state}`),
  });
  const authenticate = createCallerAuthenticator(config.keys);
  let draining = false;
  const rawChatRoute = createRawChatRoute({ gateway, authenticate, bodyLimitBytes: config.server.bodyLimitBytes, closing: () => !app.server.listening, onError: (error, url) => logError(app, error, url) });
  const grpcChat = createGrpcChat({ gateway, authenticate, readMaxBytes: config.server.bodyLimitBytes, onError: (error, procedure) => logError(app, error, procedure) });
  const app: FastifyInstance = Fastify({
    logger: config.logging.level === "silent" ? false : { level: config.logging.level },
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.server.bodyLimitBytes,
    forceCloseConnections: "idle",
    return503OnClosing: true,
    // The one-port server is a net.Server that hands connections to inner http/http2 servers;
    // Fastify only needs listen/close and the close*Connections methods from it.
    serverFactory: (handler) => createOnePortServer(handler as unknown as DualHandler, { takeStream: grpcChat, takeRequest: rawChatRoute }) as unknown as http.Server,
  });
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => (draining ? reply.code(503).send({ status: "draining" }) : { status: "ready" }));
  await app.register(fastifyConnectPlugin, {
    routes: connectRoutes(gateway),
    interceptors: connectInterceptors(authenticate, (error, procedure) => logError(app, error, procedure)),
    readMaxBytes: config.server.bodyLimitBytes,
    grpcWeb: true,
    connect: true,
    grpc: true,
  });
  await app.register(openAICompatPlugin, { gateway, authenticate, onError: (error, url) => logError(app, error, url) });
  return { app, gateway, startDraining: () => { draining = true; } };
}
