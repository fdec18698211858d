import { readdirSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";
import { GATEWAY_KEY, sseFrames } from "../http/rest-test-setup.js";
import { asGatewaySendsTools, readExchange } from "../support/recorded-exchange.js";
import type { UpstreamTransport } from "../../src/providers/upstream-http.js";
import { FIXTURES_DIR, readFixture, replayTransport, sseFromChunks, type ReplayAnswer } from "../support/replay-transport.js";

/*
 * Every recorded upstream stream and body of ../shared/fixtures/upstream, of every provider,
 * replayed through the whole REST front door (request in, the provider's real bytes back) and
 * delivered in awkward slices: 1 byte at a time, seeded random splits, and cuts placed exactly
 * inside each CRLF pair and inside each multi-byte UTF-8 character. Every slicing must give the
 * same SSE answer, and that answer must say what the fixture README says the recording shows
 * (text, reasoning, refusal, tool calls, finish reasons, usage), read here independently of the
 * gateway's translators.
 */

const UPSTREAM_KEY = "sk-proj-FIXTURECOVERAGE0123456789abcd";
const CONFIG = `
server: { host: 127.0.0.1, port: 8080 }
keys:
  - { name: dev, key: "${GATEWAY_KEY}" }
providers:
  openai-main: { type: openai, api_key: "${UPSTREAM_KEY}" }
  groq: { type: openai-compatible, api_key: "gsk_FIXTURECOVERAGE0123456789abcd", base_url: "https://api.groq.com/openai/v1" }
  claude-compat: { type: openai-compatible, base_url: "https://api.anthropic.com/v1" }
  anth: { type: anthropic, api_key: "sk-ant-FIXTURECOVERAGE0123456789abcd" }
  gem: { type: gemini, api_key: "AIzaFIXTURECOVERAGE0123456789abcdefgh" }
routing: { retry: { max_retries: 0 } }
logging: { level: silent }
`;

/** What a REST stream said, read from its SSE frames. */
interface StreamSummary {
  id: string;
  text: string;
  reasoning: string;
  refusal: string;
  tools: { index: number; id: string; name: string; arguments: string }[];
  finishes: string[];
  usage: unknown;
  done: boolean;
  errors: unknown[];
}

interface Chunk {
  id?: string;
  created?: number;
  error?: unknown;
  choices?: { index: number; delta: { content?: string | null; reasoning_content?: string; refusal?: string | null; tool_calls?: { index: number; id?: string; function?: { name?: string; arguments?: string } }[] }; finish_reason: string | null }[];
  usage?: unknown;
}

function summarize(body: string): { summary: StreamSummary; normalized: string[] } {
  const frames = sseFrames(body);
  const summary: StreamSummary = { id: "", text: "", reasoning: "", refusal: "", tools: [], finishes: [], usage: undefined, done: false, errors: [] };
  const normalized: string[] = [];
  for (const frame of frames) {
    if (frame === "[DONE]") {
      summary.done = true;
      normalized.push(frame);
      continue;
    }
    const chunk = JSON.parse(frame) as Chunk;
    if (chunk.error) summary.errors.push(chunk.error);
    summary.id ||= chunk.id ?? "";
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta;
      summary.text += delta.content ?? "";
      summary.reasoning += delta.reasoning_content ?? "";
      summary.refusal += delta.refusal ?? "";
      for (const call of delta.tool_calls ?? []) {
        const entry = (summary.tools[call.index] ??= { index: call.index, id: "", name: "", arguments: "" });
        entry.id += call.id ?? "";
        entry.name += call.function?.name ?? "";
        entry.arguments += call.function?.arguments ?? "";
      }
      if (choice.finish_reason) summary.finishes.push(choice.finish_reason);
    }
    if (chunk.usage) summary.usage = chunk.usage;
    // `created` is the gateway's clock for providers that send none; generated call ids differ per run.
    normalized.push(JSON.stringify({ ...chunk, created: 0 }).replace(/"call_[A-Za-z0-9]{24}"/g, '"call_<generated>"'));
  }
  return { summary, normalized };
}

