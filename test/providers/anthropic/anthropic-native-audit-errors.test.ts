/**
 * Audit of Anthropic's documented error answers through the real gateway (REST): each status and
 * `error.type` → the caller's status and code, and whether the gateway retries, fails over to the
 * next target of a virtual model, or answers at once.
 * @see https://docs.claude.com/en/api/errors
 */
import { describe, expect, it } from "vitest";
import { jsonAnswer, sseAnswer } from "../../support/fake-upstream.js";
import { antError, antEvent, antMessage, antMessageStart, antTextStream, postChat, useAnthropicRestWorld } from "./anthropic-rest-harness.js";

const world = useAnthropicRestWorld();

const fromSecond = () => antMessage([{ type: "text", text: "from the second target" }]);

describe("Anthropic account out of credit or over its spend limit", () => {
  // Recorded wording (anthropics/claude-code issues #66314, #38035): both come as 400 invalid_request_error.
  const cases = [
    ["400 credit balance", 400, "invalid_request_error", "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."],
    ["400 spend limit", 400, "invalid_request_error", "You have reached your specified API usage limits. You will regain access on 2026-04-01 at 00:00 UTC."],
    ["402 billing_error", 402, "billing_error", "There is an issue with your billing or payment information."],
  ] as const;

  it.each(cases)("%s is quota exhaustion: 429 insufficient_quota, not the caller's 400", async (_label, status, type, message) => {
    world.first.setDefault(antError(status, type, message));
    const answer = await postChat(world, {});
    expect(answer.status).toBe(429);
    expect(answer.json()).toMatchObject({ error: { code: "insufficient_quota" } });
    expect(world.first.requests).toHaveLength(1);
  });

  it.each(cases)("%s fails over to the next target", async (_label, status, type, message) => {
    world.first.setDefault(antError(status, type, message));
    world.second.setDefault(fromSecond());
    const answer = await postChat(world, { model: "pair" });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("x-switchyard-model")).toBe("ant2/claude-sonnet-4-5");
    expect(answer.headers.get("x-switchyard-failed")).toBe("ant/claude-sonnet-4-5 insufficient_quota");
    expect(world.first.requests).toHaveLength(1);
  });

  it("a billing_error event at the start of a stream fails over before any byte reaches the caller", async () => {
    world.first.setDefault(sseAnswer([antMessageStart(), antEvent({ type: "error", error: { type: "billing_error", message: "billing" } })]));
    world.second.setDefault(antTextStream("streamed by the second"));
    const answer = await postChat(world, { model: "pair", stream: true });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("x-switchyard-failed")).toBe("ant/claude-sonnet-4-5 insufficient_quota");
    expect(answer.text).toContain("streamed by the second");
    expect(answer.text).toContain("data: [DONE]");
  });

  it("an ordinary invalid_request_error stays the caller's 400 and is not failed over", async () => {
    world.first.setDefault(antError(400, "invalid_request_error", "messages: text content blocks must be non-empty"));
    world.second.setDefault(fromSecond());
    const answer = await postChat(world, { model: "pair" });
    expect(answer.status).toBe(400);
    expect(answer.json()).toMatchObject({ error: { code: "upstream_invalid_request" } });
    expect(world.second.requests).toHaveLength(0);
  });
});

describe("every documented Anthropic error status through REST", () => {
  // [status, type, caller status, caller code, upstream calls on a direct request, fails over]
  const table = [
    [400, "invalid_request_error", 400, "upstream_invalid_request", 1, false],
    [401, "authentication_error", 502, "provider_auth_failed", 1, true],
    [403, "permission_error", 502, "provider_auth_failed", 1, true],
    [404, "not_found_error", 404, "model_not_found", 1, true],
    [413, "request_too_large", 413, "request_too_large", 1, true],
    [429, "rate_limit_error", 429, "rate_limit_exceeded", 2, true],
    [500, "api_error", 503, "provider_unavailable", 2, true],
    [504, "timeout_error", 504, "upstream_timeout", 2, true],
    [529, "overloaded_error", 503, "provider_unavailable", 2, true],
  ] as const;

  it.each(table)("%i %s → %i %s", async (status, type, callerStatus, code, calls, failsOver) => {
    world.first.setDefault(antError(status, type, `${type} from the audit`, status === 429 ? { "retry-after": "0", "anthropic-ratelimit-requests-remaining": "0" } : {}));
    const direct = await postChat(world, {});
    expect(direct.status).toBe(callerStatus);
    expect(direct.json()).toMatchObject({ error: { code } });
    expect(world.first.requests).toHaveLength(calls);

    world.first.reset();
    world.first.setDefault(antError(status, type, `${type} from the audit`));
    world.second.setDefault(fromSecond());
    const viaPair = await postChat(world, { model: "pair" });
    expect(viaPair.status).toBe(failsOver ? 200 : callerStatus);
    expect(world.second.requests).toHaveLength(failsOver ? 1 : 0);
  });

  it("a 529 with x-should-retry: false is not retried; the next target is still tried", async () => {
    world.first.setDefault(antError(529, "overloaded_error", "Overloaded", { "x-should-retry": "false" }));
    expect((await postChat(world, {})).status).toBe(503);
    expect(world.first.requests).toHaveLength(1);
    world.first.reset();
    world.first.setDefault(antError(529, "overloaded_error", "Overloaded", { "x-should-retry": "false" }));
    world.second.setDefault(fromSecond());
    expect((await postChat(world, { model: "pair" })).status).toBe(200);
    expect(world.first.requests).toHaveLength(1);
  });

  it("429 forwards Anthropic's retry-after to the caller", async () => {
    world.first.setDefault(antError(429, "rate_limit_error", "slow down", { "retry-after": "7" }));
    const answer = await postChat(world, {});
    expect(answer.status).toBe(429);
    expect(answer.headers.get("retry-after")).toBe("7");
  });

  it("an error answer never leaks the account key", async () => {
    world.first.setDefault(antError(400, "invalid_request_error", "bad key sk-ant-audit-0123456789 echoed"));
    const answer = await postChat(world, {});
    expect(answer.text).not.toContain("sk-ant-audit-0123456789");
  });
});

