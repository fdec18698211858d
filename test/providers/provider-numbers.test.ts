import { describe, expect, it } from "vitest";
import { toBinary, toJson } from "@bufbuild/protobuf";
import { ChatResponseSchema, ChatStreamResponseSchema } from "../../gen/switchyard/v1/chat_service_pb.js";
import { choiceIndexOf, tokenCount, usageOf } from "../../src/core/stream-events.js";
import { createdSeconds, fromOpenAIResponse } from "../../src/providers/openai/openai-response.js";
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from "../../src/providers/upstream-http.js";
import { retryAfterFromHeader } from "../../src/providers/upstream-status.js";
import { callOptions, user } from "../support/proto-builders.js";
import { replayTransport } from "../support/replay-transport.js";
import { collect } from "../support/stream-collectors.js";
import { adapterFor as anthropicAdapter, chatInput as anthropicInput } from "./anthropic/anthropic-test-setup.js";
import { adapterFor as openAIAdapter, chatInput as openAIInput } from "./openai/openai-test-setup.js";

/*
 * Numbers a provider sends that a proto field cannot hold (found by upstream-fuzz.test.ts): JSON
 * parses 1e400 to Infinity, counts come as decimals or beyond 2^31, indexes beyond int32. REST
 * would print them as they are; the protobuf encoders of the gRPC and Connect edges refuse them,
 * so each is brought into range where it is read.
 */

describe("numbers from providers, as proto fields", () => {
  it.each([
    [15.7, 16],
    [1e308, 2 ** 31 - 1],
    [-1, 0],
    [Number.NaN, 0],
    ["12", 0],
    [null, 0],
    [42, 42],
  ])("tokenCount(%s) is %s", (value, expected) => {
    expect(tokenCount(value)).toBe(expected);
  });

  it.each([
    [2, 2],
    [1.5, 7],
    [-1, 7],
    [2 ** 31, 7],
    [1.2345678901234568e29, 7],
    [undefined, 7],
  ])("choiceIndexOf(%s, 7) is %s", (value, expected) => {
    expect(choiceIndexOf(value, 7)).toBe(expected);
  });

  it("keeps every usage count an int32, including a total that would overflow", () => {
    const usage = usageOf({ prompt: 2 ** 31 - 1, completion: 2 ** 31 - 1, cached: 0.4, reasoning: Infinity });
    expect([usage.promptTokens, usage.completionTokens, usage.totalTokens, usage.cachedPromptTokens, usage.reasoningTokens]).toEqual([2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1, 0, 0]);
  });

  it("takes a created timestamp only when it is a positive safe number", () => {
    expect(createdSeconds(1_700_000_000.9)).toBe(1_700_000_000n);
    const now = BigInt(Math.floor(Date.now() / 1000));
    for (const bad of [JSON.parse("1e400") as number, 2 ** 60, -5, "1700000000", null]) expect(createdSeconds(bad) >= now).toBe(true);
  });

  it("an OpenAI answer with such numbers and a numeric finish_reason still encodes as protobuf", () => {
    const body = JSON.parse('{"id":"c","created":1e400,"choices":[{"index":1e308,"message":{"role":"assistant","content":"hi"},"finish_reason":7}],"usage":{"prompt_tokens":15.7,"completion_tokens":1e308,"total_tokens":-3}}') as unknown;
    const response = fromOpenAIResponse(body, "openai-main");
    expect(response.choices[0]?.index).toBe(0);
    expect(response.choices[0]?.rawFinishReason).toBe("");
    expect([response.usage?.promptTokens, response.usage?.completionTokens, response.usage?.totalTokens]).toEqual([16, 2 ** 31 - 1, 0]);
    expect(() => toBinary(ChatResponseSchema, response)).not.toThrow();
    expect(() => toJson(ChatResponseSchema, response)).not.toThrow();
  });

  it("OpenAI audio expiry and citation offsets a proto field cannot hold are 0, and the answer still encodes", () => {
    const body = JSON.parse('{"id":"c","created":1,"choices":[{"index":0,"message":{"role":"assistant","content":"hi","audio":{"id":"a","data":"","transcript":"hi","expires_at":1e400},"annotations":[{"type":"url_citation","url_citation":{"url":"u","title":"t","start_index":-1,"end_index":1e12}},"junk"]},"finish_reason":"stop"}]}') as unknown;
    const message = fromOpenAIResponse(body, "openai-main").choices[0]?.message;
    expect(message?.audio).toMatchObject({ id: "a", transcript: "hi", expiresAt: 0n });
    expect(message?.annotations).toEqual([expect.objectContaining({ type: "url_citation", urlCitation: expect.objectContaining({ url: "u", startIndex: 0, endIndex: 0 }) })]);
    expect(() => toBinary(ChatResponseSchema, fromOpenAIResponse(body, "openai-main"))).not.toThrow();
  });

  it("a legacy function_call answer becomes a tool call instead of being lost", () => {
    const response = fromOpenAIResponse({ id: "c", created: 1, choices: [{ index: 0, message: { role: "assistant", content: null, function_call: { name: "get_time", arguments: '{"tz":"UTC"}' } }, finish_reason: "function_call" }] }, "openai-main");
    expect(response.choices[0]?.message?.toolCalls).toEqual([expect.objectContaining({ name: "get_time", arguments: '{"tz":"UTC"}' })]);
  });

  it("an OpenAI stream with created 1e400 and a choice index beyond int32 still encodes as protobuf", async () => {
    const chunk = (choice: string) => `data: {"id":"c","created":1e400,"choices":[${choice}]}\n\n`;
    const body = `${chunk('{"index":1.2345678901234568e+29,"delta":{"role":"assistant","content":"hi"},"finish_reason":null}')}${chunk('{"index":0,"delta":{},"finish_reason":"stop"}')}data: [DONE]\n\n`;
    const events = await collect(openAIAdapter(replayTransport({ body })).stream(openAIInput({ messages: [user("hi")] }), callOptions("gpt-4o-mini")));
    expect(events.length).toBeGreaterThan(2);
    for (const event of events) expect(() => toBinary(ChatStreamResponseSchema, event)).not.toThrow();
  });

  it("an Anthropic answer with decimal and huge token counts still encodes as protobuf", async () => {
    const body = '{"id":"m","type":"message","role":"assistant","model":"claude","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","usage":{"input_tokens":15.7,"output_tokens":1e308,"cache_read_input_tokens":1e400}}';
    const response = await anthropicAdapter(replayTransport({ body })).generate(anthropicInput({ messages: [user("hi")] }), callOptions("claude-sonnet-4-5"));
    expect(() => toBinary(ChatResponseSchema, response)).not.toThrow();
    expect(response.usage?.completionTokens).toBe(2 ** 31 - 1);
  });
});

