import { describe, expect, it } from "vitest";
import { signatureOrigin, tagSignature } from "../../src/providers/reasoning-signatures.js";
import { geminiJson, geminiRestSession } from "./gemini/gemini-rest.js";

describe("reasoning signatures tagged with their provider family", () => {
  it("tags a signature, and reads back whose it is: own (raw), another family's, or untagged", () => {
    const raw = "CiQBjz1r+X8/gemini==";
    expect(tagSignature("gemini", raw)).toBe(`gemini:${raw}`);
    expect(signatureOrigin("gemini", tagSignature("gemini", raw))).toEqual({ kind: "own", signature: raw });
    expect(signatureOrigin("anthropic", tagSignature("gemini", raw))).toEqual({ kind: "foreign", family: "gemini" });
    // Base64 has no ':': a provider's raw signature is never read as a tagged one.
    expect(signatureOrigin("gemini", "EqQBCkgIBxAB+/anthropic==")).toEqual({ kind: "untagged", signature: "EqQBCkgIBxAB+/anthropic==" });
  });

  it("leaves an empty signature (none yet) empty and untagged", () => {
    expect(tagSignature("gemini", "")).toBe("");
    expect(signatureOrigin("gemini", "")).toEqual({ kind: "untagged", signature: "" });
  });
});

describe("a conversation that falls back from a Gemini target to an Anthropic one", () => {
  // The probe's case: Anthropic answers a Gemini signature with 400 "Invalid signature in thinking
  // block", a caller error (no failover), on this turn and every later one.
  const GEMINI_SIGNATURE = "CiQBjz1rX8geminiThoughtSignature/A==";
  const geminiToolTurn = geminiJson({
    candidates: [{ content: { role: "model", parts: [{ text: "Look it up.", thought: true, thoughtSignature: GEMINI_SIGNATURE }, { functionCall: { name: "lookup", args: {} }, thoughtSignature: "c2lnLWNhbGw=" }] }, finishReason: "STOP", index: 0 }],
  });
  const geminiDown = geminiJson({ error: { code: 503, message: "The model is overloaded.", status: "UNAVAILABLE" } }, 503);
  // geminiJson serves any JSON body: this one is an Anthropic message.
  const anthropicAnswer = geminiJson({ id: "msg_1", type: "message", role: "assistant", model: "claude-sonnet-4-5", content: [{ type: "text", text: "42." }], stop_reason: "end_turn", stop_sequence: null, usage: { input_tokens: 10, output_tokens: 2 } });

  it("the tool turn's Gemini thinking is left out of the Anthropic request, with a warning, and thinking goes off", async () => {
    const session = await geminiRestSession(geminiToolTurn, geminiDown, anthropicAnswer);
    try {
      const post = (messages: unknown[]) => session.post({ model: "mixed", max_tokens: 40000, reasoning_effort: "low", tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object" } } }], messages });
      const messages: unknown[] = [{ role: "user", content: "What is it?" }];
      const first = await post(messages);
      expect(first.status).toBe(200);
      const message = (JSON.parse(first.body) as { choices: { message: { thinking_blocks: unknown[]; tool_calls: { id: string }[] } }[] }).choices[0]?.message;
      expect(message?.thinking_blocks).toEqual([{ type: "thinking", thinking: "Look it up.", signature: `gemini:${GEMINI_SIGNATURE}` }]);
      messages.push(message, { role: "tool", tool_call_id: message?.tool_calls[0]?.id, content: "42" });

      const second = await post(messages);
      expect(second.status).toBe(200);
      expect(second.urls[1]).toContain("/v1/messages");
      const sent = second.sent[1] as { messages: { role: string; content: { type: string }[] }[]; thinking?: unknown };
      expect(sent.messages[1]?.content.map((block) => block.type)).toEqual(["tool_use"]);
      expect(JSON.stringify(sent)).not.toContain(GEMINI_SIGNATURE);
      expect(sent.thinking).toBeUndefined();
      const warnings = String(second.headers["x-switchyard-warnings"] ?? "");
      expect(warnings).toContain("Thinking from another provider (gemini) was left out: Anthropic refuses signatures it did not issue.");
      expect(warnings).toContain("reasoning_effort low was dropped: the last assistant turn called tools without its signed thinking");
    } finally {
      await session.close();
    }
  });
});
