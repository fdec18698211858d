import { describe, expect, it } from "vitest";
import { FinishReason } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import { finishEvent, reasoningDeltaEvent, responseStartEvent, textDeltaEvent, toolCallDeltaEvent, toolCallStartEvent, usageEvent, usageOf } from "../../../src/core/stream-events.js";
import { JsonArrayDecoder } from "../../../src/providers/json-array-decoder.js";
import { GeminiStreamTranslator } from "../../../src/providers/gemini/gemini-stream.js";
import { SseParser } from "../../../src/providers/sse-decoder.js";

const context = { provider: "google", upstreamModel: "gemini-x", warnings: ["dropped: user"], now: () => 2_000_000, onToolCall: () => {} };

async function run(chunks: unknown[], onToolCall: (id: string, signature: string) => void = () => {}): Promise<ChatStreamResponse[]> {
  const translator = new GeminiStreamTranslator({ ...context, onToolCall });
  const out: ChatStreamResponse[] = [];
  for (const chunk of chunks) translator.chunk(chunk, out);
  translator.end(out);
  return out;
}

function idsOf(events: ChatStreamResponse[]): string[] {
  return events.flatMap((event) => (event.event.case === "toolCallStart" ? [event.event.value.id] : []));
}

/** A recorded Vertex AI stream with streamFunctionCallArguments (googleapis/js-genai's test recordings; the signature shortened). */
const PARTIAL_ARGS_STREAM = [
  {"candidates":[{"content":{"parts":[{"functionCall":{"name":"getCurrentWeather","willContinue":true},"thoughtSignature":"CmAB4/H/XjMJHE7D6md5Dkx"}],"role":"model"}}],"createTime":"2025-11-13T02:09:08.087479Z","modelVersion":"gemini-2.5-pro","responseId":"xD0VaberBfSanvgPoPLHkAU","usageMetadata":{"billablePromptUsage":{"textCount":441},"trafficType":"ON_DEMAND"}},
  {"candidates":[{"content":{"parts":[{"functionCall":{"partialArgs":[{"jsonPath":"$.country","stringValue":"USA","willContinue":true}],"willContinue":true}}],"role":"model"}}],"createTime":"2025-11-13T02:09:08.087479Z","modelVersion":"gemini-2.5-pro","responseId":"xD0VaberBfSanvgPoPLHkAU","usageMetadata":{"trafficType":"ON_DEMAND"}},
  {"candidates":[{"content":{"parts":[{"functionCall":{"partialArgs":[{"jsonPath":"$.country","stringValue":""}],"willContinue":true}}],"role":"model"}}],"createTime":"2025-11-13T02:09:08.087479Z","modelVersion":"gemini-2.5-pro","responseId":"xD0VaberBfSanvgPoPLHkAU","usageMetadata":{"trafficType":"ON_DEMAND"}},
  {"candidates":[{"content":{"parts":[{"functionCall":{"partialArgs":[{"jsonPath":"$.location","stringValue":"NewYorkCity","willContinue":true}],"willContinue":true}}],"role":"model"}}],"createTime":"2025-11-13T02:09:08.087479Z","modelVersion":"gemini-2.5-pro","responseId":"xD0VaberBfSanvgPoPLHkAU","usageMetadata":{"trafficType":"ON_DEMAND"}},
  {"candidates":[{"content":{"parts":[{"functionCall":{"partialArgs":[{"jsonPath":"$.location","stringValue":""}],"willContinue":true}}],"role":"model"}}],"createTime":"2025-11-13T02:09:08.087479Z","modelVersion":"gemini-2.5-pro","responseId":"xD0VaberBfSanvgPoPLHkAU","usageMetadata":{"trafficType":"ON_DEMAND"}},
  {"candidates":[{"content":{"parts":[{"functionCall":{"partialArgs":[{"jsonPath":"$.purpose","stringValue":"to know what to wear today","willContinue":true}],"willContinue":true}}],"role":"model"}}],"createTime":"2025-11-13T02:09:08.087479Z","modelVersion":"gemini-2.5-pro","responseId":"xD0VaberBfSanvgPoPLHkAU","usageMetadata":{"trafficType":"ON_DEMAND"}},
  {"candidates":[{"content":{"parts":[{"functionCall":{"partialArgs":[{"jsonPath":"$.purpose","stringValue":""}],"willContinue":true}}],"role":"model"}}],"createTime":"2025-11-13T02:09:08.087479Z","modelVersion":"gemini-2.5-pro","responseId":"xD0VaberBfSanvgPoPLHkAU","usageMetadata":{"trafficType":"ON_DEMAND"}},
  {"candidates":[{"content":{"parts":[{"functionCall":{"partialArgs":[{"jsonPath":"$.unit","stringValue":"C","willContinue":true}],"willContinue":true}}],"role":"model"}}],"createTime":"2025-11-13T02:09:08.087479Z","modelVersion":"gemini-2.5-pro","responseId":"xD0VaberBfSanvgPoPLHkAU","usageMetadata":{"trafficType":"ON_DEMAND"}},
  {"candidates":[{"content":{"parts":[{"functionCall":{"partialArgs":[{"jsonPath":"$.unit","stringValue":""}],"willContinue":true}}],"role":"model"}}],"createTime":"2025-11-13T02:09:08.087479Z","modelVersion":"gemini-2.5-pro","responseId":"xD0VaberBfSanvgPoPLHkAU","usageMetadata":{"trafficType":"ON_DEMAND"}},
  {"candidates":[{"content":{"parts":[{"functionCall":{}}],"role":"model"},"finishReason":"STOP"}],"createTime":"2025-11-13T02:09:08.087479Z","modelVersion":"gemini-2.5-pro","responseId":"xD0VaberBfSanvgPoPLHkAU","usageMetadata":{"candidatesTokenCount":29,"candidatesTokensDetails":[{"modality":"TEXT","tokenCount":29}],"promptTokenCount":36,"promptTokensDetails":[{"modality":"TEXT","tokenCount":36}],"thoughtsTokenCount":193,"totalTokenCount":258,"trafficType":"ON_DEMAND"}},
];