describe("stream events through REST", () => {
  const textBlock = (text: string) => [
    antEvent({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
    antEvent({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text } }),
    antEvent({ type: "content_block_stop", index: 0 }),
  ];
  const end = [antEvent({ type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 4 } }), antEvent({ type: "message_stop" })];
  const overloaded = antEvent({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } });

  it("a ping before message_start and an unknown event type are skipped", async () => {
    world.first.setDefault(sseAnswer([antEvent({ type: "ping" }), antMessageStart(), antEvent({ type: "content_block_future", index: 0 }), ...textBlock("fine"), ...end]));
    const answer = await postChat(world, { stream: true });
    expect(answer.text).toContain('"content":"fine"');
    expect(answer.text).toContain('"finish_reason":"stop"');
    expect(answer.text.trimEnd().endsWith("data: [DONE]")).toBe(true);
  });

  it.each([
    ["overloaded_error", "provider_unavailable"],
    ["api_error", "provider_unavailable"],
    ["rate_limit_error", "rate_limit_exceeded"],
  ])("an %s event before the first token is retried, then failed over, invisibly", async (type, code) => {
    world.first.setDefault(sseAnswer([antMessageStart(), antEvent({ type: "error", error: { type, message: type } })]));
    world.second.setDefault(antTextStream("from the second target"));
    const answer = await postChat(world, { model: "pair", stream: true });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("x-switchyard-failed")).toBe(`ant/claude-sonnet-4-5 ${code}, ant/claude-sonnet-4-5 ${code}`);
    expect(answer.text).toContain("from the second target");
    expect(answer.text).not.toContain('"error"');
  });

  it("an overloaded_error after text was sent, with no target to continue it, ends the stream with an error frame and no [DONE]", async () => {
    world.first.setDefault(sseAnswer([antMessageStart(), ...textBlock("half"), overloaded]));
    const answer = await postChat(world, { stream: true });
    expect(answer.text).toContain('"content":"half"');
    expect(answer.text).toContain('"code":"stream_interrupted"');
    expect(answer.text).not.toContain("[DONE]");
  });

  it.each([
    ["before message_delta", [antMessageStart(), ...textBlock("cut")]],
    ["after message_delta, without message_stop", [antMessageStart(), ...textBlock("cut"), end[0] ?? ""]],
  ])("a stream cut %s ends with stream_interrupted, never a normal end", async (_label, events) => {
    world.first.setDefault(sseAnswer(events));
    const answer = await postChat(world, { stream: true });
    expect(answer.text).toContain('"code":"stream_interrupted"');
    expect(answer.text).not.toContain("[DONE]");
  });

  it("usage: cache reads and writes count inside prompt_tokens, reads as cached_tokens; message_delta's cumulative counts win", async () => {
    world.first.setDefault(sseAnswer([
      antMessageStart({ input_tokens: 3, cache_creation_input_tokens: 20, cache_read_input_tokens: 100, output_tokens: 1 }),
      ...textBlock("u"),
      antEvent({ type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { input_tokens: 3, cache_creation_input_tokens: 20, cache_read_input_tokens: 100, output_tokens: 9, server_tool_use: { web_search_requests: 1 } } }),
      antEvent({ type: "message_stop" }),
    ]));
    const answer = await postChat(world, { stream: true, stream_options: { include_usage: true } });
    expect(answer.text).toContain('"usage":{"prompt_tokens":123,"completion_tokens":9,"total_tokens":132,"prompt_tokens_details":{"cached_tokens":100,"cache_write_tokens":20}');
  });
});

describe("Anthropic's request_id on an error (wire-formats §2.11)", () => {
  it("reaches the caller as x-upstream-request-id, on REST and in the RPC error metadata", async () => {
    world.first.setDefault(antError(400, "invalid_request_error", "messages: text content blocks must be non-empty"));
    const answer = await postChat(world, {});
    expect(answer.status).toBe(400);
    expect(answer.headers.get("x-upstream-request-id")).toBe("req_011audit");
    const rpc = await fetch(`${world.origin}/switchyard.v1.ChatService/Chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input: { model: "ant/claude-sonnet-4-5", maxTokens: 100, messages: [{ role: "ROLE_USER", content: [{ text: "hi" }] }] } }),
    });
    expect(rpc.status).toBe(400);
    expect(rpc.headers.get("x-upstream-request-id")).toBe("req_011audit");
  });

  it("is left out when it is not a plain token", async () => {
    world.first.setDefault(jsonAnswer({ type: "error", error: { type: "invalid_request_error", message: "bad" }, request_id: "req 1\r\nx-injected: yes" }, { status: 400 }));
    const answer = await postChat(world, {});
    expect(answer.status).toBe(400);
    expect(answer.headers.get("x-upstream-request-id")).toBeNull();
    expect(answer.headers.get("x-injected")).toBeNull();
  });
});
