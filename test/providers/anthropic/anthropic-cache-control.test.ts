/**
 * cache_control breakpoints in the shapes LiteLLM and OpenRouter clients send (a content part, a
 * whole message, a system part, a tool), parsed by the REST front door and translated by the
 * Anthropic adapter; the assertions are on the exact Anthropic body.
 */
import { describe, expect, it } from "vitest";
import { toProtoChatRequest } from "../../../src/http/openai-compat/to-proto.js";
import { toAnthropicRequest } from "../../../src/providers/anthropic/anthropic-request.js";
import { Reason } from "../../../src/core/errors.js";
import { thrownGatewayError } from "../../support/thrown.js";

const EPHEMERAL = { type: "ephemeral" } as const;
const PNG = "data:image/png;base64,iVBORw0KGgo=";
const PDF = `data:application/pdf;base64,${Buffer.from("%PDF-1.4").toString("base64")}`;

/** The Anthropic plan for an OpenAI-format body (model claude-sonnet-4-5, max_tokens 100). */
function planFor(body: Record<string, unknown>) {
  const { input } = toProtoChatRequest({ model: "ant/claude-sonnet-4-5", max_tokens: 100, ...body });
  return toAnthropicRequest(input, { upstreamModel: "claude-sonnet-4-5", stream: false });
}

