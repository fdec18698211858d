import { describe, expect, it } from "vitest";
import type { CatalogModel } from "../../../src/config/gateway-config.js";
import { toGeminiRequest } from "../../../src/providers/gemini/gemini-request.js";
import { createThoughtSignatureCache } from "../../../src/providers/gemini/gemini-signature-cache.js";
import { assistant, system, user } from "../../support/proto-builders.js";
import { sseFrames } from "../../http/rest-test-setup.js";
import { geminiJson, geminiRest, geminiRestSession, geminiSse, readStream } from "./gemini-rest.js";
import { chatInput } from "./gemini-inputs.js";

/*
 * What real Gemini traffic contains that the recorded fixtures do not: models that refuse some
 * thinking levels and every non-zero penalty, account-level FAILED_PRECONDITION answers, and
 * answer parts the OpenAI format has no place for. Each case runs through the whole REST front
 * door (the real adapter, upstream bytes in awkward slices) unless it is about the translator alone.
 */

const hi = [{ role: "user", content: "hi" }];
const OK = geminiJson({ candidates: [{ content: { role: "model", parts: [{ text: "ok" }] }, finishReason: "STOP", index: 0 }], usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 1, totalTokenCount: 2 } });
const warningsOf = (headers: Record<string, unknown>) => String(headers["x-switchyard-warnings"] ?? "");

function translate(model: string, init: Parameters<typeof chatInput>[0], catalogModel?: CatalogModel) {
  return toGeminiRequest(chatInput(init), { baseUrl: "https://generativelanguage.googleapis.com", upstreamModel: model, fetchedMedia: new Map(), thoughtSignatureFor: () => undefined, ...(catalogModel ? { catalogModel } : {}) });
}

describe("reasoning_effort on Gemini 3: only the thinking levels the model takes", () => {
  // Gemini 3 Pro answers "medium" and "minimal" with 400 "Thinking level MEDIUM is not supported for this model.";
  // 3.1 Pro adds "medium" but still refuses "minimal"; Flash models take all four.
  it.each([
    ["gemini-3-pro-preview", "medium", "high", true],
    ["gemini-3-pro-preview", "minimal", "low", true],
    ["gemini-3-pro-preview", "none", "low", true],
    ["gemini-3-pro-preview", "low", "low", false],
    ["gemini-3-pro-preview", "high", "high", false],
    ["models/gemini-3-pro-preview", "medium", "high", true],
    ["gemini-3-pro-image-preview", "minimal", "low", true],
    ["gemini-3.1-pro-preview", "medium", "medium", false],
    ["gemini-3.1-pro-preview", "minimal", "low", true],
    ["gemini-3.1-pro-preview", "none", "low", true],
    ["gemini-3-flash-preview", "minimal", "minimal", false],
    ["gemini-3-flash-preview", "medium", "medium", false],
    ["gemini-3.1-flash-lite-preview", "minimal", "minimal", false],
    ["gemini-3-flash-preview", "xhigh", "high", true],
  ])("%s, reasoning_effort %s -> thinkingLevel %s", (model, effort, level, warned) => {
    const { body, warnings } = translate(model, { messages: [user("x")], reasoningEffort: effort });
    expect(body.generationConfig).toEqual({ thinkingConfig: { thinkingLevel: level } });
    expect(warnings).toEqual(warned ? [`reasoning_effort ${effort} has no Gemini ${model} equivalent; sent thinkingLevel ${level}`] : []);
  });

  it("REST: reasoning_effort medium on gemini-3-pro-preview goes out as high, with the warning in the header", async () => {
    const answer = await geminiRest({ model: "gem/gemini-3-pro-preview", messages: hi, reasoning_effort: "medium" }, OK);
    expect(answer.status).toBe(200);
    expect(answer.sent[0]?.generationConfig).toEqual({ thinkingConfig: { thinkingLevel: "high" } });
    expect(warningsOf(answer.headers)).toContain("reasoning_effort medium has no Gemini gemini-3-pro-preview equivalent; sent thinkingLevel high");
  });
});