describe("a call whose arguments Gemini streams in pieces (streamFunctionCallArguments)", () => {
  it("recorded: the pieces become the call's arguments, sent whole when the call ends, from bytes in awkward slices", () => {
    const seen: [string, string][] = [];
    const translator = new GeminiStreamTranslator({ ...context, onToolCall: (id, signature) => seen.push([id, signature]) });
    const parser = new SseParser();
    const out: ChatStreamResponse[] = [];
    const bytes = new TextEncoder().encode(PARTIAL_ARGS_STREAM.map((chunk) => `data: ${JSON.stringify(chunk)}\r\n\r\n`).join(""));
    for (let i = 0; i < bytes.length; i += 7) for (const event of parser.push(bytes.subarray(i, i + 7))) translator.push(event, out);
    for (const event of parser.end()) translator.push(event, out);
    translator.end(out);
    const id = idsOf(out)[0] ?? "";
    expect(out.slice(1)).toEqual([
      toolCallStartEvent(0, 0, id, "getCurrentWeather", { google: { thought_signature: "CmAB4/H/XjMJHE7D6md5Dkx" } }),
      toolCallDeltaEvent(0, 0, '{"country":"USA","location":"NewYorkCity","purpose":"to know what to wear today","unit":"C"}'),
      finishEvent(0, FinishReason.TOOL_CALLS, "STOP"),
      usageEvent(usageOf({ prompt: 36, completion: 222, total: 258, reasoning: 193 })),
    ]);
    expect(seen).toEqual([[id, "CmAB4/H/XjMJHE7D6md5Dkx"]]);
  });

  it("hand-made: nested paths, array items, numbers, booleans and null, a string continued over pieces, then a second call", async () => {
    const piece = (partialArgs: object[], willContinue = true) => ({ candidates: [{ content: { parts: [{ functionCall: { partialArgs, willContinue } }] } }] });
    const out = await run([
      { responseId: "r", candidates: [{ content: { parts: [{ functionCall: { name: "plan", willContinue: true } }] } }] },
      piece([{ jsonPath: "$.trip.city", stringValue: "Par", willContinue: true }]),
      piece([{ jsonPath: "$.trip.city", stringValue: "is" }, { jsonPath: "$.days", numberValue: 3 }]),
      piece([{ jsonPath: "$.stops[0].name", stringValue: "Louvre" }, { jsonPath: "$.stops[1]", nullValue: "NULL_VALUE" }, { jsonPath: "$['odd key']", boolValue: true }]),
      piece([], false),
      { candidates: [{ content: { parts: [{ functionCall: { name: "book", args: { n: 1 } } }] }, finishReason: "STOP" }] },
    ]);
    const ids = idsOf(out);
    expect(out.slice(1)).toEqual([
      toolCallStartEvent(0, 0, ids[0] ?? "", "plan"),
      toolCallDeltaEvent(0, 0, '{"trip":{"city":"Paris"},"days":3,"stops":[{"name":"Louvre"},null],"odd key":true}'),
      toolCallStartEvent(0, 1, ids[1] ?? "", "book"),
      toolCallDeltaEvent(0, 1, '{"n":1}'),
      finishEvent(0, FinishReason.TOOL_CALLS, "STOP"),
    ]);
  });

  it("takes pieces that come with the call's name, and member names that are not ASCII", async () => {
    const out = await run([
      { responseId: "r", candidates: [{ content: { parts: [{ functionCall: { name: "get_weather", partialArgs: [{ jsonPath: "$.location", stringValue: "Bos", willContinue: true }], willContinue: true } }] } }] },
      { candidates: [{ content: { parts: [{ functionCall: { partialArgs: [{ jsonPath: "$.location", stringValue: "ton" }, { jsonPath: "$.城市", stringValue: "波士顿" }], willContinue: true } }] } }] },
      { candidates: [{ content: { parts: [{ functionCall: {} }] }, finishReason: "STOP" }] },
      // A call whose pieces all come with its name, and that does not go on.
    ]);
    expect(out.find((event) => event.event.case === "toolCallDelta")).toEqual(toolCallDeltaEvent(0, 0, '{"location":"Boston","城市":"波士顿"}'));
    const whole = await run([{ responseId: "r", candidates: [{ content: { parts: [{ functionCall: { name: "f", partialArgs: [{ jsonPath: "$.n", numberValue: 2 }] } }] }, finishReason: "STOP" }] }]);
    expect(whole.find((event) => event.event.case === "toolCallDelta")).toEqual(toolCallDeltaEvent(0, 0, '{"n":2}'));
  });

  it("ends a streamed call that never said it ended where the next call begins: its arguments before the next call's start", async () => {
    const out = await run([
      { responseId: "r", candidates: [{ content: { parts: [{ functionCall: { name: "a", willContinue: true } }] } }] },
      { candidates: [{ content: { parts: [{ functionCall: { partialArgs: [{ jsonPath: "$.x", numberValue: 1 }], willContinue: true } }] } }] },
      { candidates: [{ content: { parts: [{ functionCall: { name: "b", args: { y: 2 } } }] }, finishReason: "STOP" }] },
    ]);
    const ids = idsOf(out);
    expect(out.slice(1, 5)).toEqual([toolCallStartEvent(0, 0, ids[0] ?? "", "a"), toolCallDeltaEvent(0, 0, '{"x":1}'), toolCallStartEvent(0, 1, ids[1] ?? "", "b"), toolCallDeltaEvent(0, 1, '{"y":2}')]);
  });

  it("sends what came when the candidate finishes before the call's end, and refuses a path it cannot read", async () => {
    const start = { responseId: "r", candidates: [{ content: { parts: [{ functionCall: { name: "f", willContinue: true } }] } }] };
    const cut = await run([start, { candidates: [{ content: { parts: [{ functionCall: { partialArgs: [{ jsonPath: "$.a", stringValue: "x" }], willContinue: true } }] }, finishReason: "MAX_TOKENS" }] }]);
    expect(cut.slice(2)).toEqual([toolCallDeltaEvent(0, 0, '{"a":"x"}'), finishEvent(0, FinishReason.LENGTH, "MAX_TOKENS")]);
    await expect(run([start, { candidates: [{ content: { parts: [{ functionCall: { partialArgs: [{ jsonPath: "a..b", stringValue: "x" }], willContinue: true } }] } }] }])).rejects.toThrow(/cannot read/);
  });
});

