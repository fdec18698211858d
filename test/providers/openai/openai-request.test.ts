import { describe, expect, it } from "vitest";
import { ImageDetail, ResponseFormatType, Role, ToolChoiceMode } from "../../../gen/switchyard/v1/chat_pb.js";
import { Reason } from "../../../src/core/errors.js";
import { toOpenAIRequest } from "../../../src/providers/openai/openai-request.js";
import { textMessage, toolResult, user } from "../../support/proto-builders.js";
import { chatInput } from "./openai-test-setup.js";

type Init = Parameters<typeof chatInput>[0];
const openai = { stream: false, dialect: { maxCompletionTokens: true, developerRole: true } };
const compatible = { stream: false, dialect: { maxCompletionTokens: false, developerRole: false } };
const bytes = (text: string) => new TextEncoder().encode(text);
const b64 = (text: string) => Buffer.from(text).toString("base64");
const media = (kind: "image" | "audio" | "video" | "file", fields: { url?: string; data?: Uint8Array; mimeType?: string; detail?: ImageDetail; filename?: string }) => ({
  part: {
    case: kind,
    value: { source: fields.data ? { case: "data" as const, value: fields.data } : { case: "url" as const, value: fields.url ?? "" }, mimeType: fields.mimeType ?? "", detail: fields.detail ?? ImageDetail.UNSPECIFIED, filename: fields.filename ?? "" },
  },
});