describe("penalties: Gemini 2.5 and later refuse every non-zero one", () => {
  // Recorded: fixture gemini/error-400-invalid-argument-penalty.json ("Penalty is not enabled for models/gemini-2.5-pro").
  it.each(["gemini-2.5-pro", "gemini-2.5-flash", "gemini-3-pro-preview", "gemini-3-flash-preview", "gemini-flash-latest"])("%s: dropped, with a warning", (model) => {
    const { body, warnings } = translate(model, { messages: [user("x")], presencePenalty: 0.5, frequencyPenalty: -0.25 });
    expect(body.generationConfig).toEqual({});
    expect(warnings).toEqual([`presence_penalty and frequency_penalty are not supported by ${model}; dropped`]);
  });

  it("zero penalties (the default, a no-op) are dropped without a warning", () => {
    const { body, warnings } = translate("gemini-2.5-flash", { messages: [user("x")], presencePenalty: 0, frequencyPenalty: 0 });
    expect(body.generationConfig).toEqual({});
    expect(warnings).toEqual([]);
  });

  it("older models (gemini-2.0-flash takes them) and a catalogue that says `penalties: true` get them as sent", () => {
    expect(translate("gemini-2.0-flash", { messages: [user("x")], presencePenalty: 0.5 }).body.generationConfig).toEqual({ presencePenalty: 0.5 });
    const catalogued: CatalogModel = { name: "gemini-2.5-flash", supports: { penalties: true } };
    expect(translate("gemini-2.5-flash", { messages: [user("x")], frequencyPenalty: 0.3 }, catalogued).body.generationConfig).toEqual({ frequencyPenalty: 0.3 });
  });

  it("REST: presence_penalty on gemini-2.5-pro is answered, not refused upstream", async () => {
    const answer = await geminiRest({ model: "gem/gemini-2.5-pro", messages: hi, presence_penalty: 0.6 }, OK);
    expect(answer.status).toBe(200);
    expect(answer.sent[0]?.generationConfig).toEqual({});
    expect(warningsOf(answer.headers)).toContain("presence_penalty and frequency_penalty are not supported by gemini-2.5-pro; dropped");
  });
});

describe("FAILED_PRECONDITION about the account (location, billing): a provider failure that fails over", () => {
  const precondition = (message: string) => geminiJson({ error: { code: 400, message, status: "FAILED_PRECONDITION" } }, 400);
  const ACCOUNT_MESSAGES = [
    "User location is not supported for the API use.",
    "User location is not supported for the API use without a billing account linked.",
    "Gemini API free tier is not available in your country. Please enable billing on your project in Google AI Studio.",
  ];

  it.each(ACCOUNT_MESSAGES)("%s -> 503 provider_unavailable, not the caller's invalid request", async (message) => {
    const answer = await geminiRest({ model: "gem/gemini-2.5-flash", messages: hi }, precondition(message));
    expect(answer.status).toBe(503);
    const error = (JSON.parse(answer.body) as { error: { code: string; type: string; message: string } }).error;
    expect(error.code).toBe("provider_unavailable");
    expect(error.type).toBe("server_error");
    expect(error.message).toContain(message);
  });

  it("fails over to the next target (non-streamed and streamed), and is not retried on the same one", async () => {
    for (const stream of [false, true]) {
      const answer = await geminiRest(
        { model: "gem/gemini-2.5-flash", messages: hi, stream, fallbacks: ["gem2/gemini-2.5-flash"] },
        precondition(ACCOUNT_MESSAGES[0] ?? ""),
        stream ? geminiSse([{ candidates: [{ content: { role: "model", parts: [{ text: "ok" }] }, finishReason: "STOP", index: 0 }] }]) : OK,
      );
      expect(answer.status).toBe(200);
      expect(answer.urls.map((url) => new URL(url).host)).toEqual(["generativelanguage.googleapis.com", "gem2.test"]);
      expect(stream ? readStream(answer.body).text[0] : (JSON.parse(answer.body) as { choices: { message: { content: string } }[] }).choices[0]?.message.content).toBe("ok");
    }
  });

  it("a FAILED_PRECONDITION about the request itself stays the caller's 400", async () => {
    const answer = await geminiRest({ model: "gem/gemini-2.5-flash", messages: hi, fallbacks: ["gem2/gemini-2.5-flash"] }, precondition("The File abc is not in an ACTIVE state and usage is not allowed."), OK);
    expect(answer.status).toBe(400);
    expect((JSON.parse(answer.body) as { error: { code: string } }).error.code).toBe("upstream_invalid_request");
    expect(answer.urls).toHaveLength(1);
  });
});

