/**
 * A real gateway on 127.0.0.1 in front of two fake Anthropic upstreams (accounts `ant` and `ant2`,
 * and the virtual model `pair` that falls back from the first to the second), for the REST-level
 * audit tests of the Anthropic adapter. The fake upstreams are plain node:http servers that play
 * scripted bodies; each SSE event goes out in its own write.
 */
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { buildApp, type BuiltApp } from "../../../src/app.js";
import { parseConfigText } from "../../../src/config/load-config.js";
import { jsonAnswer, sseAnswer, startFakeUpstream, type FakeUpstream, type UpstreamAnswer } from "../../support/fake-upstream.js";

/** The running servers; filled in by the hooks {@link useAnthropicRestWorld} registers. */
export interface AnthropicRestWorld {
  first: FakeUpstream;
  second: FakeUpstream;
  built: BuiltApp;
  origin: string;
}

/** Registers beforeAll/afterAll/beforeEach hooks that start, stop and reset the world. */
export function useAnthropicRestWorld(): AnthropicRestWorld {
  const world = {} as AnthropicRestWorld;
  beforeAll(async () => {
    world.first = await startFakeUpstream();
    world.second = await startFakeUpstream();
    const origin = (upstream: FakeUpstream) => upstream.baseUrl.replace(/\/v1$/, "");
    const yaml = `server: { host: 127.0.0.1, port: 0 }
providers:
  ant: { type: anthropic, api_key: sk-ant-audit-0123456789, base_url: "${origin(world.first)}" }
  ant2: { type: anthropic, api_key: sk-ant-audit-9876543210, base_url: "${origin(world.second)}" }
models:
  pair: { strategy: fallback, targets: [ant/claude-sonnet-4-5, ant2/claude-sonnet-4-5] }
routing:
  retry: { max_retries: 1, base_delay_ms: 5, max_delay_ms: 20, budget_ms: 1000 }
  circuit_breaker: { failure_threshold: 1000, cooldown_ms: 1000 }
logging: { level: silent }
`;
    world.built = await buildApp({ config: parseConfigText(yaml, "anthropic-audit.yaml", {}) });
    await world.built.app.listen({ host: "127.0.0.1", port: 0 });
    world.origin = `http://127.0.0.1:${(world.built.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await world.built?.app.close();
    await world.first?.close();
    await world.second?.close();
  });
  beforeEach(() => {
    world.first.reset();
    world.second.reset();
  });
  return world;
}

/** POSTs a chat completion (model `ant/claude-sonnet-4-5`, max_tokens 100, one user turn, unless `body` says otherwise). */
export async function postChat(world: AnthropicRestWorld, body: Record<string, unknown>): Promise<{ status: number; headers: Headers; text: string; json: () => Record<string, unknown> }> {
  const response = await fetch(`${world.origin}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "ant/claude-sonnet-4-5", max_tokens: 100, messages: [{ role: "user", content: "hi" }], ...body }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

/** One Anthropic SSE event (`event:` + `data:`), named after its type. */
export function antEvent(data: Record<string, unknown>): string {
  return `event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A message_start event. */
export function antMessageStart(usage: Record<string, unknown> = { input_tokens: 10, output_tokens: 1 }): string {
  return antEvent({ type: "message_start", message: { id: "msg_audit", type: "message", role: "assistant", model: "claude-sonnet-4-5", content: [], stop_reason: null, stop_sequence: null, usage } });
}

/** A whole text stream: message_start, one text block, message_delta (end_turn), message_stop. */
export function antTextStream(text: string): UpstreamAnswer {
  return sseAnswer([
    antMessageStart(),
    antEvent({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
    antEvent({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text } }),
    antEvent({ type: "content_block_stop", index: 0 }),
    antEvent({ type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 3 } }),
    antEvent({ type: "message_stop" }),
  ]);
}

/** A non-streaming message body with the given content blocks. */
export function antMessage(content: unknown[], extra: Record<string, unknown> = {}): UpstreamAnswer {
  return jsonAnswer({ id: "msg_audit", type: "message", role: "assistant", model: "claude-sonnet-4-5", content, stop_reason: "end_turn", stop_sequence: null, usage: { input_tokens: 5, output_tokens: 3 }, ...extra });
}

/** An Anthropic error answer: `{type:"error", error:{type, message}, request_id}`. */
export function antError(status: number, type: string, message: string, headers: Record<string, string> = {}): UpstreamAnswer {
  return jsonAnswer({ type: "error", error: { type, message }, request_id: "req_011audit" }, { status, headers });
}
