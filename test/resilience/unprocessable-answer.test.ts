import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";
import { jsonAnswer, sseAnswer, startFakeUpstream, type FakeUpstream } from "../support/fake-upstream.js";

/*
 * A provider answer the adapters cannot process (JSON nested 200,000 deep: V8 parses it, but
 * JSON.stringify and recursive translators overflow their stack) was a final 500 internal error.
 * It is the provider's unreadable answer: 502 invalid_provider_response, which fails over.
 */

const DEEP = `${"[".repeat(200_000)}1${"]".repeat(200_000)}`;
const geminiDeepCall = `{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"f","args":{"x":${DEEP}}}}]},"finishReason":"STOP"}]}`;
const anthropicDeepToolUse = `{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":{"x":${DEEP}}}],"stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":1}}`;
const openaiAnswer = { id: "chatcmpl-b", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "Answer from b." }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 } };
const openaiChunk = (delta: unknown, finish: string | null = null) => `data: ${JSON.stringify({ id: "chatcmpl-b", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

let upstream: FakeUpstream;
let origin: string;
let close: () => Promise<void>;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  const yaml = `server: { host: 127.0.0.1, port: 0 }
providers:
  g: { type: gemini, api_key: k, base_url: "${upstream.baseUrl}" }
  a: { type: anthropic, api_key: k, base_url: "${upstream.baseUrl}" }
  b: { type: openai-compatible, api_key: k, base_url: "${upstream.baseUrl}" }
routing:
  retry: { max_retries: 0 }
`;
  const built = await buildApp({ config: parseConfigText(yaml, "unprocessable.yaml", {}), logStream: { write: () => undefined } });
  await built.app.listen({ host: "127.0.0.1", port: 0 });
  origin = `http://127.0.0.1:${(built.app.server.address() as AddressInfo).port}`;
  close = () => built.app.close();
});

afterAll(async () => {
  await close();
  await upstream.close();
});

beforeEach(() => upstream.reset());

function chat(body: Record<string, unknown>): Promise<Response> {
  return fetch(`${origin}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ messages: [{ role: "user", content: "hi" }], ...body }) });
}

describe("an answer nested too deep to process", () => {
  it.each([
    ["Gemini", "g/gemini-2.0-flash", geminiDeepCall],
    ["Anthropic", "a/claude-x", anthropicDeepToolUse],
  ])("from %s, with no fallback, is a 502 invalid_provider_response", async (_name, model, body) => {
    upstream.enqueue(jsonAnswer(body));
    const answer = await chat({ model });
    const error = ((await answer.json()) as { error: { code: string; message: string } }).error;
    expect(answer.status).toBe(502);
    expect(error.code).toBe("invalid_provider_response");
    expect(error.message).toMatch(/sent an answer the gateway cannot process/);
  });

  it("fails over to the next target", async () => {
    upstream.enqueue(jsonAnswer(geminiDeepCall), jsonAnswer(openaiAnswer));
    const answer = await chat({ model: "g/gemini-2.0-flash", fallbacks: ["b/m"] });
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content).toBe("Answer from b.");
    expect(answer.headers.get("x-switchyard-model")).toBe("b/m");
    expect(answer.headers.get("x-switchyard-failed")).toBe("g/gemini-2.0-flash invalid_provider_response");
  });

  it("fails a stream over before its first token, invisibly", async () => {
    upstream.enqueue(
      sseAnswer([`data: ${geminiDeepCall}\r\n\r\n`]),
      sseAnswer([openaiChunk({ role: "assistant", content: "" }), openaiChunk({ content: "Answer from b." }), openaiChunk({}, "stop"), "data: [DONE]\n\n"]),
    );
    const answer = await chat({ model: "g/gemini-2.0-flash", fallbacks: ["b/m"], stream: true });
    const text = await answer.text();
    expect(answer.status).toBe(200);
    expect(answer.headers.get("x-switchyard-model")).toBe("b/m");
    expect(text).toContain("Answer from b.");
    expect(text).not.toContain('"error"');
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
  });
});