describe("toOpenAIRequest", () => {
  it.each<[string, Init, Record<string, unknown>, string[]?]>([
    ["sends one text part as a string and several as parts (never merging words)", { messages: [user("Hello"), user("Hello", "world")] }, {
      messages: [{ role: "user", content: "Hello" }, { role: "user", content: [{ type: "text", text: "Hello" }, { type: "text", text: "world" }] }],
    }],
    ["keeps system, developer, names and tool results", { messages: [textMessage(Role.SYSTEM, "s"), textMessage(Role.DEVELOPER, "d"), { ...user("u"), name: "ann" }, toolResult("call_1", "42")] }, {
      messages: [{ role: "system", content: "s" }, { role: "developer", content: "d" }, { role: "user", content: "u", name: "ann" }, { role: "tool", content: "42", tool_call_id: "call_1" }],
    }],
    ["sends assistant text, refusal and tool calls; an empty-argument call becomes '{}'; reasoning is not sent, with a warning", {
      messages: [{
        role: Role.ASSISTANT,
        content: [{ part: { case: "reasoning", value: { text: "hmm" } } }, { part: { case: "text", value: "Sure" } }, { part: { case: "refusal", value: "but no" } }],
        toolCalls: [{ id: "c1", name: "ping", arguments: "" }],
      }],
    }, {
      messages: [{ role: "assistant", content: "Sure", refusal: "but no", tool_calls: [{ id: "c1", type: "function", function: { name: "ping", arguments: "{}" } }] }],
    }, ["reasoning parts in the conversation history were not sent: OpenAI-dialect providers take no reasoning input"]],
    ["keeps an assistant's empty text as \"\" (OpenAI refuses null there without tool calls)", { messages: [user("hi"), { role: Role.ASSISTANT, content: [{ part: { case: "text", value: "" } }] }, user("go on")] }, {
      messages: [{ role: "user", content: "hi" }, { role: "assistant", content: "" }, { role: "user", content: "go on" }],
    }],
    ["sends images by URL or as data URLs with detail, wav/mp3 audio as input_audio, files as file_data", {
      messages: [{
        role: Role.USER,
        content: [
          media("image", { url: "https://x.test/a.png", detail: ImageDetail.HIGH }),
          media("image", { data: bytes("png"), mimeType: "image/png" }),
          media("audio", { data: bytes("wav"), mimeType: "audio/wav" }),
          media("audio", { url: `data:audio/mpeg;base64,${b64("mp3")}`, mimeType: "audio/mpeg" }),
          media("file", { data: bytes("%PDF"), mimeType: "application/pdf", filename: "a.pdf" }),
          media("file", { data: bytes("%PDF"), mimeType: "application/pdf" }),
          media("file", { url: `data:text/plain;base64,${b64("hi")}` }),
        ],
      }],
    }, {
      messages: [{
        role: "user",
        content: [
          { type: "image_url", image_url: { url: "https://x.test/a.png", detail: "high" } },
          { type: "image_url", image_url: { url: `data:image/png;base64,${b64("png")}` } },
          { type: "input_audio", input_audio: { data: b64("wav"), format: "wav" } },
          { type: "input_audio", input_audio: { data: b64("mp3"), format: "mp3" } },
          { type: "file", file: { file_data: `data:application/pdf;base64,${b64("%PDF")}`, filename: "a.pdf" } },
          // OpenAI refuses file_data without a filename: a default one, from the part's place and MIME type.
          { type: "file", file: { file_data: `data:application/pdf;base64,${b64("%PDF")}`, filename: "part-5.pdf" } },
          { type: "file", file: { file_data: `data:text/plain;base64,${b64("hi")}`, filename: "part-6.txt" } },
        ],
      }],
    }],
    ["lets an explicit mime_type decide the kind, whichever field carries the media (as the other adapters do)", {
      messages: [{ role: Role.USER, content: [media("image", { data: bytes("%PDF"), mimeType: "application/pdf" }), media("image", { data: bytes("wav"), mimeType: "audio/wav" }), media("file", { data: bytes("png"), mimeType: "image/png" })] }],
    }, {
      messages: [{
        role: "user",
        content: [
          { type: "file", file: { file_data: `data:application/pdf;base64,${b64("%PDF")}`, filename: "part-0.pdf" } },
          { type: "input_audio", input_audio: { data: b64("wav"), format: "wav" } },
          { type: "image_url", image_url: { url: `data:image/png;base64,${b64("png")}` } },
        ],
      }],
    }],
    ["forwards every sampling knob", {
      messages: [user("x")], temperature: 0.5, topP: 0.9, frequencyPenalty: 0.1, presencePenalty: -0.1, stop: ["END"], seed: 42n, n: 2, logprobs: true, topLogprobs: 3,
      logitBias: { "50256": -100 }, parallelToolCalls: false, user: "u-1",
    }, {
      messages: [{ role: "user", content: "x" }], temperature: 0.5, top_p: 0.9, frequency_penalty: 0.1, presence_penalty: -0.1, stop: ["END"], seed: 42, n: 2, logprobs: true, top_logprobs: 3,
      logit_bias: { "50256": -100 }, parallel_tool_calls: false, user: "u-1",
    }],
    ["sends json_schema response formats and a named tool choice", {
      messages: [user("x")],
      responseFormat: { type: ResponseFormatType.JSON_SCHEMA, jsonSchema: { name: "out", schema: { type: "object" }, strict: true } },
      tools: [{ name: "f", parameters: { type: "object" } }],
      toolChoice: { choice: { case: "functionName", value: "f" } },
    }, {
      messages: [{ role: "user", content: "x" }],
      response_format: { type: "json_schema", json_schema: { name: "out", schema: { type: "object" }, strict: true } },
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
      tool_choice: { type: "function", function: { name: "f" } },
    }],
    ["names a json_schema without a name \"response\", with a warning", { messages: [user("x")], responseFormat: { type: ResponseFormatType.JSON_SCHEMA, jsonSchema: { schema: { type: "object" } } } }, {
      messages: [{ role: "user", content: "x" }], response_format: { type: "json_schema", json_schema: { name: "response", schema: { type: "object" } } },
    }, ['response_format.json_schema.name was not set; sent as "response" (OpenAI requires a name)']],
    ["sends json_object and required", { messages: [user("x")], responseFormat: { type: ResponseFormatType.JSON_OBJECT }, toolChoice: { choice: { case: "mode", value: ToolChoiceMode.REQUIRED } } }, {
      messages: [{ role: "user", content: "x" }], response_format: { type: "json_object" }, tool_choice: "required",
    }],
  ])("%s", (_name, init, expected, warnings = []) => {
    expect(toOpenAIRequest(chatInput(init), "m", openai)).toEqual({ body: { model: "m", ...expected }, warnings });
  });

  it("sends developer messages as developer to OpenAI and as system to compatible servers, in place", () => {
    const input = chatInput({ messages: [textMessage(Role.SYSTEM, "s"), user("u"), textMessage(Role.DEVELOPER, "d")] });
    expect(toOpenAIRequest(input, "m", openai).body.messages.map((message) => message.role)).toEqual(["system", "user", "developer"]);
    expect(toOpenAIRequest(input, "m", compatible)).toEqual({ body: { model: "m", messages: [{ role: "system", content: "s" }, { role: "user", content: "u" }, { role: "system", content: "d" }] }, warnings: [] });
  });

  it("sends the token limit as max_completion_tokens to OpenAI and as max_tokens to compatible servers", () => {
    const input = chatInput({ messages: [user("x")], maxTokens: 50 });
    expect(toOpenAIRequest(input, "m", openai).body).toMatchObject({ max_completion_tokens: 50 });
    expect(toOpenAIRequest(input, "m", openai).body).not.toHaveProperty("max_tokens");
    expect(toOpenAIRequest(input, "m", compatible).body).toMatchObject({ max_tokens: 50 });
    expect(toOpenAIRequest(input, "m", compatible).body).not.toHaveProperty("max_completion_tokens");
  });

  it("sends a tool declared without a description, or with an empty one, without one (chat templates render an empty one)", () => {
    const tools = [{ name: "f" }, { name: "g", description: "" }, { name: "h", description: "Does h." }, { name: "c", custom: {} }];
    expect(toOpenAIRequest(chatInput({ messages: [user("x")], tools }), "m", compatible).body.tools).toEqual([
      { type: "function", function: { name: "f" } },
      { type: "function", function: { name: "g" } },
      { type: "function", function: { name: "h", description: "Does h." } },
      { type: "custom", custom: { name: "c" } },
    ]);
  });

  it("always asks for usage when streaming", () => {
    expect(toOpenAIRequest(chatInput({ messages: [user("x")] }), "m", { ...openai, stream: true }).body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it("merges provider_options.openai at the top level and reports other families as ignored", () => {
    const input = chatInput({ messages: [user("x")], providerOptions: { openai: { service_tier: "flex" }, anthropic: { top_k: 3 } } });
    expect(toOpenAIRequest(input, "m", openai)).toEqual({
      body: { model: "m", messages: [{ role: "user", content: "x" }], service_tier: "flex" },
      warnings: ["provider_options.anthropic ignored: this target is an OpenAI-dialect provider"],
    });
  });

  it.each(["model", "stream", "messages"])("refuses provider_options.openai.%s, which the gateway sets itself (as for Anthropic)", (key) => {
    const input = chatInput({ messages: [user("x")], providerOptions: { openai: { service_tier: "flex", [key]: key === "messages" ? [] : key === "stream" ? true : "gpt-4o" } } });
    expect(() => toOpenAIRequest(input, "m", openai)).toThrow(expect.objectContaining({ reason: Reason.INVALID_REQUEST, facts: { param: `provider_options.openai.${key}` } }));
  });

  it.each<[string, Init, string]>([
    ["video", { messages: [{ role: Role.USER, content: [media("video", { url: "https://x.test/v.mp4", mimeType: "video/mp4" })] }] }, "messages[0].content[0]"],
    ["audio by http URL", { messages: [{ role: Role.USER, content: [user("a").content?.[0] ?? {}, media("audio", { url: "https://x.test/a.mp3", mimeType: "audio/mp3" })] }] }, "messages[0].content[1]"],
    ["audio in a format OpenAI lacks", { messages: [{ role: Role.USER, content: [media("audio", { data: bytes("x"), mimeType: "audio/flac" })] }] }, "messages[0].content[0]"],
    ["a file by http URL", { messages: [{ role: Role.USER, content: [media("file", { url: "https://x.test/a.pdf", mimeType: "application/pdf" })] }] }, "messages[0].content[0]"],
  ])("rejects %s as UNSUPPORTED_FEATURE naming the part", (_name, init, param) => {
    expect(() => toOpenAIRequest(chatInput(init), "m", openai)).toThrow(expect.objectContaining({ reason: Reason.UNSUPPORTED_FEATURE, facts: { param } }));
  });
});
