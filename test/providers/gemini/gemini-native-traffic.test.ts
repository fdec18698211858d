import { describe, expect, it } from "vitest";
import { geminiJson, geminiRestSession, geminiRest, geminiSse, readStream } from "./gemini-rest.js";

/*
 * Gemini 2.5 / 3 traffic shapes the recorded fixtures do not hold, replayed through the whole REST
 * front door: thought signatures of parallel calls across turns (streamed and not, with and without
 * the client keeping extra_content), every finishReason, usage of every kind, and n=2 streams.
 */

const hi = [{ role: "user", content: "Weather in Paris and Rome?" }];
const TOOLS = [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } }];
const SIGNATURE = "CiQBjz1rX0Rv2V8m1Tq+signature/A==";

/** Gemini 3 calling two functions at once: only the first call carries the signature. */
const PARALLEL = {
  candidates: [{
    content: { role: "model", parts: [
      { functionCall: { name: "get_weather", args: { city: "Paris" } }, thoughtSignature: SIGNATURE },
      { functionCall: { name: "get_weather", args: { city: "Rome" } } },
    ] },
    finishReason: "STOP",
    index: 0,
  }],
  usageMetadata: { promptTokenCount: 40, candidatesTokenCount: 12, thoughtsTokenCount: 80, totalTokenCount: 132 },
  modelVersion: "gemini-3-pro-preview",
  responseId: "resp-1",
};
const DONE = geminiJson({ candidates: [{ content: { role: "model", parts: [{ text: "Sunny in both." }] }, finishReason: "STOP", index: 0 }] });

interface Call { id: string; name: string; arguments: string; extra_content?: unknown }

describe("thought signatures of parallel calls round-trip through OpenAI-shaped history", () => {
  it.each([false, true])("stream %s: the first call's signature comes back on its functionCall, the second has none; dropped extra_content is recalled", async (stream) => {
    const session = await geminiRestSession(stream ? geminiSse([PARALLEL]) : geminiJson(PARALLEL), DONE);
    try {
      const first = await session.post({ model: "gem/gemini-3-pro-preview", messages: hi, tools: TOOLS, stream });
      expect(first.status).toBe(200);
      let calls: Call[];
      if (stream) {
        const read = readStream(first.body);
        expect(read.finishes[0]).toBe("tool_calls");
        calls = read.tools[0] ?? [];
      } else {
        const message = (JSON.parse(first.body) as { choices: { message: { tool_calls: { id: string; function: { name: string; arguments: string }; extra_content?: unknown }[] } }[] }).choices[0]?.message;
        calls = (message?.tool_calls ?? []).map((call) => ({ id: call.id, name: call.function.name, arguments: call.function.arguments, ...(call.extra_content ? { extra_content: call.extra_content } : {}) }));
      }
      expect(calls.map((call) => [call.name, call.arguments, call.extra_content])).toEqual([
        ["get_weather", '{"city":"Paris"}', { google: { thought_signature: SIGNATURE } }],
        ["get_weather", '{"city":"Rome"}', undefined],
      ]);
      const history = (keepExtra: boolean) => [
        ...hi,
        { role: "assistant", content: null, tool_calls: calls.map((call) => ({ id: call.id, type: "function", function: { name: call.name, arguments: call.arguments }, ...(keepExtra && call.extra_content ? { extra_content: call.extra_content } : {}) })) },
        ...calls.map((call, i) => ({ role: "tool", tool_call_id: call.id, content: JSON.stringify({ temp: 20 + i }) })),
      ];
      const expected = [
        { role: "user", parts: [{ text: "Weather in Paris and Rome?" }] },
        { role: "model", parts: [
          { functionCall: { name: "get_weather", args: { city: "Paris" }, id: calls[0]?.id }, thoughtSignature: SIGNATURE },
          { functionCall: { name: "get_weather", args: { city: "Rome" }, id: calls[1]?.id } },
        ] },
        { role: "user", parts: [
          { functionResponse: { name: "get_weather", response: { output: { temp: 20 } }, id: calls[0]?.id } },
          { functionResponse: { name: "get_weather", response: { output: { temp: 21 } }, id: calls[1]?.id } },
        ] },
      ];
      for (const keepExtra of [true, false]) {
        const next = await session.post({ model: "gem/gemini-3-pro-preview", messages: history(keepExtra), tools: TOOLS });
        expect(next.status).toBe(200);
        expect(next.sent[0]?.contents).toEqual(expected);
        expect(String(next.headers["x-switchyard-warnings"] ?? "")).not.toContain("skip_thought_signature_validator");
      }
    } finally {
      await session.close();
    }
  });
});

