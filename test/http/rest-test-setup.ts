import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { buildApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";
import { replayTransport, type ReplayAnswer, type ReplayTransport } from "../support/replay-transport.js";

/** The gateway key of the test config. */
export const GATEWAY_KEY = "sy-test-gateway-key-0123456789";
/** The upstream key of the `openai-main` test account; tests assert it never reaches a caller. */
export const UPSTREAM_KEY = "sk-proj-RESTTESTKEY0123456789abcdef";
/** The body limit of the test config, in bytes. */
export const BODY_LIMIT = 64 * 1024;

const CONFIG = `
server: { host: 127.0.0.1, port: 8080, body_limit_bytes: ${BODY_LIMIT} }
keys:
  - { name: dev, key: "\${SY_KEY}" }
providers:
  openai-main: { type: openai, api_key: "\${OPENAI_KEY}", base_url: "https://api.openai.com/v1" }
  groq: { type: openai-compatible, api_key: "gsk_RESTTESTKEY0123456789abcdef", base_url: "https://api.groq.com/openai/v1" }
routing: { retry: { max_retries: 0 } }
logging: { level: silent }
`;

/** A built app over a replay transport, plus the transport's request log. */
export interface TestApp {
  readonly app: FastifyInstance;
  readonly replay: ReplayTransport;
}

/** Builds the gateway app from the test YAML config, replaying `answers` as the upstream. */
export async function testApp(...answers: ReplayAnswer[]): Promise<TestApp> {
  const config = parseConfigText(CONFIG, "test.yaml", { SY_KEY: GATEWAY_KEY, OPENAI_KEY: UPSTREAM_KEY });
  const replay = replayTransport(...(answers.length > 0 ? answers : [{ status: 500, body: "no upstream answer scripted" }]));
  const { app } = await buildApp({ config, transport: replay.transport });
  await app.ready();
  return { app, replay };
}

/** POSTs to /v1/chat/completions with the gateway key (unless `authorization` is given, or null for none). */
export function postChat(app: FastifyInstance, body: unknown, options: { authorization?: string | null; contentType?: string; raw?: boolean } = {}): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { "content-type": options.contentType ?? "application/json" };
  if (options.authorization !== null) headers.authorization = options.authorization ?? `Bearer ${GATEWAY_KEY}`;
  return app.inject({ method: "POST", url: "/v1/chat/completions", headers, payload: options.raw ? (body as string) : JSON.stringify(body) });
}

/** The `data:` payloads of an SSE body, in order (the raw text of each frame). */
export function sseFrames(body: string): string[] {
  return body
    .split("\n\n")
    .filter((frame) => frame.length > 0)
    .map((frame) => {
      if (!frame.startsWith("data: ")) throw new Error(`not a data frame: ${JSON.stringify(frame)}`);
      return frame.slice("data: ".length);
    });
}

/** A minimal OpenAI stream body for the replay transport. */
export function upstreamSse(payloads: readonly object[], done = true): string {
  return payloads.map((payload) => `data: ${JSON.stringify(payload)}\n\n`).join("") + (done ? "data: [DONE]\n\n" : "");
}