describe("CANCELLED (499) from Google: its backend gave up, not the caller", () => {
  // Recorded in google-gemini/gemini-cli#20309 under heavy load: errors[].reason "backendError".
  const cancelled = { error: { code: 499, message: "The operation was cancelled.", errors: [{ message: "The operation was cancelled.", domain: "global", reason: "backendError" }], status: "CANCELLED" } };

  it("is 503 provider_unavailable, and fails over to the next target", async () => {
    const alone = await geminiRest({ model: "gem/gemini-2.5-pro", messages: hi }, geminiJson(cancelled, 499));
    expect(alone.status).toBe(503);
    expect((JSON.parse(alone.body) as { error: { code: string } }).error.code).toBe("provider_unavailable");
    const withFallback = await geminiRest({ model: "gem/gemini-2.5-pro", messages: hi, fallbacks: ["gem2/gemini-2.5-pro"] }, geminiJson(cancelled, 499), OK);
    expect(withFallback.status).toBe(200);
    expect(withFallback.urls.map((url) => new URL(url).host)).toEqual(["generativelanguage.googleapis.com", "gem2.test"]);
  });

  it("inside a stream, before any content, it fails over too", async () => {
    const answer = await geminiRest({ model: "gem/gemini-2.5-pro", messages: hi, stream: true, fallbacks: ["gem2/gemini-2.5-pro"] }, geminiSse([cancelled]), geminiSse([{ candidates: [{ content: { role: "model", parts: [{ text: "ok" }] }, finishReason: "STOP", index: 0 }] }]));
    expect(answer.status).toBe(200);
    expect(answer.urls).toHaveLength(2);
    expect(readStream(answer.body)).toMatchObject({ text: { 0: "ok" }, finishes: { 0: "stop" }, errors: [], done: true });
  });
});

describe("answer parts the OpenAI format has no place for: dropped with a warning, the text kept", () => {
  const parts = [
    { text: "Computing:" },
    { executableCode: { language: "PYTHON", code: "print(1 + 1)" } },
    { codeExecutionResult: { outcome: "OUTCOME_OK", output: "2\n" } },
    { inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } },
    { fileData: { mimeType: "image/png", fileUri: "https://generativelanguage.googleapis.com/v1beta/files/x" } },
    { aPartKindFromTheFuture: { value: 1 } },
    { text: " the answer is 2.", thoughtSignature: "c2ln" },
    { text: "", thoughtSignature: "c2lnMg==" },
  ];
  const response = { candidates: [{ content: { role: "model", parts }, finishReason: "STOP", index: 0 }], usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 9, totalTokenCount: 13 } };
  const WARNING = "Gemini answered with parts the gateway does not translate (aPartKindFromTheFuture, codeExecutionResult, executableCode, fileData, inlineData); dropped";

  it("non-streamed", async () => {
    const answer = await geminiRest({ model: "gem/gemini-2.5-flash", messages: hi }, geminiJson(response));
    expect(answer.status).toBe(200);
    expect((JSON.parse(answer.body) as { choices: { message: { content: string }; finish_reason: string }[] }).choices[0]).toMatchObject({ message: { content: "Computing: the answer is 2." }, finish_reason: "stop" });
    expect(warningsOf(answer.headers)).toContain(WARNING);
  });

  it("streamed: parts of the first chunk are named in the warnings; later ones are dropped without one", async () => {
    const answer = await geminiRest({ model: "gem/gemini-2.5-flash", messages: hi, stream: true }, geminiSse([response, { candidates: [{ content: { role: "model", parts: [{ text: "" }] }, index: 0 }] }]));
    expect(warningsOf(answer.headers)).toContain(WARNING);
    const read = readStream(answer.body);
    expect(read.text[0]).toBe("Computing: the answer is 2.");
    expect(read.finishes[0]).toBe("stop");
    expect(read.done).toBe(true);
  });

  it("an image-only answer (image output models) is not an unexplained empty answer", async () => {
    const image = { candidates: [{ content: { role: "model", parts: [{ inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } }] }, finishReason: "STOP", index: 0 }] };
    for (const stream of [false, true]) {
      const answer = await geminiRest({ model: "gem/gemini-2.5-flash-image", messages: hi, stream }, stream ? geminiSse([image]) : geminiJson(image));
      expect(answer.status).toBe(200);
      expect(warningsOf(answer.headers)).toContain("Gemini answered with parts the gateway does not translate (inlineData); dropped");
    }
  });

  it("a bare signature part and annotations are not reported as dropped", async () => {
    const plain = { candidates: [{ content: { role: "model", parts: [{ text: "hi", thoughtSignature: "c2ln" }, { thoughtSignature: "c2lnMg==" }, { thought: true, thoughtSignature: "c2lnMw==" }] }, finishReason: "STOP", index: 0 }] };
    const answer = await geminiRest({ model: "gem/gemini-3-flash-preview", messages: hi }, geminiJson(plain));
    expect(answer.status).toBe(200);
    expect(warningsOf(answer.headers)).not.toContain("does not translate");
  });
});

