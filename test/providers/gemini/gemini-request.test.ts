import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatInputSchema, ContentPartSchema, ImageDetail, MessageSchema, ResponseFormatType, Role, ToolChoiceMode, type ChatInput } from "../../../gen/switchyard/v1/chat_pb.js";
import type { CatalogModel } from "../../../src/config/gateway-config.js";
import { SKIP_THOUGHT_SIGNATURE_VALIDATOR } from "../../../src/providers/gemini/gemini-contents.js";
import type { FetchedMediaByPath } from "../../../src/providers/gemini/gemini-media.js";
import { mergeJsonPatch, toGeminiRequest, type GeminiRequestContext } from "../../../src/providers/gemini/gemini-request.js";
import { assistant, media, system, text, toolCall, toolResult, user } from "../../support/proto-builders.js";
import { chatInput } from "./gemini-inputs.js";
import { thrownGatewayError } from "../../support/thrown.js";

const BASE = "https://generativelanguage.googleapis.com";

function context(extra: Partial<GeminiRequestContext> = {}): GeminiRequestContext {
  return { baseUrl: BASE, fetchedMedia: new Map(), thoughtSignatureFor: () => undefined, ...extra };
}

function translate(init: MessageInitShape<typeof ChatInputSchema>, extra: Partial<GeminiRequestContext> = {}) {
  return toGeminiRequest(chatInput(init), context(extra));
}


const hi = [user("hi")];

describe("toGeminiRequest: sampling and format fields", () => {
  it.each<[string, MessageInitShape<typeof ChatInputSchema>, Record<string, unknown>]>([
    ["no knobs gives an empty generationConfig", {}, {}],
    ["temperature 0 is kept (presence, not truthiness)", { temperature: 0 }, { temperature: 0 }],
    ["top_p", { topP: 0.9 }, { topP: 0.9 }],
    ["max_tokens -> maxOutputTokens", { maxTokens: 64 }, { maxOutputTokens: 64 }],
    ["stop -> stopSequences", { stop: ["\n", "END"] }, { stopSequences: ["\n", "END"] }],
    ["n -> candidateCount", { n: 2 }, { candidateCount: 2 }],
    ["seed (int64) -> seed", { seed: 42n }, { seed: 42 }],
    ["penalties", { presencePenalty: 0.5, frequencyPenalty: -0.25 }, { presencePenalty: 0.5, frequencyPenalty: -0.25 }],
    ["logprobs + top_logprobs", { logprobs: true, topLogprobs: 3 }, { responseLogprobs: true, logprobs: 3 }],
    ["logprobs:false sends nothing", { logprobs: false }, {}],
    ["json_object", { responseFormat: { type: ResponseFormatType.JSON_OBJECT } }, { responseMimeType: "application/json" }],
    [
      "json_schema -> responseMimeType + sanitised responseSchema",
      { responseFormat: { type: ResponseFormatType.JSON_SCHEMA, jsonSchema: { name: "x", strict: true, schema: { type: "object", additionalProperties: false, properties: { a: { type: "string" } }, required: ["a"] } } } },
      { responseMimeType: "application/json", responseSchema: { type: "OBJECT", properties: { a: { type: "STRING" } }, required: ["a"] } },
    ],
    ["text format sends nothing", { responseFormat: { type: ResponseFormatType.TEXT } }, {}],
  ])("%s", (_name, init, expected) => {
    const { body, warnings } = translate({ messages: hi, ...init });
    expect(body.generationConfig).toEqual(expected);
    expect(warnings).toEqual([]);
  });

  it("drops penalties with a warning when the catalogue says the model has none", () => {
    const catalogModel: CatalogModel = { name: "gemini-2.5-pro", supports: { penalties: false } };
    const { body, warnings } = translate({ messages: hi, presencePenalty: 1, frequencyPenalty: 1, temperature: 1 }, { catalogModel });
    expect(body.generationConfig).toEqual({ temperature: 1 });
    expect(warnings).toEqual(["presence_penalty and frequency_penalty are not supported by gemini-2.5-pro; dropped"]);
  });

  it.each<[string, MessageInitShape<typeof ChatInputSchema>, CatalogModel | undefined, string]>([
    ["logit_bias", { logitBias: { "50256": -100 } }, undefined, "logit_bias"],
    ["a seed beyond 32 bits", { seed: 2n ** 40n }, undefined, "seed"],
    ["logprobs on a model without them", { logprobs: true }, { name: "m", supports: { logprobs: false } }, "logprobs"],
    ["json_schema on a model without it", { responseFormat: { type: ResponseFormatType.JSON_SCHEMA, jsonSchema: { schema: { type: "object" } } } }, { name: "m", supports: { jsonSchema: false } }, "response_format"],
    ["tools on a model without them", { tools: [{ name: "f" }] }, { name: "m", supports: { tools: false } }, "tools"],
    ["a tool name starting with a digit", { tools: [{ name: "9lives" }] }, undefined, "tools[0].function.name"],
  ])("rejects %s with a 400 naming it", (_name, init, catalogModel, param) => {
    const error = thrownGatewayError(() => translate({ messages: hi, ...init }, catalogModel ? { catalogModel } : {}));
    expect(error.reason).toBe("UNSUPPORTED_FEATURE");
    expect(error.facts.param).toBe(param);
  });
});

