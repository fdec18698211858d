/**
 * Audit of what the current Claude generations refuse, through the real gateway (REST): the fake
 * upstream answers as Anthropic documents for each model (recorded wording where there is a
 * recording) and the gateway must send a request the model takes.
 * - From Opus 4.7 on (Opus 4.7, 4.8, 5; Sonnet 5; Fable; Mythos) sampling parameters are refused:
 *   "`temperature` is deprecated for this model." (a temperature of 1 alone is accepted).
 * - From Opus 4.7 on thinking is adaptive only: `thinking.type: "enabled"` with a budget is a 400;
 *   reasoning depth is `output_config.effort`. On 4.6 budgets are deprecated and adaptive is taken.
 * - Opus 4.6 has effort levels low, medium, high and max (recorded `error-400-invalid-request.json`).
 * @see https://platform.claude.com/docs/en/build-with-claude/adaptive-thinking
 */
import { describe, expect, it } from "vitest";
import { jsonAnswer, type RecordedUpstreamRequest, type UpstreamAnswer } from "../../support/fake-upstream.js";
import { antMessage, postChat, useAnthropicRestWorld } from "./anthropic-rest-harness.js";

const world = useAnthropicRestWorld();

type Body = { model: string; temperature?: number; top_p?: number; thinking?: { type: string }; output_config?: { effort?: string } };
const refuse = (message: string): UpstreamAnswer => jsonAnswer({ type: "error", error: { type: "invalid_request_error", message }, request_id: "req_011gen" }, { status: 400 });
const current = /^claude-(?:opus-4-[7-9]|(?:opus|sonnet|haiku)-[5-9]|fable-|mythos-)/;

/** Anthropic's documented refusals for the model a request names, else a plain answer. */
function anthropicByGeneration(request: RecordedUpstreamRequest): UpstreamAnswer {
  const body = request.body as Body;
  if (current.test(body.model)) {
    if (body.temperature !== undefined && body.temperature !== 1) return refuse("`temperature` is deprecated for this model.");
    if (body.top_p !== undefined) return refuse("`top_p` is deprecated for this model.");
    if (body.thinking?.type === "enabled") return refuse('"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.');
    if (body.thinking?.type === "disabled" && !/^claude-(?:opus|sonnet)-5(?:-\d{8})?$/.test(body.model)) return refuse('"thinking.type.disabled" is not supported for this model.');
  }
  if (/^claude-(?:opus|sonnet)-4-6/.test(body.model) && body.output_config?.effort === "xhigh") {
    return refuse("This model does not support effort level 'xhigh'. Supported levels: high, low, max, medium.");
  }
  return antMessage([{ type: "text", text: "ok" }]);
}

async function ask(model: string, params: Record<string, unknown>) {
  world.first.setDefault(anthropicByGeneration);
  const answer = await postChat(world, { model: `ant/${model}`, ...params });
  return { status: answer.status, text: answer.text, warnings: answer.headers.get("x-switchyard-warnings") ?? "", sent: world.first.lastRequest().body as Record<string, unknown> };
}

describe("sampling parameters on models that refuse them", () => {
  it.each(["claude-opus-4-7", "claude-opus-4-8", "claude-sonnet-5", "claude-opus-5", "claude-fable-5-1", "claude-mythos-preview", "claude-haiku-5-5-20270101"])(
    "%s: temperature and top_p are left out with a warning, and the request succeeds",
    async (model) => {
      const answer = await ask(model, { temperature: 0.2, top_p: 0.9 });
      expect(answer.status, answer.text).toBe(200);
      expect(answer.sent).not.toHaveProperty("temperature");
      expect(answer.sent).not.toHaveProperty("top_p");
      expect(answer.warnings).toContain(`temperature 0.2 was dropped: ${model} takes no sampling parameters`);
      expect(answer.warnings).toContain(`top_p 0.9 was dropped: ${model} takes no sampling parameters`);
    },
  );

  it("a temperature of 1 (the default) is still sent, as the recorded claude-fable-5-1 request does", async () => {
    const answer = await ask("claude-fable-5-1", { temperature: 1 });
    expect(answer.status).toBe(200);
    expect(answer.sent.temperature).toBe(1);
    expect(answer.warnings).toBe("");
  });

  it.each(["claude-opus-4-6", "claude-sonnet-4-6", "claude-sonnet-4-5"])("%s still gets the caller's temperature", async (model) => {
    const answer = await ask(model, { temperature: 0.2 });
    expect(answer.status).toBe(200);
    expect(answer.sent.temperature).toBe(0.2);
  });
});