describe("fromGeminiStream (hand-made chunks)", () => {
  it("puts a malformed finish of the first chunk in the start's warnings (a stream answer says it as a whole one does)", async () => {
    const out = await run([{ responseId: "r", candidates: [{ content: {}, finishReason: "MALFORMED_FUNCTION_CALL" }] }]);
    expect(out).toEqual([
      responseStartEvent("r", "gemini-x", 2000n, ["dropped: user", "Gemini ended choice 0 with MALFORMED_FUNCTION_CALL"]),
      finishEvent(0, FinishReason.STOP, "MALFORMED_FUNCTION_CALL"),
    ]);
  });

  it("takes created from Vertex's createTime when the first chunk has one", async () => {
    const out = await run([{ responseId: "r", createTime: "2026-07-22T23:37:37Z", candidates: [{ content: { parts: [{ text: "a" }] }, finishReason: "STOP" }] }]);
    expect(out[0]).toEqual(responseStartEvent("r", "gemini-x", 1784763457n, ["dropped: user"]));
  });

  it("holds a finish that comes with code execution until more of the candidate comes, or the body ends", async () => {
    const code = { executableCode: { language: "PYTHON", code: "print(1)" } };
    const result = { codeExecutionResult: { outcome: "OUTCOME_OK", output: "1" } };
    const usage = { promptTokenCount: 4, candidatesTokenCount: 9, totalTokenCount: 13 };
    expect(await run([{ responseId: "r", candidates: [{ content: { parts: [{ text: "a" }, code] }, finishReason: "STOP" }], usageMetadata: usage }, { candidates: [{ content: { parts: [result, { text: "b" }] }, finishReason: "STOP" }], usageMetadata: usage }])).toEqual([
      responseStartEvent("r", "gemini-x", 2000n, ["dropped: user", "Gemini answered with parts the gateway does not translate (executableCode); dropped"]),
      textDeltaEvent(0, "a"),
      textDeltaEvent(0, "b"),
      finishEvent(0, FinishReason.STOP, "STOP"),
      usageEvent(usageOf({ prompt: 4, completion: 9, total: 13 })),
    ]);
    // Nothing after it: the held finish goes at the body's end, before the usage.
    expect((await run([{ responseId: "r", candidates: [{ content: { parts: [code] }, finishReason: "STOP" }], usageMetadata: usage }])).slice(1)).toEqual([
      finishEvent(0, FinishReason.STOP, "STOP"),
      usageEvent(usageOf({ prompt: 4, completion: 9, total: 13 })),
    ]);
    // A finish with code to run leaves the answer unsettled (the code runs for a while); one with the code's result settles it.
    const translator = new GeminiStreamTranslator(context);
    const out: ChatStreamResponse[] = [];
    translator.chunk({ responseId: "r", candidates: [{ content: { parts: [{ text: "a" }, code] }, finishReason: "STOP" }] }, out);
    expect(translator.settled).toBe(false);
    translator.chunk({ candidates: [{ content: { parts: [result] }, finishReason: "STOP" }], usageMetadata: usage }, out);
    expect(translator.settled).toBe(true);
    translator.end(out);
    expect(out.slice(-2)).toEqual([finishEvent(0, FinishReason.STOP, "STOP"), usageEvent(usageOf({ prompt: 4, completion: 9, total: 13 }))]);
  });

  it("takes a finishReason on every chunk (the API of 2024) as the end only at the body's end: the whole answer, then one finish", () => {
    // generative-ai-js's recorded search-grounding stream (test-utils/mock-responses, 2024-10): STOP and usage on every chunk, grounding last.
    const usage = (completion: number) => ({ promptTokenCount: 8, candidatesTokenCount: completion, totalTokenCount: 8 + completion });
    const texts = ["The", " current stock price", " is $166.79 USD.", " financial websites.\n"];
    const chunks: unknown[] = texts.map((text, i) => ({ candidates: [{ content: { parts: [{ text }], role: "model" }, finishReason: "STOP", index: 0 }], usageMetadata: usage(i + 1) }));
    chunks.push({ candidates: [{ content: {}, index: 0, groundingMetadata: { webSearchQueries: ["what is the current google stock price"] } }], usageMetadata: usage(4) });
    const translator = new GeminiStreamTranslator(context);
    const out: ChatStreamResponse[] = [];
    for (const chunk of chunks) {
      translator.chunk(chunk, out);
      // Each chunk could be the last one: the answer is settled after each.
      expect(translator.settled).toBe(true);
    }
    expect(out.filter((event) => event.event.case === "finish" || event.event.case === "usage")).toEqual([]);
    translator.end(out);
    expect(out.slice(1)).toEqual([...texts.map((text) => textDeltaEvent(0, text)), finishEvent(0, FinishReason.STOP, "STOP"), usageEvent(usageOf({ prompt: 8, completion: 4, total: 12 }))]);
  });

  it("an answer that goes on after a finish without one of its own is not finished (an empty text part is not more of it)", async () => {
    const more = await run([{ responseId: "r", candidates: [{ content: { parts: [{ text: "a" }] }, finishReason: "STOP" }] }, { candidates: [{ content: { parts: [{ text: "b" }] } }] }]);
    expect(more.filter((event) => event.event.case === "finish")).toEqual([]);
    const empty = await run([{ responseId: "r", candidates: [{ content: { parts: [{ text: "a" }] }, finishReason: "MAX_TOKENS" }] }, { candidates: [{ content: { parts: [{ text: "" }] } }] }]);
    expect(empty.at(-1)).toEqual(finishEvent(0, FinishReason.LENGTH, "MAX_TOKENS"));
  });

  it("numbers parallel calls densely per choice, routes candidates by index and finishes each once", async () => {
    const seen: [string, string][] = [];
    const out = await run(
      [
        { responseId: "r", candidates: [{ index: 1, content: { parts: [{ text: "B says " }] } }, { index: 0, content: { parts: [{ functionCall: { name: "a", args: { q: 1 } }, thoughtSignature: "c2ln" }, { functionCall: { name: "b" } }] } }] },
        { candidates: [{ index: 0, content: { parts: [{ functionCall: { name: "c", args: {} } }] }, finishReason: "STOP" }, { index: 1, content: { parts: [{ text: "hi" }] } }] },
        { candidates: [{ index: 0, content: { parts: [{ text: "then" }] }, finishReason: "STOP" }, { index: 1, content: { parts: [{ text: "" }] }, finishReason: "STOP" }], usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 9, totalTokenCount: 13 } },
      ],
      (id, signature) => seen.push([id, signature]),
    );
    const ids = idsOf(out);
    expect(new Set(ids).size).toBe(3);
    expect(out).toEqual([
      responseStartEvent("r", "gemini-x", 2000n, ["dropped: user"]),
      textDeltaEvent(1, "B says "),
      toolCallStartEvent(0, 0, ids[0] ?? "", "a", { google: { thought_signature: "c2ln" } }),
      toolCallDeltaEvent(0, 0, '{"q":1}'),
      toolCallStartEvent(0, 1, ids[1] ?? "", "b"),
      toolCallDeltaEvent(0, 1, "{}"),
      toolCallStartEvent(0, 2, ids[2] ?? "", "c"),
      toolCallDeltaEvent(0, 2, "{}"),
      textDeltaEvent(1, "hi"),
      // The finish of choice 0 was not its end: what came after it is the answer's too.
      textDeltaEvent(0, "then"),
      finishEvent(0, FinishReason.TOOL_CALLS, "STOP"),
      finishEvent(1, FinishReason.STOP, "STOP"),
      usageEvent(usageOf({ prompt: 4, completion: 9, total: 13 })),
    ]);
    expect(seen).toEqual([[ids[0], "c2ln"]]);
  });

  it("streams thought parts as reasoning deltas (signatures tagged gemini:) and attaches logprobs to text", async () => {
    const out = await run([
      { candidates: [{ content: { parts: [{ text: "hmm", thought: true }, { text: "", thought: true, thoughtSignature: "c2ln" }] } }] },
      { candidates: [{ content: { parts: [{ text: "Yes" }] }, finishReason: "STOP", logprobsResult: { chosenCandidates: [{ token: "Yes", logProbability: -0.5 }], topCandidates: [] } }] },
    ]);
    expect(out[1]).toEqual(reasoningDeltaEvent(0, "hmm"));
    expect(out[2]).toEqual(reasoningDeltaEvent(0, "", "gemini:c2ln"));
    const text = out[3]?.event;
    expect(text?.case === "textDelta" ? text.value.logprobs.map((entry) => [entry.token, entry.logprob]) : []).toEqual([["Yes", -0.5]]);
    expect(out[4]).toEqual(finishEvent(0, FinishReason.STOP, "STOP"));
  });

  it("keeps the logprobs of an event with no text (the end-of-sequence token on an empty part)", async () => {
    const out = await run([
      { responseId: "r", candidates: [{ content: { parts: [{ text: "Yes" }] }, logprobsResult: { chosenCandidates: [{ token: "Yes", logProbability: -0.5 }], topCandidates: [] } }] },
      { candidates: [{ content: { parts: [{ text: "" }] }, finishReason: "STOP", logprobsResult: { chosenCandidates: [{ token: "<eos>", logProbability: -0.1 }], topCandidates: [] } }] },
    ]);
    const tokens = out.flatMap((event) => (event.event.case === "textDelta" ? event.event.value.logprobs.map((entry) => entry.token) : []));
    expect(tokens).toEqual(["Yes", "<eos>"]);
  });

  it("sends an event's adjacent text parts as one delta, split only by the parts between them", async () => {
    const out = await run([
      { responseId: "r", candidates: [{ content: { parts: [{ text: "a" }, { text: "b" }, { text: "c" }, { functionCall: { name: "f", args: {} } }, { text: "d" }, { text: "e" }] }, finishReason: "STOP" }] },
    ]);
    expect(out.filter((event) => event.event.case === "textDelta").map((event) => (event.event.case === "textDelta" ? event.event.value.text : ""))).toEqual(["abc", "de"]);
    expect(out.map((event) => event.event.case)).toEqual(["responseStart", "textDelta", "toolCallStart", "toolCallDelta", "textDelta", "finish"]);
  });

  it("maps SAFETY mid-stream to a content_filter finish and keeps only the last usage", async () => {
    const out = await run([
      { candidates: [{ content: { parts: [{ text: "Once" }] } }], usageMetadata: { promptTokenCount: 10, totalTokenCount: 10 } },
      { candidates: [{ content: {}, finishReason: "SAFETY" }], usageMetadata: { promptTokenCount: 11, candidatesTokenCount: 1, totalTokenCount: 12 } },
    ]);
    expect(out.slice(2)).toEqual([finishEvent(0, FinishReason.CONTENT_FILTER, "SAFETY"), usageEvent(usageOf({ prompt: 11, completion: 1, total: 12 }))]);
  });

  it("throws an in-stream error before anything when it comes first", async () => {
    await expect(run([{ error: { code: 429, message: "quota", status: "RESOURCE_EXHAUSTED", details: [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "2s" }] } }])).rejects.toMatchObject({
      reason: "RATE_LIMIT_EXCEEDED",
      facts: { retryAfterMs: 2000 },
    });
  });
});