describe("cache_control to Anthropic", () => {
  it("puts a system part's breakpoint on its system block, with the ttl", () => {
    const { body, warnings } = planFor({
      messages: [
        { role: "system", content: [{ type: "text", text: "rules" }, { type: "text", text: "big document", cache_control: { type: "ephemeral", ttl: "1h" } }] },
        { role: "user", content: "question" },
      ],
    });
    expect(body.system).toEqual([{ type: "text", text: "rules" }, { type: "text", text: "big document", cache_control: { type: "ephemeral", ttl: "1h" } }]);
    expect(body.messages).toEqual([{ role: "user", content: [{ type: "text", text: "question" }] }]);
    expect(warnings.join(" ")).not.toContain("cache_control");
  });

  it("puts a whole message's breakpoint (string content, LiteLLM's form) on the last block of that message", () => {
    const { body } = planFor({
      messages: [
        { role: "system", content: "long system prompt", cache_control: EPHEMERAL },
        { role: "user", content: "context", cache_control: { type: "ephemeral", ttl: "5m" } },
        { role: "user", content: "question" },
      ],
    });
    expect(body.system).toEqual([{ type: "text", text: "long system prompt", cache_control: EPHEMERAL }]);
    // The two user messages merge into one turn; the breakpoint stays on the first message's block.
    expect(body.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "context", cache_control: { type: "ephemeral", ttl: "5m" } }, { type: "text", text: "question" }] },
    ]);
  });

  it("puts part breakpoints on text, image and document blocks", () => {
    const { body } = planFor({
      messages: [
        {
          role: "user",
          content: [
            { type: "image_url", image_url: { url: PNG }, cache_control: EPHEMERAL },
            { type: "file", file: { file_data: PDF, filename: "a.pdf" }, cache_control: EPHEMERAL },
            { type: "text", text: "describe", cache_control: EPHEMERAL },
          ],
        },
      ],
    });
    expect(body.messages[0]?.content).toEqual([
      { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" }, cache_control: EPHEMERAL },
      { type: "document", source: { type: "base64", media_type: "application/pdf", data: Buffer.from("%PDF-1.4").toString("base64") }, title: "a.pdf", cache_control: EPHEMERAL },
      { type: "text", text: "describe", cache_control: EPHEMERAL },
    ]);
  });

  it("puts a whole message's breakpoint on the last part when the content is an array, unless it has its own", () => {
    const { body } = planFor({
      messages: [{ role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b", cache_control: { type: "ephemeral", ttl: "1h" } }], cache_control: EPHEMERAL }],
    });
    expect(body.messages[0]?.content).toEqual([{ type: "text", text: "a" }, { type: "text", text: "b", cache_control: { type: "ephemeral", ttl: "1h" } }]);
  });

  it("puts a tool message's breakpoint on its tool_result block, and an assistant message's on its last block", () => {
    const { body } = planFor({
      messages: [
        { role: "user", content: "weather?" },
        { role: "assistant", content: "checking", tool_calls: [{ id: "call_1", type: "function", function: { name: "weather", arguments: "{}" } }], cache_control: EPHEMERAL },
        { role: "tool", tool_call_id: "call_1", content: "sunny", cache_control: EPHEMERAL },
        { role: "tool", tool_call_id: "call_1", content: [{ type: "text", text: "also warm", cache_control: EPHEMERAL }] },
      ],
      tools: [{ type: "function", function: { name: "weather", parameters: { type: "object", properties: {} } } }],
    });
    expect(body.messages.slice(1)).toEqual([
      { role: "assistant", content: [{ type: "text", text: "checking" }, { type: "tool_use", id: "call_1", name: "weather", input: {}, cache_control: EPHEMERAL }] },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "call_1", content: "sunny", cache_control: EPHEMERAL },
          { type: "tool_result", tool_use_id: "call_1", content: "also warm", cache_control: EPHEMERAL },
        ],
      },
    ]);
  });

  it("puts a tool's breakpoint on its declaration (strict tools too)", () => {
    const { body } = planFor({
      messages: [{ role: "user", content: "hi" }],
      tools: [
        { type: "function", function: { name: "a", parameters: { type: "object", properties: {} } } },
        { type: "function", function: { name: "b", strict: true, parameters: { type: "object", properties: { x: { type: "string" } }, required: ["x"] } }, cache_control: { type: "ephemeral", ttl: "1h" } },
      ],
    });
    expect(body.tools).toEqual([
      { name: "a", input_schema: { type: "object", properties: {} } },
      { name: "b", input_schema: { type: "object", properties: { x: { type: "string" } }, required: ["x"], additionalProperties: false }, strict: true, cache_control: { type: "ephemeral", ttl: "1h" } },
    ]);
  });

  it("drops, with a warning, a breakpoint with no block to go on", () => {
    const { body, warnings } = planFor({
      messages: [
        { role: "system", content: [{ type: "text", text: "  ", cache_control: EPHEMERAL }] },
        { role: "user", content: "hi" },
      ],
    });
    expect(body.system).toBeUndefined();
    expect(warnings).toContain("messages[0].content[0].cache_control dropped: Anthropic takes no empty or whitespace-only system text.");
  });

  it("leaves the body unchanged when no breakpoint is set", () => {
    const { body } = planFor({ messages: [{ role: "system", content: "s" }, { role: "user", content: "hi" }] });
    expect(JSON.stringify(body)).not.toContain("cache_control");
  });

  it("refuses a fifth breakpoint with a 400 naming it, before any upstream call", () => {
    const error = thrownGatewayError(() =>
      planFor({
        messages: [
          { role: "system", content: "s", cache_control: EPHEMERAL },
          { role: "user", content: [1, 2, 3, 4].map((n) => ({ type: "text", text: `part ${n}`, cache_control: EPHEMERAL })) },
        ],
        tools: [{ type: "function", function: { name: "t" }, cache_control: EPHEMERAL }],
      }),
    );
    expect(error).toMatchObject({ reason: Reason.UNSUPPORTED_FEATURE, facts: { param: "messages[1].content[2].cache_control" } });
    expect(error.message).toContain("at most 4 cache_control breakpoints");
    expect(error.message).toContain("this request has 6");
  });

  it("names the breakpoint over the limit in body order, where a tool result goes before the user text of its turn", () => {
    const error = thrownGatewayError(() =>
      planFor({
        messages: [
          { role: "user", content: "q", cache_control: EPHEMERAL },
          { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "t", arguments: "{}" } }] },
          { role: "user", content: "more", cache_control: EPHEMERAL },
          { role: "tool", tool_call_id: "c1", content: "r", cache_control: EPHEMERAL },
        ],
        tools: [
          { type: "function", function: { name: "t" }, cache_control: EPHEMERAL },
          { type: "function", function: { name: "u" }, cache_control: EPHEMERAL },
        ],
      }),
    );
    // Body order: tools[0], tools[1], messages[0], then the merged turn [tool_result (messages[3]), "more" (messages[2])].
    expect(error).toMatchObject({ reason: Reason.UNSUPPORTED_FEATURE, facts: { param: "messages[2].cache_control" } });
  });

  it("refuses a 1h breakpoint after a 5-minute one (Anthropic wants longer lifetimes first), naming it", () => {
    const error = thrownGatewayError(() =>
      planFor({
        messages: [
          { role: "system", content: "s", cache_control: EPHEMERAL },
          { role: "user", content: "doc", cache_control: { type: "ephemeral", ttl: "1h" } },
        ],
      }),
    );
    expect(error).toMatchObject({ reason: Reason.UNSUPPORTED_FEATURE, facts: { param: "messages[1].cache_control" } });
    expect(error.message).toContain("'1h' one after a 5-minute one");
    // Longer first is fine.
    const { body } = planFor({
      messages: [
        { role: "system", content: "s", cache_control: { type: "ephemeral", ttl: "1h" } },
        { role: "user", content: "doc", cache_control: { type: "ephemeral", ttl: "5m" } },
      ],
    });
    expect(body.messages[0]?.content).toEqual([{ type: "text", text: "doc", cache_control: { type: "ephemeral", ttl: "5m" } }]);
  });

  it("counts breakpoints provider_options.anthropic adds", () => {
    const error = thrownGatewayError(() =>
      planFor({
        messages: [{ role: "user", content: [1, 2, 3, 4].map((n) => ({ type: "text", text: `part ${n}`, cache_control: EPHEMERAL })) }],
        provider_options: { anthropic: { tools: [{ type: "web_search_20250305", name: "web_search", cache_control: EPHEMERAL }] } },
      }),
    );
    expect(error).toMatchObject({ reason: Reason.UNSUPPORTED_FEATURE });
  });
});

