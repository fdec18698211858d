import { describe, expect, it } from "vitest";
import { ImageDetail, ResponseFormatType, Role } from "../../../gen/switchyard/v1/chat_pb.js";
import { toAnthropicConversation } from "../../../src/providers/anthropic/anthropic-messages.js";
import { toAnthropicRequest } from "../../../src/providers/anthropic/anthropic-request.js";
import { assistant, developer, system, text, toolCall, toolResult, user, type MessageInit } from "../../support/proto-builders.js";
import { chatInput } from "./anthropic-test-setup.js";

const plan = (model: string, init: Parameters<typeof chatInput>[0]) => toAnthropicRequest(chatInput({ maxTokens: 5000, ...init }), { upstreamModel: model, stream: false });
const convert = (...messages: MessageInit[]) => toAnthropicConversation(chatInput({ messages }).messages);
const toolUse = (id: string, name = "f") => ({ type: "tool_use", id, name, input: {} });
const result = (id: string, content: string) => ({ type: "tool_result", tool_use_id: id, content });

describe("tool_use ids sent once per request", () => {
  it("gives the second legacy call of a function (same gateway id) a fresh id, and its result that id", () => {
    const id = "call_legacy_get_time";
    const { messages } = convert(
      user("time?"),
      assistant("", [toolCall(id, "get_time", "{}")]),
      toolResult(id, "10:00"),
      user("and now?"),
      assistant("", [toolCall(id, "get_time", "{}")]),
      toolResult(id, "10:05"),
    );
    expect(messages).toEqual([
      { role: "user", content: [{ type: "text", text: "time?" }] },
      { role: "assistant", content: [toolUse(id, "get_time")] },
      { role: "user", content: [result(id, "10:00"), { type: "text", text: "and now?" }] },
      { role: "assistant", content: [toolUse(`${id}_2`, "get_time")] },
      { role: "user", content: [result(`${id}_2`, "10:05")] },
    ]);
  });

  it("renames call_0 reused by later turns past ids already in the conversation, and keeps each result with its turn", () => {
    const { messages } = convert(
      user("a"),
      assistant("", [toolCall("call_0", "f", "{}"), toolCall("call_0_2", "f", "{}")]),
      toolResult("call_0", "1"),
      toolResult("call_0_2", "2"),
      assistant("", [toolCall("call_0", "f", "{}")]),
      toolResult("call_0", "3"),
      assistant("", [toolCall("call_0", "f", "{}")]),
      toolResult("call_0", "4"),
    );
    expect(messages.slice(1)).toEqual([
      { role: "assistant", content: [toolUse("call_0"), toolUse("call_0_2")] },
      { role: "user", content: [result("call_0", "1"), result("call_0_2", "2")] },
      { role: "assistant", content: [toolUse("call_0_3")] },
      { role: "user", content: [result("call_0_3", "3")] },
      { role: "assistant", content: [toolUse("call_0_4")] },
      { role: "user", content: [result("call_0_4", "4")] },
    ]);
  });

  it("pairs the results of one message that repeats an id in order, and renames a repeated invalid id validly", () => {
    const { messages } = convert(
      user("a"),
      assistant("", [toolCall("functions.search:0", "search", "{}")]),
      toolResult("functions.search:0", "r1"),
      assistant("", [toolCall("functions.search:0", "search", "{}"), toolCall("functions.search:0", "search", "{}")]),
      toolResult("functions.search:0", "r2"),
      toolResult("functions.search:0", "r3"),
    );
    expect(messages.slice(1)).toEqual([
      { role: "assistant", content: [toolUse("functions_search_0", "search")] },
      { role: "user", content: [result("functions_search_0", "r1")] },
      { role: "assistant", content: [toolUse("functions_search_0_2", "search"), toolUse("functions_search_0_3", "search")] },
      { role: "user", content: [result("functions_search_0_2", "r2"), result("functions_search_0_3", "r3")] },
    ]);
  });
});

describe("whitespace-only text", () => {
  it("drops whitespace-only system and developer text and whitespace-only assistant text next to tool calls, and keeps user text as given", () => {
    const conversation = convert(
      system("  \n"),
      developer("\t"),
      system("Be brief."),
      user(" ", "x"),
      assistant("\n\n", [toolCall("c1", "f", "{}")]),
      toolResult("c1", "r"),
      { role: Role.ASSISTANT, content: [text("Done."), text(" \n ")] },
      user("thanks"),
    );
    expect(conversation.system).toEqual([{ type: "text", text: "Be brief." }]);
    expect(conversation.messages).toEqual([
      { role: "user", content: [{ type: "text", text: " " }, { type: "text", text: "x" }] },
      { role: "assistant", content: [toolUse("c1")] },
      { role: "user", content: [result("c1", "r")] },
      { role: "assistant", content: [{ type: "text", text: "Done." }] },
      { role: "user", content: [{ type: "text", text: "thanks" }] },
    ]);
  });
});

describe("image_url.detail in tool messages", () => {
  it("warns about a dropped detail in a tool message as it does in a user message", () => {
    const image = { part: { case: "image" as const, value: { source: { case: "url" as const, value: "https://example.com/cat.png" }, detail: ImageDetail.HIGH } } };
    const conversation = convert(user(image), assistant("", [toolCall("c1", "f", "{}")]), { role: Role.TOOL, toolCallId: "c1", content: [text("screenshot"), image] });
    expect(conversation.warnings).toEqual([
      "messages[0].content[0].image_url.detail dropped: Anthropic has no image detail setting",
      "messages[2].content[1].image_url.detail dropped: Anthropic has no image detail setting",
    ]);
    expect(conversation.messages[2]?.content).toEqual([
      { type: "tool_result", tool_use_id: "c1", content: [{ type: "text", text: "screenshot" }, { type: "image", source: { type: "url", url: "https://example.com/cat.png" } }] },
    ]);
  });
});

describe("a prefill followed by system or developer messages", () => {
  const weather = { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false };
  const jsonSchema = { type: ResponseFormatType.JSON_SCHEMA, jsonSchema: { name: "w", schema: weather } };

  it.each([["system", system], ["developer", developer]])("still counts as a prefill when a %s message comes last: no thinking, no native output format", (_role, late) => {
    const messages = [user("q"), assistant("Sure, here"), late("Be brief.")];
    const thinking = plan("claude-sonnet-4-5", { messages, reasoningEffort: "low" });
    expect(thinking.body.messages.at(-1)).toEqual({ role: "assistant", content: [{ type: "text", text: "Sure, here" }] });
    expect(thinking.body.thinking).toBeUndefined();
    expect(thinking.warnings).toContain("reasoning_effort low was dropped: Anthropic does not allow extended thinking after an assistant prefill.");
    const json = plan("claude-sonnet-4-5", { messages, responseFormat: jsonSchema });
    expect(json.body.output_config).toBeUndefined();
    expect(json.jsonToolName).toBe("json");
    expect(convert(...messages).prefill).toBe(true);
  });

  it("decides on the converted turns: an assistant turn trimmed away is no prefill", () => {
    const messages = [user("q"), assistant("  "), system("Be brief.")];
    expect(convert(...messages).prefill).toBe(false);
    expect(plan("claude-sonnet-4-5", { messages, reasoningEffort: "low" }).body.thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
    expect(plan("claude-sonnet-4-5", { messages, responseFormat: jsonSchema }).body.output_config).toEqual({ format: { type: "json_schema", schema: weather } });
  });
});
