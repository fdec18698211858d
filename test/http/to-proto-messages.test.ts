import { describe, expect, it } from "vitest";
import { ImageDetail, Role, type ContentPart } from "../../gen/switchyard/v1/chat_pb.js";
import { Reason } from "../../src/core/errors.js";
import { legacyFunctionCallId, toProtoMessage } from "../../src/http/openai-compat/to-proto-messages.js";

const b64 = (text: string) => Buffer.from(text).toString("base64");
const bytes = (text: string) => new Uint8Array(Buffer.from(text));

/** A content part as a plain tuple: kind, source kind, source value, mime type, detail, filename. */
function describePart(part: ContentPart): unknown[] {
  const p = part.part;
  if (p.case === "text" || p.case === "refusal") return [p.case, p.value];
  if (p.case === "image" || p.case === "audio" || p.case === "video" || p.case === "file") {
    const source = p.value.source;
    return [p.case, source.case, source.case === "data" ? Array.from(source.value) : source.value, p.value.mimeType, p.value.detail, p.value.filename];
  }
  return [p.case];
}

const userParts = (...content: unknown[]) => toProtoMessage({ role: "user", content }, 0).content.map(describePart);

function rejection(raw: unknown): { reason: string; param: string | undefined } {
  try {
    toProtoMessage(raw, 2);
  } catch (error) {
    const e = error as { reason: string; facts: { param?: string } };
    return { reason: e.reason, param: e.facts.param };
  }
  throw new Error("expected a 400");
}