describe("Gemma models on the Gemini API take no systemInstruction", () => {
  // Google answers it with 400 "Developer instruction is not enabled for models/gemma-3-27b-it".
  it("the system prompt opens the first user turn, with a warning", async () => {
    const messages = [{ role: "system", content: "Be brief." }, { role: "developer", content: "Use French." }, { role: "user", content: "hi" }];
    const answer = await geminiRest({ model: "gem/gemma-3-27b-it", messages }, OK);
    expect(answer.status).toBe(200);
    expect(answer.sent[0]).not.toHaveProperty("systemInstruction");
    expect(answer.sent[0]?.contents).toEqual([{ role: "user", parts: [{ text: "Be brief.\n\nUse French.\n\n" }, { text: "hi" }] }]);
    expect(warningsOf(answer.headers)).toContain("gemma-3-27b-it takes no system instruction; the system prompt was sent at the start of the first user turn");
  });

  it("a conversation that starts with the model gets a user turn in front; Gemini models keep systemInstruction", () => {
    const { body } = translate("gemma-3-12b-it", { messages: [system("S"), assistant("Hello!"), user("hi")] });
    expect(body.contents).toEqual([{ role: "user", parts: [{ text: "S\n\n" }] }, { role: "model", parts: [{ text: "Hello!" }] }, { role: "user", parts: [{ text: "hi" }] }]);
    const gemini = translate("gemini-2.5-flash", { messages: [system("S"), user("hi")] });
    expect(gemini.body.systemInstruction).toEqual({ role: "user", parts: [{ text: "S" }] });
    expect(gemini.warnings).toEqual([]);
  });
});

