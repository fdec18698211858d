/**
 * Upstream emulator for the benchmark: a plain `node:http` server, as cheap per request as we can
 * make it, answering the three provider dialects the gateway speaks:
 *
 * - OpenAI `POST …/chat/completions` (JSON, or SSE when the body says `"stream": true`)
 * - Anthropic `POST …/v1/messages` (JSON, or SSE when `"stream": true`)
 * - Gemini `POST …/models/<m>:generateContent` (JSON) and `…:streamGenerateContent` (SSE)
 *
 * Every answer is precomputed at start-up. Stream shape comes from an optional path prefix
 * `/p/<chunks>/<gapMs>/<firstByteMs>` (so one gateway config can hold accounts with different
 * shapes); without it, `EMU_CHUNKS`, `EMU_GAP_MS`, `EMU_FIRST_BYTE_MS` apply. With a first-byte delay,
 * the status line, headers and first event go out together after the delay (like a provider that
 * answers when the first token is ready); with a gap of 0 the whole stream is one write.
 *
 * Runs as its own process: `node --import tsx bench/upstream-emulator.ts [port]`; prints
 * `READY <port>` on stdout once listening.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Tokens in a non-streaming reply (~200 tokens of text). */
const REPLY_TOKENS = 200;
const PROMPT_TOKENS = 42;
const WORDS = ["the", " gateway", " forwards", " every", " token", " it", " receives", " from", " the", " model", ",", " quickly", " and", " in", " order", "."];

function replyText(tokens: number): string {
  let text = "";
  for (let i = 0; i < tokens; i++) text += WORDS[i % WORDS.length];
  return text;
}

function tokenAt(index: number): string {
  return WORDS[index % WORDS.length] ?? " x";
}

interface StreamShape {
  readonly chunks: number;
  readonly gapMs: number;
  readonly firstByteMs: number;
}

/** A precomputed stream: its events as ready-to-write buffers, and all of them concatenated. */
interface PreparedStream {
  readonly events: readonly Buffer[];
  readonly whole: Buffer;
}

type Dialect = "openai" | "anthropic" | "gemini";

const CREATED = 1_700_000_000;

function sse(data: unknown, event?: string): string {
  return `${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`;
}

function openAIJson(): string {
  return JSON.stringify({
    id: "chatcmpl-emu",
    object: "chat.completion",
    created: CREATED,
    model: "gpt-bench",
    choices: [{ index: 0, message: { role: "assistant", content: replyText(REPLY_TOKENS), refusal: null, annotations: [] }, logprobs: null, finish_reason: "stop" }],
    usage: { prompt_tokens: PROMPT_TOKENS, completion_tokens: REPLY_TOKENS, total_tokens: PROMPT_TOKENS + REPLY_TOKENS, prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 } },
    service_tier: "default",
    system_fingerprint: "fp_emu",
  });
}

function openAIStream(chunks: number): string[] {
  const base = { id: "chatcmpl-emu", object: "chat.completion.chunk", created: CREATED, model: "gpt-bench", system_fingerprint: "fp_emu" };
  const out = [sse({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "", refusal: null }, logprobs: null, finish_reason: null }] })];
  for (let i = 0; i < chunks; i++) out.push(sse({ ...base, choices: [{ index: 0, delta: { content: tokenAt(i) }, logprobs: null, finish_reason: null }] }));
  out.push(sse({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }] }));
  out.push(sse({ ...base, choices: [], usage: { prompt_tokens: PROMPT_TOKENS, completion_tokens: chunks, total_tokens: PROMPT_TOKENS + chunks } }));
  out.push("data: [DONE]\n\n");
  return out;
}

function anthropicJson(): string {
  return JSON.stringify({
    id: "msg_emu",
    type: "message",
    role: "assistant",
    model: "claude-bench",
    content: [{ type: "text", text: replyText(REPLY_TOKENS) }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: { input_tokens: PROMPT_TOKENS, output_tokens: REPLY_TOKENS, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  });
}

function anthropicStream(chunks: number): string[] {
  const out = [
    sse({ type: "message_start", message: { id: "msg_emu", type: "message", role: "assistant", model: "claude-bench", content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: PROMPT_TOKENS, output_tokens: 1 } } }, "message_start"),
    sse({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }, "content_block_start"),
  ];
  for (let i = 0; i < chunks; i++) out.push(sse({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: tokenAt(i) } }, "content_block_delta"));
  out.push(sse({ type: "content_block_stop", index: 0 }, "content_block_stop"));
  out.push(sse({ type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: chunks } }, "message_delta"));
  out.push(sse({ type: "message_stop" }, "message_stop"));
  return out;
}

function geminiUsage(completion: number): Record<string, number> {
  return { promptTokenCount: PROMPT_TOKENS, candidatesTokenCount: completion, totalTokenCount: PROMPT_TOKENS + completion };
}

function geminiJson(): string {
  return JSON.stringify({
    candidates: [{ content: { parts: [{ text: replyText(REPLY_TOKENS) }], role: "model" }, finishReason: "STOP", index: 0 }],
    usageMetadata: geminiUsage(REPLY_TOKENS),
    modelVersion: "gemini-bench",
    responseId: "emu",
  });
}