/** A deterministic PRNG (mulberry32), so a failing slicing can be replayed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Slice sizes that cut right after each of `positions` (byte offsets), covering `length` bytes. */
function cutsAt(positions: readonly number[], length: number): number[] {
  const sizes: number[] = [];
  let last = 0;
  for (const position of [...new Set(positions)].sort((a, b) => a - b)) {
    if (position <= last || position >= length) continue;
    sizes.push(position - last);
    last = position;
  }
  sizes.push(Math.max(1, length - last));
  return sizes;
}

/** The named slicings of a body: 1 byte, seeded random, and cuts inside each CRLF and each multi-byte character. */
function slicings(bytes: Uint8Array): [string, number[]][] {
  const out: [string, number[]][] = [["1 byte", [1]]];
  for (const seed of [1, 7, 42]) {
    const random = seeded(seed);
    const sizes: number[] = [];
    for (let total = 0; total < bytes.length; total += sizes[sizes.length - 1] ?? 1) sizes.push(1 + Math.floor(random() * 40));
    out.push([`random seed ${seed}`, sizes]);
  }
  const crlf: number[] = [];
  const utf8: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10) crlf.push(i + 1);
    // A lead byte of a multi-byte character: cut after it, inside the character.
    if (((bytes[i] ?? 0) & 0xc0) === 0xc0) utf8.push(i + 1);
  }
  if (crlf.length > 0) out.push(["inside every CRLF", cutsAt(crlf, bytes.length)]);
  if (utf8.length > 0) out.push(["inside every multi-byte character", cutsAt(utf8, bytes.length)]);
  return out;
}

let app: FastifyInstance;
let answer: ReplayAnswer = { status: 500, body: "nothing scripted" };
const sent: { url: string; json: unknown }[] = [];

beforeAll(async () => {
  const config = parseConfigText(CONFIG, "fixture-coverage.yaml", {});
  // A transport that answers with whatever the running case scripted, slicing included.
  const transport: UpstreamTransport = async (request) => {
    const scripted = replayTransport(answer);
    const response = await scripted.transport(request);
    sent.push({ url: request.url, json: scripted.requests[0]?.json });
    return response;
  };
  app = (await buildApp({ config, transport })).app;
  await app.ready();
});
afterAll(async () => {
  await app.close();
});

async function post(body: object): Promise<{ status: number; text: string; json: () => Record<string, unknown> }> {
  const response = await app.inject({ method: "POST", url: "/v1/chat/completions", headers: { authorization: `Bearer ${GATEWAY_KEY}`, "content-type": "application/json" }, payload: JSON.stringify(body) });
  return { status: response.statusCode, text: response.body, json: () => response.json<Record<string, unknown>>() };
}

/** Anthropic's text deltas of a recorded stream, read without the gateway. */
function anthropicText(sse: string): string {
  return sse
    .split("\n")
    .filter((line) => line.startsWith("data: "))
    .map((line) => JSON.parse(line.slice(6)) as { type: string; delta?: { type?: string; text?: string } })
    .filter((event) => event.type === "content_block_delta" && event.delta?.type === "text_delta")
    .map((event) => event.delta?.text ?? "")
    .join("");
}

/** One stream fixture: how to ask for it, and what its answer must say. */
interface StreamCase {
  readonly file: string;
  readonly model: string;
  readonly contentType?: string;
  readonly request?: object;
  readonly expected: Partial<StreamSummary>;
}

const tool = (name: string) => ({ type: "function", function: { name, parameters: { type: "object", properties: {} } } });
const usage = (prompt: number, completion: number, extra: { cached?: number; reasoning?: number; cacheWrite?: number; estimated?: boolean } = {}) => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
  prompt_tokens_details: { cached_tokens: extra.cached ?? 0, ...(extra.cacheWrite ? { cache_write_tokens: extra.cacheWrite } : {}) },
  completion_tokens_details: { reasoning_tokens: extra.reasoning ?? 0 },
  ...(extra.estimated ? { estimated: true } : {}),
});
/** A call id the gateway made (Gemini sends none). */
const GENERATED_ID: string = expect.stringMatching(/^call_[A-Za-z0-9]{24}$/) as unknown as string;
const afterTwoToolResults = readFixture("anthropic/messages-stream-after-two-tool-results.sse.txt");

