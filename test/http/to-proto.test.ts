import { describe, expect, it } from "vitest";
import { ResponseFormatType, ToolChoiceMode, type ChatInput } from "../../gen/switchyard/v1/chat_pb.js";
import { Reason } from "../../src/core/errors.js";
import { toProtoChatRequest } from "../../src/http/openai-compat/to-proto.js";

const base = { model: "openai-main/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] };
const translate = (extra: Record<string, unknown>): ChatInput => toProtoChatRequest({ ...base, ...extra }).input;
const weather = { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } } };

function rejection(body: unknown): { reason: string; param: string | undefined; message: string } {
  try {
    toProtoChatRequest(body);
  } catch (error) {
    const e = error as { reason: string; facts: { param?: string }; rawMessage: string };
    return { reason: e.reason, param: e.facts.param, message: e.rawMessage };
  }
  throw new Error("expected a 400");
}

describe("toProtoChatRequest", () => {
  it("reads model, messages and the REST-only stream flags", () => {
    expect(toProtoChatRequest({ ...base, stream: true, stream_options: { include_usage: true } })).toMatchObject({ stream: true, includeUsage: true, input: { model: base.model } });
    expect(toProtoChatRequest(base)).toMatchObject({ stream: false, includeUsage: false });
  });

  it.each([
    ["max_tokens alone", { max_tokens: 100 }, 100],
    ["max_completion_tokens alone", { max_completion_tokens: 200 }, 200],
    ["both: max_completion_tokens wins", { max_tokens: 100, max_completion_tokens: 200 }, 200],
    ["neither", {}, undefined],
  ])("token limit from %s", (_name, extra, expected) => {
    expect(translate(extra).maxTokens).toBe(expected);
  });

  it.each([
    ["2^53 + 2", 2 ** 53 + 2],
    ["1e308", 1e308],
    ["-1e20", -1e20],
  ])("says an integer of %s is out of range, not of the wrong type", (_name, value) => {
    expect(rejection({ ...base, seed: value }).message).toBe(`Invalid 'seed': ${value} is out of range.`);
  });

  it("still type-checks max_tokens when max_completion_tokens is present", () => {
    expect(rejection({ ...base, max_tokens: "100", max_completion_tokens: 200 })).toMatchObject({ reason: Reason.INVALID_REQUEST, param: "max_tokens" });
  });

  it("maps every sampling knob with presence", () => {
    const input = translate({ temperature: 0, top_p: 1, frequency_penalty: -1, presence_penalty: 0.5, seed: 1234567890123, n: 2, logprobs: true, top_logprobs: 2, parallel_tool_calls: false, user: "u" });
    expect(input).toMatchObject({ temperature: 0, topP: 1, frequencyPenalty: -1, presencePenalty: 0.5, seed: 1234567890123n, n: 2, logprobs: true, topLogprobs: 2, parallelToolCalls: false, user: "u" });
    expect(translate({})).not.toHaveProperty("temperature");
    expect(translate({ temperature: null }).temperature).toBeUndefined();
  });

  it.each([
    ["a string", "END", ["END"]],
    ["an array", ["a", "b"], ["a", "b"]],
    ["null", null, []],
  ])("reads stop given as %s", (_name, stop, expected) => {
    expect(translate({ stop }).stop).toEqual(expected);
  });

  it("reads logit_bias as a token -> bias map", () => {
    expect(translate({ logit_bias: { "50256": -100, "15": 5.5 } }).logitBias).toEqual({ "50256": -100, "15": 5.5 });
  });

  it("reads tools and the tool_choice forms", () => {
    const tools = [{ type: "function", function: { ...weather, strict: true } }];
    const input = translate({ tools, tool_choice: { type: "function", function: { name: "get_weather" } } });
    expect(input.tools).toEqual([expect.objectContaining({ name: "get_weather", description: "Weather", parameters: weather.parameters, strict: true })]);
    expect(input.toolChoice?.choice).toEqual({ case: "functionName", value: "get_weather" });
    expect(translate({ tools, tool_choice: "none" }).toolChoice?.choice).toEqual({ case: "mode", value: ToolChoiceMode.NONE });
    expect(translate({ tools, tool_choice: "auto" }).toolChoice?.choice).toEqual({ case: "mode", value: ToolChoiceMode.AUTO });
    expect(translate({ tools, tool_choice: "required" }).toolChoice?.choice).toEqual({ case: "mode", value: ToolChoiceMode.REQUIRED });
    expect(translate({ tools }).toolChoice).toBeUndefined();
  });

  it("up-converts legacy functions and function_call", () => {
    const input = translate({ functions: [weather], function_call: { name: "get_weather" } });
    expect(input.tools).toEqual([expect.objectContaining({ name: "get_weather", parameters: weather.parameters })]);
    expect(input.toolChoice?.choice).toEqual({ case: "functionName", value: "get_weather" });
    expect(translate({ functions: [weather], function_call: "none" }).toolChoice?.choice).toEqual({ case: "mode", value: ToolChoiceMode.NONE });
    expect(translate({ functions: [weather], function_call: "auto" }).toolChoice?.choice).toEqual({ case: "mode", value: ToolChoiceMode.AUTO });
  });

  it("reads the response_format forms", () => {
    expect(translate({ response_format: { type: "text" } }).responseFormat?.type).toBe(ResponseFormatType.TEXT);
    expect(translate({ response_format: { type: "json_object" } }).responseFormat?.type).toBe(ResponseFormatType.JSON_OBJECT);
    const schema = { type: "object", properties: { a: { type: "string" } } };
    expect(translate({ response_format: { type: "json_schema", json_schema: { name: "out", description: "d", schema, strict: true } } }).responseFormat).toMatchObject({
      type: ResponseFormatType.JSON_SCHEMA,
      jsonSchema: { name: "out", description: "d", schema, strict: true },
    });
  });

  it("forwards unknown top-level fields through provider_options.openai; explicit provider_options win", () => {
    const input = translate({ service_tier: "flex", metadata: { team: "a" }, store: true, provider_options: { openai: { service_tier: "priority" }, anthropic: { top_k: 5 } } });
    expect(input.providerOptions).toEqual({ openai: { service_tier: "priority", metadata: { team: "a" }, store: true }, anthropic: { top_k: 5 } });
    expect(translate({}).providerOptions).toEqual({});
  });

  it("takes reasoning_effort as a typed field (every provider maps it), not as an OpenAI passthrough", () => {
    const input = translate({ reasoning_effort: "low" });
    expect(input.reasoningEffort).toBe("low");
    expect(input.providerOptions).toEqual({});
    expect(translate({}).reasoningEffort).toBeUndefined();
  });

  it("reads fallbacks as the routing list", () => {
    expect(translate({ fallbacks: ["groq/llama-3.3-70b-versatile", "openai-main/gpt-4o"] }).fallbacks).toEqual(["groq/llama-3.3-70b-versatile", "openai-main/gpt-4o"]);
  });

  it.each<[string, unknown, string | undefined]>([
    ["a non-object body", [], undefined],
    ["a null body", null, undefined],
    ["a missing model", { messages: base.messages }, "model"],
    ["a numeric model", { ...base, model: 5 }, "model"],
    ["missing messages", { model: base.model }, "messages"],
    ["messages as an object", { ...base, messages: {} }, "messages"],
    ["a string temperature", { ...base, temperature: "0.5" }, "temperature"],
    ["a numeric reasoning_effort", { ...base, reasoning_effort: 2 }, "reasoning_effort"],
    ["a fractional max_tokens", { ...base, max_tokens: 1.5 }, "max_tokens"],
    ["an out-of-range max_completion_tokens", { ...base, max_completion_tokens: 2 ** 40 }, "max_completion_tokens"],
    ["a string stream", { ...base, stream: "yes" }, "stream"],
    ["stream_options without stream", { ...base, stream_options: { include_usage: true } }, "stream_options"],
    ["an unknown stream_options key", { ...base, stream: true, stream_options: { include_usage: true, extra: 1 } }, "stream_options.extra"],
    ["a numeric stop entry", { ...base, stop: ["a", 1] }, "stop[1]"],
    ["a fractional seed", { ...base, seed: 1.5 }, "seed"],
    ["a string logit bias", { ...base, logit_bias: { "1": "x" } }, "logit_bias.1"],
    ["tools as an object", { ...base, tools: {} }, "tools"],
    ["a tool without a name", { ...base, tools: [{ type: "function", function: {} }] }, "tools[0].function.name"],
    ["a custom tool without its custom object", { ...base, tools: [{ type: "custom" }] }, "tools[0].custom"],
    ["a custom tool without a name", { ...base, tools: [{ type: "custom", custom: {} }] }, "tools[0].custom.name"],
    ["an unknown tool type", { ...base, tools: [{ type: "web_search" }] }, "tools[0].type"],
    ["an unknown tool_choice string", { ...base, tool_choice: "any" }, "tool_choice"],
    ["an allowed_tools tool_choice without its list", { ...base, tool_choice: { type: "allowed_tools" } }, "tool_choice.allowed_tools"],
    ["an allowed_tools mode that is not auto or required", { ...base, tool_choice: { type: "allowed_tools", allowed_tools: { mode: "none", tools: [{ type: "function", function: { name: "f" } }] } } }, "tool_choice.allowed_tools.mode"],
    ["an empty allowed_tools list", { ...base, tool_choice: { type: "allowed_tools", allowed_tools: { mode: "auto", tools: [] } } }, "tool_choice.allowed_tools.tools"],
    ["a hosted tool in allowed_tools", { ...base, tool_choice: { type: "allowed_tools", allowed_tools: { mode: "auto", tools: [{ type: "web_search" }] } } }, "tool_choice.allowed_tools.tools[0].type"],
    ["an unknown tool_choice type", { ...base, tool_choice: { type: "file_search" } }, "tool_choice.type"],
    ["required as a legacy function_call", { ...base, functions: [weather], function_call: "required" }, "function_call"],
    ["both tools and functions", { ...base, tools: [{ type: "function", function: weather }], functions: [weather] }, "functions"],
    ["an unknown response_format type", { ...base, response_format: { type: "xml" } }, "response_format.type"],
    ["json_schema without its spec", { ...base, response_format: { type: "json_schema" } }, "response_format.json_schema"],
    ["parameters as an array", { ...base, tools: [{ type: "function", function: { name: "f", parameters: [] } }] }, "tools[0].function.parameters"],
    ["a non-string fallback", { ...base, fallbacks: [1] }, "fallbacks[0]"],
    ["an integer beyond 2^53", { ...base, max_tokens: 2 ** 53 + 2 }, "max_tokens"],
    ["deeply nested junk in an unknown field", { ...base, junk: JSON.parse("[".repeat(500) + "]".repeat(500)) as unknown }, "junk"],
    ["deeply nested tool parameters", { ...base, tools: [{ type: "function", function: { name: "f", parameters: { a: JSON.parse("[".repeat(500) + "]".repeat(500)) as unknown } } }] }, "tools[0].function.parameters"],
  ])("rejects %s with a 400 naming the param", (_name, body, param) => {
    const result = rejection(body);
    expect(result.reason).toMatch(/^(INVALID_REQUEST|UNSUPPORTED_FEATURE)$/);
    expect(result.param).toBe(param);
  });
});