describe("toProtoMessage", () => {
  it("takes content as a string or as text parts", () => {
    expect(toProtoMessage({ role: "user", content: "hello" }, 0).content.map(describePart)).toEqual([["text", "hello"]]);
    expect(userParts({ type: "text", text: "a" }, { type: "text", text: "b" })).toEqual([["text", "a"], ["text", "b"]]);
  });

  it.each([
    ["system", Role.SYSTEM],
    ["developer", Role.DEVELOPER],
    ["user", Role.USER],
    ["assistant", Role.ASSISTANT],
  ])("maps the %s role", (role, expected) => {
    expect(toProtoMessage({ role, content: "x" }, 0).role).toBe(expected);
  });

  it("reads image_url with an https URL (kind from the extension when known, but no mime_type stated for the caller) and detail", () => {
    expect(userParts({ type: "image_url", image_url: { url: "https://x.test/cat", detail: "low" } })).toEqual([["image", "url", "https://x.test/cat", "", ImageDetail.LOW, ""]]);
    expect(userParts({ type: "image_url", image_url: { url: "https://x.test/cat.png?v=1" } })).toEqual([["image", "url", "https://x.test/cat.png?v=1", "", ImageDetail.UNSPECIFIED, ""]]);
    expect(userParts({ type: "image_url", image_url: { url: "https://x.test/clip.wav" } })).toEqual([["audio", "url", "https://x.test/clip.wav", "", ImageDetail.UNSPECIFIED, ""]]);
    // An extension every JavaScript object has a member for is an unknown extension (it was a 500).
    for (const url of ["https://x.test/photo.constructor", "https://x.test/photo.__proto__", "https://x.test/photo.toString"]) {
      expect(userParts({ type: "image_url", image_url: { url } })).toEqual([["image", "url", url, "", ImageDetail.UNSPECIFIED, ""]]);
    }
  });

  it("reads image_url with a data URL as inline bytes", () => {
    expect(userParts({ type: "image_url", image_url: { url: `data:image/png;base64,${b64("PNG")}`, detail: "high" } })).toEqual([["image", "data", Array.from(bytes("PNG")), "image/png", ImageDetail.HIGH, ""]]);
    // The scheme and parameters in any case (RFC 2397, RFC 3986), and a percent-encoded payload, as gRPC callers' data URLs are read.
    expect(userParts({ type: "image_url", image_url: { url: `DATA:IMAGE/PNG;BASE64,${b64("PNG")}` } })).toEqual([["image", "data", Array.from(bytes("PNG")), "image/png", ImageDetail.UNSPECIFIED, ""]]);
    expect(userParts({ type: "image_url", image_url: { url: "data:image/png,PNG%00" } })).toEqual([["image", "data", [80, 78, 71, 0], "image/png", ImageDetail.UNSPECIFIED, ""]]);
  });

  it("routes image_url parts with an audio or video mime_type to audio and video parts", () => {
    expect(userParts({ type: "image_url", image_url: { url: "https://x.test/clip.wav", mime_type: "audio/mp3" } })).toEqual([["audio", "url", "https://x.test/clip.wav", "audio/mp3", ImageDetail.UNSPECIFIED, ""]]);
    expect(userParts({ type: "image_url", image_url: { url: "https://x.test/v", mime_type: "Video/MP4" } })).toEqual([["video", "url", "https://x.test/v", "video/mp4", ImageDetail.UNSPECIFIED, ""]]);
    expect(userParts({ type: "image_url", image_url: { url: `data:application/octet-stream;base64,${b64("PDF")}`, mime_type: "application/pdf" } })).toEqual([["file", "data", Array.from(bytes("PDF")), "application/pdf", ImageDetail.UNSPECIFIED, ""]]);
  });

  it("accepts the nested {image_url:{image_url, mime_type}} form as the URL", () => {
    expect(userParts({ type: "image_url", image_url: { image_url: `data:video/mp4;base64,${b64("MP4")}`, mime_type: "video/mp4" } })).toEqual([["video", "data", Array.from(bytes("MP4")), "video/mp4", ImageDetail.UNSPECIFIED, ""]]);
  });

  it("reads input_audio and file parts", () => {
    expect(userParts({ type: "input_audio", input_audio: { data: b64("RIFF"), format: "wav" } })).toEqual([["audio", "data", Array.from(bytes("RIFF")), "audio/wav", ImageDetail.UNSPECIFIED, ""]]);
    expect(userParts({ type: "file", file: { file_data: `data:application/pdf;base64,${b64("%PDF")}`, filename: "a.pdf" } })).toEqual([["file", "data", Array.from(bytes("%PDF")), "application/pdf", ImageDetail.UNSPECIFIED, "a.pdf"]]);
    expect(userParts({ type: "file", file: { file_data: b64("%PDF"), filename: "b.pdf" } })).toEqual([["file", "data", Array.from(bytes("%PDF")), "application/pdf", ImageDetail.UNSPECIFIED, "b.pdf"]]);
  });

  it("reads assistant tool calls, refusals and an empty content, and tool results", () => {
    const assistant = toProtoMessage({ role: "assistant", content: null, refusal: "no", tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: '{"a":1}' } }] }, 1);
    expect(assistant.content.map(describePart)).toEqual([["refusal", "no"]]);
    expect(assistant.toolCalls.map(({ id, name, arguments: args }) => [id, name, args])).toEqual([["c1", "f", '{"a":1}']]);
    expect(toProtoMessage({ role: "assistant", content: "" }, 1).content.map(describePart)).toEqual([["text", ""]]);
    expect(toProtoMessage({ role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }] }, 1).content).toEqual([]);
    expect(toProtoMessage({ role: "tool", tool_call_id: "c1", content: "42" }, 2)).toMatchObject({ role: Role.TOOL, toolCallId: "c1" });
  });

  it("pairs legacy function_call and function messages through a stable id", () => {
    const call = toProtoMessage({ role: "assistant", content: null, function_call: { name: "f", arguments: "{}" } }, 1);
    const result = toProtoMessage({ role: "function", name: "f", content: "ok" }, 2);
    expect(call.toolCalls[0]).toMatchObject({ id: legacyFunctionCallId("f"), name: "f", arguments: "{}" });
    expect(result).toMatchObject({ role: Role.TOOL, toolCallId: legacyFunctionCallId("f"), name: "" });
  });

  it.each<[string, unknown, string]>([
    ["an unknown role", { role: "wizard", content: "x" }, "messages[2].role"],
    ["a numeric role", { role: 1, content: "x" }, "messages[2].role"],
    ["a message that is a string", "hi", "messages[2]"],
    ["numeric content", { role: "user", content: 5 }, "messages[2].content"],
    ["missing user content", { role: "user" }, "messages[2].content"],
    ["a part that is not an object", { role: "user", content: ["x"] }, "messages[2].content[0]"],
    ["an unknown part type", { role: "user", content: [{ type: "video_url", video_url: {} }] }, "messages[2].content[0].type"],
    ["a refusal part in a user message", { role: "user", content: [{ type: "refusal", refusal: "x" }] }, "messages[2].content[0].type"],
    ["a numeric text", { role: "user", content: [{ type: "text", text: 1 }] }, "messages[2].content[0].text"],
    ["an image_url without url", { role: "user", content: [{ type: "image_url", image_url: {} }] }, "messages[2].content[0].image_url.url"],
    ["an image_url given as a string", { role: "user", content: [{ type: "image_url", image_url: "https://x.test/a.png" }] }, "messages[2].content[0].image_url"],
    ["a non-http URL", { role: "user", content: [{ type: "image_url", image_url: { url: "file:///etc/passwd" } }] }, "messages[2].content[0].image_url.url"],
    ["invalid base64 in a data URL", { role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,@@@not-base64@@@" } }] }, "messages[2].content[0].image_url.url"],
    ["invalid base64 in the nested form", { role: "user", content: [{ type: "image_url", image_url: { image_url: "data:video/mp4;base64,a", mime_type: "video/mp4" } }] }, "messages[2].content[0].image_url.image_url"],
    ["a data URL without its ','", { role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64" } }] }, "messages[2].content[0].image_url.url"],
    ["a data URL without a media type", { role: "user", content: [{ type: "image_url", image_url: { url: `data:;base64,${b64("PNG")}` } }] }, "messages[2].content[0].image_url.url"],
    ["an unknown detail", { role: "user", content: [{ type: "image_url", image_url: { url: "https://x.test/a.png", detail: "ultra" } }] }, "messages[2].content[0].image_url.detail"],
    ["invalid base64 audio", { role: "user", content: [{ type: "input_audio", input_audio: { data: "!!!", format: "wav" } }] }, "messages[2].content[0].input_audio.data"],
    ["an unknown audio format", { role: "user", content: [{ type: "input_audio", input_audio: { data: b64("x"), format: "midi" } }] }, "messages[2].content[0].input_audio.format"],
    ["a file without data", { role: "user", content: [{ type: "file", file: { filename: "a.pdf" } }] }, "messages[2].content[0].file.file_data"],
    ["a file_id reference", { role: "user", content: [{ type: "file", file: { file_id: "file-123" } }] }, "messages[2].content[0].file.file_id"],
    ["tool calls on a user message", { role: "user", content: "x", tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{}" } }] }, "messages[2].tool_calls"],
    ["a tool call without function", { role: "assistant", tool_calls: [{ id: "c", type: "function" }] }, "messages[2].tool_calls[0].function"],
    ["a tool call with object arguments", { role: "assistant", tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: {} } }] }, "messages[2].tool_calls[0].function.arguments"],
    ["a function message without name", { role: "function", content: "x" }, "messages[2].name"],
  ])("rejects %s with a 400 naming the param", (_name, raw, param) => {
    const result = rejection(raw);
    expect(result.reason).toMatch(/^(INVALID_REQUEST|UNSUPPORTED_FEATURE)$/);
    expect(result.param).toBe(param);
  });
});

describe("toProtoMessage: an assistant's reasoning", () => {
  const reasoningOf = (message: Record<string, unknown>) =>
    toProtoMessage({ role: "assistant", content: "ok", ...message }, 0).content.flatMap((part) => (part.part.case === "reasoning" ? [[part.part.value.text, part.part.value.signature, part.part.value.redactedData]] : []));

  it("takes the thinking_blocks when they hold text (signed, whole), reasoning_content otherwise", () => {
    expect(reasoningOf({ reasoning_content: "plain", thinking_blocks: [{ type: "thinking", thinking: "signed", signature: "S" }] })).toEqual([["signed", "S", ""]]);
    expect(reasoningOf({ reasoning_content: "plain" })).toEqual([["plain", "", ""]]);
  });

  it("keeps reasoning_content when the thinking_blocks hold no text (none, or redacted only): the text is not dropped", () => {
    expect(reasoningOf({ reasoning_content: "plain", thinking_blocks: [] })).toEqual([["plain", "", ""]]);
    expect(reasoningOf({ reasoning_content: "plain", thinking_blocks: [{ type: "redacted_thinking", data: "R" }] })).toEqual([
      ["plain", "", ""],
      ["", "", "R"],
    ]);
  });
});

describe("toProtoMessage: what the OpenAI SDK's helpers add to a message they return", () => {
  it("drops `parsed` (their parse of the content), which strict servers refuse as an unknown field", () => {
    const message = toProtoMessage({ role: "assistant", content: '{"a":1}', parsed: { a: 1 }, refusal: null }, 1);
    expect(message.extra).toBeUndefined();
    expect(toProtoMessage({ role: "assistant", content: "x", parsed: null }, 1).extra).toBeUndefined();
  });
});
