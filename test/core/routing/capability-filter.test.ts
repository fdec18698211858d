import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ResponseFormatSchema, ResponseFormatType, Role } from "../../../gen/switchyard/v1/chat_pb.js";
import { requiredCapabilities, unmetRequirement } from "../../../src/core/routing/capability-filter.js";
import { estimatePromptTokens } from "../../../src/core/usage-estimate.js";
import { chatInput, target } from "./test-targets.js";

const image = { role: Role.USER, content: [{ part: { case: "image" as const, value: { source: { case: "url" as const, value: "https://x/y.png" }, mimeType: "image/png" } } }] };

describe("requiredCapabilities", () => {
  it("collects media kinds, tools and json_schema", () => {
    const input = chatInput("x", {
      messages: [image, { role: Role.USER, content: [{ part: { case: "audio", value: { source: { case: "url", value: "https://x/a.mp3" } } } }, { part: { case: "file", value: { source: { case: "url", value: "https://x/a.pdf" } } } }] }],
      tools: [{ name: "f" }],
      responseFormat: create(ResponseFormatSchema, { type: ResponseFormatType.JSON_SCHEMA }),
    });
    expect(requiredCapabilities(input).sort()).toEqual(["audio", "documents", "images", "jsonSchema", "tools"]);
  });
});

describe("unmetRequirement", () => {
  it("says what the catalogue says a target lacks; unknown capabilities count as supported", () => {
    const input = chatInput("x", { messages: [image] });
    expect(unmetRequirement(input, target("a/m", { catalogModel: { name: "m", supports: { images: false } } }))).toBe("images");
    expect(unmetRequirement(input, target("a/m", { catalogModel: { name: "m", supports: {} } }))).toBeUndefined();
    expect(unmetRequirement(input, target("a/m"))).toBeUndefined();
  });

  it("compares the prompt estimate plus max_tokens with the context window", () => {
    const small = target("a/m", { catalogModel: { name: "m", contextWindow: 100, supports: {} } });
    expect(unmetRequirement(chatInput("x".repeat(200)), small)).toBeUndefined();
    expect(unmetRequirement(chatInput("x".repeat(200), { maxTokens: 60 }), small)).toMatch(/context window/);
    expect(unmetRequirement(chatInput("x".repeat(800)), small)).toMatch(/context window/);
  });

  it("counts the max_tokens the target is sent: its own params win over the caller's", () => {
    const window = { name: "m", contextWindow: 1000, supports: {} };
    const capped = target("d/m", { catalogModel: window, params: { max_tokens: 100 } });
    expect(unmetRequirement(chatInput("hi", { maxTokens: 5000 }), capped)).toBeUndefined();
    const raised = target("d/m", { catalogModel: window, params: { max_completion_tokens: 5000 } });
    expect(unmetRequirement(chatInput("hi", { maxTokens: 100 }), raised)).toMatch(/context window \(~5\d{3} tokens > 1000\)/);
  });

  it("estimates roughly four characters per token", () => {
    expect(estimatePromptTokens(chatInput("x".repeat(400)))).toBe(104);
  });
});
