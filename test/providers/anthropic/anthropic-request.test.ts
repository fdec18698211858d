import { describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { ResponseFormatType, Role, ToolChoiceMode } from "../../../gen/switchyard/v1/chat_pb.js";
import { GatewayError } from "../../../src/core/errors.js";
import { defaultMaxTokensFor, JSON_OBJECT_INSTRUCTION, toAnthropicRequest } from "../../../src/providers/anthropic/anthropic-request.js";
import { textMessage, toolResult, user } from "../../support/proto-builders.js";
import { chatInput } from "./anthropic-test-setup.js";

const MODEL = "claude-3-5-haiku-latest";
const base = { model: MODEL, max_tokens: 1000, stream: false };
const hi = { role: "user", content: [{ type: "text", text: "hi" }] };
const bytes = (text: string) => new TextEncoder().encode(text);
const b64 = (text: string) => Buffer.from(text).toString("base64");
const weather = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
const call = (id: string, name: string, args: string) => ({ id, name, arguments: args });

type Init = Parameters<typeof chatInput>[0];

describe("toAnthropicRequest", () => {
  it.each<[string, Init, Record<string, unknown>]>([
    [
      "hoists system and developer messages into system blocks and skips empty ones",
      { maxTokens: 1000, messages: [textMessage(Role.SYSTEM, "Be brief."), textMessage(Role.DEVELOPER, ""), user("hi"), textMessage(Role.DEVELOPER, "Use metric.")] },
      { ...base, system: [{ type: "text", text: "Be brief." }, { type: "text", text: "Use metric." }], messages: [hi] },
    ],
    [
      "merges consecutive user messages and drops empty text",
      { maxTokens: 1000, messages: [user("a", ""), user("b")] },
      { ...base, messages: [{ role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] }] },
    ],
    [
      "puts all tool results of one turn into one user turn, before user text, and sends no empty text for a tool-call-only assistant",
      {
        maxTokens: 1000,
        messages: [
          user("weather?"),
          { role: Role.ASSISTANT, content: [{ part: { case: "text", value: "" } }], toolCalls: [call("call_1", "get_weather", '{"city":"Paris"}'), call("call_2", "get_weather", "")] },
          toolResult("call_1", "sunny"),
          user("and tomorrow?"),
          toolResult("call_2", "rain"),
        ],
      },
      {
        ...base,
        messages: [
          { role: "user", content: [{ type: "text", text: "weather?" }] },
          {
            role: "assistant",
            content: [
              { type: "tool_use", id: "call_1", name: "get_weather", input: { city: "Paris" } },
              { type: "tool_use", id: "call_2", name: "get_weather", input: {} },
            ],
          },
          {
            role: "user",
            content: [
              { type: "tool_result", tool_use_id: "call_1", content: "sunny" },
              { type: "tool_result", tool_use_id: "call_2", content: "rain" },
              { type: "text", text: "and tomorrow?" },
            ],
          },
        ],
      },
    ],
    [
      "rewrites invalid tool ids consistently, avoiding collisions with valid ids",
      {
        maxTokens: 1000,
        messages: [
          user("go"),
          { role: Role.ASSISTANT, toolCalls: [call("functions.search:0", "search", "{}"), call("functions_search_0", "search", "{}")] },
          toolResult("functions.search:0", "r1"),
          toolResult("functions_search_0", "r2"),
        ],
      },
      {
        ...base,
        messages: [
          { role: "user", content: [{ type: "text", text: "go" }] },
          {
            role: "assistant",
            content: [
              { type: "tool_use", id: "functions_search_0_2", name: "search", input: {} },
              { type: "tool_use", id: "functions_search_0", name: "search", input: {} },
            ],
          },
          {
            role: "user",
            content: [
              { type: "tool_result", tool_use_id: "functions_search_0_2", content: "r1" },
              { type: "tool_result", tool_use_id: "functions_search_0", content: "r2" },
            ],
          },
        ],
      },
    ],
    [
      "maps images by https URL, by data and by data URL",
      {
        maxTokens: 1000,
        messages: [
          {
            role: Role.USER,
            content: [
              { part: { case: "image", value: { source: { case: "url", value: "https://example.com/cat.png" } } } },
              { part: { case: "image", value: { source: { case: "data", value: bytes("PNG") }, mimeType: "image/png" } } },
              { part: { case: "image", value: { source: { case: "url", value: "data:image/webp;base64,V0VCUA==" } } } },
            ],
          },
        ],
      },
      {
        ...base,
        messages: [
          {
            role: "user",
            content: [
              { type: "image", source: { type: "url", url: "https://example.com/cat.png" } },
              { type: "image", source: { type: "base64", media_type: "image/png", data: b64("PNG") } },
              { type: "image", source: { type: "base64", media_type: "image/webp", data: "V0VCUA==" } },
            ],
          },
        ],
      },
    ],
    [
      "maps PDFs (data and url, also as an image part with mime_type) and text/plain files to documents",
      {
        maxTokens: 1000,
        messages: [
          {
            role: Role.USER,
            content: [
              { part: { case: "file", value: { source: { case: "data", value: bytes("%PDF") }, mimeType: "application/pdf", filename: "a.pdf" } } },
              { part: { case: "file", value: { source: { case: "url", value: "https://example.com/report.pdf" } } } },
              { part: { case: "image", value: { source: { case: "url", value: "https://example.com/doc" }, mimeType: "application/pdf" } } },
              { part: { case: "file", value: { source: { case: "data", value: bytes("plain words") }, mimeType: "text/plain" } } },
            ],
          },
        ],
      },
      {
        ...base,
        messages: [
          {
            role: "user",
            content: [
              { type: "document", source: { type: "base64", media_type: "application/pdf", data: b64("%PDF") }, title: "a.pdf" },
              { type: "document", source: { type: "url", url: "https://example.com/report.pdf" } },
              { type: "document", source: { type: "url", url: "https://example.com/doc" } },
              { type: "document", source: { type: "text", media_type: "text/plain", data: "plain words" } },
            ],
          },
        ],
      },
    ],
    [
      "sends signed reasoning back as thinking blocks first, and trims a final assistant prefill",
      {
        maxTokens: 1000,
        messages: [
          user("hi"),
          {
            role: Role.ASSISTANT,
            content: [
              { part: { case: "text", value: "Answer: " } },
              { part: { case: "reasoning", value: { text: "think", signature: "sig1" } } },
              { part: { case: "reasoning", value: { redactedData: "opaque" } } },
            ],
          },
        ],
      },
      {
        ...base,
        messages: [
          hi,
          {
            role: "assistant",
            content: [
              { type: "thinking", thinking: "think", signature: "sig1" },
              { type: "redacted_thinking", data: "opaque" },
              { type: "text", text: "Answer:" },
            ],
          },
        ],
      },
    ],
    [
      "passes temperature and top_p, maps stop and user, keeps whitespace-only stops out",
      { maxTokens: 1000, messages: [user("hi")], temperature: 0.5, topP: 0.9, stop: ["END", "\n"], user: "user-42" },
      { ...base, messages: [hi], temperature: 0.5, top_p: 0.9, stop_sequences: ["END"], metadata: { user_id: "user-42" } },
    ],
    [
      "declares tools with a default schema and maps required + parallel_tool_calls false",
      {
        maxTokens: 1000,
        messages: [user("hi")],
        tools: [{ name: "get_weather", description: "Weather", parameters: weather }, { name: "now" }],
        toolChoice: { choice: { case: "mode", value: ToolChoiceMode.REQUIRED } },
        parallelToolCalls: false,
      },
      {
        ...base,
        messages: [hi],
        tools: [
          { name: "get_weather", description: "Weather", input_schema: weather },
          { name: "now", input_schema: { type: "object", properties: {} } },
        ],
        tool_choice: { type: "any", disable_parallel_tool_use: true },
      },
    ],
    [
      "gives a schema without a type (`{}`, bare properties) the type object Anthropic requires",
      { maxTokens: 1000, messages: [user("hi")], tools: [{ name: "now", parameters: {} }, { name: "find", parameters: { properties: { q: { type: "string" } } } }] },
      {
        ...base,
        messages: [hi],
        tools: [
          { name: "now", input_schema: { type: "object" } },
          { name: "find", input_schema: { type: "object", properties: { q: { type: "string" } } } },
        ],
      },
    ],
    [
      "maps a named tool_choice",
      { maxTokens: 1000, messages: [user("hi")], tools: [{ name: "now" }], toolChoice: { choice: { case: "functionName", value: "now" } } },
      { ...base, messages: [hi], tools: [{ name: "now", input_schema: { type: "object", properties: {} } }], tool_choice: { type: "tool", name: "now" } },
    ],
    [
      "maps tool_choice none, and parallel_tool_calls false alone to auto",
      { maxTokens: 1000, messages: [user("hi")], tools: [{ name: "now" }], parallelToolCalls: false },
      { ...base, messages: [hi], tools: [{ name: "now", input_schema: { type: "object", properties: {} } }], tool_choice: { type: "auto", disable_parallel_tool_use: true } },
    ],
    [
      "emulates json_object with a system instruction",
      { maxTokens: 1000, messages: [user("hi")], responseFormat: { type: ResponseFormatType.JSON_OBJECT } },
      { ...base, messages: [hi], system: [{ type: "text", text: JSON_OBJECT_INSTRUCTION }] },
    ],
    [
      "emulates json_schema with a forced json tool",
      { maxTokens: 1000, messages: [user("hi")], responseFormat: { type: ResponseFormatType.JSON_SCHEMA, jsonSchema: { name: "w", schema: weather } } },
      {
        ...base,
        messages: [hi],
        tools: [{ name: "json", description: "Respond with a JSON object.", input_schema: weather }],
        tool_choice: { type: "tool", name: "json", disable_parallel_tool_use: true },
      },
    ],
    [
      "merges provider_options.anthropic into the body",
      { maxTokens: 1000, messages: [user("hi")], providerOptions: { anthropic: { top_k: 5, thinking: { type: "enabled", budget_tokens: 1024 } } } },
      { ...base, messages: [hi], top_k: 5, thinking: { type: "enabled", budget_tokens: 1024 } },
    ],
  ])("%s", (_name, init, expected) => {
    expect(toAnthropicRequest(chatInput(init), { upstreamModel: MODEL, stream: false }).body).toEqual(expected);
  });

  it("maps tool_choice none and auto", () => {
    const body = (mode: ToolChoiceMode) =>
      toAnthropicRequest(chatInput({ maxTokens: 1, messages: [user("hi")], tools: [{ name: "now" }], toolChoice: { choice: { case: "mode", value: mode } } }), { upstreamModel: MODEL, stream: true }).body;
    expect(body(ToolChoiceMode.NONE).tool_choice).toEqual({ type: "none" });
    expect(body(ToolChoiceMode.AUTO).tool_choice).toEqual({ type: "auto" });
    expect(body(ToolChoiceMode.AUTO).stream).toBe(true);
  });

  it.each([
    ["claude-sonnet-4-5", true],
    ["claude-haiku-4-5-20251001", true],
    ["claude-opus-4-1-20250805", true],
    ["claude-opus-4-5", true],
    ["claude-sonnet-4-6", true],
    ["claude-opus-4-20250514", false],
    ["claude-sonnet-4-20250514", false],
    ["claude-3-7-sonnet-latest", false],
  ])("for %s with temperature and top_p, drops top_p with a warning: %s", (model, drops) => {
    const both = toAnthropicRequest(chatInput({ maxTokens: 1, messages: [user("hi")], temperature: 0.5, topP: 0.9 }), { upstreamModel: model, stream: false });
    expect(both.body.temperature).toBe(0.5);
    expect(both.body.top_p).toBe(drops ? undefined : 0.9);
    expect(both.warnings).toEqual(drops ? [`top_p 0.9 was dropped: ${model} does not accept top_p together with temperature.`] : []);
    const topPOnly = toAnthropicRequest(chatInput({ maxTokens: 1, messages: [user("hi")], topP: 0.9 }), { upstreamModel: model, stream: false });
    expect(topPOnly.body.top_p).toBe(0.9);
    expect(topPOnly.warnings).toEqual([]);
  });

  it("returns whitespace-only stop sequences for the gateway to enforce, with a warning", () => {
    const plan = toAnthropicRequest(chatInput({ maxTokens: 1, messages: [user("hi")], stop: ["\n", "END", " \t"] }), { upstreamModel: MODEL, stream: false });
    expect(plan.localStopSequences).toEqual(["\n", " \t"]);
    expect(plan.body.stop_sequences).toEqual(["END"]);
    expect(plan.warnings).toEqual([
      'stop sequence "\\n" is enforced by the gateway (Anthropic rejects whitespace-only stop sequences).',
      'stop sequence " \\t" is enforced by the gateway (Anthropic rejects whitespace-only stop sequences).',
    ]);
  });

  it("drops penalties and seed, and ignores other providers' options, each with a warning", () => {
    const plan = toAnthropicRequest(
      chatInput({ maxTokens: 1, messages: [user("hi")], frequencyPenalty: 0.5, presencePenalty: 0.1, seed: 7n, providerOptions: { openai: { store: true, service_tier: "flex" }, gemini: {} } }),
      { upstreamModel: MODEL, stream: false },
    );
    expect(plan.body).toEqual({ ...base, max_tokens: 1, messages: [hi] });
    expect(plan.warnings).toEqual([
      "frequency_penalty is not supported by Anthropic and was dropped.",
      "presence_penalty is not supported by Anthropic and was dropped.",
      "seed is not supported by Anthropic and was dropped.",
      "ignored provider_options.gemini, provider_options.openai.store, provider_options.openai.service_tier (not for Anthropic).",
    ]);
  });

  it("warns about the json emulations", () => {
    const warningsFor = (type: ResponseFormatType) =>
      toAnthropicRequest(chatInput({ maxTokens: 1, messages: [user("hi")], responseFormat: { type, ...(type === ResponseFormatType.JSON_SCHEMA ? { jsonSchema: { schema: weather } } : {}) } }), { upstreamModel: MODEL, stream: false });
    expect(warningsFor(ResponseFormatType.JSON_OBJECT).warnings).toEqual(["response_format json_object is emulated with a system instruction; Anthropic does not enforce it."]);
    const schemaPlan = warningsFor(ResponseFormatType.JSON_SCHEMA);
    expect(schemaPlan.warnings).toEqual(["response_format json_schema is emulated with a forced tool call; the schema is not strictly enforced."]);
    expect(schemaPlan.jsonToolName).toBe("json");
  });

  it.each([
    ["claude-3-haiku-20240307", 4096],
    ["claude-3-opus-20240229", 4096],
    ["claude-3-5-sonnet-20241022", 8192],
    ["claude-3-5-haiku-latest", 8192],
    ["claude-3-7-sonnet-latest", 64000],
    ["claude-sonnet-4-5", 64000],
    ["claude-sonnet-4-20250514", 64000],
    ["claude-haiku-4-5-20251001", 64000],
    ["claude-opus-4-1-20250805", 32000],
    ["claude-opus-4-5", 64000],
    ["claude-sonnet-5", 64000],
    ["claude-opus-6-20270101", 64000],
    ["some-future-model", 4096],
  ])("defaults max_tokens for %s to %i", (model, tokens) => {
    expect(defaultMaxTokensFor(model)).toBe(tokens);
    const plan = toAnthropicRequest(chatInput({ messages: [user("hi")] }), { upstreamModel: model, stream: false });
    expect(plan.body.max_tokens).toBe(tokens);
    expect(plan.warnings).toEqual([`max_tokens was not set; the gateway sent ${tokens}, its default for ${model} (Anthropic requires it).`]);
  });

  it("prefers the catalogue's max_output_tokens over the default table, and the caller's max_tokens over both", () => {
    const catalogModel = { name: MODEL, maxOutputTokens: 1234, supports: {} };
    const fromCatalog = toAnthropicRequest(chatInput({ messages: [user("hi")] }), { upstreamModel: MODEL, catalogModel, stream: false });
    expect(fromCatalog.body.max_tokens).toBe(1234);
    expect(fromCatalog.warnings).toEqual(["max_tokens was not set; the gateway sent 1234, the model's configured max_output_tokens (Anthropic requires it)."]);
    const fromCaller = toAnthropicRequest(chatInput({ maxTokens: 99, messages: [user("hi")] }), { upstreamModel: MODEL, catalogModel, stream: false });
    expect(fromCaller.body.max_tokens).toBe(99);
    expect(fromCaller.warnings).toEqual([]);
  });

  it("does not send unsigned reasoning and says so", () => {
    const plan = toAnthropicRequest(
      chatInput({ maxTokens: 1, messages: [user("hi"), { role: Role.ASSISTANT, content: [{ part: { case: "reasoning", value: { text: "gemini thought" } } }, { part: { case: "text", value: "ok" } }] }, user("more")] }),
      { upstreamModel: MODEL, stream: false },
    );
    expect(plan.body.messages[1]).toEqual({ role: "assistant", content: [{ type: "text", text: "ok" }] });
    expect(plan.warnings).toEqual(["The reasoning in messages[1].content[0] has no Anthropic signature and was not sent."]);
  });

  it("leaves out thinking another provider signed (its signature tagged gemini:), text and signature, with one warning", () => {
    const foreign = { part: { case: "reasoning" as const, value: { text: "gemini thought", signature: "gemini:CiQBjz1rX8" } } };
    const turn = (text: string) => ({ role: Role.ASSISTANT, content: [foreign, { part: { case: "text" as const, value: text } }] });
    const plan = toAnthropicRequest(chatInput({ maxTokens: 1, messages: [user("hi"), turn("ok"), user("more"), turn("again"), user("last")] }), { upstreamModel: MODEL, stream: false });
    expect(plan.body.messages.filter((message) => message.role === "assistant")).toEqual([{ role: "assistant", content: [{ type: "text", text: "ok" }] }, { role: "assistant", content: [{ type: "text", text: "again" }] }]);
    expect(JSON.stringify(plan.body)).not.toContain("CiQBjz1rX8");
    expect(plan.warnings).toEqual(["Thinking from another provider (gemini) was left out: Anthropic refuses signatures it did not issue."]);
  });

  const audio = { part: { case: "audio" as const, value: { source: { case: "data" as const, value: bytes("RIFF") }, mimeType: "audio/wav" } } };
  it.each<[string, Init, string, string]>([
    ["audio parts", { messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "listen" } }, audio] }] }, "UNSUPPORTED_FEATURE", "messages[0].content[1]"],
    ["audio sent as an image with mime_type", { messages: [{ role: Role.USER, content: [{ part: { case: "image", value: { source: { case: "url", value: "https://x.test/a.mp3" }, mimeType: "audio/mpeg" } } }] }] }, "UNSUPPORTED_FEATURE", "messages[0].content[0]"],
    ["video parts", { messages: [{ role: Role.USER, content: [{ part: { case: "video", value: { source: { case: "url", value: "https://x.test/v.mp4" } } } }] }] }, "UNSUPPORTED_FEATURE", "messages[0].content[0]"],
    ["base64 images of other types", { messages: [{ role: Role.USER, content: [{ part: { case: "image", value: { source: { case: "data", value: bytes("BM") }, mimeType: "image/bmp" } } }] }] }, "UNSUPPORTED_FEATURE", "messages[0].content[0]"],
    ["other file types", { messages: [{ role: Role.USER, content: [{ part: { case: "file", value: { source: { case: "data", value: bytes("x") }, mimeType: "application/zip" } } }] }] }, "UNSUPPORTED_FEATURE", "messages[0].content[0]"],
    ["temperature above 1", { messages: [user("hi")], temperature: 1.5 }, "UNSUPPORTED_FEATURE", "temperature"],
    ["logit_bias", { messages: [user("hi")], logitBias: { "50256": -100 } }, "UNSUPPORTED_FEATURE", "logit_bias"],
    ["logprobs", { messages: [user("hi")], logprobs: true }, "UNSUPPORTED_FEATURE", "logprobs"],
    ["n above 1", { messages: [user("hi")], n: 2 }, "UNSUPPORTED_FEATURE", "n"],
    ["tool-call arguments that are not JSON", { messages: [user("hi"), { role: Role.ASSISTANT, toolCalls: [call("a", "f", "{}"), call("b", "f", "{oops")] }, toolResult("a", "1"), toolResult("b", "2")] }, "INVALID_REQUEST", "messages[1].tool_calls[1].function.arguments"],
    ["tool-call arguments that are not an object", { messages: [user("hi"), { role: Role.ASSISTANT, toolCalls: [call("a", "f", "[1]")] }, toolResult("a", "1")] }, "INVALID_REQUEST", "messages[1].tool_calls[0].function.arguments"],
    ["json_schema together with tools", { messages: [user("hi")], tools: [{ name: "now" }], responseFormat: { type: ResponseFormatType.JSON_SCHEMA, jsonSchema: { schema: weather } } }, "UNSUPPORTED_FEATURE", "response_format"],
    ["provider_options that replace the model", { messages: [user("hi")], providerOptions: { anthropic: { model: "other" } } }, "INVALID_REQUEST", "provider_options.anthropic.model"],
    ["a conversation with only system messages", { messages: [textMessage(Role.SYSTEM, "x")] }, "INVALID_REQUEST", "messages"],
  ])("rejects %s with a 400 naming the field", (_name, init, reason, param) => {
    let thrown: unknown;
    try {
      toAnthropicRequest(chatInput(init), { upstreamModel: MODEL, stream: false });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(GatewayError);
    const error = thrown as GatewayError;
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.reason).toBe(reason);
    expect(error.facts.param).toBe(param);
  });
});
