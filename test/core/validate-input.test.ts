import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ChatInputSchema, Role } from "../../gen/switchyard/v1/chat_pb.js";
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