describe("GeminiStreamTranslator over SSE", () => {
  it("takes CRLF-framed events split anywhere, without [DONE], and ends at EOF", () => {
    const text = 'data: {"responseId": "r", "candidates": [{"content": {"parts": [{"text": "h"}]}}]}\r\n\r\ndata: {"candidates": [{"content": {"parts": [{"text": "é"}]}, "finishReason": "STOP"}]}\r\n\r\n';
    const bytes = new TextEncoder().encode(text);
    const parser = new SseParser();
    const translator = new GeminiStreamTranslator(context);
    const out: ChatStreamResponse[] = [];
    for (let i = 0; i < bytes.length; i += 3) for (const event of parser.push(bytes.subarray(i, i + 3))) translator.push(event, out);
    for (const event of parser.end()) translator.push(event, out);
    translator.end(out);
    expect(translator.done).toBe(false);
    expect(out).toEqual([responseStartEvent("r", "gemini-x", 2000n, ["dropped: user"]), textDeltaEvent(0, "h"), textDeltaEvent(0, "é"), finishEvent(0, FinishReason.STOP, "STOP")]);
  });

  it("is settled only once every candidate asked for has finished, and sends the usage once, at the end", () => {
    const usage = { promptTokenCount: 2, candidatesTokenCount: 3, totalTokenCount: 5 };
    const two = new GeminiStreamTranslator({ ...context, choices: 2 });
    const out: ChatStreamResponse[] = [];
    two.chunk({ responseId: "r", candidates: [{ index: 0, content: { parts: [{ text: "a" }] }, finishReason: "STOP" }], usageMetadata: usage }, out);
    expect(two.settled).toBe(false);
    two.chunk({ candidates: [{ index: 1, content: { parts: [{ text: "b" }] }, finishReason: "STOP" }], usageMetadata: usage }, out);
    expect(two.settled).toBe(true);
    expect(out.some((event) => event.event.case === "usage")).toBe(false);
    two.end(out);
    two.end(out);
    expect(out.slice(-3)).toEqual([finishEvent(0, FinishReason.STOP, "STOP"), finishEvent(1, FinishReason.STOP, "STOP"), usageEvent(usageOf({ prompt: 2, completion: 3, total: 5 }))]);
  });

  it("refuses an event that is not JSON", () => {
    expect(() => new GeminiStreamTranslator(context).push({ event: "message", data: "{nope" }, [])).toThrow(/not JSON/);
  });

  it("a JSON-array answer (no alt=sse) is translated element by element through the JsonArrayDecoder", () => {
    const body = JSON.stringify([
      { responseId: "r", candidates: [{ content: { parts: [{ text: "h" }] } }] },
      { responseId: "r", candidates: [{ content: { parts: [{ text: "i" }] }, finishReason: "STOP" }], usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 1, totalTokenCount: 2 } },
    ], null, 1);
    const translator = new GeminiStreamTranslator(context);
    const decoder = new JsonArrayDecoder(1_000_000, "gem");
    const out: ChatStreamResponse[] = [];
    const bytes = new TextEncoder().encode(body);
    const half = body.indexOf("},\n") + 3;
    for (const event of decoder.push(bytes.subarray(0, half))) translator.push(event, out);
    // The first element is out before the array has ended.
    expect(out).toEqual([responseStartEvent("r", "gemini-x", 2000n, ["dropped: user"]), textDeltaEvent(0, "h")]);
    for (const event of decoder.push(bytes.subarray(half))) translator.push(event, out);
    for (const event of decoder.end()) translator.push(event, out);
    translator.end(out);
    expect(out.slice(2)).toEqual([textDeltaEvent(0, "i"), finishEvent(0, FinishReason.STOP, "STOP"), usageEvent(usageOf({ prompt: 1, completion: 1, total: 2 }))]);
  });
});