describe("a provider's Retry-After, as the gateway uses and passes it on", () => {
  it.each<[string, number | undefined]>([
    ["30", 30_000],
    ["1.5", 1_500],
    ["99999999999", MAX_RETRY_AFTER_MS],
    [`1${"0".repeat(400)}`, MAX_RETRY_AFTER_MS],
    ["Fri, 31 Dec 9999 23:59:59 GMT", MAX_RETRY_AFTER_MS],
    ["Wed, 21 Oct 2015 07:28:00 GMT", 0],
    ["-5", undefined],
    ["soon", undefined],
  ])("parseRetryAfter(%j) is %j ms (at most a day)", (value, expected) => {
    expect(parseRetryAfter(value)).toBe(expected);
  });

  it("caps retry-after-ms the same way", () => {
    expect(retryAfterFromHeader((name) => (name === "retry-after-ms" ? "999999999999" : undefined))).toBe(MAX_RETRY_AFTER_MS);
  });

  const limits = (headers: Record<string, string>) => (name: string) => headers[name];
  it.each<[Record<string, string>, number | undefined]>([
    [{ "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s", "x-ratelimit-remaining-tokens": "9000", "x-ratelimit-reset-tokens": "6m0s" }, 1_000],
    [{ "x-ratelimit-remaining-requests": "59", "x-ratelimit-reset-requests": "1s", "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6m0s" }, 360_000],
    [{ "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "2m59.56s", "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "7.66s" }, 179_560],
    [{ "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "20ms" }, 20],
    [{ "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "1h30m" }, 5_400_000],
    [{ "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "99999h" }, MAX_RETRY_AFTER_MS],
    // No limit used up (a request larger than the tokens left): the reset says nothing about it.
    [{ "x-ratelimit-remaining-requests": "12", "x-ratelimit-reset-requests": "1s", "x-ratelimit-remaining-tokens": "40", "x-ratelimit-reset-tokens": "3s" }, undefined],
    [{ "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "soon" }, undefined],
    [{ "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s2" }, undefined],
    // Retry-After, when present, is what counts.
    [{ "retry-after": "3", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "20s" }, 3_000],
    // One that cannot be read counts as absent: retry-after-ms, else the reset, still speaks.
    [{ "retry-after": "abc", "retry-after-ms": "700" }, 700],
    [{ "retry-after": "", "retry-after-ms": "700" }, 700],
    [{ "retry-after": "soon", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "20s" }, 20_000],
  ])("on a 429 with %j the wait is %j ms", (headers, expected) => {
    expect(retryAfterFromHeader(limits(headers), 429)).toBe(expected);
  });

  it("reads the rate-limit resets on a 429 only", () => {
    const headers = limits({ "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s" });
    expect(retryAfterFromHeader(headers, 503)).toBeUndefined();
    expect(retryAfterFromHeader(headers)).toBeUndefined();
  });
});
