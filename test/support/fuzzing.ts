/**
 * What the seeded fuzz tests share: a deterministic random source, the FUZZ_SEED and FUZZ_CASES
 * knobs for longer local runs, one gateway config with an account of every dialect, an upstream
 * that always answers well, and one mutation of parsed JSON.
 */
import type { UpstreamResponse, UpstreamTransport } from "../../src/providers/upstream-http.js";

/** A small deterministic generator (a linear congruential one): the same seed gives the same cases. */
export function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
}

/** The random source of a fuzz test: FUZZ_SEED when set, else the test's own seed. */
export function fuzzRandom(defaultSeed: number): () => number {
  return seeded(Number(process.env.FUZZ_SEED ?? defaultSeed));
}

/** How many cases a fuzz test runs: FUZZ_CASES when set, else the test's own number. */
export function fuzzCases(defaultCases: number): number {
  return Number(process.env.FUZZ_CASES ?? defaultCases);
}

/**
 * A gateway with an account of every dialect (oai, compat, anth, gem), no retries, and circuit
 * breakers that do not open, so every case reaches the translators.
 */
export const FUZZ_CONFIG = `
server: { host: 127.0.0.1, port: 8080 }
providers:
  oai: { type: openai, api_key: k, base_url: "https://openai.test/v1" }
  compat: { type: openai-compatible, api_key: k, base_url: "https://compat.test/v1" }
  anth: { type: anthropic, api_key: k, base_url: "https://anthropic.test" }
  gem: { type: gemini, api_key: k, base_url: "https://gemini.test" }
routing: { retry: { max_retries: 0 }, circuit_breaker: { failure_threshold: 1000 } }
logging: { level: silent }
`;

/** How often a mutation removes, replaces or descends into each array item or object field. */
export interface MutationRates {
  /** Chance that an array loses one item, and that an object field is deleted. */
  readonly remove: number;
  /** Chance that an item or field is replaced by one of the weird values. */
  readonly replace: number;
  /** Chance that an object or array that was left in place is mutated in turn. */
  readonly descend: number;
}

/**
 * Mutates parsed JSON in place (and returns it): items and fields removed, replaced by one of
 * `weird`, or mutated in turn, at `rates`.
 */
export function mutateJson(value: unknown, random: () => number, weird: readonly unknown[], rates: MutationRates): unknown {
  const oneWeird = (): unknown => weird[Math.floor(random() * weird.length)];
  if (Array.isArray(value)) {
    if (value.length > 0 && random() < rates.remove) value.splice(Math.floor(random() * value.length), 1);
    for (let index = 0; index < value.length; index++) {
      if (random() < rates.replace) value[index] = oneWeird();
      else if (random() < rates.descend) mutateJson(value[index], random, weird, rates);
    }
    return value;
  }
  if (typeof value !== "object" || value === null) return value;
  const object = value as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    const roll = random();
    if (roll < rates.remove) delete object[key];
    else if (roll < rates.remove + rates.replace) object[key] = oneWeird();
    else if (random() < rates.descend) mutateJson(object[key], random, weird, rates);
  }
  return object;
}

/**
 * A well-behaved answer in the dialect of an upstream URL, JSON or SSE as the request body asks,
 * whatever else it was sent: the text `deltas` (one SSE event each), a finish and usage.
 */
export function wellBehavedAnswer(url: string, body: string, deltas: readonly string[] = ["ok"]): { contentType: string; text: string } {
  const stream = /"stream"\s*:\s*true/.test(body) || url.includes(":streamGenerateContent");
  const whole = JSON.stringify(deltas.join(""));
  const count = deltas.length;
  if (url.endsWith("/messages")) {
    if (!stream) return { contentType: "application/json", text: `{"id":"m","type":"message","role":"assistant","model":"c","content":[{"type":"text","text":${whole}}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":${count}}}` };
    const events = [
      ["message_start", '{"type":"message_start","message":{"id":"m","type":"message","role":"assistant","model":"c","content":[],"usage":{"input_tokens":3,"output_tokens":1}}}'],
      ["content_block_start", '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}'],
      ...deltas.map((delta) => ["content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":${JSON.stringify(delta)}}}`]),
      ["content_block_stop", '{"type":"content_block_stop","index":0}'],
      ["message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":${count}}}`],
      ["message_stop", '{"type":"message_stop"}'],
    ];
    return { contentType: "text/event-stream", text: events.map(([type, data]) => `event: ${type}\ndata: ${data}\n\n`).join("") };
  }
  const usage = `"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":${count},"totalTokenCount":${3 + count}}`;
  if (url.includes(":generateContent") || url.includes(":streamGenerateContent")) {
    const chunk = (text: string, last: boolean) => `{"candidates":[{"content":{"role":"model","parts":[{"text":${text}}]},${last ? '"finishReason":"STOP",' : ""}"index":0}]${last ? `,${usage}` : ""}}`;
    if (!stream) return { contentType: "application/json", text: chunk(whole, true) };
    return { contentType: "text/event-stream", text: deltas.map((delta, index) => `data: ${chunk(JSON.stringify(delta), index === count - 1)}\r\n\r\n`).join("") };
  }
  const openAIUsage = `"usage":{"prompt_tokens":3,"completion_tokens":${count},"total_tokens":${3 + count}}`;
  if (!stream) return { contentType: "application/json", text: `{"id":"c","created":1,"choices":[{"index":0,"message":{"role":"assistant","content":${whole}},"finish_reason":"stop"}],${openAIUsage}}` };
  const chunk = (delta: string, finish: string) => `data: {"id":"c","created":1,"choices":[{"index":0,"delta":${delta},"finish_reason":${finish}}]}\n\n`;
  return { contentType: "text/event-stream", text: `${chunk('{"role":"assistant","content":""}', "null")}${deltas.map((delta) => chunk(`{"content":${JSON.stringify(delta)}}`, "null")).join("")}${chunk("{}", '"stop"')}data: {"id":"c","created":1,"choices":[],${openAIUsage}}\n\ndata: [DONE]\n\n` };
}

/** An upstream transport that answers every call well, in the dialect of its URL, JSON or SSE as asked. */
export const wellBehavedUpstream: UpstreamTransport = async (request) => {
  const { contentType, text } = wellBehavedAnswer(request.url, request.body ?? "");
  const bytes = new TextEncoder().encode(text);
  async function* body(): AsyncGenerator<Uint8Array> {
    yield bytes;
  }
  const response: UpstreamResponse = { status: 200, header: (name) => (name === "content-type" ? contentType : undefined), body: body() };
  return response;
};