const STREAMS: StreamCase[] = [
  {
    file: "openai/chat-stream-tool-call-include-usage.sse.txt",
    model: "openai-main/gpt-4o-mini",
    request: { tools: [tool("get_capital")] },
    expected: { id: "chatcmpl-Dx0XpqH8w09uBXwq1zFGYdETjtnEl", text: "", tools: [{ index: 0, id: "call_ZR5UUuTt3pf61kjwAJIYdVMj", name: "get_capital", arguments: '{"country":"UK"}' }], finishes: ["tool_calls"], usage: usage(53, 15) },
  },
  {
    file: "openai/chat-stream-text-after-tool-result-include-usage.sse.txt",
    model: "openai-main/gpt-4o-mini",
    expected: { id: "chatcmpl-Dx0Xq5Xx9rHB2ehcHZCRDsnuymUXc", text: "The capital of the UK is London.", tools: [], finishes: ["stop"], usage: usage(78, 9) },
  },
  { file: "openai/chat-stream-finish-length.sse.txt", model: "openai-main/gpt-4o-2024-08-06", request: { max_tokens: 1 }, expected: { text: '{"', finishes: ["length"], usage: usage(79, 1) } },
  { file: "openai/chat-stream-content-logprobs.sse.txt", model: "openai-main/gpt-4o-2024-08-06", request: { logprobs: true }, expected: { text: "Foo!", finishes: ["stop"], usage: usage(9, 2) } },
  {
    file: "openai-compatible/groq-stream-tool-call.chunks.txt",
    model: "groq/llama-3.3-70b-versatile",
    request: { tools: [tool("weather")] },
    expected: { tools: [{ index: 0, id: "tk85n1k4m", name: "weather", arguments: "{}" }], finishes: ["tool_calls"], usage: usage(210, 15) },
  },
  {
    file: "openai-compatible/anthropic-openai-compat-stream-tool-call.sse.txt",
    model: "claude-compat/claude-haiku-4-5",
    request: { tools: [tool("read_file")] },
    // No usage in the recording: the gateway's estimate, marked as one.
    expected: { id: "msg_sanitized", text: "Reading it.", tools: [{ index: 0, id: "toolu_sanitized", name: "read_file", arguments: '{"path": "a.txt"}' }], finishes: ["tool_calls"] },
  },
  { file: "anthropic/messages-stream-text.sse.txt", model: "anth/claude-sonnet-4-5", expected: { id: "msg_018E1hg8GoVTGEKQY3ovMcSJ", text: "2", finishes: ["stop"], usage: usage(20, 5) } },
  { file: "anthropic/messages-stream-after-two-tool-results.sse.txt", model: "anth/claude-3-5-haiku-latest", expected: { id: "msg_01D1nvzuHQ8VJa4qGExgy5TW", text: anthropicText(afterTwoToolResults), finishes: ["stop"], usage: usage(465, 95) } },
  {
    file: "anthropic/messages-stream-refusal.sse.txt",
    model: "anth/claude-fable-5-1",
    expected: {
      text: "",
      refusal: "This request was blocked as it seems to violate Anthropic's Terms of Service restrictions on reverse engineering or duplicating model outputs. To learn more, visit https://www.anthropic.com/legal/commercial-terms. API integrators: you can reduce refusals for your users by configuring a fallback model — see https://platform.claude.com/docs/en/build-with-claude/refusals-and-fallback",
      finishes: ["content_filter"],
      usage: usage(97, 0),
    },
  },
  {
    file: "anthropic/messages-stream-tool-use-input-json-delta.chunks.txt",
    model: "anth/claude-haiku-4-5",
    request: { tools: [tool("json")] },
    expected: { tools: [{ index: 0, id: "toolu_01KFbKqPYSuAKujiL6mTfzYA", name: "json", arguments: '{"elements": [{"location": "San Francisco", "temperature": 58, "condition": "sunny"}]}' }], finishes: ["tool_calls"], usage: usage(849, 47) },
  },
  { file: "anthropic/messages-stream-cache-write.chunks.txt", model: "anth/claude-sonnet-4-6", expected: { text: "OK", finishes: ["length"], usage: usage(3 + 18639, 1, { cacheWrite: 18639 }) } },
  { file: "gemini/stream-text-system-instruction.sse.txt", model: "gem/gemini-2.0-flash-exp", expected: { id: "w1peaMz6INOvnvgPgYfPiQY", text: "The capital of France is Paris.\n", finishes: ["stop"], usage: usage(13, 8) } },
  {
    file: "gemini/stream-text-usage-every-chunk.sse.txt",
    model: "gem/gemini-2.5-flash",
    expected: { text: Array.from({ length: 30 }, (_, i) => String(i + 1)).join("\n"), finishes: ["stop"], usage: usage(18, 80 + 35, { reasoning: 35 }) },
  },
  {
    file: "gemini/stream-function-call-single-chunk.sse.txt",
    model: "gem/gemini-2.0-flash",
    request: { tools: [tool("get_capital")] },
    expected: { text: "", tools: [{ index: 0, id: GENERATED_ID, name: "get_capital", arguments: '{"country":"France"}' }], finishes: ["tool_calls"], usage: usage(52, 5) },
  },
  { file: "gemini/stream-gemini3-after-function-response.sse.txt", model: "gem/gemini-3-pro-preview", expected: { text: "The capital of Mexico is Mexico City.", finishes: ["stop"], usage: usage(257, 8) } },
  {
    file: "gemini/stream-no-alt-sse-json-array-thought-and-function-call.json",
    model: "gem/gemini-2.5-flash",
    contentType: "application/json",
    request: { tools: [tool("pelican_name_generator")] },
    expected: {
      reasoning: "**Generating Pelican Names**\n\nOkay, I'm thinking I should use the `pelican_name_generator` tool to address the user's request. It seems straightforward: call it twice to get two different names for the pet pelican. It's a quick plan.\n\n\n",
      tools: [{ index: 0, id: GENERATED_ID, name: "pelican_name_generator", arguments: "{}" }],
      finishes: ["tool_calls"],
      usage: usage(32, 12 + 42, { reasoning: 42 }),
    },
  },
];

