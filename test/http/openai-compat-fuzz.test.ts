import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";
import { FUZZ_CONFIG, fuzzCases, fuzzRandom, mutateJson, wellBehavedUpstream } from "../support/fuzzing.js";

/*
 * Seeded mutation fuzzing of POST /v1/chat/completions: a valid request using most of the surface
 * (multimodal parts, a tool loop, tools, response_format, sampling, fallbacks), with fields deleted,
 * replaced by values of the wrong type or shape, or extended, sent to every provider dialect with an
 * upstream that always answers well. Whatever the caller sends, the answer is a 4xx in the OpenAI
 * envelope or a complete answer: never a 5xx, never a stream without its end.
 */

const MODELS = ["oai/gpt-4o", "oai/o3", "compat/llama-3", "anth/claude-sonnet-4-5", "anth/claude-3-5-haiku", "gem/gemini-2.5-flash", "gem/gemini-3-pro-preview", "gem/gemini-1.5-pro"];

const WEIRD: unknown[] = [null, true, false, 0, -1, 2 ** 53 + 2, 1e308, -0.5, 3.7, "", "x", "\u0000", "🙂", [], {}, [null], [1, "a"], { a: 1 }, "a".repeat(3000), { type: "text" }, [{ type: "text" }], [{ type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }], [{ type: "input_audio", input_audio: { data: "AAAA", format: "wav" } }], [{ type: "file", file: { file_data: "data:application/pdf;base64,AAAA", filename: "a.pdf" } }]];

const EXTRAS: Record<string, unknown>[] = [
  { logprobs: true, top_logprobs: 2 },
  { logit_bias: { "50256": -100 } },
  { max_completion_tokens: 50 },
  { tool_choice: "required" },
  { tool_choice: { type: "function", function: { name: "f" } } },
  { response_format: { type: "json_object" } },
  { response_format: { type: "json_schema", json_schema: { name: "t", schema: { $ref: "#/$defs/n", $defs: { n: { type: "object", properties: { kids: { type: "array", items: { $ref: "#/$defs/n" } } } } } } } } },
  { reasoning_effort: "high" },
  { n: 2 },
];

function validRequest(random: () => number): Record<string, unknown> {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  return {
    model: pick(MODELS),
    messages: [
      { role: "system", content: "be terse" },
      { role: "user", content: [{ type: "text", text: "hi" }, { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } }] },
      { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "f", arguments: "{\"a\":1}" } }] },
      { role: "tool", tool_call_id: "call_1", content: "42" },
      { role: "user", content: "go" },
    ],
    ...(random() < 0.5 ? { tools: [{ type: "function", function: { name: "f", description: "d", parameters: { type: "object", properties: { a: { type: "integer" } } }, strict: true } }], tool_choice: "auto" } : {}),
    ...(random() < 0.3 ? { response_format: { type: "json_schema", json_schema: { name: "r", schema: { type: "object", properties: { a: { type: "string" } } }, strict: true } } } : {}),
    temperature: 0.5,
    top_p: 0.9,
    max_tokens: 100,
    stop: ["x"],
    seed: 3,
    user: "u",
    fallbacks: [pick(MODELS)],
    ...(random() < 0.35 ? { stream: true, stream_options: { include_usage: true } } : {}),
    ...(random() < 0.3 ? pick(EXTRAS) : {}),
  };
}

/** Mutates a request: its JSON at the shared rates, and now and then a top-level field it did not have. */
function mutate(body: Record<string, unknown>, random: () => number): Record<string, unknown> {
  mutateJson(body, random, WEIRD, { remove: 0.04, replace: 0.04, descend: 0.6 });
  if (random() < 0.04) body[["extra", "functions", "modalities", "audio", "prediction", "service_tier", "store"][Math.floor(random() * 7)] as string] = WEIRD[Math.floor(random() * WEIRD.length)];
  return body;
}

describe("POST /v1/chat/completions under mutation fuzzing (seeded)", () => {
  it("answers every mutated request with a 4xx envelope or a complete answer, over every dialect", async () => {
    const { app } = await buildApp({ config: parseConfigText(FUZZ_CONFIG, "fuzz.yaml", {}), transport: wellBehavedUpstream });
    // Half the cases go over a real socket (the raw node:http route production takes), half
    // through Fastify's inject (the Fastify route): the two share the handler, not the parsing.
    const base = await app.listen({ host: "127.0.0.1", port: 0 });
    const send = async (payload: string, overSocket: boolean): Promise<{ status: number; contentType: string; body: string }> => {
      if (!overSocket) {
        const injected = await app.inject({ method: "POST", url: "/v1/chat/completions", headers: { "content-type": "application/json" }, payload });
        return { status: injected.statusCode, contentType: String(injected.headers["content-type"]), body: injected.body };
      }
      const fetched = await fetch(`${base}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: payload });
      return { status: fetched.status, contentType: fetched.headers.get("content-type") ?? "", body: await fetched.text() };
    };
    const random = fuzzRandom(20261127);
    const seen = { ok: 0, clientError: 0, streams: 0 };
    try {
      for (let index = 0; index < fuzzCases(800); index++) {
        const body = mutate(validRequest(random), random);
        if (body.stream !== true) delete body.stream_options;
        const response = await send(JSON.stringify(body), index % 2 === 0);
        const context = `request ${index}: ${JSON.stringify(body).slice(0, 400)} -> ${response.status} ${response.body.slice(0, 300)}`;
        expect(response.status, context).toBeLessThan(500);
        if (response.status !== 200) {
          seen.clientError++;
          const envelope = JSON.parse(response.body) as { error?: { message?: unknown; type?: unknown } };
          expect(typeof envelope.error?.message, context).toBe("string");
          expect(typeof envelope.error?.type, context).toBe("string");
        } else if (response.contentType.startsWith("text/event-stream")) {
          seen.streams++;
          expect(response.body.endsWith("data: [DONE]\n\n"), context).toBe(true);
        } else {
          seen.ok++;
          expect(Array.isArray((JSON.parse(response.body) as { choices?: unknown }).choices), context).toBe(true);
        }
      }
    } finally {
      await app.close();
    }
    // The mutation rates keep every outcome well represented; a change that made everything a 400 would show here.
    expect(seen.ok).toBeGreaterThan(60);
    expect(seen.streams).toBeGreaterThan(20);
    expect(seen.clientError).toBeGreaterThan(200);
  }, 60_000);
});