function geminiStream(chunks: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < chunks; i++) {
    const last = i === chunks - 1;
    out.push(
      `data: ${JSON.stringify({
        candidates: [{ content: { parts: [{ text: tokenAt(i) }], role: "model" }, index: 0, ...(last ? { finishReason: "STOP" } : {}) }],
        usageMetadata: last ? geminiUsage(chunks) : { promptTokenCount: PROMPT_TOKENS, totalTokenCount: PROMPT_TOKENS },
        modelVersion: "gemini-bench",
        responseId: "emu",
      })}\r\n\r\n`,
    );
  }
  return out;
}

const JSON_BODIES: Readonly<Record<Dialect, Buffer>> = {
  openai: Buffer.from(openAIJson()),
  anthropic: Buffer.from(anthropicJson()),
  gemini: Buffer.from(geminiJson()),
};

const JSON_HEADERS: Readonly<Record<Dialect, http.OutgoingHttpHeaders>> = {
  openai: { "content-type": "application/json", "content-length": JSON_BODIES.openai.length },
  anthropic: { "content-type": "application/json", "content-length": JSON_BODIES.anthropic.length },
  gemini: { "content-type": "application/json; charset=UTF-8", "content-length": JSON_BODIES.gemini.length },
};

const SSE_HEADERS: http.OutgoingHttpHeaders = { "content-type": "text/event-stream", "cache-control": "no-cache" };

const streamCache = new Map<string, PreparedStream>();

function preparedStream(dialect: Dialect, chunks: number): PreparedStream {
  const key = `${dialect}:${chunks}`;
  let prepared = streamCache.get(key);
  if (!prepared) {
    const texts = dialect === "openai" ? openAIStream(chunks) : dialect === "anthropic" ? anthropicStream(chunks) : geminiStream(chunks);
    const events = texts.map((text) => Buffer.from(text));
    prepared = { events, whole: Buffer.concat(events) };
    streamCache.set(key, prepared);
  }
  return prepared;
}

function envNumber(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && process.env[name] !== undefined && process.env[name] !== "" ? value : fallback;
}

const DEFAULT_SHAPE: StreamShape = {
  chunks: envNumber("EMU_CHUNKS", 20),
  gapMs: envNumber("EMU_GAP_MS", 0),
  firstByteMs: envNumber("EMU_FIRST_BYTE_MS", 0),
};

const shapeCache = new Map<string, StreamShape>();

/** Reads the `/p/<chunks>/<gapMs>/<firstByteMs>` prefix of a URL, if any. */
function shapeOf(url: string): StreamShape {
  if (!url.startsWith("/p/")) return DEFAULT_SHAPE;
  const end = url.indexOf("/", url.indexOf("/", url.indexOf("/", 3) + 1) + 1);
  const key = url.slice(3, end);
  let shape = shapeCache.get(key);
  if (!shape) {
    const [chunks, gap, first] = key.split("/").map(Number);
    shape = { chunks: chunks || DEFAULT_SHAPE.chunks, gapMs: gap ?? 0, firstByteMs: first ?? 0 };
    shapeCache.set(key, shape);
  }
  return shape;
}

function dialectOf(url: string): Dialect | undefined {
  if (url.endsWith("/chat/completions")) return "openai";
  if (url.endsWith("/messages")) return "anthropic";
  if (url.includes(":generateContent") || url.includes(":streamGenerateContent")) return "gemini";
  return undefined;
}

const STREAM_FLAG = /"stream"\s*:\s*true/;

function writeStream(res: http.ServerResponse, prepared: PreparedStream, shape: StreamShape): void {
  const start = () => {
    res.writeHead(200, SSE_HEADERS);
    if (shape.gapMs <= 0) {
      res.end(prepared.whole);
      return;
    }
    let index = 0;
    const next = () => {
      if (res.destroyed) return;
      const event = prepared.events[index++];
      if (event === undefined) {
        res.end();
        return;
      }
      res.write(event);
      setTimeout(next, shape.gapMs);
    };
    next();
  };
  if (shape.firstByteMs > 0) setTimeout(start, shape.firstByteMs);
  else start();
}

function answer(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
  const url = req.url ?? "/";
  const dialect = dialectOf(url);
  if (req.method !== "POST" || dialect === undefined) {
    res.writeHead(404, { "content-type": "application/json" });
    res.end('{"error":{"message":"unknown path","type":"invalid_request_error"}}');
    return;
  }
  const streaming = dialect === "gemini" ? url.includes(":streamGenerateContent") : STREAM_FLAG.test(body);
  if (!streaming) {
    res.writeHead(200, JSON_HEADERS[dialect]);
    res.end(JSON_BODIES[dialect]);
    return;
  }
  const shape = shapeOf(url);
  writeStream(res, preparedStream(dialect, shape.chunks), shape);
}

/** Starts the emulator on `port` (0 = any free port); resolves with the bound port. */
export function startEmulator(port: number): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer({ keepAliveTimeout: 120_000, headersTimeout: 130_000, requestTimeout: 0, noDelay: true }, (req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => answer(req, res, body));
  });
  server.maxRequestsPerSocket = 0;
  return new Promise((resolve) => {
    server.listen(port, "127.0.0.1", () => resolve({ server, port: (server.address() as AddressInfo).port }));
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const { port } = await startEmulator(Number(process.argv[2] ?? 0));
  process.stdout.write(`READY ${port}\n`);
  process.on("SIGTERM", () => process.exit(0));
}