function upstreamBytes(file: string): Uint8Array {
  const text = readFixture(file);
  const body = file.endsWith(".chunks.txt") ? sseFromChunks(text, file.startsWith("anthropic/")) : text;
  return new TextEncoder().encode(body);
}

describe("fixture coverage: every recorded stream through the REST front door, in awkward slices", () => {
  it("lists every stream recording of every provider folder", () => {
    const streams = ["openai", "openai-compatible", "anthropic", "gemini"].flatMap((folder) =>
      readdirSync(join(FIXTURES_DIR, folder))
        .filter((name) => /\.(sse|chunks)\.txt$/.test(name) || name.startsWith("stream-no-alt-sse") && !name.includes(".request."))
        .map((name) => `${folder}/${name}`),
    );
    expect(streams.sort()).toEqual(STREAMS.map((entry) => entry.file).sort());
  });

  for (const entry of STREAMS) {
    it(`${entry.file}: the same answer under every slicing, saying what the recording shows`, async () => {
      const bytes = upstreamBytes(entry.file);
      const results: { name: string; summary: StreamSummary; normalized: string[] }[] = [];
      for (const [name, sliceSizes] of slicings(bytes)) {
        answer = { headers: { "content-type": entry.contentType ?? "text/event-stream" }, body: bytes, sliceSizes };
        const response = await post({ model: entry.model, messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_usage: true }, ...entry.request });
        expect(response.status, name).toBe(200);
        results.push({ name, ...summarize(response.text) });
      }
      const [first, ...rest] = results;
      if (!first) throw new Error("no slicing ran");
      for (const other of rest) expect(other.normalized, `${other.name} vs ${first.name}`).toEqual(first.normalized);
      expect(first.summary).toMatchObject({ done: true, errors: [], ...entry.expected });
      if (entry.expected.usage === undefined) expect(first.summary.usage).toMatchObject({ estimated: true });
      if (entry.expected.tools === undefined) expect(first.summary.tools).toEqual([]);
    });
  }
});

