import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatInputSchema, ResponseFormatType, Role } from "../../gen/switchyard/v1/chat_pb.js";
import { GatewayError } from "../../src/core/errors.js";
import { validateChatInput } from "../../src/core/validate-input.js";

/*
 * An explicit mime_type in capitals ("IMAGE/PNG", "Image/png") was taken by the REST edge, which
 * writes it in lower case, and refused as "not a MIME type" on every RPC edge. MIME types are
 * case-insensitive; every front door now hands the adapters the lower-case spelling.
 */

const withMedia = (mimeType: string) =>
  create(ChatInputSchema, { model: "a/m", messages: [{ role: Role.USER, content: [{ part: { case: "image", value: { source: { case: "url", value: "https://x.test/a" }, mimeType } } }] }] });

describe("validateChatInput: media MIME types", () => {
  it.each(["IMAGE/PNG", "Image/png", " image/PNG "])("takes %j and writes it in lower case", (mimeType) => {
    const input = withMedia(mimeType);
    validateChatInput(input);
    const part = input.messages[0]?.content[0]?.part;
    expect(part?.case === "image" ? part.value.mimeType : undefined).toBe("image/png");
  });

  it("still refuses what is not a MIME type, naming the part", () => {
    let thrown: unknown;
    try {
      validateChatInput(withMedia("png"));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(GatewayError);
    expect((thrown as GatewayError).facts.param).toBe("messages[0].content[0]");
  });
});

describe("validateChatInput: what a typed caller may set that would be dropped", () => {
  const base = { model: "a/m", messages: [{ role: Role.USER, content: [{ part: { case: "text" as const, value: "hi" } }] }] };
  const paramOf = (init: Parameters<typeof create<typeof ChatInputSchema>>[1]): string | undefined => {
    try {
      validateChatInput(create(ChatInputSchema, init));
    } catch (error) {
      return error instanceof GatewayError ? String(error.facts.param) : "not a GatewayError";
    }
    return undefined;
  };
  const jsonSchema = { name: "answer", schema: { type: "object" } };

  it("refuses a json_schema whose type is not JSON_SCHEMA (proto3's default, UNSPECIFIED, included)", () => {
    expect(paramOf({ ...base, responseFormat: { jsonSchema } })).toBe("response_format.json_schema");
    expect(paramOf({ ...base, responseFormat: { type: ResponseFormatType.JSON_OBJECT, jsonSchema } })).toBe("response_format.json_schema");
    expect(paramOf({ ...base, responseFormat: { type: ResponseFormatType.JSON_SCHEMA, jsonSchema } })).toBeUndefined();
    expect(paramOf({ ...base, responseFormat: { type: ResponseFormatType.JSON_OBJECT } })).toBeUndefined();
  });

  it("refuses a custom tool with parameters or strict", () => {
    expect(paramOf({ ...base, tools: [{ name: "f", custom: {}, parameters: { type: "object" } }] })).toBe("tools[0]");
    expect(paramOf({ ...base, tools: [{ name: "f", custom: {}, strict: false }] })).toBe("tools[0]");
    expect(paramOf({ ...base, tools: [{ name: "f", custom: {} }] })).toBeUndefined();
  });

  it("refuses media given as empty data (an empty payload would reach the provider), as an empty data URL is", () => {
    const empty = (source: { case: "data"; value: Uint8Array } | { case: "url"; value: string }) => paramOf({ model: "a/m", messages: [{ role: Role.USER, content: [{ part: { case: "image", value: { source, mimeType: "image/png" } } }] }] });
    expect(empty({ case: "data", value: new Uint8Array() })).toBe("messages[0].content[0]");
    expect(empty({ case: "url", value: "data:image/png;base64," })).toBe("messages[0].content[0]");
    expect(empty({ case: "data", value: new Uint8Array([1]) })).toBeUndefined();
  });

  it("refuses a tool_call_id on a message that is not a tool result, and an earlier spoken answer's id on one that is not the assistant's", () => {
    const user = (extra: object) => paramOf({ model: "a/m", messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "hi" } }], ...extra }] });
    expect(user({ toolCallId: "call_1" })).toBe("messages[0].tool_call_id");
    expect(user({ audio: { id: "audio_1" } })).toBe("messages[0].audio");
    expect(paramOf({ model: "a/m", messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "hi" } }] }, { role: Role.ASSISTANT, content: [{ part: { case: "text", value: "" } }], audio: { id: "audio_1" } }] })).toBeUndefined();
  });

  it("takes at most 16 fallbacks", () => {
    const names = Array.from({ length: 17 }, (_, index) => `a/m${index}`);
    expect(paramOf({ ...base, fallbacks: names })).toBe("fallbacks");
    expect(paramOf({ ...base, fallbacks: names.slice(1) })).toBeUndefined();
  });
});
