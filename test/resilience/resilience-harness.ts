import type { AddressInfo } from "node:net";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { buildApp, createAdapters, type BuiltApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";
import type { GatewayConfig } from "../../src/config/gateway-config.js";
import { Gateway, type GatewayHooks } from "../../src/core/gateway.js";
import { ModelCatalog } from "../../src/core/model-catalog.js";
import { createUndiciTransport } from "../../src/providers/upstream-http.js";
import { ChatService } from "../../gen/switchyard/v1/chat_service_pb.js";
import { FaultInjector } from "../support/fault-injector.js";

/**
 * Fast routing defaults for the suites: 200 ms to the first token, 200 ms of stream silence,
 * 10 ms backoff base; a breaker that stays out of the way unless a suite configures it.
 */
export const FAST_ROUTING = `routing:
  timeouts: { connect_ms: 1000, first_token_ms: 200, idle_ms: 200, total_ms: 1500 }
  retry: { max_retries: 2, base_delay_ms: 10, max_delay_ms: 40, budget_ms: 3000 }
  circuit_breaker: { failure_threshold: 100, cooldown_ms: 300 }`;

/** One upstream account of a test gateway. */
export interface AccountSpec {
  /** YAML for the account's `models:` list; default `[m]`. */
  readonly models?: string;
  /** The injector's answer text. */
  readonly text?: string;
  readonly rejectPrefill?: boolean;
  /** More YAML keys of the account (e.g. `timeouts: { total_ms: 300 }`), one per line. */
  readonly extra?: readonly string[];
  /** Point the account at this base URL instead of its injector (e.g. a closed port). */
  readonly baseUrl?: string;
}

/** A gateway listening on an ephemeral port in front of fault injectors, with both kinds of client. */
export interface ResilienceGateway {
  readonly upstreams: Readonly<Record<string, FaultInjector>>;
  readonly built: BuiltApp;
  readonly config: GatewayConfig;
  readonly origin: string;
  /** The official OpenAI SDK, retries off (the gateway's conduct is under test, not the SDK's). */
  readonly openai: OpenAI;
  /** A ChatService client over gRPC (HTTP/2). */
  readonly grpc: Client<typeof ChatService>;
  close(): Promise<void>;
}

/** Builds config text with one openai-compatible account per injector. */
export function configYaml(upstreams: Readonly<Record<string, FaultInjector>>, specs: Readonly<Record<string, AccountSpec>>, extraYaml: string): string {
  const providers = Object.entries(upstreams)
    .map(([name, injector]) => {
      const spec = specs[name];
      const extra = (spec?.extra ?? []).map((line) => `\n    ${line}`).join("");
      return `  ${name}:\n    type: openai-compatible\n    base_url: "${spec?.baseUrl ?? injector.baseUrl}"\n    models: ${spec?.models ?? "[m]"}${extra}`;
    })
    .join("\n");
  return `${extraYaml.includes("server:") ? "" : "server: { host: 127.0.0.1, port: 0, shutdown_grace_ms: 500 }"}
providers:
${providers}
logging: { level: silent }
${extraYaml.includes("routing:") ? "" : FAST_ROUTING}
${extraYaml}`;
}

/** Starts one injector per account. */
export async function startInjectors(specs: Readonly<Record<string, AccountSpec>>): Promise<Record<string, FaultInjector>> {
  const upstreams: Record<string, FaultInjector> = {};
  for (const [name, spec] of Object.entries(specs)) {
    upstreams[name] = await FaultInjector.start({ name, ...(spec.text ? { text: spec.text } : {}), ...(spec.rejectPrefill ? { rejectPrefill: true } : {}) });
  }
  return upstreams;
}

/**
 * Starts injectors for `specs` and a gateway (buildApp + listen on port 0) whose config comes from
 * parseConfigText, exactly as a config file would, with FAST_ROUTING unless `extraYaml` has its own
 * `routing:` section.
 */
export async function startResilienceGateway(specs: Readonly<Record<string, AccountSpec>>, extraYaml = ""): Promise<ResilienceGateway> {
  const upstreams = await startInjectors(specs);
  const config = parseConfigText(configYaml(upstreams, specs, extraYaml), "resilience.yaml", {});
  const built = await buildApp({ config });
  await built.app.listen({ host: "127.0.0.1", port: 0 });
  const origin = `http://127.0.0.1:${(built.app.server.address() as AddressInfo).port}`;
  const sessionManager = new Http2SessionManager(origin);
  const grpc = createClient(ChatService, createGrpcTransport({ baseUrl: origin, sessionManager }));
  const openai = new OpenAI({ baseURL: `${origin}/v1`, apiKey: "unused", maxRetries: 0, timeout: 10_000 });
  let closed = false;
  return {
    upstreams,
    built,
    config,
    origin,
    openai,
    grpc,
    async close() {
      if (closed) return;
      closed = true;
      sessionManager.abort();
      for (const injector of Object.values(upstreams)) await injector.close();
      await built.app.close();
    },
  };
}

/**
 * Registers the suite's hooks for one {@link startResilienceGateway}(`specs`, `extraYaml`) gateway:
 * started once for the file (beforeAll), closed after it (afterAll), and every upstream reset
 * before each test. Call it at the top of the file, before any beforeEach of the file's own: hooks
 * run in registration order, so that file's per-test setup runs after the reset. Returns a getter,
 * valid inside tests and hooks; it throws if the gateway is not started.
 */
export function useResilienceGateway(specs: Readonly<Record<string, AccountSpec>>, extraYaml = ""): () => ResilienceGateway {
  let gateway: ResilienceGateway | undefined;
  beforeAll(async () => {
    gateway = await startResilienceGateway(specs, extraYaml);
  });
  afterAll(async () => {
    await gateway?.close();
  });
  beforeEach(() => {
    for (const upstream of Object.values(gateway?.upstreams ?? {})) upstream.reset();
  });
  return () => {
    if (!gateway) throw new Error("the resilience gateway is not started");
    return gateway;
  };
}

/** A Gateway core (no HTTP front door) over real injectors, for observing hooks such as usage records. */
export function createCoreGateway(config: GatewayConfig, hooks: GatewayHooks): Gateway {
  return new Gateway(new ModelCatalog(config, createAdapters(config, createUndiciTransport())), hooks);
}

/** A one-user-message REST body. */
export function userMessage(text = "Say the sentence."): { role: "user"; content: string }[] {
  return [{ role: "user", content: text }];
}

/** Sends a non-streaming SDK request (a user message plus `body`); the answer's model, text and response headers. */
export async function askVia(gateway: ResilienceGateway, body: Record<string, unknown>): Promise<{ model: string; text: string | null | undefined; headers: Headers }> {
  const { data, response } = await gateway.openai.chat.completions.create({ messages: userMessage(), ...body } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse();
  return { model: data.model, text: data.choices[0]?.message.content, headers: response.headers };
}

/** Collects a streamed SDK answer: the text, the usage, and the chunks' model. */
export async function collectSdkStream(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>): Promise<{ text: string; usage: OpenAI.CompletionUsage | undefined; finish: string | undefined; model: string | undefined }> {
  let text = "";
  let usage: OpenAI.CompletionUsage | undefined;
  let finish: string | undefined;
  let model: string | undefined;
  for await (const chunk of stream) {
    model ??= chunk.model;
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      text += choice.delta.content ?? "";
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  }
  return { text, usage, finish, model };
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