// As the client sent them, but for a tool's empty description, which goes without one (asGatewaySendsTools).
describe("fixture coverage: recorded OpenAI requests go upstream as the client sent them", () => {
  /** A recorded OpenAI request body, as a client of the gateway would send it (the account prefixed to the model). */
  function asClientBody(body: Record<string, unknown>, account: string): Record<string, unknown> {
    return { ...body, model: `${account}/${String(body.model)}` };
  }

  for (const [requestFile, responseFile] of [
    ["openai/chat-stream-tool-call-include-usage.request.json", "openai/chat-stream-tool-call-include-usage.sse.txt"],
    ["openai/chat-stream-text-after-tool-result-include-usage.request.json", "openai/chat-stream-text-after-tool-result-include-usage.sse.txt"],
  ] as const) {
    it(`${requestFile}: the upstream body equals the recorded one`, async () => {
      const recorded = JSON.parse(readFixture(requestFile)) as { url: string; body: Record<string, unknown> };
      answer = { headers: { "content-type": "text/event-stream" }, body: readFixture(responseFile), sliceSizes: [1] };
      sent.length = 0;
      const response = await post(asClientBody(recorded.body, "openai-main"));
      expect(response.status).toBe(200);
      expect(sent).toEqual([{ url: recorded.url, json: asGatewaySendsTools(recorded.body) }]);
    });
  }

  for (const [file, account] of [
    ["openai/chat-nonstream-tool-call.json", "openai-main"],
    ["openai/error-400-unsupported-value.json", "openai-main"],
    ["openai-compatible/groq-error-400-tool-use-failed.json", "groq"],
  ] as const) {
    it(`${file}: the upstream body equals the recorded one (less the default stream:false), and the answer is mapped`, async () => {
      const exchange = readExchange(file);
      const request = exchange.request;
      if (!request) throw new Error("the exchange has no request");
      answer = { status: exchange.response.status, headers: { "content-type": "application/json" }, body: JSON.stringify(exchange.response.body), sliceSizes: [1] };
      sent.length = 0;
      const response = await post(asClientBody(request.body, account));
      const expected = structuredClone(request.body);
      delete expected.stream;
      // An assistant turn with tool calls and no content goes out with `content: null`, as OpenAI's SDK sends it.
      for (const message of expected.messages as Record<string, unknown>[]) if (message.tool_calls && !("content" in message)) message.content = null;
      expect(sent).toEqual([{ url: request.url, json: asGatewaySendsTools(expected) }]);
      if (exchange.response.status === 200) {
        expect(response.status).toBe(200);
        expect(response.json()).toMatchObject({ choices: [{ finish_reason: "tool_calls", message: { content: null, tool_calls: [{ id: "call_SkEQ3ZGSJC8m6AvaIGNuuKdm", function: { name: "get_capital", arguments: '{"country":"England"}' } }] } }], usage: { prompt_tokens: 104, completion_tokens: 16, total_tokens: 120 } });
      } else {
        const upstreamError = (exchange.response.body as { error: { message: string; param?: string | null; failed_generation?: string } }).error;
        expect(response.status).toBe(400);
        // Groq's failed_generation (the call that failed validation) comes back beside the envelope's own fields.
        const extra = upstreamError.failed_generation === undefined ? {} : { failed_generation: upstreamError.failed_generation };
        expect(response.json()).toEqual({ error: { ...extra, message: expect.stringContaining(upstreamError.message.slice(0, 40)), type: "invalid_request_error", param: upstreamError.param ?? null, code: "upstream_invalid_request" } });
      }
    });
  }
});

