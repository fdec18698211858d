import { describe, expect, it } from "vitest";
import { applyTargetParams } from "../../../src/core/routing/target-params.js";
import { chatInput, target } from "./test-targets.js";

describe("applyTargetParams", () => {
  it("overrides typed sampling fields and merges unknown keys into the family's provider options", () => {
    const input = chatInput("x", { temperature: 1.5, providerOptions: { openai: { service_tier: "flex" } } });
    const out = applyTargetParams(input, target("a/m", { params: { temperature: 0.2, max_tokens: 64, seed: 7, top_k: 5, logprobs: true } }));
    expect(out.temperature).toBe(0.2);
    expect(out.maxTokens).toBe(64);
    expect(out.seed).toBe(7n);
    expect(out.logprobs).toBe(true);
    expect(out.providerOptions.openai).toEqual({ service_tier: "flex", top_k: 5 });
    expect(input.temperature).toBe(1.5);
    expect(input.providerOptions.openai).toEqual({ service_tier: "flex" });
  });

  it("returns the request unchanged without params", () => {
    const input = chatInput();
    expect(applyTargetParams(input, target("a/m"))).toBe(input);
  });

  it("rejects a mistyped known parameter as a config error", () => {
    expect(() => applyTargetParams(chatInput(), target("a/m", { params: { temperature: "hot" } }))).toThrow(/params.temperature of target a\/m must be a number/);
  });
});
