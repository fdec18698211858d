import type { FastifyInstance } from "fastify";
import { buildApp } from "../../../src/app.js";
import { parseConfigText } from "../../../src/config/load-config.js";
import { GATEWAY_KEY, sseFrames } from "../../http/rest-test-setup.js";
import { replayTransport, type ReplayAnswer, type ReplayTransport } from "../../support/replay-transport.js";

/**
 * The whole REST front door over a Gemini account whose upstream is a replay transport: real
 * request parsing, routing (account `gem`, and `gem2`, a second Gemini account to fail over to;
 * `mixed`, a virtual model that falls back from Gemini to the Anthropic account `ant` on the same
 * upstream), the real adapters and the real OpenAI encoders; the upstream's bytes come in awkward slices.
 */
const CONFIG = `
server: { host: 127.0.0.1, port: 8080 }
keys:
  - { name: dev, key: "${GATEWAY_KEY}" }
providers:
  gem: { type: gemini, api_key: "AIzaGEMINIAUDIT0123456789abcdefghijk" }
  gem2: { type: gemini, api_key: "AIzaGEMINIAUDIT2123456789abcdefghijk", base_url: "https://gem2.test" }
  ant: { type: anthropic, api_key: sk-ant-audit-0123456789 }
models:
  mixed: { strategy: fallback, targets: [gem/gemini-3-flash-preview, ant/claude-sonnet-4-5] }
routing: { retry: { max_retries: 0 } }
logging: { level: silent }
`;

/** One REST answer and the Gemini bodies the upstream got for it. */
export interface RestAnswer {
  readonly status: number;
  readonly headers: Record<string, unknown>;
  readonly body: string;
  /** The parsed bodies of the upstream requests this call made, in order. */
  readonly sent: Record<string, unknown>[];
  /** The upstream URLs this call went to, in order. */
  readonly urls: string[];
}

/** A running app: several calls share one adapter (and its thought-signature memory). */
export interface GeminiRestSession {
  readonly replay: ReplayTransport;
  post(body: unknown): Promise<RestAnswer>;
  close(): Promise<void>;
}

/** Builds the app; each upstream request takes the next answer (the last one repeats). */
export async function geminiRestSession(...answers: ReplayAnswer[]): Promise<GeminiRestSession> {
  const config = parseConfigText(CONFIG, "gemini-audit.yaml", {});
  const replay = replayTransport(...answers);
  const { app }: { app: FastifyInstance } = await buildApp({ config, transport: replay.transport });
  await app.ready();
  return {
    replay,
    close: () => app.close(),
    async post(body) {
      const before = replay.requests.length;
      const response = await app.inject({ method: "POST", url: "/v1/chat/completions", headers: { "content-type": "application/json", authorization: `Bearer ${GATEWAY_KEY}` }, payload: JSON.stringify(body) });
      const requests = replay.requests.slice(before);
      return { status: response.statusCode, headers: response.headers, body: response.body, sent: requests.map((request) => request.json as Record<string, unknown>), urls: requests.map((request) => request.url) };
    },
  };
}

/** One call on a fresh app. */
export async function geminiRest(body: unknown, ...answers: ReplayAnswer[]): Promise<RestAnswer> {
  const session = await geminiRestSession(...answers);
  try {
    return await session.post(body);
  } finally {
    await session.close();
  }
}

/** A Gemini SSE body (`data: …\r\n\r\n`, no end marker) from chunk objects. */
export function geminiSse(chunks: readonly object[]): ReplayAnswer {
  return { body: chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\r\n\r\n`).join(""), headers: { "content-type": "text/event-stream" } };
}

/** A JSON answer (a generateContent body or an error), with its status. */
export function geminiJson(body: object, status = 200): ReplayAnswer {
  return { status, body: JSON.stringify(body), headers: { "content-type": "application/json" } };
}

/** A streamed OpenAI tool-call delta, as the SDKs read it. */
interface ToolCallDelta {
  index: number;
  id?: string;
  function?: { name?: string; arguments?: string };
  extra_content?: unknown;
}

/** What a REST stream said, per choice: text, reasoning, tool calls (assembled), finish reasons; and the usage. */
export interface StreamRead {
  text: Record<number, string>;
  reasoning: Record<number, string>;
  tools: Record<number, { id: string; name: string; arguments: string; extra_content?: unknown }[]>;
  finishes: Record<number, string>;
  usage: unknown;
  errors: unknown[];
  done: boolean;
}

/** Reads an OpenAI SSE answer the way a client does. */
export function readStream(body: string): StreamRead {
  const read: StreamRead = { text: {}, reasoning: {}, tools: {}, finishes: {}, usage: undefined, errors: [], done: false };
  for (const frame of sseFrames(body)) {
    if (frame === "[DONE]") {
      read.done = true;
      continue;
    }
    const chunk = JSON.parse(frame) as { error?: unknown; usage?: unknown; choices?: { index: number; delta: { content?: string | null; reasoning_content?: string; tool_calls?: ToolCallDelta[] }; finish_reason: string | null }[] };
    if (chunk.error) read.errors.push(chunk.error);
    if (chunk.usage) read.usage = chunk.usage;
    for (const choice of chunk.choices ?? []) {
      const i = choice.index;
      if (choice.delta.content) read.text[i] = (read.text[i] ?? "") + choice.delta.content;
      if (choice.delta.reasoning_content) read.reasoning[i] = (read.reasoning[i] ?? "") + choice.delta.reasoning_content;
      for (const delta of choice.delta.tool_calls ?? []) {
        const calls = (read.tools[i] ??= []);
        const call = (calls[delta.index] ??= { id: "", name: "", arguments: "" });
        if (delta.id) call.id = delta.id;
        if (delta.function?.name) call.name = delta.function.name;
        call.arguments += delta.function?.arguments ?? "";
        if (delta.extra_content) call.extra_content = delta.extra_content;
      }
      if (choice.finish_reason) read.finishes[i] = choice.finish_reason;
    }
  }
  return read;
}
