/**
 * cache_control end to end: a real gateway (REST and gRPC on one port) in front of fake Anthropic
 * and OpenAI upstreams. Anthropic receives the breakpoints on the right blocks and the usage maps
 * cache reads and writes; OpenAI never receives them; malformed ones are 400s / INVALID_ARGUMENT
 * before any upstream call.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Role } from "../../gen/switchyard/v1/chat_pb.js";
import { ChatRequestSchema, ChatService } from "../../gen/switchyard/v1/chat_service_pb.js";
import { jsonAnswer, startFakeUpstream, type FakeUpstream } from "../support/fake-upstream.js";
import { listenApp, type ListeningApp } from "../support/listening-app.js";
import { thrown } from "../support/thrown.js";

const EPHEMERAL = { type: "ephemeral" };
let anthropic: FakeUpstream;
let openai: FakeUpstream;
let app: ListeningApp | undefined;
let origin: string;

beforeAll(async () => {
  anthropic = await startFakeUpstream();
  openai = await startFakeUpstream();
  const yaml = `server: { host: 127.0.0.1, port: 0 }
providers:
  ant: { type: anthropic, api_key: sk-ant-cache-0123456789, base_url: "${anthropic.baseUrl.replace(/\/v1$/, "")}" }
  oai: { type: openai, api_key: sk-oai-cache-0123456789, base_url: "${openai.baseUrl}" }
routing:
  retry: { max_retries: 0 }
  circuit_breaker: { failure_threshold: 1000, cooldown_ms: 1000 }
logging: { level: silent }
`;
  app = await listenApp(yaml, "cache-control.yaml");
  origin = app.origin;
});
afterAll(async () => {
  await app?.close();
  await anthropic?.close();
  await openai?.close();
});
beforeEach(() => {
  anthropic.reset();
  openai.reset();
  anthropic.setDefault(
    jsonAnswer({
      id: "msg_cache", type: "message", role: "assistant", model: "claude-sonnet-4-5", content: [{ type: "text", text: "ok" }], stop_reason: "end_turn", stop_sequence: null,
      usage: { input_tokens: 5, output_tokens: 2, cache_creation_input_tokens: 1200, cache_read_input_tokens: 3000 },
    }),
  );
  openai.setDefault(
    jsonAnswer({ id: "chatcmpl-1", object: "chat.completion", created: 1, model: "gpt-4o", choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } }),
  );
});

async function post(body: Record<string, unknown>) {
  const response = await fetch(`${origin}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ max_tokens: 50, ...body }) });
  return { status: response.status, warnings: response.headers.get("x-switchyard-warnings") ?? "", json: (await response.json()) as Record<string, unknown> };
}

describe("cache_control over REST", () => {
  it("reaches Anthropic on the system, message, tool_result and tool blocks, and the usage counts cache reads and writes", async () => {
    const answer = await post({
      model: "ant/claude-sonnet-4-5",
      messages: [
        { role: "system", content: [{ type: "text", text: "big prompt", cache_control: { type: "ephemeral", ttl: "1h" } }] },
        { role: "user", content: "what time is it?", cache_control: EPHEMERAL },
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "clock", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "call_1", content: "10:00", cache_control: EPHEMERAL },
      ],
      tools: [{ type: "function", function: { name: "clock", parameters: { type: "object", properties: {} } }, cache_control: { type: "ephemeral", ttl: "1h" } }],
    });
    expect(answer.status).toBe(200);
    const sent = anthropic.lastRequest().body as Record<string, unknown>;
    expect(sent.system).toEqual([{ type: "text", text: "big prompt", cache_control: { type: "ephemeral", ttl: "1h" } }]);
    expect(sent.tools).toEqual([{ name: "clock", input_schema: { type: "object", properties: {} }, cache_control: { type: "ephemeral", ttl: "1h" } }]);
    expect(sent.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "what time is it?", cache_control: EPHEMERAL }] },
      { role: "assistant", content: [{ type: "tool_use", id: "call_1", name: "clock", input: {} }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "call_1", content: "10:00", cache_control: EPHEMERAL }] },
    ]);
    // A 1h breakpoint travels with the extended-cache-ttl beta (clients still document it as required).
    expect(anthropic.lastRequest().headers["anthropic-beta"]).toBe("extended-cache-ttl-2025-04-11");
    expect(answer.json.usage).toMatchObject({ prompt_tokens: 4205, prompt_tokens_details: { cached_tokens: 3000, cache_write_tokens: 1200 } });
  });

  it("is not forwarded to OpenAI, which caches by itself, and a warning says so", async () => {
    const answer = await post({
      model: "oai/gpt-4o",
      messages: [{ role: "system", content: "s", cache_control: EPHEMERAL }, { role: "user", content: [{ type: "text", text: "hi", cache_control: EPHEMERAL }] }],
      tools: [{ type: "function", function: { name: "t" }, cache_control: EPHEMERAL }],
    });
    expect(answer.status).toBe(200);
    expect(openai.lastRequest().text).not.toContain("cache_control");
    expect((openai.lastRequest().body as { messages: unknown }).messages).toEqual([{ role: "system", content: "s" }, { role: "user", content: "hi" }]);
    expect(answer.warnings).toContain("cache_control was not sent");
  });

  it("answers 400 naming the field for a malformed breakpoint, and calls no upstream", async () => {
    const answer = await post({ model: "ant/claude-sonnet-4-5", messages: [{ role: "user", content: [{ type: "text", text: "hi", cache_control: { type: "ephemeral", ttl: "10m" } }] }] });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatchObject({ code: "invalid_request", param: "messages[0].content[0].cache_control.ttl" });
    expect(anthropic.requests).toHaveLength(0);
  });

  it("answers 400 for a fifth breakpoint on Anthropic, and calls no upstream", async () => {
    const answer = await post({ model: "ant/claude-sonnet-4-5", messages: [1, 2, 3, 4, 5].map((n) => ({ role: "user", content: `part ${n}`, cache_control: EPHEMERAL })) });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatchObject({ code: "unsupported_feature", param: "messages[4].cache_control" });
    expect(anthropic.requests).toHaveLength(0);
  });
});

describe("cache_control over gRPC", () => {
  const client = () => createClient(ChatService, createGrpcTransport({ baseUrl: origin }));
  const text = (value: string) => ({ part: { case: "text" as const, value } });

  it("takes the typed CacheControl on a content part, a message and a tool", async () => {
    const request = create(ChatRequestSchema, {
      input: {
        model: "ant/claude-sonnet-4-5",
        maxTokens: 50,
        messages: [
          { role: Role.SYSTEM, content: [{ ...text("big prompt"), cacheControl: { type: "ephemeral", ttl: "1h" } }] },
          { role: Role.USER, content: [text("question")], cacheControl: { type: "ephemeral" } },
        ],
        tools: [{ name: "clock", cacheControl: { type: "ephemeral", ttl: "1h" } }],
      },
    });
    const response = await client().chat(request);
    expect(response.usage?.cachedPromptTokens).toBe(3000);
    const sent = anthropic.lastRequest().body as Record<string, unknown>;
    expect(sent.system).toEqual([{ type: "text", text: "big prompt", cache_control: { type: "ephemeral", ttl: "1h" } }]);
    expect(sent.messages).toEqual([{ role: "user", content: [{ type: "text", text: "question", cache_control: EPHEMERAL }] }]);
    expect(sent.tools).toEqual([{ name: "clock", input_schema: { type: "object", properties: {} }, cache_control: { type: "ephemeral", ttl: "1h" } }]);
  });

  it("refuses an unknown cache type with INVALID_ARGUMENT naming the field", async () => {
    const request = create(ChatRequestSchema, { input: { model: "ant/claude-sonnet-4-5", messages: [{ role: Role.USER, content: [{ ...text("hi"), cacheControl: { type: "persistent" } }] }] } });
    const error = await thrown(() => client().chat(request));
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    expect((error as ConnectError).message).toContain("messages[0].content[0].cache_control.type");
    expect(anthropic.requests).toHaveLength(0);
  });
});