describe("reasoning signatures: Gemini's come back tagged gemini:, and only those go back to Gemini", () => {
  // thinking_blocks come back whatever provider wrote them (a conversation that moved from an Anthropic
  // target to a Gemini one); Gemini answers a foreign signature with 400 "Corrupted thought signature."
  const ANTHROPIC_SIGNATURE = "EqQBCkgIBxABGAIiQLr5cXVvQwAnthropicSignature==";
  const GEMINI_SIGNATURE = "CiQBjz1rX8geminiThoughtSignature/A==";
  const TAGGED = `gemini:${GEMINI_SIGNATURE}`;
  const thoughtAnswer = { candidates: [{ content: { role: "model", parts: [{ text: "The user greets me.", thought: true }, { text: "", thought: true, thoughtSignature: GEMINI_SIGNATURE }, { text: "Hello!" }] }, finishReason: "STOP", index: 0 }] };
  const again = (blocks: unknown[]) => [...hi, { role: "assistant", content: "Hello!", thinking_blocks: blocks }, { role: "user", content: "again" }];

  /** The thinking_blocks of the first choice of a REST answer, streamed or not. */
  function thinkingBlocks(body: string, stream: boolean): unknown[] {
    if (!stream) return (JSON.parse(body) as { choices: { message: { thinking_blocks?: unknown[] } }[] }).choices[0]?.message.thinking_blocks ?? [];
    return sseFrames(body).filter((frame) => frame.startsWith("{")).flatMap((frame) => (JSON.parse(frame) as { choices: { delta: { thinking_blocks?: unknown[] } }[] }).choices[0]?.delta.thinking_blocks ?? []);
  }

  it.each([
    ["Anthropic's (untagged)", ANTHROPIC_SIGNATURE],
    ["tagged with another family", `anthropic:${ANTHROPIC_SIGNATURE}`],
  ])("a signed thinking block whose signature is %s is sent as an unsigned thought, with a warning", async (_name, signature) => {
    const answer = await geminiRest({ model: "gem/gemini-3-flash-preview", messages: again([{ type: "thinking", thinking: "The user greets me.", signature }]) }, OK);
    expect(answer.status).toBe(200);
    expect(answer.sent[0]?.contents).toEqual([
      { role: "user", parts: [{ text: "hi" }] },
      { role: "model", parts: [{ text: "The user greets me.", thought: true }, { text: "Hello!" }] },
      { role: "user", parts: [{ text: "again" }] },
    ]);
    expect(JSON.stringify(answer.sent)).not.toContain(ANTHROPIC_SIGNATURE);
    expect(warningsOf(answer.headers)).toContain("reasoning signatures another provider issued (or untagged ones) were left out; Gemini refuses them");
  });

  it("the memory of tool-call signatures is bounded and expires", () => {
    let now = 0;
    const cache = createThoughtSignatureCache({ ttlMs: 1000, maxEntries: 2, now: () => now });
    cache.remember("call_1", "a");
    cache.remember("call_2", "b");
    expect([cache.recall("call_1"), cache.recall("call_2"), cache.recall("call_3")]).toEqual(["a", "b", undefined]);
    cache.remember("call_3", "c");
    expect(cache.recall("call_1")).toBeUndefined();
    now = 1000;
    expect([cache.recall("call_2"), cache.recall("call_3")]).toEqual([undefined, undefined]);
  });

  it.each([false, true])("stream %s: a Gemini thought signature comes back tagged in thinking_blocks and is replayed raw", async (stream) => {
    const session = await geminiRestSession(stream ? geminiSse([thoughtAnswer]) : geminiJson(thoughtAnswer), OK);
    try {
      const first = await session.post({ model: "gem/gemini-3-flash-preview", messages: hi, stream });
      const blocks = thinkingBlocks(first.body, stream);
      // The signature came alone in an empty thought part: one block either way, the thought text with its signature.
      expect(blocks).toEqual([{ type: "thinking", thinking: "The user greets me.", signature: TAGGED }]);
      const next = await session.post({ model: "gem/gemini-3-flash-preview", messages: again(blocks) });
      expect((next.sent[0]?.contents as { parts: unknown[] }[])[1]?.parts).toEqual([{ text: "The user greets me.", thought: true, thoughtSignature: GEMINI_SIGNATURE }, { text: "Hello!" }]);
      expect(warningsOf(next.headers)).not.toContain("left out");
    } finally {
      await session.close();
    }
  });

  it.each([false, true])("stream %s: another Gemini account, or a fresh process, replays the signature too", async (stream) => {
    const first = await geminiRest({ model: "gem/gemini-3-flash-preview", messages: hi, stream }, stream ? geminiSse([thoughtAnswer]) : geminiJson(thoughtAnswer));
    const blocks = thinkingBlocks(first.body, stream);
    // A fresh app (another worker process), on the first account and on the second.
    for (const model of ["gem/gemini-3-flash-preview", "gem2/gemini-3-flash-preview"]) {
      const next = await geminiRest({ model, messages: again(blocks) }, OK);
      expect(next.status).toBe(200);
      expect((next.sent[0]?.contents as { parts: unknown[] }[])[1]?.parts).toEqual([{ text: "The user greets me.", thought: true, thoughtSignature: GEMINI_SIGNATURE }, { text: "Hello!" }]);
      expect(warningsOf(next.headers)).not.toContain("left out");
    }
  });

  it.each([false, true])("stream %s: a signature-only thought part round-trips as one", async (stream) => {
    const bare = { candidates: [{ content: { role: "model", parts: [{ thought: true, thoughtSignature: GEMINI_SIGNATURE }, { text: "Hello!" }] }, finishReason: "STOP", index: 0 }] };
    const first = await geminiRest({ model: "gem/gemini-3-flash-preview", messages: hi, stream }, stream ? geminiSse([bare]) : geminiJson(bare));
    const blocks = thinkingBlocks(first.body, stream);
    expect(blocks).toEqual([{ type: "thinking", thinking: "", signature: TAGGED }]);
    const next = await geminiRest({ model: "gem/gemini-3-flash-preview", messages: again(blocks) }, OK);
    expect((next.sent[0]?.contents as { parts: unknown[] }[])[1]?.parts).toEqual([{ text: "", thought: true, thoughtSignature: GEMINI_SIGNATURE }, { text: "Hello!" }]);
  });

  // Gemini 3 signs its answer text (recorded by pydantic-ai: test_google_model_retrying_after_empty_response); 2.5 may sign the first answer part after streamed thoughts.
  it.each([false, true])("stream %s: a signature on the answer text comes back in thinking_blocks and goes back on the text", async (stream) => {
    const signedText = { candidates: [{ content: { role: "model", parts: [{ text: "Hello!", thoughtSignature: GEMINI_SIGNATURE }] }, finishReason: "STOP", index: 0 }] };
    const first = await geminiRest({ model: "gem/gemini-3-pro-preview", messages: hi, stream }, stream ? geminiSse([signedText]) : geminiJson(signedText));
    const blocks = thinkingBlocks(first.body, stream);
    expect(blocks).toEqual([{ type: "thinking", thinking: "", signature: `gemini:text:${GEMINI_SIGNATURE}` }]);
    expect(first.body).toContain('"Hello!"');
    const next = await geminiRest({ model: "gem/gemini-3-pro-preview", messages: again(blocks) }, OK);
    expect((next.sent[0]?.contents as { parts: unknown[] }[])[1]?.parts).toEqual([{ text: "Hello!", thoughtSignature: GEMINI_SIGNATURE }]);

    const thoughtsFirst = { candidates: [{ content: { role: "model", parts: [{ text: "The user greets me.", thought: true }, { text: "Hello!", thoughtSignature: GEMINI_SIGNATURE }] }, finishReason: "STOP", index: 0 }] };
    const second = await geminiRest({ model: "gem/gemini-2.5-pro", messages: hi, stream }, stream ? geminiSse([thoughtsFirst]) : geminiJson(thoughtsFirst));
    const closed = thinkingBlocks(second.body, stream);
    expect(closed).toEqual([{ type: "thinking", thinking: "The user greets me.", signature: `gemini:text:${GEMINI_SIGNATURE}` }]);
    const replay = await geminiRest({ model: "gem/gemini-2.5-pro", messages: again(closed) }, OK);
    expect((replay.sent[0]?.contents as { parts: unknown[] }[])[1]?.parts).toEqual([{ text: "The user greets me.", thought: true }, { text: "Hello!", thoughtSignature: GEMINI_SIGNATURE }]);
    // Signed on an empty part with no text after it: an empty part carries it back.
    const bare = await geminiRest({ model: "gem/gemini-3-pro-preview", messages: [...hi, { role: "assistant", content: "", thinking_blocks: blocks }, { role: "user", content: "again" }] }, OK);
    expect((bare.sent[0]?.contents as { parts: unknown[] }[])[1]?.parts).toEqual([{ text: "", thoughtSignature: GEMINI_SIGNATURE }]);
  });

  it("a signature on the answer text and one on a trailing empty part both go back: on the text, and on an empty part after it", async () => {
    const two = { candidates: [{ content: { role: "model", parts: [{ text: "Hello ", thoughtSignature: "U2lnMQ==" }, { text: "world" }, { text: "", thoughtSignature: "U2lnMg==" }] }, finishReason: "STOP", index: 0 }] };
    const first = await geminiRest({ model: "gem/gemini-3-pro-preview", messages: hi }, geminiJson(two));
    const blocks = thinkingBlocks(first.body, false);
    expect(blocks).toEqual([{ type: "thinking", thinking: "", signature: "gemini:text:U2lnMQ==" }, { type: "thinking", thinking: "", signature: "gemini:text:U2lnMg==" }]);
    const next = await geminiRest({ model: "gem/gemini-3-pro-preview", messages: [...hi, { role: "assistant", content: "Hello world", thinking_blocks: blocks }, { role: "user", content: "again" }] }, OK);
    expect((next.sent[0]?.contents as { parts: unknown[] }[])[1]?.parts).toEqual([{ text: "Hello world", thoughtSignature: "U2lnMQ==" }, { text: "", thoughtSignature: "U2lnMg==" }]);
  });
});