describe("toGeminiRequest: tools and tool_choice", () => {
  const weather = { name: "get_weather", description: "Weather.", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } };
  const declaration = { name: "get_weather", description: "Weather.", parameters: { type: "OBJECT", properties: { city: { type: "STRING" } }, required: ["city"] } };

  it.each<[string, MessageInitShape<typeof ChatInputSchema>["toolChoice"], unknown]>([
    ["unset: no toolConfig", undefined, undefined],
    ["auto", { choice: { case: "mode", value: ToolChoiceMode.AUTO } }, { functionCallingConfig: { mode: "AUTO" } }],
    ["none", { choice: { case: "mode", value: ToolChoiceMode.NONE } }, { functionCallingConfig: { mode: "NONE" } }],
    ["required -> ANY", { choice: { case: "mode", value: ToolChoiceMode.REQUIRED } }, { functionCallingConfig: { mode: "ANY" } }],
    ["named -> ANY + allowedFunctionNames", { choice: { case: "functionName", value: "get_weather" } }, { functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_weather"] } }],
  ])("tool_choice %s", (_name, toolChoice, expected) => {
    const { body } = translate({ messages: hi, tools: [weather], ...(toolChoice ? { toolChoice } : {}) });
    expect(body.tools).toEqual([{ functionDeclarations: [declaration] }]);
    expect(body.toolConfig).toEqual(expected);
  });

  it("omits parameters of a parameterless tool and an empty description (models before 2.5: the OpenAPI subset)", () => {
    const { body } = translate({ messages: hi, tools: [{ name: "get_country", parameters: { type: "object", properties: {}, additionalProperties: false } }, { name: "now" }] });
    expect(body.tools).toEqual([{ functionDeclarations: [{ name: "get_country" }, { name: "now" }] }]);
  });

  it.each(["gemini-2.0-flash", "gemini-2.5-flash"])("%s: `parameters: {}` declares no arguments, as no parameters does", (upstreamModel) => {
    const { body } = translate({ messages: hi, tools: [{ name: "now", parameters: {} }] }, { upstreamModel });
    expect(body.tools).toEqual([{ functionDeclarations: [{ name: "now" }] }]);
  });

  it.each(["gemini-2.5-flash", "gemini-3-pro-preview", "models/gemini-3.1-flash"])("%s takes tool schemas as written, as parametersJsonSchema (less $schema)", (upstreamModel) => {
    const parameters = {
      type: "object",
      properties: { city: { $ref: "#/$defs/city" }, unit: { anyOf: [{ type: "string", enum: ["c", "f"] }, { type: "null" }] }, days: { type: ["integer", "null"], minimum: 1 } },
      required: ["city"],
      additionalProperties: false,
      $defs: { city: { type: "string", description: "A city." } },
    };
    const empty = { type: "object", properties: {}, additionalProperties: false };
    const { body } = translate({ messages: hi, tools: [{ name: "get_weather", parameters: { $schema: "https://json-schema.org/draft/2020-12/schema", ...parameters } }, { name: "get_country", parameters: empty }, { name: "now" }] }, { upstreamModel });
    expect(body.tools).toEqual([{ functionDeclarations: [{ name: "get_weather", parametersJsonSchema: parameters }, { name: "get_country", parametersJsonSchema: empty }, { name: "now" }] }]);
  });

  it("warns about parallel_tool_calls=false, and about strict on a model without VALIDATED mode", () => {
    const { warnings } = translate({ messages: hi, tools: [{ ...weather, strict: true }], parallelToolCalls: false }, { upstreamModel: "gemini-2.0-flash" });
    expect(warnings).toEqual(["strict tool schemas are not enforced by Gemini for this model; strict ignored", "parallel_tool_calls=false is not supported by Gemini; ignored"]);
  });

  it.each<[string, MessageInitShape<typeof ChatInputSchema>["toolChoice"], unknown]>([
    ["unset -> VALIDATED", undefined, { functionCallingConfig: { mode: "VALIDATED" } }],
    ["auto -> VALIDATED", { choice: { case: "mode", value: ToolChoiceMode.AUTO } }, { functionCallingConfig: { mode: "VALIDATED" } }],
    ["required stays ANY (calls are schema-checked)", { choice: { case: "mode", value: ToolChoiceMode.REQUIRED } }, { functionCallingConfig: { mode: "ANY" } }],
    ["none stays NONE", { choice: { case: "mode", value: ToolChoiceMode.NONE } }, { functionCallingConfig: { mode: "NONE" } }],
  ])("strict tools on gemini-2.5-flash: tool_choice %s, no warning", (_name, toolChoice, expected) => {
    const { body, warnings } = translate({ messages: hi, tools: [{ ...weather, strict: true }], ...(toolChoice ? { toolChoice } : {}) }, { upstreamModel: "gemini-2.5-flash" });
    expect(body.toolConfig).toEqual(expected);
    expect(warnings).toEqual([]);
  });
});

describe("toGeminiRequest: json_schema by model generation", () => {
  const schema = { type: "object", properties: { a: { type: "string", minLength: 1 }, b: { oneOf: [{ type: "string" }, { type: "integer" }] } }, required: ["a"], additionalProperties: false, $defs: { unused: { type: "number" } } };
  const format = { type: ResponseFormatType.JSON_SCHEMA, jsonSchema: { name: "x", strict: true, schema } };

  it.each(["gemini-2.5-flash", "gemini-2.5-pro", "gemini-3-pro-preview", "models/gemini-3.1-flash", "gemini-flash-latest"])("%s takes the caller's JSON Schema unchanged as responseJsonSchema", (upstreamModel) => {
    const { body, warnings } = translate({ messages: hi, responseFormat: format }, { upstreamModel });
    expect(body.generationConfig).toEqual({ responseMimeType: "application/json", responseJsonSchema: schema });
    expect(warnings).toEqual([]);
  });

  it("drops only the $schema dialect marker from responseJsonSchema", () => {
    const marked = { $schema: "https://json-schema.org/draft/2020-12/schema", ...schema };
    const { body } = translate({ messages: hi, responseFormat: { ...format, jsonSchema: { ...format.jsonSchema, schema: marked } } }, { upstreamModel: "gemini-2.5-flash" });
    expect(body.generationConfig).toEqual({ responseMimeType: "application/json", responseJsonSchema: schema });
  });

  it.each(["gemini-2.0-flash", "gemini-1.5-pro-002", "gemma-3-27b-it"])("%s gets the cleaned OpenAPI-subset responseSchema, with a warning naming what was removed, if it constrained the values", (upstreamModel) => {
    const { body, warnings } = translate({ messages: hi, responseFormat: format }, { upstreamModel });
    expect(body.generationConfig).toEqual({
      responseMimeType: "application/json",
      // propertyOrdering: the answer's keys in the caller's order (Gemini 2.0 orders them alphabetically without it).
      responseSchema: { type: "OBJECT", properties: { a: { type: "STRING", minLength: 1 }, b: { anyOf: [{ type: "STRING" }, { type: "INTEGER" }] } }, required: ["a"], propertyOrdering: ["a", "b"] },
    });
    // Nothing it says about the values was lost (additionalProperties: false, $defs inlined): no warning.
    expect(warnings).toEqual([]);
    const lossy = { type: "object", properties: { n: { type: "integer", exclusiveMinimum: 0 }, e: { type: "string", format: "email" } } };
    const tools = [{ name: "f", parameters: lossy }];
    const named = translate({ messages: hi, tools, responseFormat: { ...format, jsonSchema: { ...format.jsonSchema, schema: lossy } } }, { upstreamModel }).warnings;
    expect(named).toContain(`response_format.json_schema.schema: exclusiveMinimum, format "email" removed (not in the schema subset ${upstreamModel} takes)`);
    expect(named).toContain(`tools[0].function.parameters: exclusiveMinimum, format "email" removed (not in the schema subset ${upstreamModel} takes)`);
  });

  it("gives every object of an older model's responseSchema its keys' order as declared, a caller's own propertyOrdering kept; tool parameters get none", () => {
    const ordered = {
      type: "object",
      properties: { reasoning: { type: "string" }, step: { type: "object", properties: { zeta: { type: "integer" }, alpha: { type: "integer" } } }, answer: { type: "string" }, own: { type: "object", properties: { y: { type: "string" }, x: { type: "string" } }, propertyOrdering: ["x", "y"] } },
    };
    const { body } = translate({ messages: hi, tools: [{ name: "f", parameters: ordered }], responseFormat: { ...format, jsonSchema: { ...format.jsonSchema, schema: ordered } } }, { upstreamModel: "gemini-2.0-flash" });
    expect(body.generationConfig).toMatchObject({ responseSchema: {
      type: "OBJECT",
      properties: {
        reasoning: { type: "STRING" },
        step: { type: "OBJECT", properties: { zeta: { type: "INTEGER" }, alpha: { type: "INTEGER" } }, propertyOrdering: ["zeta", "alpha"] },
        answer: { type: "STRING" },
        own: { type: "OBJECT", properties: { y: { type: "STRING" }, x: { type: "STRING" } }, propertyOrdering: ["x", "y"] },
      },
      propertyOrdering: ["reasoning", "step", "answer", "own"],
    } });
    // Properties a $ref or allOf part brings in count with the node's own, in that order.
    const merged = { type: "object", properties: { pet: { allOf: [{ $ref: "#/$defs/Base" }], properties: { weight: { type: "number" }, color: { type: "string" } } } }, $defs: { Base: { type: "object", properties: { name: { type: "string" }, age: { type: "integer" } } } } };
    const mergedBody = translate({ messages: hi, responseFormat: { ...format, jsonSchema: { ...format.jsonSchema, schema: merged } } }, { upstreamModel: "gemini-2.0-flash" }).body;
    expect(mergedBody.generationConfig).toMatchObject({ responseSchema: { properties: { pet: { propertyOrdering: ["name", "age", "weight", "color"] } } } });
    // Only the caller's own ordering reaches the tool's parameters: call arguments are read by name.
    expect(JSON.stringify(body.tools).match(/propertyOrdering/g)).toHaveLength(1);
  });
});

describe("toGeminiRequest: contents", () => {
  it("hoists system and developer messages into systemInstruction and merges same-role turns", () => {
    const developer = { ...system("Be brief."), role: Role.DEVELOPER };
    const { body } = translate({ messages: [system("You are helpful."), user("a"), user("b"), developer, assistant("c"), assistant("d"), user("e")] });
    expect(body.systemInstruction).toEqual({ role: "user", parts: [{ text: "You are helpful." }, { text: "Be brief." }] });
    expect(body.contents).toEqual([
      { role: "user", parts: [{ text: "a" }, { text: "b" }] },
      { role: "model", parts: [{ text: "c" }, { text: "d" }] },
      { role: "user", parts: [{ text: "e" }] },
    ]);
  });

  it("sends one empty user turn when only a system message is given", () => {
    const { body } = translate({ messages: [system("Say hi.")] });
    expect(body.contents).toEqual([{ role: "user", parts: [{ text: "" }] }]);
  });

  it("turns a tool round trip into functionCall and functionResponse parts, ordered like the calls", () => {
    const sig = { google: { thought_signature: "c2lnLTE=" } };
    const { body, warnings } = translate({
      messages: [
        user("weather in Paris and Rome?"),
        assistant("", [toolCall("call_1", "get_weather", '{"city":"Paris"}', sig), toolCall("call_2", "get_weather", '{"city":"Rome"}')]),
        toolResult("call_2", '{"temp":21}'),
        toolResult("call_1", "sunny"),
        user("thanks"),
      ],
    });
    expect(body.contents).toEqual([
      { role: "user", parts: [{ text: "weather in Paris and Rome?" }] },
      {
        role: "model",
        parts: [
          { functionCall: { name: "get_weather", args: { city: "Paris" }, id: "call_1" }, thoughtSignature: "c2lnLTE=" },
          { functionCall: { name: "get_weather", args: { city: "Rome" }, id: "call_2" } },
        ],
      },
      {
        role: "user",
        parts: [
          { functionResponse: { name: "get_weather", response: { output: "sunny" }, id: "call_1" } },
          { functionResponse: { name: "get_weather", response: { output: { temp: 21 } }, id: "call_2" } },
          { text: "thanks" },
        ],
      },
    ]);
    expect(warnings).toEqual([]);
  });

  it("orders the results like the calls of the merged model turn when the calls came in separate assistant messages", () => {
    const { body } = translate({
      messages: [user("x"), assistant("", [toolCall("c1", "f", "{}")]), assistant("", [toolCall("c2", "g", "{}")]), toolResult("c2", "two"), toolResult("c1", "one")],
    });
    const contents = body.contents as { role: string; parts: { functionCall?: { id: string }; functionResponse?: { id: string } }[] }[];
    expect(contents.map((content) => content.role)).toEqual(["user", "model", "user"]);
    expect(contents[1]?.parts.map((part) => part.functionCall?.id)).toEqual(["c1", "c2"]);
    expect(contents[2]?.parts.map((part) => part.functionResponse?.id)).toEqual(["c1", "c2"]);
  });

  it.each<[string, string, unknown]>([
    ["a JSON object is wrapped parsed", '{"a":[1,2]}', { output: { a: [1, 2] } }],
    ["a JSON array is wrapped parsed", "[1,2]", { output: [1, 2] }],
    ["a JSON number is wrapped parsed", "42", { output: 42 }],
    ["a JSON string is wrapped parsed", '"ok"', { output: "ok" }],
    ["plain text stays text", "done", { output: "done" }],
    ["text that only starts like JSON stays text", "{not json", { output: "{not json" }],
  ])("tool result: %s", (_name, content, expected) => {
    const { body } = translate({ messages: [user("x"), assistant("", [toolCall("c", "f", "{}")]), toolResult("c", content)] });
    const last = (body.contents as { parts: { functionResponse?: { response: unknown } }[] }[])[2];
    expect(last?.parts[0]?.functionResponse?.response).toEqual(expected);
  });

  it("rejects a tool result whose call id no earlier assistant message made", () => {
    const error = thrownGatewayError(() => translate({ messages: [user("x"), assistant("", [toolCall("c", "f", "{}")]), toolResult("other", "r")] }));
    expect(error.reason).toBe("INVALID_REQUEST");
    expect(error.facts.param).toBe("messages[2].tool_call_id");
  });

  it("rejects tool call arguments that are not a JSON object, naming the field", () => {
    for (const args of ["{not json", "[1]"]) {
      const error = thrownGatewayError(() => translate({ messages: [user("x"), assistant("", [toolCall("c", "f", args)])] }));
      expect(error.facts.param).toBe("messages[1].tool_calls[0].function.arguments");
    }
  });

  it("treats empty tool call arguments as {}", () => {
    const { body } = translate({ messages: [user("x"), assistant("", [toolCall("c", "f", "")])] });
    expect(body.contents).toContainEqual({ role: "model", parts: [{ functionCall: { name: "f", args: {}, id: "c" }, thoughtSignature: SKIP_THOUGHT_SIGNATURE_VALIDATOR }] });
  });

  it("takes a remembered signature when extra_content was stripped, else puts the sentinel on the first call of each model turn only", () => {
    const remembered = new Map([["call_b", "cmVtZW1iZXJlZA=="]]);
    const { body, warnings } = translate(
      {
        messages: [
          user("x"),
          assistant("", [toolCall("call_a", "f", "{}"), toolCall("call_a2", "f", "{}")]),
          toolResult("call_a", "1"),
          toolResult("call_a2", "2"),
          assistant("", [toolCall("call_b", "g", "{}")]),
          toolResult("call_b", "3"),
        ],
      },
      { thoughtSignatureFor: (id) => remembered.get(id) },
    );
    const model = (body.contents as { role: string; parts: unknown[] }[]).filter((content) => content.role === "model");
    expect(model[0]?.parts).toEqual([
      { functionCall: { name: "f", args: {}, id: "call_a" }, thoughtSignature: SKIP_THOUGHT_SIGNATURE_VALIDATOR },
      { functionCall: { name: "f", args: {}, id: "call_a2" } },
    ]);
    expect(model[1]?.parts).toEqual([{ functionCall: { name: "g", args: {}, id: "call_b" }, thoughtSignature: "cmVtZW1iZXJlZA==" }]);
    expect(warnings).toEqual(["a replayed tool call had no Gemini thought signature; sent Gemini's skip_thought_signature_validator instead"]);
  });

  it("replays reasoning as thought parts with their signature (tagged gemini: by the gateway, sent raw) and refusals as text", () => {
    const message = create(MessageSchema, assistant("answer"));
    message.content.unshift({ $typeName: "switchyard.v1.ContentPart", part: { case: "reasoning", value: { $typeName: "switchyard.v1.Reasoning", text: "thinking", signature: "gemini:c2ln", redactedData: "" } } });
    message.content.push({ $typeName: "switchyard.v1.ContentPart", part: { case: "refusal", value: "no" } });
    const { body } = translate({ messages: [user("q"), message] });
    expect(body.contents).toContainEqual({ role: "model", parts: [{ text: "thinking", thought: true, thoughtSignature: "c2ln" }, { text: "answer" }, { text: "no" }] });
  });

  it("leaves out another provider's redacted reasoning, with a warning (it has no text Gemini could take)", () => {
    const message = create(MessageSchema, assistant("answer"));
    message.content.unshift({ $typeName: "switchyard.v1.ContentPart", part: { case: "reasoning", value: { $typeName: "switchyard.v1.Reasoning", text: "", signature: "", redactedData: "EmwKAhgBEgy3va3pzix" } } });
    const { body, warnings } = translate({ messages: [user("q"), message] });
    expect(body.contents).toContainEqual({ role: "model", parts: [{ text: "answer" }] });
    expect(warnings).toContain("redacted reasoning (another provider's redacted_thinking) cannot be sent to Gemini; left out");
  });
});

describe("toGeminiRequest: media", () => {
  const png = new Uint8Array([137, 80, 78, 71]);
  const fetched: FetchedMediaByPath = new Map([
    ["messages[0].content[1]", { bytes: png, mimeType: "image/png" }],
  ]);

  it.each<[string, ReturnType<typeof media>, unknown]>([
    ["bytes -> inlineData", media("image", { data: png }, "image/png"), { inlineData: { mimeType: "image/png", data: "iVBORw==" } }],
    ["input_audio bytes -> inlineData", media("audio", { data: png }, "audio/wav"), { inlineData: { mimeType: "audio/wav", data: "iVBORw==" } }],
    ["base64 data URL -> inlineData", media("image", { url: "data:image/jpeg;base64,iVBORw==" }), { inlineData: { mimeType: "image/jpeg", data: "iVBORw==" } }],
    ["explicit mime_type beats the data URL's", media("image", { url: "data:application/octet-stream;base64,iVBORw==" }, "audio/mp3"), { inlineData: { mimeType: "audio/mp3", data: "iVBORw==" } }],
    ["percent-encoded data URL -> base64 inlineData", media("file", { url: "data:text/plain,hello%20world" }), { inlineData: { mimeType: "text/plain", data: Buffer.from("hello world").toString("base64") } }],
    ["YouTube -> fileData without mimeType", media("video", { url: "https://www.youtube.com/watch?v=9hE5-98ZeCg" }), { fileData: { fileUri: "https://www.youtube.com/watch?v=9hE5-98ZeCg" } }],
    ["youtu.be -> fileData without mimeType", media("video", { url: "https://youtu.be/9hE5-98ZeCg" }), { fileData: { fileUri: "https://youtu.be/9hE5-98ZeCg" } }],
    ["gs:// -> fileData with the extension's type", media("file", { url: "gs://bucket/doc.pdf" }), { fileData: { mimeType: "application/pdf", fileUri: "gs://bucket/doc.pdf" } }],
    ["gs:// with explicit mime_type", media("video", { url: "gs://bucket/clip.bin" }, "video/mp4"), { fileData: { mimeType: "video/mp4", fileUri: "gs://bucket/clip.bin" } }],
    ["Gemini file URI -> fileData", media("file", { url: `${BASE}/v1beta/files/abc123` }, "application/pdf"), { fileData: { mimeType: "application/pdf", fileUri: `${BASE}/v1beta/files/abc123` } }],
    ["other https URL -> fetched and inlined with the served type", media("image", { url: "https://example.com/cat" }), { inlineData: { mimeType: "image/png", data: "iVBORw==" } }],
    ["explicit mime_type beats the served type", media("image", { url: "https://example.com/cat" }, "image/webp"), { inlineData: { mimeType: "image/webp", data: "iVBORw==" } }],
  ])("%s", (_name, part, expected) => {
    const { body } = translate({ messages: [user(text("look"), part)] }, { fetchedMedia: fetched });
    expect(body.contents).toEqual([{ role: "user", parts: [{ text: "look" }, expected] }]);
  });

  it.each<[string, ReturnType<typeof media>, string]>([
    ["a file id (not a URL)", media("file", { url: "file-abc123" }), "UNSUPPORTED_FEATURE"],
    ["an ftp URL", media("image", { url: "ftp://example.com/a.png" }), "UNSUPPORTED_FEATURE"],
    ["a gs:// URI of unknown type", media("file", { url: "gs://bucket/blob" }), "INVALID_REQUEST"],
    ["a data URL without a type", media("image", { url: "data:;base64,AAAA" }), "INVALID_REQUEST"],
    ["a data URL with broken base64", media("image", { url: "data:image/png;base64,**" }), "INVALID_REQUEST"],
  ])("rejects %s with a 400 naming the part", (_name, part, reason) => {
    const error = thrownGatewayError(() => translate({ messages: [user(text("look"), part)] }));
    expect(error.reason).toBe(reason);
    expect(error.facts.param).toBe("messages[0].content[1]");
  });

  it("knows Files API URIs of a base_url that has its own path and query (a proxy)", () => {
    const proxy = "https://proxy.test/gem?key=abc";
    const part = media("file", { url: "https://proxy.test/gem/v1beta/files/abc123" }, "application/pdf");
    const { body } = translate({ messages: [user(text("look"), part)] }, { baseUrl: proxy });
    expect(body.contents).toEqual([{ role: "user", parts: [{ text: "look" }, { fileData: { mimeType: "application/pdf", fileUri: "https://proxy.test/gem/v1beta/files/abc123" } }] }]);
  });

  it("rejects fetched media whose type cannot be told", () => {
    const unknown: FetchedMediaByPath = new Map([["messages[0].content[0]", { bytes: png, mimeType: "application/octet-stream" }]]);
    const error = thrownGatewayError(() => translate({ messages: [user(media("image", { url: "https://example.com/blob" }))] }, { fetchedMedia: unknown }));
    expect(error.message).toMatch(/set mime_type/);
  });

  it("rejects a media kind the catalogue says the model cannot take", () => {
    const catalogModel: CatalogModel = { name: "gemini-text", supports: { audio: false } };
    const error = thrownGatewayError(() => translate({ messages: [user(media("audio", { data: png }, "audio/wav"))] }, { catalogModel }));
    expect(error.reason).toBe("UNSUPPORTED_FEATURE");
    expect(error.message).toMatch(/does not accept audio/);
  });

  it("warns once that image detail is ignored", () => {
    const part = create(ContentPartSchema, media("image", { data: png }, "image/png"));
    if (part.part.case === "image") part.part.value.detail = ImageDetail.HIGH;
    const { warnings } = translate({ messages: [user(part, part)] });
    expect(warnings).toEqual(["image detail is not supported by Gemini; ignored"]);
  });
});

describe("toGeminiRequest: provider_options", () => {
  it("deep-merges provider_options.gemini into the body and warns once about other families", () => {
    const input: ChatInput = chatInput({
      messages: hi,
      temperature: 0.2,
      providerOptions: {
        gemini: { generationConfig: { thinkingConfig: { thinkingBudget: 0 }, responseModalities: ["TEXT"] }, safetySettings: [{ category: "HARM_CATEGORY_HATE_SPEECH", threshold: "BLOCK_NONE" }] },
        openai: { store: true },
        anthropic: { top_k: 3 },
      },
    });
    const { body, warnings } = toGeminiRequest(input, context());
    expect(body.generationConfig).toEqual({ temperature: 0.2, thinkingConfig: { thinkingBudget: 0 }, responseModalities: ["TEXT"] });
    expect(body.safetySettings).toEqual([{ category: "HARM_CATEGORY_HATE_SPEECH", threshold: "BLOCK_NONE" }]);
    expect(warnings).toEqual(["ignored provider_options.anthropic.top_k, provider_options.openai.store (not for Gemini)."]);
  });

  it("rejects fields outside the merge whitelist (e.g. snake_case or contents)", () => {
    for (const key of ["generation_config", "contents"]) {
      const error = thrownGatewayError(() => translate({ messages: hi, providerOptions: { gemini: { [key]: {} } } }));
      expect(error.facts.param).toBe(`provider_options.gemini.${key}`);
    }
  });

  it("merges per RFC 7396: null deletes, arrays replace", () => {
    expect(mergeJsonPatch({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { b: null, c: [3] }, d: null, e: "x" })).toEqual({ a: { c: [3] }, e: "x" });
  });

  it("warns that user is dropped", () => {
    expect(translate({ messages: hi, user: "u-1" }).warnings).toEqual(["user is not supported by Gemini; dropped"]);
  });
});

describe("cache_control", () => {
  it("is never sent to Gemini (it caches implicitly), and a warning says so", () => {
    const { body, warnings } = translate({
      messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "hi" }, cacheControl: { type: "ephemeral", ttl: "1h" } }], cacheControl: { type: "ephemeral" } }],
      tools: [{ name: "t", cacheControl: { type: "ephemeral" } }],
    });
    expect(JSON.stringify(body)).not.toMatch(/cache_?control/i);
    expect(warnings).toEqual(["cache_control was not sent: Gemini caches prompt prefixes implicitly and takes no breakpoints"]);
  });
});
