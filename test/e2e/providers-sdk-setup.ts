/**
 * Set-up of the providers SDK suite (test/e2e/providers-sdk*.test.ts): keys, models and accounts,
 * the gateway config (three accounts in front of dialect upstreams), the tools, and the table of
 * parameters a provider honours natively, emulates, drops with a warning or rejects with a 400.
 */
import type { AddressInfo } from "node:net";
import type OpenAI from "openai";
import { expect } from "vitest";
import { buildApp, type BuiltApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";
import type { Dialect, Json } from "../support/dialect-answers.js";
import type { NormalRequest } from "../support/dialect-requests.js";
import type { DialectUpstream } from "../support/dialect-upstream.js";

export const GATEWAY_KEY = "sy-providers-e2e-0123456789";
export const KEYS: Record<Dialect, string> = { openai: "sk-proj-E2EUPSTREAM0123456789abcd", anthropic: "sk-ant-api03-E2EUPSTREAM0123456789", gemini: "AIzaE2EUPSTREAM-0123456789abcdefghij" };
export const MODELS: Record<Dialect, string> = { openai: "gpt-4o-mini", anthropic: "claude-sonnet-4-5", gemini: "gemini-2.5-flash" };
export const ACCOUNTS: Record<Dialect, string> = { openai: "openai-main", anthropic: "anthropic-main", gemini: "internal-google" };
export const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 1, 2, 3]);
export const MP4 = Buffer.from([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x6d, 0x70, 0x34, 0x32, 9, 9]);
export const WAV = Buffer.from("RIFF\x24\x00\x00\x00WAVEfmt fake-audio", "latin1");

export type Params = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
export type Part = OpenAI.Chat.ChatCompletionContentPart;

export const WEATHER_TOOL: OpenAI.Chat.ChatCompletionTool = {
  type: "function",
  function: {
    name: "get_current_weather",
    description: "Get the current weather in a given location",
    parameters: { type: "object", properties: { location: { type: "string", description: "The city and state, e.g. San Francisco, CA" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } }, required: ["location"] },
  },
};
export const TIME_TOOL: OpenAI.Chat.ChatCompletionTool = { type: "function", function: { name: "get_time", description: "The current time." } };

export interface Running {
  built: BuiltApp;
  origin: string;
}

/** Starts a gateway on 127.0.0.1:<ephemeral> whose three accounts point at `upstreams`; `mediaYaml` is the config's media section. */
export async function startGateway(upstreams: Record<Dialect, DialectUpstream>, mediaYaml: string): Promise<Running> {
  const yaml = `server: { host: 127.0.0.1, port: 0, shutdown_grace_ms: 2000 }
keys:
  - { name: e2e, key: "\${GW_KEY}" }
providers:
  openai-main: { type: openai, api_key: "\${OPENAI_KEY}", base_url: "${upstreams.openai.origin}/v1", models: [${MODELS.openai}] }
  anthropic-main: { type: anthropic, api_key: "\${ANTHROPIC_KEY}", base_url: "${upstreams.anthropic.origin}", models: [${MODELS.anthropic}] }
  internal-google: { type: gemini, api_key: "\${GEMINI_KEY}", base_url: "${upstreams.gemini.origin}", models: [${MODELS.gemini}] }
routing:
  retry: { max_retries: 0, base_delay_ms: 1, max_delay_ms: 1, budget_ms: 1000 }
  circuit_breaker: { failure_threshold: 1000, cooldown_ms: 1000 }
${mediaYaml}
logging: { level: silent }
`;
  const config = parseConfigText(yaml, "providers-e2e.yaml", { GW_KEY: GATEWAY_KEY, OPENAI_KEY: KEYS.openai, ANTHROPIC_KEY: KEYS.anthropic, GEMINI_KEY: KEYS.gemini });
  const built = await buildApp({ config });
  await built.app.listen({ host: "127.0.0.1", port: 0 });
  return { built, origin: `http://127.0.0.1:${(built.app.server.address() as AddressInfo).port}` };
}

