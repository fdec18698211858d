/**
 * The running world of a providers SDK suite file (test/e2e/providers-sdk*.test.ts): three dialect
 * upstreams, a media server, a gateway in front of them and an official OpenAI SDK client; and the
 * per-provider helpers the suites read the upstream's side of a call with.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, expect } from "vitest";
import type { Dialect, Json } from "../support/dialect-answers.js";
import type { NormalRequest } from "../support/dialect-requests.js";
import { startDialectUpstream, type DialectRequest, type DialectUpstream } from "../support/dialect-upstream.js";
import { ACCOUNTS, GATEWAY_KEY, KEYS, MODELS, MP4, PNG, startGateway, type Params, type Running } from "./providers-sdk-setup.js";

/** The servers and client of one suite file; set by its beforeAll. */
export interface ProvidersSdkWorld {
  upstreams: Record<Dialect, DialectUpstream>;
  mediaServer: DialectUpstream;
  gateway: Running;
  client: OpenAI;
  /** URLs the media server serves: a PNG and an MP4. */
  mediaUrls: { cat: string; clip: string };
}

/** The three providers a suite runs against: dialect, account label and the gateway model id. */
export const PROVIDERS = (["openai", "anthropic", "gemini"] as const).map((dialect) => ({ dialect, label: ACCOUNTS[dialect], model: `${ACCOUNTS[dialect]}/${MODELS[dialect]}` }));

/**
 * Registers the hooks of a suite file (call it at module level): beforeAll starts the upstreams,
 * the media server and a gateway that allows private-network media; afterAll closes them; each test
 * starts with no recorded requests. Returns the world, filled in once beforeAll has run.
 */
export function useProvidersSdkWorld(): ProvidersSdkWorld {
  const world = {} as ProvidersSdkWorld;
  beforeAll(async () => {
    const options = { keys: KEYS, models: { openai: [MODELS.openai], anthropic: [MODELS.anthropic], gemini: [MODELS.gemini] } };
    world.upstreams = { openai: await startDialectUpstream(options), anthropic: await startDialectUpstream(options), gemini: await startDialectUpstream(options) };
    world.mediaServer = await startDialectUpstream(options);
    world.mediaUrls = { cat: world.mediaServer.serveMedia("cat.png", PNG, "image/png"), clip: world.mediaServer.serveMedia("clip.mp4", MP4, "video/mp4") };
    // Media URLs point at 127.0.0.1, so this gateway must allow private networks (the default refuses them; see the media suite).
    world.gateway = await startGateway(world.upstreams, "media: { allow_private_network: true, max_bytes: 1048576, timeout_ms: 5000 }");
    world.client = new OpenAI({ apiKey: GATEWAY_KEY, baseURL: `${world.gateway.origin}/v1`, maxRetries: 0, timeout: 15_000 });
  });

  afterAll(async () => {
    await world.gateway?.built.app.close();
    for (const server of [...Object.values(world.upstreams ?? {}), world.mediaServer]) await server?.close();
  });

  beforeEach(() => {
    for (const server of [...Object.values(world.upstreams), world.mediaServer]) server.reset();
  });
  return world;
}

/** Helpers for the calls of one provider's suite: the SDK call, and the upstream's side of it. */
export function providerCalls(world: ProvidersSdkWorld, dialect: Dialect, model: string) {
  const upstream = () => world.upstreams[dialect];
  /** The one chat request the upstream got for the last SDK call. */
  const only = (): DialectRequest => {
    expect(upstream().chatRequests()).toHaveLength(1);
    return upstream().lastChat();
  };
  const view = (): NormalRequest => {
    const request = only();
    if (!request.view) throw new Error("the upstream could not read the request");
    return request.view;
  };
  const raw = () => only().body as Record<string, Json>;
  const noUpstreamCall = () => expect(upstream().chatRequests(), "the upstream got no request").toHaveLength(0);
  const warningsOf = (response: Response) => response.headers.get("x-switchyard-warnings") ?? "";
  const create = (params: Omit<Params, "model">) => world.client.chat.completions.create({ model, ...params } as Params).withResponse();
  return { upstream, only, view, raw, noUpstreamCall, warningsOf, create };
}
