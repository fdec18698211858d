/**
 * Fields the gateway does not model (message and function extras) travel on to OpenAI-dialect
 * providers as they are, so they were the one place a caller's JSON was not bounded at the edge:
 * a message field nested 5,000 deep overflowed the stack while the request was built, which the
 * route blamed on the provider (502 invalid_provider_response). Five such requests opened the
 * model's circuit for every caller, and no provider was asked. They are now a 400 naming the field.
 * Also: a legacy `functions[i].cache_control` is the function's breakpoint, not an extra field
 * (it was forwarded to OpenAI, which refuses it).
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonAnswer, startFakeUpstream, type FakeUpstream } from "../support/fake-upstream.js";
import { listenApp, type ListeningApp } from "../support/listening-app.js";

const ANSWER = { id: "c", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "fine" }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } };
/** JSON text nested 5,000 deep (written by hand: JSON.stringify of it would overflow this test's stack). */
const DEEP = `${"[".repeat(5000)}${"]".repeat(5000)}`;

let upstream: FakeUpstream;
let gateway: ListeningApp;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  upstream.setDefault(jsonAnswer(ANSWER));
  gateway = await listenApp(`providers:\n  oai: { type: openai, api_key: k, base_url: "${upstream.baseUrl}" }\nrouting:\n  circuit_breaker: { failure_threshold: 3, cooldown_ms: 60000 }\nlogging: { level: silent }\n`, "deep-extra.yaml");
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

/** POSTs `{"model":"oai/gpt",<fields>}`, `fields` being JSON text. */
async function post(fields: string): Promise<{ status: number; body: { error?: { param: string | null; message: string } } }> {
  const answer = await fetch(`${gateway.origin}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: `{"model":"oai/gpt",${fields}}` });
  return { status: answer.status, body: (await answer.json()) as { error?: { param: string | null; message: string } } };
}

describe("fields the gateway does not model", () => {
  it("nested too deep are a 400 naming the field, before any upstream call, and never open the circuit", async () => {
    upstream.reset();
    upstream.setDefault(jsonAnswer(ANSWER));
    for (let index = 0; index < 5; index++) {
      const message = await post(`"messages":[{"role":"user","content":"hi","x":${DEEP}}]`);
      expect(message.status).toBe(400);
      expect(message.body.error?.param).toBe("messages[0].x");
      const fn = await post(`"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","x_opt":${DEEP}}}]`);
      expect(fn.status).toBe(400);
      expect(fn.body.error?.param).toBe("tools[0].function.x_opt");
      const legacy = await post(`"messages":[{"role":"user","content":"hi"}],"functions":[{"name":"f","x_opt":${DEEP}}]`);
      expect(legacy.body.error?.param).toBe("functions[0].x_opt");
    }
    expect(upstream.requests).toHaveLength(0);
    const fine = await post(`"messages":[{"role":"user","content":"hi","x":{"depth":[1]}}]`);
    expect(fine.status).toBe(200);
    expect((upstream.lastRequest().body as { messages: { x: unknown }[] }).messages[0]?.x).toEqual({ depth: [1] });
  });

  it("tool-call arguments nested too deep are a 400 naming them (Anthropic and Gemini write them again level by level)", async () => {
    const before = upstream.requests.length;
    const args = JSON.stringify(DEEP);
    const answer = await post(`"messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":${args}}}]},{"role":"tool","tool_call_id":"c1","content":"ok"}]`);
    expect(answer.status).toBe(400);
    expect(answer.body.error?.param).toBe("messages[1].tool_calls[0].function.arguments");
    expect(upstream.requests.length).toBe(before);
  });

  it("takes 100 levels and refuses 101, objects and arrays alike", async () => {
    const nested = (levels: number) => `${'{"a":['.repeat(levels / 2)}1${"]}".repeat(levels / 2)}`;
    expect((await post(`"messages":[{"role":"user","content":"hi","x":${nested(100)}}]`)).status).toBe(200);
    const refused = await post(`"messages":[{"role":"user","content":"hi","x":[${nested(100)}]}]`);
    expect(refused.status).toBe(400);
    expect(refused.body.error?.message).toContain("nested deeper than 100 levels");
  });

  it("a legacy function's cache_control is its breakpoint: not sent to an OpenAI-dialect provider, and said so", async () => {
    const client = new OpenAI({ baseURL: `${gateway.origin}/v1`, apiKey: "unused", maxRetries: 0 });
    const { response } = await client.chat.completions.create({ model: "oai/gpt", messages: [{ role: "user", content: "hi" }], functions: [{ name: "f", parameters: { type: "object" }, cache_control: { type: "ephemeral" } }] } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse();
    const sent = upstream.lastRequest().body as { tools: { function: Record<string, unknown> }[] };
    expect(sent.tools[0]?.function).not.toHaveProperty("cache_control");
    expect(response.headers.get("x-switchyard-warnings")).toContain("cache_control");
  });
});
