import { describe, expect, it } from "vitest";
import { ResponseFormatType, Role, ToolChoiceMode } from "../../gen/switchyard/v1/chat_pb.js";
import { toAnthropicRequest } from "../../src/providers/anthropic/anthropic-request.js";
import { toGeminiRequest } from "../../src/providers/gemini/gemini-request.js";
import { thinkingConfigFor } from "../../src/providers/gemini/gemini-thinking.js";
import { toOpenAIRequest } from "../../src/providers/openai/openai-request.js";
import { textMessage, toolCall, toolResult, user } from "../support/proto-builders.js";
import { chatInput as anthropicInput } from "./anthropic/anthropic-test-setup.js";
import { chatInput as geminiInput } from "./gemini/gemini-inputs.js";
import { thrownGatewayError } from "../support/thrown.js";

type AnthropicInit = Parameters<typeof anthropicInput>[0];
const anthropic = (model: string, init: AnthropicInit) => toAnthropicRequest(anthropicInput({ messages: [user("think")], ...init }), { upstreamModel: model, stream: false });
const gemini = (model: string, reasoningEffort: string) =>
  toGeminiRequest(geminiInput({ messages: [user("think")], reasoningEffort }), { baseUrl: "https://generativelanguage.googleapis.com", upstreamModel: model, fetchedMedia: new Map(), thoughtSignatureFor: () => undefined });


describe("reasoning_effort on OpenAI-dialect providers", () => {
  it("is sent as it came, unknown values included (the provider decides)", () => {
    expect(toOpenAIRequest(anthropicInput({ messages: [user("x")], reasoningEffort: "high" }), "o3", { stream: false, dialect: { maxCompletionTokens: true, developerRole: true } }).body.reasoning_effort).toBe("high");
    expect(toOpenAIRequest(anthropicInput({ messages: [user("x")], reasoningEffort: "ultra" }), "o3", { stream: false, dialect: { maxCompletionTokens: true, developerRole: true } }).body.reasoning_effort).toBe("ultra");
    expect(toOpenAIRequest(anthropicInput({ messages: [user("x")] }), "o3", { stream: false, dialect: { maxCompletionTokens: true, developerRole: true } }).body).not.toHaveProperty("reasoning_effort");
  });
});