/** What a parameter does on one provider: sent natively (maybe with a warning), or a 400 naming it. */
export type Expectation = { kind: "native"; check: (view: NormalRequest, body: Record<string, Json>, data: OpenAI.Chat.ChatCompletion) => void; warning?: string } | { kind: "400"; param: string };
const json = (data: OpenAI.Chat.ChatCompletion): unknown => JSON.parse(data.choices[0]?.message.content ?? "null");
const schema = { type: "object", properties: { city: { type: "string" }, temperature: { type: "number" } }, required: ["city", "temperature"], additionalProperties: false };
/** Parameters whose treatment differs by provider, each with what every provider must do. */
export const PARAMETER_ROWS: { name: string; params: Omit<Params, "model" | "messages">; prompt?: string; expect: Record<Dialect, Expectation> }[] = [
  {
    name: "n=2",
    params: { n: 2 },
    expect: {
      openai: { kind: "native", check: (v, _b, d) => { expect(v.params.n).toBe(2); expect(d.choices).toHaveLength(2); } },
      anthropic: { kind: "400", param: "n" },
      gemini: { kind: "native", check: (v, _b, d) => { expect(v.params.n).toBe(2); expect(d.choices.map((c) => c.index)).toEqual([0, 1]); } },
    },
  },
  {
    name: "logprobs with top_logprobs",
    params: { logprobs: true, top_logprobs: 2 },
    expect: {
      openai: { kind: "native", check: (_v, b) => expect(b).toMatchObject({ logprobs: true, top_logprobs: 2 }) },
      anthropic: { kind: "400", param: "logprobs" },
      gemini: { kind: "native", check: (_v, b) => expect(b.generationConfig).toMatchObject({ responseLogprobs: true, logprobs: 2 }) },
    },
  },
  {
    name: "reasoning_effort low",
    params: { reasoning_effort: "low", temperature: 0.3 },
    expect: {
      openai: { kind: "native", check: (v, b) => { expect(b.reasoning_effort).toBe("low"); expect(v.params.temperature).toBe(0.3); } },
      anthropic: {
        kind: "native",
        warning: "temperature 0.3 was dropped: Anthropic allows only 1 with extended thinking",
        check: (_v, b) => { expect(b.thinking).toEqual({ type: "enabled", budget_tokens: 2048 }); expect(b).not.toHaveProperty("temperature"); },
      },
      gemini: { kind: "native", check: (_v, b) => expect(b.generationConfig).toEqual({ temperature: 0.3, thinkingConfig: { thinkingBudget: 1024 } }) },
    },
  },
  {
    name: "logit_bias",
    params: { logit_bias: { "50256": -100 } },
    expect: {
      openai: { kind: "native", check: (_v, b) => expect(b.logit_bias).toEqual({ "50256": -100 }) },
      anthropic: { kind: "400", param: "logit_bias" },
      gemini: { kind: "400", param: "logit_bias" },
    },
  },
  {
    name: "temperature 1.5",
    params: { temperature: 1.5 },
    expect: {
      openai: { kind: "native", check: (v) => expect(v.params.temperature).toBe(1.5) },
      anthropic: { kind: "400", param: "temperature" },
      gemini: { kind: "native", check: (v) => expect(v.params.temperature).toBe(1.5) },
    },
  },
  {
    name: "response_format json_object",
    params: { response_format: { type: "json_object" } },
    prompt: "Reply as JSON.",
    expect: {
      openai: { kind: "native", check: (_v, b, d) => { expect(b.response_format).toEqual({ type: "json_object" }); expect(json(d)).toEqual({ echo: "Reply as JSON." }); } },
      anthropic: { kind: "native", warning: "json_object is emulated with a system instruction", check: (v, _b, d) => { expect(v.system.join(" ")).toMatch(/valid JSON object/); expect(json(d)).toEqual({ echo: "Reply as JSON." }); } },
      gemini: { kind: "native", check: (_v, b, d) => { expect(b.generationConfig).toEqual({ responseMimeType: "application/json" }); expect(json(d)).toEqual({ echo: "Reply as JSON." }); } },
    },
  },
  {
    name: "response_format json_schema",
    params: { response_format: { type: "json_schema", json_schema: { name: "weather", schema, strict: true } } },
    prompt: "Paris",
    expect: {
      openai: { kind: "native", check: (_v, b, d) => { expect(b.response_format).toEqual({ type: "json_schema", json_schema: { name: "weather", schema, strict: true } }); expect(json(d)).toEqual({ city: "Paris", temperature: 1 }); } },
      anthropic: {
        kind: "native",
        check: (_v, b, d) => {
          // claude-sonnet-4-5 has structured outputs: output_config.format, no forced tool.
          expect(b.output_config).toEqual({ format: { type: "json_schema", schema } });
          expect(b.tools).toBeUndefined();
          expect(json(d)).toEqual({ city: "Paris", temperature: 1 });
          expect(d.choices[0]?.finish_reason).toBe("stop");
          expect(d.choices[0]?.message.tool_calls ?? []).toEqual([]);
        },
      },
      gemini: {
        kind: "native",
        check: (v, b, d) => {
          expect(b.generationConfig).toMatchObject({ responseMimeType: "application/json" });
          expect(v.params.json).toMatchObject({ schema: { properties: { city: {}, temperature: {} } } });
          expect(json(d)).toEqual({ city: "Paris", temperature: 1 });
        },
      },
    },
  },
  {
    name: "parallel_tool_calls false",
    params: { parallel_tool_calls: false, tools: [WEATHER_TOOL] },
    expect: {
      openai: { kind: "native", check: (_v, b) => expect(b.parallel_tool_calls).toBe(false) },
      anthropic: { kind: "native", check: (_v, b) => expect(b.tool_choice).toEqual({ type: "auto", disable_parallel_tool_use: true }) },
      gemini: { kind: "native", warning: "parallel_tool_calls=false is not supported by Gemini; ignored", check: (_v, b) => expect(b).not.toHaveProperty("toolConfig") },
    },
  },
  {
    name: "tool_choice required",
    params: { tool_choice: "required", tools: [TIME_TOOL] },
    expect: Object.fromEntries((["openai", "anthropic", "gemini"] as const).map((d) => [d, { kind: "native", check: (v: NormalRequest, _b: Record<string, Json>, data: OpenAI.Chat.ChatCompletion) => {
      expect(v.toolChoice).toBe("required");
      // A zero-argument tool forced by the provider: arguments are "{}", never "".
      const call = data.choices[0]?.message.tool_calls?.[0];
      expect(call?.type === "function" ? call.function : undefined).toEqual({ name: "get_time", arguments: "{}" });
    } }])) as Record<Dialect, Expectation>,
  },
  {
    name: "tool_choice named function",
    params: { tool_choice: { type: "function", function: { name: "get_time" } }, tools: [WEATHER_TOOL, TIME_TOOL] },
    expect: Object.fromEntries((["openai", "anthropic", "gemini"] as const).map((d) => [d, { kind: "native", check: (v: NormalRequest, b: Record<string, Json>) => {
      expect(v.toolChoice).toEqual({ name: "get_time" });
      if (d === "gemini") expect(b.toolConfig).toEqual({ functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_time"] } });
      if (d === "anthropic") expect(b.tool_choice).toEqual({ type: "tool", name: "get_time" });
    } }])) as unknown as Record<Dialect, Expectation>,
  },
  {
    name: "tool_choice none",
    params: { tool_choice: "none", tools: [WEATHER_TOOL] },
    prompt: "What's the weather like in Boston?",
    expect: Object.fromEntries((["openai", "anthropic", "gemini"] as const).map((d) => [d, { kind: "native", check: (v: NormalRequest, _b: Record<string, Json>, data: OpenAI.Chat.ChatCompletion) => {
      expect(v.toolChoice).toBe("none");
      expect(data.choices[0]?.message.content).toBe("Echo: What's the weather like in Boston?");
    } }])) as Record<Dialect, Expectation>,
  },
];