describe("malformed cache_control is a 400 naming the field", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["a string on a part", { messages: [{ role: "user", content: [{ type: "text", text: "x", cache_control: "ephemeral" }] }] }, "messages[0].content[0].cache_control"],
    ["an unknown type", { messages: [{ role: "user", content: [{ type: "text", text: "x", cache_control: { type: "persistent" } }] }] }, "messages[0].content[0].cache_control.type"],
    ["no type", { messages: [{ role: "user", content: "x", cache_control: {} }] }, "messages[0].cache_control.type"],
    ["a bad ttl", { messages: [{ role: "system", content: "x", cache_control: { type: "ephemeral", ttl: "2h" } }, { role: "user", content: "y" }] }, "messages[0].cache_control.ttl"],
    ["a numeric ttl", { messages: [{ role: "user", content: "x", cache_control: { type: "ephemeral", ttl: 300 } }] }, "messages[0].cache_control.ttl"],
    ["an unknown key", { messages: [{ role: "user", content: "x", cache_control: { type: "ephemeral", scope: "global" } }] }, "messages[0].cache_control.scope"],
    ["an array on a tool", { messages: [{ role: "user", content: "x" }], tools: [{ type: "function", function: { name: "t" }, cache_control: [] }] }, "tools[0].cache_control"],
  ];
  for (const [name, body, param] of cases) {
    it(name, () => {
      const error = thrownGatewayError(() => toProtoChatRequest({ model: "ant/claude-sonnet-4-5", ...body }));
      expect(error).toMatchObject({ reason: Reason.INVALID_REQUEST, facts: { param } });
    });
  }
});