describe("fixture coverage: every recorded whole answer and error body through the REST front door, 1 byte at a time", () => {
  /** The upstream body of a fixture: a raw body, or the response of an exchange. */
  function recordedResponse(file: string): { status: number; body: string } {
    const parsed = JSON.parse(readFixture(file)) as { response?: { status: number; body: unknown } };
    return parsed.response ? { status: parsed.response.status, body: JSON.stringify(parsed.response.body) } : { status: file.includes("/error-") ? 400 : 200, body: readFixture(file) };
  }

  const ANSWERS: [string, string, Record<string, unknown>][] = [
    ["openai/chat-nonstream-text.json", "openai-main/gpt-4.1-nano", { id: "chatcmpl-D8Z5f52zQqikDBEKQMQoYcWMcWPeU", created: 1770933883, system_fingerprint: "fp_de604bd877", choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", refusal: null } }], usage: { prompt_tokens: 16, completion_tokens: 363, total_tokens: 379 } }],
    ["anthropic/messages-nonstream-text.json", "anth/claude-sonnet-4-5", { id: "msg_01VdEjxAP5ahtHKrrRdNBteQ", choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: "Hello! I'm doing well, thanks for asking. How are you doing today? Is there anything I can help you with?" } }], usage: { prompt_tokens: 12, completion_tokens: 29, total_tokens: 41 } }],
    ["gemini/nonstream-finish-safety.json", "gem/gemini-1.5-flash", { id: "5lpeaLOIBf__698Pv8HGgAg", choices: [{ index: 0, finish_reason: "content_filter", message: { role: "assistant", content: null } }], usage: { prompt_tokens: 14, completion_tokens: 0, total_tokens: 14 } }],
    ["gemini/nonstream-finish-max-tokens.json", "gem/gemini-2.5-flash", { id: "R5MoavWNNp_8qtsP2fWD2A0", choices: [{ index: 0, finish_reason: "length", message: { role: "assistant", content: "The capital of France is" } }], usage: { prompt_tokens: 15, completion_tokens: 5, total_tokens: 20 } }],
  ];
  for (const [file, model, expected] of ANSWERS) {
    it(`${file}: the chat.completion says what the recording shows`, async () => {
      const { status, body } = recordedResponse(file);
      answer = { status, headers: { "content-type": "application/json" }, body, sliceSizes: [1] };
      const response = await post({ model, messages: [{ role: "user", content: "hi" }] });
      expect(response.status).toBe(200);
      expect(response.json()).toMatchObject({ object: "chat.completion", model, ...expected });
    });
  }

  const ERRORS: [string, string, string][] = [
    ["openai/error-400-invalid-value-content-block-type.json", "openai-main/gpt-5-mini", "Content blocks are expected to be either text or image_url type"],
    ["openai/error-400-unsupported-parameter.json", "openai-main/o3-mini", "Use 'max_completion_tokens' instead"],
    ["openai/error-400-unsupported-value.json", "openai-main/o1-mini", "does not support 'system' with this model"],
    ["openai-compatible/groq-error-400-tool-use-failed.json", "groq/openai/gpt-oss-120b", "Tool call validation failed"],
    ["anthropic/error-400-invalid-request.json", "anth/claude-opus-4-6", "This model does not support effort level 'xhigh'"],
    ["anthropic/error-400-tool-result-without-tool-use.json", "anth/claude-sonnet-4-5", "Each `tool_result` block must have a corresponding `tool_use` block"],
    ["anthropic/error-400-tool-use-without-tool-result.json", "anth/claude-sonnet-4-5", "`tool_use` ids were found without `tool_result` blocks"],
    ["gemini/error-400-invalid-argument-penalty.json", "gem/gemini-2.5-pro", "Penalty is not enabled for models/gemini-2.5-pro"],
    ["gemini/error-400-vertex-url-not-fetchable.json", "gem/gemini-2.5-flash", "URL_ROBOTED-ROBOTED_DENIED"],
  ];
  for (const [file, model, text] of ERRORS) {
    it(`${file}: a 400 upstream_invalid_request carrying the provider's message, JSON and streamed`, async () => {
      const { status, body } = recordedResponse(file);
      for (const stream of [false, true]) {
        answer = { status, headers: { "content-type": "application/json" }, body, sliceSizes: [1] };
        const response = await post({ model, messages: [{ role: "user", content: "hi" }], ...(stream ? { stream: true } : {}) });
        expect(response.status, `stream: ${stream}`).toBe(400);
        // Fields of the provider's error object the gateway does not model come back beside the envelope's (Groq's failed_generation).
        const upstream = (JSON.parse(body) as { error?: Record<string, unknown> }).error ?? {};
        const extra = Object.fromEntries(Object.entries(upstream).filter(([key]) => !["message", "type", "code", "param"].includes(key) && file.startsWith("openai")));
        expect(response.json(), `stream: ${stream}`).toEqual({ error: { ...extra, message: expect.stringContaining(text), type: "invalid_request_error", param: expect.toBeOneOf([null, expect.any(String)]), code: "upstream_invalid_request" } });
      }
    });
  }

  it("lists every whole-answer and error recording of every provider folder", () => {
    const files = ["openai", "openai-compatible", "anthropic", "gemini"].flatMap((folder) => readdirSync(join(FIXTURES_DIR, folder)).filter((name) => /^(chat-nonstream|messages-nonstream|nonstream|error-|groq-error)/.test(name)).map((name) => `${folder}/${name}`));
    expect(files.sort()).toEqual([...ANSWERS.map(([file]) => file), ...ERRORS.map(([file]) => file), "openai/chat-nonstream-tool-call.json"].sort());
  });
});