describe("every finishReason, streamed and not", () => {
  it.each([
    ["STOP", "stop"], ["MAX_TOKENS", "length"], ["SAFETY", "content_filter"], ["RECITATION", "content_filter"], ["LANGUAGE", "content_filter"],
    ["OTHER", "stop"], ["BLOCKLIST", "content_filter"], ["PROHIBITED_CONTENT", "content_filter"], ["SPII", "content_filter"],
    ["MALFORMED_FUNCTION_CALL", "stop"], ["IMAGE_SAFETY", "content_filter"], ["UNEXPECTED_TOOL_CALL", "stop"], ["TOO_MANY_TOOL_CALLS", "stop"],
    ["FINISH_REASON_UNSPECIFIED", "stop"], ["A_REASON_FROM_THE_FUTURE", "stop"],
  ])("%s -> %s", async (raw, finish) => {
    const malformed = ["MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS"].includes(raw);
    const body = { candidates: [{ content: malformed ? {} : { role: "model", parts: [{ text: "x" }] }, finishReason: raw, index: 0, safetyRatings: [{ category: "HARM_CATEGORY_HARASSMENT", probability: "NEGLIGIBLE" }] }] };
    const whole = await geminiRest({ model: "gem/gemini-2.5-flash", messages: hi }, geminiJson(body));
    expect((JSON.parse(whole.body) as { choices: { finish_reason: string }[] }).choices[0]?.finish_reason).toBe(finish);
    const streamed = await geminiRest({ model: "gem/gemini-2.5-flash", messages: hi, stream: true }, geminiSse([body]));
    expect(readStream(streamed.body)).toMatchObject({ finishes: { 0: finish }, errors: [], done: true });
    for (const answer of [whole, streamed]) {
      const warnings = String(answer.headers["x-switchyard-warnings"] ?? "");
      if (malformed) expect(warnings).toContain(`Gemini ended choice 0 with ${raw}`);
      else expect(warnings).toBe("");
    }
  });

  it("a blocked prompt (promptFeedback.blockReason, no candidates) is one content_filter choice with content null and usage, streamed and not", async () => {
    const blocked = { promptFeedback: { blockReason: "PROHIBITED_CONTENT" }, usageMetadata: { promptTokenCount: 7, totalTokenCount: 7 }, responseId: "b1" };
    const whole = await geminiRest({ model: "gem/gemini-2.5-flash", messages: hi }, geminiJson(blocked));
    expect(JSON.parse(whole.body)).toMatchObject({ id: "b1", choices: [{ index: 0, message: { content: null }, finish_reason: "content_filter" }], usage: { prompt_tokens: 7, completion_tokens: 0 } });
    const streamed = await geminiRest({ model: "gem/gemini-2.5-flash", messages: hi, stream: true, stream_options: { include_usage: true } }, geminiSse([blocked]));
    expect(readStream(streamed.body)).toMatchObject({ finishes: { 0: "content_filter" }, usage: { prompt_tokens: 7 }, done: true });
    expect(streamed.body).toContain('"delta":{"role":"assistant","content":null}');
  });
});

describe("usage and n=2 streams", () => {
  it("cached, tool-use prompt and thought tokens land where OpenAI puts them; the last cumulative usage wins; candidates interleave by index", async () => {
    const usage = (candidates: number) => ({ promptTokenCount: 100, cachedContentTokenCount: 60, toolUsePromptTokenCount: 5, candidatesTokenCount: candidates, thoughtsTokenCount: 30, totalTokenCount: 135 + candidates });
    const text = (index: number, value: string, finishReason?: string) => ({ content: { role: "model", parts: [{ text: value }] }, index, ...(finishReason ? { finishReason } : {}) });
    const answer = await geminiRest(
      { model: "gem/gemini-2.5-flash", messages: hi, n: 2, stream: true, stream_options: { include_usage: true } },
      geminiSse([
        { candidates: [text(0, "A1"), text(1, "B1")], usageMetadata: usage(2) },
        { candidates: [text(1, "B2", "MAX_TOKENS")], usageMetadata: usage(3) },
        { candidates: [text(0, "A2", "STOP")], usageMetadata: usage(4) },
        { usageMetadata: usage(4) },
      ]),
    );
    expect(answer.sent[0]?.generationConfig).toEqual({ candidateCount: 2 });
    expect(readStream(answer.body)).toMatchObject({
      text: { 0: "A1A2", 1: "B1B2" },
      finishes: { 0: "stop", 1: "length" },
      usage: { prompt_tokens: 105, completion_tokens: 34, total_tokens: 139, prompt_tokens_details: { cached_tokens: 60 }, completion_tokens_details: { reasoning_tokens: 30 } },
      done: true,
    });
  });
});