describe("reasoning_effort as adaptive thinking", () => {
  it.each([
    ["claude-opus-4-7", "high", "high"],
    ["claude-opus-4-7", "xhigh", "xhigh"],
    ["claude-sonnet-5", "low", "low"],
    ["claude-fable-5-1", "medium", "medium"],
  ])("%s, reasoning_effort %s: thinking adaptive with summarized display, effort %s", async (model, effort, sent) => {
    const answer = await ask(model, { reasoning_effort: effort, max_tokens: 2000 });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.sent.thinking).toEqual({ type: "adaptive", display: "summarized" });
    expect(answer.sent.output_config).toEqual({ effort: sent });
    expect(answer.warnings).toBe("");
  });

  it("claude-opus-4-6: adaptive thinking (budgets are deprecated there), and xhigh, which it lacks, becomes max with a warning", async () => {
    const answer = await ask("claude-opus-4-6", { reasoning_effort: "xhigh", max_tokens: 2000 });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.sent.thinking).toEqual({ type: "adaptive" });
    expect(answer.sent.output_config).toEqual({ effort: "max" });
    expect(answer.warnings).toContain("reasoning_effort xhigh is sent as Anthropic's effort max (claude-opus-4-6 has no xhigh level).");
  });

  it.each(["claude-opus-4-6", "claude-sonnet-4-6", "claude-opus-4-7", "claude-mythos-preview", "claude-fable-5-1"])("%s: reasoning_effort max (the openai SDK's highest) is effort max, silently", async (model) => {
    const answer = await ask(model, { reasoning_effort: "max", max_tokens: 2000 });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.sent.output_config).toEqual({ effort: "max" });
    expect(answer.warnings).toBe("");
  });

  it("claude-mythos-preview has no xhigh level either: max, with a warning", async () => {
    const answer = await ask("claude-mythos-preview", { reasoning_effort: "xhigh" });
    expect(answer.sent.output_config).toEqual({ effort: "max" });
    expect(answer.warnings).toContain("(claude-mythos-preview has no xhigh level)");
  });

  it("minimal becomes effort low, with a warning; temperature is dropped as thinking requires", async () => {
    const answer = await ask("claude-sonnet-4-6", { reasoning_effort: "minimal", temperature: 0.3 });
    expect(answer.status).toBe(200);
    expect(answer.sent.output_config).toEqual({ effort: "low" });
    expect(answer.sent).not.toHaveProperty("temperature");
    expect(answer.warnings).toContain("reasoning_effort minimal is sent as Anthropic's effort low");
  });

  it("effort joins a native json_schema format in one output_config", async () => {
    const answer = await ask("claude-opus-4-7", { reasoning_effort: "high", response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "object", properties: { a: { type: "string" } } } } } });
    expect(answer.status).toBe(200);
    expect(answer.sent.output_config).toMatchObject({ effort: "high", format: { type: "json_schema" } });
  });

  it("claude-fable-5-1 has native structured outputs: json_schema is output_config.format, not a forced tool", async () => {
    const answer = await ask("claude-fable-5-1", { response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "object", properties: {} } } } });
    expect(answer.status).toBe(200);
    expect(answer.sent).not.toHaveProperty("tool_choice");
    expect(answer.sent.output_config).toMatchObject({ format: { type: "json_schema" } });
  });

  it.each(["claude-sonnet-5", "claude-opus-5", "claude-opus-5-20270101"])("none on %s, which thinks by default and may be told not to, is thinking disabled", async (model) => {
    const answer = await ask(model, { reasoning_effort: "none" });
    expect(answer.status).toBe(200);
    expect(answer.sent.thinking).toEqual({ type: "disabled" });
    expect(answer.warnings).toBe("");
  });

  it.each(["claude-opus-5-5", "claude-fable-5-1", "claude-mythos-preview"])("none on %s, which always thinks, sends no thinking field and says so", async (model) => {
    const answer = await ask(model, { reasoning_effort: "none" });
    expect(answer.status).toBe(200);
    expect(answer.sent).not.toHaveProperty("thinking");
    expect(answer.warnings).toContain(`reasoning_effort none: ${model} always thinks`);
  });

  it("none where thinking is off by default sends nothing and says nothing", async () => {
    const answer = await ask("claude-opus-4-7", { reasoning_effort: "none" });
    expect(answer.sent).not.toHaveProperty("thinking");
    expect(answer.warnings).toBe("");
  });

  it("models before 4.6 keep a thinking budget", async () => {
    const answer = await ask("claude-sonnet-4-5", { reasoning_effort: "high", max_tokens: 40000 });
    expect(answer.sent.thinking).toEqual({ type: "enabled", budget_tokens: 16384 });
    expect(answer.sent).not.toHaveProperty("output_config");
  });
});
