import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BODY_LIMIT, postChat, testApp, upstreamSse, type TestApp } from "./rest-test-setup.js";

const model = "openai-main/gpt-4o-mini";
const user = (content: unknown) => ({ role: "user", content });
const ok = (extra: Record<string, unknown> = {}) => JSON.stringify({ model, messages: [user("hi")], ...extra });
const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

/** Raw bodies that must each get a clean 4xx in the OpenAI envelope: never a 5xx, never a hang. */
const BAD_INPUTS: [string, string, string?][] = [
  ["malformed JSON", "{"],
  ["truncated JSON", '{"model":"openai-main/gpt-4o-mini","messages":[{"role":"user","content":"hi"'],
  ["trailing garbage", `${ok()} x`],
  ["an empty body", ""],
  ["a null body", "null"],
  ["an array body", "[]"],
  ["a string body", '"hello"'],
  ["a number body", "42"],
  ["a boolean body", "true"],
  ["a __proto__ key", `{"__proto__":{"admin":true},"model":"${model}","messages":[]}`],
  ["a constructor.prototype key", `{"constructor":{"prototype":{"admin":true}},"model":"${model}","messages":[]}`],
  ["a __proto__ key spelled with escapes", `{"\\u005f_proto__":{"admin":true},"model":"${model}","messages":[{"role":"user","content":"hi"}]}`],
  ["a constructor.prototype key spelled with escapes", `{"constructor":{"\\u0070rototype":{"admin":true}},"model":"${model}","messages":[{"role":"user","content":"hi"}]}`],
  ["a numeric model", JSON.stringify({ model: 1, messages: [user("hi")] })],
  ["a missing model", JSON.stringify({ messages: [user("hi")] })],
  ["an empty model", JSON.stringify({ model: "", messages: [user("hi")] })],
  ["a model that is only an account", JSON.stringify({ model: "openai-main/", messages: [user("hi")] })],
  ["messages as a string", JSON.stringify({ model, messages: "hi" })],
  ["empty messages", JSON.stringify({ model, messages: [] })],
  ["a null message", JSON.stringify({ model, messages: [null] })],
  ["an unknown role", JSON.stringify({ model, messages: [{ role: "wizard", content: "hi" }] })],
  ["a null role", JSON.stringify({ model, messages: [{ role: null, content: "hi" }] })],
  ["an object role", JSON.stringify({ model, messages: [{ role: { name: "user" }, content: "hi" }] })],
  ["numeric content", JSON.stringify({ model, messages: [user(42)] })],
  ["content parts of the wrong shape", JSON.stringify({ model, messages: [user([{ type: "text" }])] })],
  ["an unknown part type", JSON.stringify({ model, messages: [user([{ type: "hologram" }])] })],
  ["invalid base64 in an image data URL", JSON.stringify({ model, messages: [user([{ type: "image_url", image_url: { url: "data:image/png;base64,%%%%" } }])] })],
  ["invalid base64 in the nested video form", JSON.stringify({ model, messages: [user([{ type: "image_url", image_url: { image_url: "data:video/mp4;base64,not*base64", mime_type: "video/mp4" } }])] })],
  ["invalid base64 in input_audio", JSON.stringify({ model, messages: [user([{ type: "input_audio", input_audio: { data: "***", format: "wav" } }])] })],
  ["invalid base64 in a file", JSON.stringify({ model, messages: [user([{ type: "file", file: { file_data: "data:application/pdf;base64,@@", filename: "a.pdf" } }])] })],
  ["an http image URL that does not parse (port over 65535)", JSON.stringify({ model, messages: [user([{ type: "image_url", image_url: { url: "http://127.0.0.1:65536/a.png" } }])] })],
  ["an http image URL that does not parse (a space in the host)", JSON.stringify({ model, messages: [user([{ type: "image_url", image_url: { url: "http://exa mple.com/a.png" } }])] })],
  ["a javascript: image URL", JSON.stringify({ model, messages: [user([{ type: "image_url", image_url: { url: "javascript:alert(1)" } }])] })],
  ["an image in a system message", JSON.stringify({ model, messages: [{ role: "system", content: [{ type: "image_url", image_url: { url: "https://x.test/a.png" } }] }, user("hi")] })],
  ["a tool message without tool_call_id", JSON.stringify({ model, messages: [user("hi"), { role: "tool", content: "x" }] })],
  ["a string temperature", ok({ temperature: "hot" })],
  ["a temperature out of range", ok({ temperature: 7 })],
  ["n = 0", ok({ n: 0 })],
  ["a negative max_tokens", ok({ max_tokens: -1 })],
  ["a huge max_completion_tokens", ok({ max_completion_tokens: 1e20 })],
  ["top_logprobs without logprobs", ok({ top_logprobs: 3 })],
  ["five stop sequences", ok({ stop: ["a", "b", "c", "d", "e"] })],
  ["a string stream flag", ok({ stream: "true" })],
  ["stream_options without stream", ok({ stream_options: { include_usage: true } })],
  ["tools as an object", ok({ tools: { type: "function" } })],
  ["a tool name with spaces", ok({ tools: [{ type: "function", function: { name: "get weather" } }] })],
  ["duplicate tool names", ok({ tools: [{ type: "function", function: { name: "f" } }, { type: "function", function: { name: "f" } }] })],
  ["a tool_choice naming an undeclared function", ok({ tools: [{ type: "function", function: { name: "f" } }], tool_choice: { type: "function", function: { name: "g" } } })],
  ["tool_choice 'required' without tools", ok({ tool_choice: "required" })],
  ["a logit_bias out of range", ok({ logit_bias: { "1": 1000 } })],
  ["a json_schema response_format without a schema", ok({ response_format: { type: "json_schema", json_schema: { name: "x" } } })],
  ["deeply nested junk in an unknown field", `{"model":"${model}","messages":[{"role":"user","content":"hi"}],"junk":${nested(20_000)}}`],
  ["deeply nested junk as content", `{"model":"${model}","messages":[{"role":"user","content":${nested(20_000)}}]}`],
  ["deeply nested tool parameters", `{"model":"${model}","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"a":${nested(20_000)}}}}]}`],
  ["deeply nested objects in provider_options", `{"model":"${model}","messages":[{"role":"user","content":"hi"}],"provider_options":{"openai":${'{"a":'.repeat(5000)}1${"}".repeat(5000)}}}`],
  // Names every JavaScript object inherits: unknown values like any other (one was a 500).
  ["a role named constructor", JSON.stringify({ model, messages: [{ role: "constructor", content: "hi" }] })],
  ["an image detail named toString", JSON.stringify({ model, messages: [user([{ type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=", detail: "toString" } }])] })],
  ["an audio format named constructor", JSON.stringify({ model, messages: [user([{ type: "input_audio", input_audio: { data: "AAAA", format: "constructor" } }])] })],
  ["a part type named constructor", JSON.stringify({ model, messages: [user([{ type: "constructor" }])] })],
  ["a model named constructor", JSON.stringify({ model: "constructor", messages: [user("hi")] })],
  ["an account named toString", JSON.stringify({ model: "toString/x", messages: [user("hi")] })],
  ["a fallback named hasOwnProperty", ok({ fallbacks: ["hasOwnProperty"] })],
  ["seventeen fallbacks", ok({ fallbacks: Array.from({ length: 17 }, (_, index) => `openai-main/m${index}`) })],
  ["a body over the limit", JSON.stringify({ model, messages: [user("x".repeat(BODY_LIMIT))] })],
  ["a text/plain body", ok(), "text/plain"],
  ["an unsupported content type", ok(), "application/xml"],
];

describe("POST /v1/chat/completions with bad input", () => {
  let harness: TestApp;
  beforeAll(async () => {
    harness = await testApp({ body: upstreamSse([{ id: "chatcmpl-ok", choices: [{ index: 0, delta: { content: "fine" }, finish_reason: "stop" }] }]) });
  });
  afterAll(async () => {
    await harness.app.close();
  });

  it.each(BAD_INPUTS)("answers %s with a clean 4xx in the OpenAI envelope", async (_name, raw, contentType) => {
    const requestsBefore = harness.replay.requests.length;
    for (const stream of [false, true]) {
      let body = raw;
      if (stream && raw.startsWith('{"model"') && raw.endsWith("}") && !raw.includes('"stream')) body = `${raw.slice(0, -1)},"stream":true}`;
      const started = Date.now();
      const response = await postChat(harness.app, body, { raw: true, ...(contentType ? { contentType } : {}) });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(response.statusCode, `${response.statusCode} ${response.body}`).toBeGreaterThanOrEqual(400);
      expect(response.statusCode).toBeLessThan(500);
      expect(response.headers["content-type"]).toMatch(/^application\/json/);
      const json = response.json<{ error: Record<string, unknown> }>();
      expect(Object.keys(json.error).sort()).toEqual(["code", "message", "param", "type"]);
      expect(json.error.type).toBe("invalid_request_error");
      expect(typeof json.error.message).toBe("string");
      expect(typeof json.error.code).toBe("string");
      expect(json.error.message).not.toContain("native code");
    }
    expect(harness.replay.requests.length).toBe(requestsBefore);
  });

  it("names the offending field in param", async () => {
    const cases: [string, string][] = [
      [ok({ temperature: "hot" }), "temperature"],
      [JSON.stringify({ model, messages: [user("hi"), { role: "wizard", content: "x" }] }), "messages[1].role"],
      [JSON.stringify({ model, messages: [user([{ type: "text", text: "a" }, { type: "input_audio", input_audio: { data: "***", format: "wav" } }])] }), "messages[0].content[1].input_audio.data"],
      [`{"model":"${model}","messages":[{"role":"user","content":"hi"}],"junk":${nested(500)}}`, "junk"],
      // Fields another role carries, which every provider would have been sent without.
      [JSON.stringify({ model, messages: [{ role: "user", content: "hi", tool_call_id: "call_1" }] }), "messages[0].tool_call_id"],
      [JSON.stringify({ model, messages: [{ role: "user", content: "hi", audio: { id: "audio_1" } }] }), "messages[0].audio"],
      [JSON.stringify({ model, messages: [user([{ type: "input_audio", input_audio: { data: "", format: "wav" } }])] }), "messages[0].content[0]"],
    ];
    for (const [raw, param] of cases) {
      expect((await postChat(harness.app, raw, { raw: true })).json()).toMatchObject({ error: { param } });
    }
  });

  it("still answers a good request after all of the above", async () => {
    const response = await postChat(harness.app, `${ok().slice(0, -1)},"stream":true}`, { raw: true });
    expect(response.statusCode).toBe(200);
    expect(response.body.endsWith("data: [DONE]\n\n")).toBe(true);
  });
});