describe("reasoning_effort on Anthropic: extended thinking", () => {
  it.each([
    ["minimal", 1024],
    ["low", 2048],
    ["medium", 8192],
    ["high", 16384],
    ["xhigh", 32768],
    ["max", 65536],
  ])("%s -> a %i-token thinking budget", (effort, budget) => {
    const plan = anthropic("claude-sonnet-4-5", { maxTokens: 140000, reasoningEffort: effort });
    expect(plan.body.thinking).toEqual({ type: "enabled", budget_tokens: budget });
    expect(plan.warnings).toEqual([]);
  });

  it("none leaves thinking off, silently", () => {
    const plan = anthropic("claude-sonnet-4-5", { maxTokens: 1000, reasoningEffort: "none" });
    expect(plan.body.thinking).toBeUndefined();
    expect(plan.warnings).toEqual([]);
  });

  it("keeps the budget to half of max_tokens, or drops thinking when even the minimum does not fit", () => {
    const halved = anthropic("claude-opus-4-1", { maxTokens: 5000, reasoningEffort: "high" });
    expect(halved.body.thinking).toEqual({ type: "enabled", budget_tokens: 2500 });
    expect(halved.body.max_tokens).toBe(5000);
    expect(halved.warnings).toEqual(["reasoning_effort high: the thinking budget is 2500 tokens, half of max_tokens, to leave room for the answer (Anthropic counts thinking against max_tokens)."]);
    const none = anthropic("claude-opus-4-1", { maxTokens: 1024, reasoningEffort: "low" });
    expect(none.body.thinking).toBeUndefined();
    expect(none.warnings).toEqual(["reasoning_effort low was dropped: max_tokens 1024 leaves no room for Anthropic's minimum thinking budget (1024)."]);
  });

  it("caps every effort at the same budget: half of max_tokens, or 1024 when half is less but 1024 fits", () => {
    const low = anthropic("claude-sonnet-4-5", { maxTokens: 1500, reasoningEffort: "low" });
    expect(low.body.thinking).toEqual({ type: "enabled", budget_tokens: 1024 });
    expect(low.warnings).toEqual(["reasoning_effort low: the thinking budget is 1024 tokens, the smallest the model takes, since half of max_tokens is less, to leave room for the answer (Anthropic counts thinking against max_tokens)."]);
    const minimal = anthropic("claude-sonnet-4-5", { maxTokens: 1500, reasoningEffort: "minimal" });
    expect(minimal.body.thinking).toEqual({ type: "enabled", budget_tokens: 1024 });
    expect(minimal.warnings).toEqual([]);
    // A lower effort's budget just under max_tokens would leave the answer 52 tokens.
    const max = anthropic("claude-3-7-sonnet-20250219", { maxTokens: 2100, reasoningEffort: "max" });
    expect(max.body.thinking).toEqual({ type: "enabled", budget_tokens: 1050 });
    expect(anthropic("claude-sonnet-4-5", { maxTokens: 10000, reasoningEffort: "high" }).body.thinking).toEqual({ type: "enabled", budget_tokens: 5000 });
    expect(anthropic("claude-sonnet-4-5", { maxTokens: 10000, reasoningEffort: "medium" }).body.thinking).toEqual({ type: "enabled", budget_tokens: 5000 });
    const efforts = ["minimal", "low", "medium", "high", "xhigh", "max"];
    for (let maxTokens = 1025; maxTokens <= 140000; maxTokens += maxTokens < 5000 ? 37 : 997) {
      const budgets = efforts.map((effort) => {
        const thinking = anthropic("claude-sonnet-4-5", { maxTokens, reasoningEffort: effort }).body.thinking;
        return thinking?.type === "enabled" ? thinking.budget_tokens : 0;
      });
      expect(budgets, `max_tokens ${maxTokens}`).toEqual([...budgets].sort((a, b) => a - b));
      expect(Math.min(...budgets), `max_tokens ${maxTokens}`).toBeGreaterThanOrEqual(1024);
      expect(Math.max(...budgets), `max_tokens ${maxTokens}`).toBeLessThanOrEqual(Math.max(Math.floor(maxTokens / 2), 1024));
      expect(Math.max(...budgets), `max_tokens ${maxTokens}`).toBeLessThan(maxTokens);
    }
  });

  it("leaves out the temperature and top_p Anthropic refuses with thinking, with warnings; keeps the ones it allows", () => {
    const plan = anthropic("claude-3-7-sonnet-latest", { maxTokens: 20000, reasoningEffort: "medium", temperature: 0.2, topP: 0.5 });
    expect(plan.body.thinking).toEqual({ type: "enabled", budget_tokens: 8192 });
    expect(plan.body).not.toHaveProperty("temperature");
    expect(plan.body).not.toHaveProperty("top_p");
    expect(plan.warnings).toEqual([
      "temperature 0.2 was dropped: Anthropic allows only 1 with extended thinking (reasoning_effort).",
      "top_p 0.5 was dropped: Anthropic allows 0.95 to 1 with extended thinking (reasoning_effort).",
    ]);
    const allowed = anthropic("claude-3-7-sonnet-latest", { maxTokens: 20000, reasoningEffort: "medium", temperature: 1, topP: 0.96 });
    expect(allowed.body).toMatchObject({ temperature: 1, top_p: 0.96 });
    expect(anthropic("claude-3-7-sonnet-latest", { maxTokens: 20000, temperature: 0.2 }).body.temperature).toBe(0.2);
  });

  it.each<[string, string, AnthropicInit, string]>([
    ["a model without thinking", "claude-3-5-haiku-latest", {}, "reasoning_effort high was dropped: claude-3-5-haiku-latest has no extended thinking."],
    ["a required tool call", "claude-sonnet-4-5", { tools: [{ name: "f" }], toolChoice: { choice: { case: "mode", value: ToolChoiceMode.REQUIRED } } }, "reasoning_effort high was dropped: Anthropic does not allow extended thinking with a forced tool call."],
    ["the json_schema emulation", "claude-sonnet-4-20250514", { responseFormat: { type: ResponseFormatType.JSON_SCHEMA, jsonSchema: { schema: { type: "object" } } } }, "reasoning_effort high was dropped: Anthropic does not allow extended thinking with a forced tool call."],
    ["an assistant prefill", "claude-sonnet-4-5", { messages: [user("x"), textMessage(Role.ASSISTANT, "Sure")] }, "reasoning_effort high was dropped: Anthropic does not allow extended thinking after an assistant prefill."],
  ])("is dropped with a warning for %s", (_name, model, init, warning) => {
    const plan = anthropic(model, { maxTokens: 40000, reasoningEffort: "high", ...init });
    expect(plan.body.thinking).toBeUndefined();
    expect(plan.warnings).toContain(warning);
  });

  it("in a tool loop, keeps thinking only when the last tool-call turn came back with its signed thinking", () => {
    const call = toolCall("toolu_1", "lookup", "{}");
    const signed = { part: { case: "reasoning" as const, value: { text: "Look it up.", signature: "c2ln" } } };
    const loop = (content: AnthropicInit["messages"]) => anthropic("claude-sonnet-4-5", { maxTokens: 40000, reasoningEffort: "low", tools: [{ name: "lookup" }], messages: [user("x"), ...(content ?? []), toolResult("toolu_1", "42")] });
    const withThinking = loop([{ role: Role.ASSISTANT, content: [signed], toolCalls: [call] }]);
    expect(withThinking.body.thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
    const without = loop([{ role: Role.ASSISTANT, toolCalls: [call] }]);
    expect(without.body.thinking).toBeUndefined();
    expect(without.warnings).toContain("reasoning_effort low was dropped: the last assistant turn called tools without its signed thinking (send back message.thinking_blocks), which Anthropic refuses with thinking on.");
    // Thinking another provider signed is left out, so it signs nothing: thinking goes off as without it.
    const foreign = loop([{ role: Role.ASSISTANT, content: [{ part: { case: "reasoning" as const, value: { text: "Look it up.", signature: "gemini:c2ln" } } }], toolCalls: [call] }]);
    expect(foreign.body.thinking).toBeUndefined();
    expect(foreign.warnings).toContain("reasoning_effort low was dropped: the last assistant turn called tools without its signed thinking (send back message.thinking_blocks), which Anthropic refuses with thinking on.");
  });

  it("reads the whole tool loop as one turn: thinking signed at its first step keeps thinking on at the third, whose last call came without thinking", () => {
    const signed = { part: { case: "reasoning" as const, value: { text: "Look both up.", signature: "c2ln" } } };
    const steps = [
      user("x"),
      { role: Role.ASSISTANT, content: [signed], toolCalls: [toolCall("toolu_1", "lookup", '{"q":"a"}')] },
      toolResult("toolu_1", "1"),
      { role: Role.ASSISTANT, toolCalls: [toolCall("toolu_2", "lookup", '{"q":"b"}')] },
      toolResult("toolu_2", "2"),
    ];
    const plan = anthropic("claude-sonnet-4-5", { maxTokens: 40000, reasoningEffort: "low", tools: [{ name: "lookup" }], messages: steps });
    expect(plan.body.thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
    expect(plan.warnings.join(" ")).not.toContain("reasoning_effort");
    // A new user message starts a new turn: the thinking of the one before does not sign it.
    const nextTurn = anthropic("claude-sonnet-4-5", { maxTokens: 40000, reasoningEffort: "low", tools: [{ name: "lookup" }], messages: [...steps, { role: Role.ASSISTANT, content: [{ part: { case: "text", value: "1 and 2." } }] }, user("and c?"), { role: Role.ASSISTANT, toolCalls: [toolCall("toolu_3", "lookup", '{"q":"c"}')] }, toolResult("toolu_3", "3")] });
    expect(nextTurn.body.thinking).toBeUndefined();
  });

  it("reads the merged turn: signed thinking in an earlier assistant message of the same turn keeps thinking on", () => {
    const signed = { part: { case: "reasoning" as const, value: { text: "Look it up.", signature: "c2ln" } } };
    const plan = anthropic("claude-sonnet-4-5", {
      maxTokens: 40000,
      reasoningEffort: "low",
      tools: [{ name: "lookup" }],
      messages: [user("x"), { role: Role.ASSISTANT, content: [signed, { part: { case: "text", value: "Looking." } }] }, { role: Role.ASSISTANT, toolCalls: [toolCall("toolu_1", "lookup", "{}")] }, toolResult("toolu_1", "42")],
    });
    expect(plan.body.thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
    expect(plan.body.messages[1]?.content.map((block) => block.type)).toEqual(["thinking", "text", "tool_use"]);
    expect(plan.warnings.join(" ")).not.toContain("reasoning_effort");
  });

  it("keeps thinking with native structured outputs, and lets provider_options.anthropic.thinking win", () => {
    const native = anthropic("claude-sonnet-4-5", { maxTokens: 40000, reasoningEffort: "low", responseFormat: { type: ResponseFormatType.JSON_SCHEMA, jsonSchema: { schema: { type: "object", properties: {} } } } });
    expect(native.body.thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
    expect(native.body.output_config).toBeDefined();
    const own = anthropic("claude-sonnet-4-5", { maxTokens: 40000, reasoningEffort: "low", providerOptions: { anthropic: { thinking: { type: "enabled", budget_tokens: 5000 } } } });
    expect(own.body.thinking).toEqual({ type: "enabled", budget_tokens: 5000 });
  });

  it("rejects an unknown value with a 400 naming reasoning_effort", () => {
    const error = thrownGatewayError(() => anthropic("claude-sonnet-4-5", { maxTokens: 4000, reasoningEffort: "extreme" }));
    expect(error.reason).toBe("INVALID_REQUEST");
    expect(error.facts.param).toBe("reasoning_effort");
  });
});

describe("reasoning_effort on Gemini: thinkingConfig", () => {
  it.each([
    ["gemini-3-pro-preview", "low", { thinkingLevel: "low" }, []],
    ["gemini-3-flash", "medium", { thinkingLevel: "medium" }, []],
    ["gemini-3-flash", "minimal", { thinkingLevel: "minimal" }, []],
    ["gemini-3-flash", "none", { thinkingLevel: "minimal" }, ["reasoning_effort none has no Gemini gemini-3-flash equivalent; sent thinkingLevel minimal"]],
    ["gemini-3.6-flash", "minimal", { thinkingLevel: "minimal" }, []],
    // 3.7 Flash and later refuse "minimal" (400 "Thinking level MINIMAL is not supported for this model"), as Pro does.
    ["gemini-3.7-flash", "minimal", { thinkingLevel: "low" }, ["reasoning_effort minimal has no Gemini gemini-3.7-flash equivalent; sent thinkingLevel low"]],
    ["gemini-3.8-flash", "none", { thinkingLevel: "low" }, ["reasoning_effort none has no Gemini gemini-3.8-flash equivalent; sent thinkingLevel low"]],
    ["gemini-3.8-flash-lite", "minimal", { thinkingLevel: "low" }, ["reasoning_effort minimal has no Gemini gemini-3.8-flash-lite equivalent; sent thinkingLevel low"]],
    ["gemini-4-flash", "medium", { thinkingLevel: "medium" }, []],
    ["gemini-3-pro-preview", "xhigh", { thinkingLevel: "high" }, ["reasoning_effort xhigh has no Gemini gemini-3-pro-preview equivalent; sent thinkingLevel high"]],
    ["gemini-3-flash", "max", { thinkingLevel: "high" }, ["reasoning_effort max has no Gemini gemini-3-flash equivalent; sent thinkingLevel high"]],
    ["gemini-2.5-flash", "low", { thinkingBudget: 1024 }, []],
    ["gemini-2.5-flash", "medium", { thinkingBudget: 8192 }, []],
    ["gemini-2.5-flash", "high", { thinkingBudget: 24576 }, []],
    ["gemini-2.5-flash-lite", "minimal", { thinkingBudget: 512 }, []],
    ["gemini-2.5-flash", "none", { thinkingBudget: 0 }, []],
    ["gemini-2.5-pro", "none", { thinkingBudget: 128 }, ["reasoning_effort none: gemini-2.5-pro cannot switch thinking off; sent its smallest thinkingBudget, 128"]],
    ["gemini-2.5-pro", "xhigh", { thinkingBudget: 24576 }, ["reasoning_effort xhigh is capped at Gemini's high budget, thinkingBudget 24576"]],
    ["gemini-2.5-flash", "max", { thinkingBudget: 24576 }, ["reasoning_effort max is capped at Gemini's high budget, thinkingBudget 24576"]],
    ["gemini-flash-latest", "high", { thinkingBudget: 24576 }, []],
  ])("%s, %s -> %o", (model, effort, thinkingConfig, warnings) => {
    const { body, warnings: said } = gemini(model, effort);
    expect(body.generationConfig).toEqual({ thinkingConfig });
    expect(said).toEqual(warnings);
  });

  it.each([
    ["gemini-2.5-flash", "medium", 1000, 500, "reasoning_effort medium: the thinking budget is 500 tokens, half of max_tokens, to leave room for the answer (Gemini counts thinking against maxOutputTokens)."],
    ["gemini-2.5-flash", "medium", 10000, 5000, "reasoning_effort medium: the thinking budget is 5000 tokens, half of max_tokens, to leave room for the answer (Gemini counts thinking against maxOutputTokens)."],
    ["gemini-2.5-flash", "high", 8200, 4100, "reasoning_effort high: the thinking budget is 4100 tokens, half of max_tokens, to leave room for the answer (Gemini counts thinking against maxOutputTokens)."],
    ["gemini-2.5-flash", "high", 100, 50, "reasoning_effort high: the thinking budget is 50 tokens, half of max_tokens, to leave room for the answer (Gemini counts thinking against maxOutputTokens)."],
    ["gemini-2.5-pro", "low", 400, 200, "reasoning_effort low: the thinking budget is 200 tokens, half of max_tokens, to leave room for the answer (Gemini counts thinking against maxOutputTokens)."],
    ["gemini-2.5-pro", "low", 200, 128, "reasoning_effort low: the thinking budget is 128 tokens, the smallest the model takes, since half of max_tokens is less, to leave room for the answer (Gemini counts thinking against maxOutputTokens)."],
    ["gemini-2.5-pro", "low", 128, 128, "reasoning_effort low: the thinking budget is 128 tokens, the smallest gemini-2.5-pro takes (it cannot switch thinking off); max_tokens 128 may leave no room for the answer."],
    ["gemini-2.5-flash-lite", "low", 600, 512, "reasoning_effort low: the thinking budget is 512 tokens, the smallest the model takes, since half of max_tokens is less, to leave room for the answer (Gemini counts thinking against maxOutputTokens)."],
    ["gemini-2.5-flash-lite", "low", 500, 0, "reasoning_effort low: thinking switched off (thinkingBudget 0): max_tokens 500 leaves no room for gemini-2.5-flash-lite's smallest thinking budget, 512, and an answer."],
    ["gemini-2.5-flash", "low", 1, 0, "reasoning_effort low: thinking switched off (thinkingBudget 0): max_tokens 1 leaves no room for gemini-2.5-flash's smallest thinking budget, 1, and an answer."],
  ])("%s, %s under max_tokens %i: a budget above half of maxOutputTokens is %i, with a warning saying why", (model, effort, maxTokens, budget, warning) => {
    const { body, warnings } = toGeminiRequest(geminiInput({ messages: [user("think")], reasoningEffort: effort, maxTokens }), { baseUrl: "https://generativelanguage.googleapis.com", upstreamModel: model, fetchedMedia: new Map(), thoughtSignatureFor: () => undefined });
    expect(body.generationConfig).toEqual({ maxOutputTokens: maxTokens, thinkingConfig: { thinkingBudget: budget } });
    expect(warnings).toContain(warning);
    const roomy = toGeminiRequest(geminiInput({ messages: [user("think")], reasoningEffort: "low", maxTokens: 4000 }), { baseUrl: "https://generativelanguage.googleapis.com", upstreamModel: "gemini-2.5-flash", fetchedMedia: new Map(), thoughtSignatureFor: () => undefined });
    expect(roomy.body.generationConfig).toEqual({ maxOutputTokens: 4000, thinkingConfig: { thinkingBudget: 1024 } });
  });

  it("says one thing about xhigh and max: the budget it sends, lowered under max_tokens or capped at high's", () => {
    const input = (reasoningEffort: string, maxTokens?: number) => geminiInput({ messages: [user("think")], reasoningEffort, maxTokens });
    const options = { baseUrl: "https://generativelanguage.googleapis.com", upstreamModel: "gemini-2.5-flash", fetchedMedia: new Map(), thoughtSignatureFor: () => undefined };
    const lowered = toGeminiRequest(input("xhigh", 1100), options);
    expect(lowered.body.generationConfig).toEqual({ maxOutputTokens: 1100, thinkingConfig: { thinkingBudget: 550 } });
    expect(lowered.warnings).toEqual(["reasoning_effort xhigh: the thinking budget is 550 tokens, half of max_tokens, to leave room for the answer (Gemini counts thinking against maxOutputTokens)."]);
    const off = toGeminiRequest({ ...input("max", 512) }, { ...options, upstreamModel: "gemini-2.5-flash-lite" });
    expect(off.warnings).toEqual(["reasoning_effort max: thinking switched off (thinkingBudget 0): max_tokens 512 leaves no room for gemini-2.5-flash-lite's smallest thinking budget, 512, and an answer."]);
    expect(toGeminiRequest(input("xhigh", 100000), options).warnings).toEqual(["reasoning_effort xhigh is capped at Gemini's high budget, thinkingBudget 24576"]);
  });

  it.each([["gemini-2.5-flash", 1], ["gemini-2.5-flash-lite", 512], ["gemini-2.5-pro", 128]])("%s: a higher effort never thinks less, and no effort more than half of max_tokens unless it is the smallest, %i", (model, smallest) => {
    const efforts = ["minimal", "low", "medium", "high", "xhigh", "max"];
    for (let maxTokens = 1; maxTokens <= 60000; maxTokens += maxTokens < 2000 ? 7 : 613) {
      const budgets = efforts.map((effort) => thinkingConfigFor(effort, model, [], maxTokens)?.thinkingBudget ?? -1);
      expect(budgets, `max_tokens ${maxTokens}`).toEqual([...budgets].sort((a, b) => a - b));
      for (const budget of budgets) if (budget !== smallest && budget !== 0) expect(budget, `max_tokens ${maxTokens}`).toBeLessThanOrEqual(maxTokens / 2);
    }
  });

  it("drops it with a warning on models without thinking controls", () => {
    const { body, warnings } = gemini("gemini-2.0-flash", "high");
    expect(body.generationConfig).toEqual({});
    expect(warnings).toEqual(["reasoning_effort is not supported by gemini-2.0-flash (no thinking controls); dropped"]);
  });

  it("lets provider_options.gemini thinkingConfig win, and rejects unknown values", () => {
    const input = geminiInput({ messages: [user("x")], reasoningEffort: "low", providerOptions: { gemini: { generationConfig: { thinkingConfig: { thinkingLevel: "high", includeThoughts: true } } } } });
    const { body } = toGeminiRequest(input, { baseUrl: "https://x.test", upstreamModel: "gemini-3-flash", fetchedMedia: new Map(), thoughtSignatureFor: () => undefined });
    expect(body.generationConfig).toEqual({ thinkingConfig: { thinkingLevel: "high", includeThoughts: true } });
    expect(thrownGatewayError(() => gemini("gemini-2.5-flash", "maximum")).facts.param).toBe("reasoning_effort");
  });
});
