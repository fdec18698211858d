import { describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { Role } from "../../../gen/switchyard/v1/chat_pb.js";
import { GatewayError } from "../../../src/core/errors.js";
import { fromAnthropicErrorResponse, fromAnthropicStreamError } from "../../../src/providers/anthropic/anthropic-errors.js";
import type { RecordedExchangeWithRequest } from "../../support/recorded-exchange.js";
import { readFixture, readJsonFixture, replayTransport, type ReplayAnswer } from "../../support/replay-transport.js";
import { callOptions, user } from "../../support/proto-builders.js";
import { collect } from "../../support/stream-collectors.js";
import { adapterFor, chatInput, summarize, TEST_API_KEY } from "./anthropic-test-setup.js";

async function failureOf(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(GatewayError);
    return error as GatewayError;
  }
  throw new Error("expected a GatewayError, got success");
}

const generateWith = (answer: ReplayAnswer, account = {}) => {
  const replay = replayTransport(answer);
  return { replay, result: adapterFor(replay, account).generate(chatInput({ maxTokens: 10, messages: [user("hi")] }), callOptions("claude-sonnet-4-5")) };
};

describe("createAnthropicAdapter", () => {
  it("reports the anthropic family", () => {
    expect(adapterFor(replayTransport({ body: "" })).family).toBe("anthropic");
  });

  it("posts to account.baseUrl with merged account headers", async () => {
    const replay = replayTransport({ body: readFixture("anthropic/messages-nonstream-text.json") });
    const adapter = adapterFor(replay, { baseUrl: "https://proxy.example.com/anthropic/", headers: { "Anthropic-Beta": "pdfs-2024-09-25", "x-team": "a" } });
    await adapter.generate(chatInput({ maxTokens: 10, messages: [user("hi")] }), callOptions("claude-sonnet-4-5"));
    const request = replay.requests[0];
    expect(request?.url).toBe("https://proxy.example.com/anthropic/v1/messages");
    expect(request?.headers).toEqual({
      "content-type": "application/json",
      "anthropic-version": "2023-06-01",
      "anthropic-beta": "pdfs-2024-09-25",
      "x-team": "a",
      "x-api-key": TEST_API_KEY,
    });
  });

  it("adds the extended-cache-ttl beta to the account's own for a request with a 1h breakpoint, and only then", async () => {
    const replay = replayTransport({ body: readFixture("anthropic/messages-nonstream-text.json") });
    const adapter = adapterFor(replay, { headers: { "anthropic-beta": "pdfs-2024-09-25" } });
    const longLived = chatInput({ maxTokens: 10, messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "hi" } }], cacheControl: { $typeName: "switchyard.v1.CacheControl", type: "ephemeral", ttl: "1h" } }] });
    await adapter.generate(longLived, callOptions("claude-sonnet-4-5"));
    await adapter.generate(chatInput({ maxTokens: 10, messages: [user("hi")] }), callOptions("claude-sonnet-4-5"));
    expect(replay.requests.map((request) => request.headers["anthropic-beta"])).toEqual(["pdfs-2024-09-25,extended-cache-ttl-2025-04-11", "pdfs-2024-09-25"]);
  });

  it("rejects audio with UNSUPPORTED_FEATURE before any upstream call, for generate and stream", async () => {
    const replay = replayTransport({ body: "{}" });
    const adapter = adapterFor(replay);
    const input = chatInput({ maxTokens: 10, messages: [{ role: Role.USER, content: [{ part: { case: "audio", value: { source: { case: "url", value: "https://x.test/a.wav" }, mimeType: "audio/wav" } } }] }] });
    const unary = await failureOf(adapter.generate(input, callOptions("claude-sonnet-4-5")));
    const streamed = await failureOf(collect(adapter.stream(input, callOptions("claude-sonnet-4-5"))));
    for (const error of [unary, streamed]) {
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.reason).toBe("UNSUPPORTED_FEATURE");
      expect(error.facts.param).toBe("messages[0].content[0]");
    }
    expect(replay.requests).toHaveLength(0);
  });

  it("stops and aborts the upstream request when the caller aborts mid-stream", async () => {
    const replay = replayTransport({ headers: { "content-type": "text/event-stream" }, body: readFixture("anthropic/messages-stream-after-two-tool-results.sse.txt"), sliceSizes: [16] });
    const controller = new AbortController();
    const seen: string[] = [];
    const error = await failureOf(
      (async () => {
        for await (const event of adapterFor(replay).stream(chatInput({ maxTokens: 10, messages: [user("hi")] }), callOptions("claude-3-5-haiku-latest", controller.signal))) {
          seen.push(event.event.case ?? "");
          if (event.event.case === "textDelta") controller.abort();
        }
      })(),
    );
    expect(error.code).toBe(Code.Canceled);
    expect(error.reason).toBe("CANCELED");
    expect(seen).toEqual(["responseStart", "textDelta"]);
    expect(replay.requests[0]?.signal.aborted).toBe(true);
  });

  it("closes the upstream when the consumer stops iterating early", async () => {
    const replay = replayTransport({ headers: { "content-type": "text/event-stream" }, body: readFixture("anthropic/messages-stream-after-two-tool-results.sse.txt") });
    for await (const event of adapterFor(replay).stream(chatInput({ maxTokens: 10, messages: [user("hi")] }), callOptions("claude-3-5-haiku-latest"))) {
      if (event.event.case === "textDelta") break;
    }
    expect(replay.requests[0]?.signal.aborted).toBe(true);
  });
});

describe("Anthropic upstream errors", () => {
  it("error-400-invalid-request.json: sends the recorded body and maps invalid_request_error with the provider's message", async () => {
    const exchange = readJsonFixture<RecordedExchangeWithRequest>("anthropic/error-400-invalid-request.json");
    const replay = replayTransport({ status: exchange.response.status, body: JSON.stringify(exchange.response.body) });
    const input = chatInput({ maxTokens: 4096, messages: [user("What is 2+2?")], providerOptions: { anthropic: { output_config: { effort: "xhigh" } } } });
    const error = await failureOf(adapterFor(replay).generate(input, callOptions("claude-opus-4-6")));
    expect(replay.requests[0]?.json).toEqual(exchange.request.body);
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.reason).toBe("UPSTREAM_INVALID_REQUEST");
    expect(error.rawMessage).toContain("This model does not support effort level 'xhigh'. Supported levels: high, low, max, medium.");
    expect(error.facts).toMatchObject({ provider: "anthropic-main", upstreamStatus: 400, upstreamCode: "invalid_request_error" });
  });

  it.each(["error-400-tool-result-without-tool-use.json", "error-400-tool-use-without-tool-result.json"])("%s maps to UPSTREAM_INVALID_REQUEST with the message", async (name) => {
    const body = readFixture(`anthropic/${name}`);
    const { result } = generateWith({ status: 400, body });
    const error = await failureOf(result);
    expect(error.reason).toBe("UPSTREAM_INVALID_REQUEST");
    expect(error.rawMessage).toContain((JSON.parse(body) as { error: { message: string } }).error.message);
  });

  it.each(["prompt is too long: 208310 tokens > 200000 maximum", "input length and `max_tokens` exceed context limit: 195000 + 8192 > 200000, decrease input length or `max_tokens` and try again"])(
    "maps a 400 '%s' to CONTEXT_LENGTH_EXCEEDED (hand-made body, no recording exists)",
    async (message) => {
      const { result } = generateWith({ status: 400, body: JSON.stringify({ type: "error", error: { type: "invalid_request_error", message } }) });
      const error = await failureOf(result);
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.reason).toBe("CONTEXT_LENGTH_EXCEEDED");
    },
  );

  it("maps 529 overloaded_error to PROVIDER_UNAVAILABLE (hand-made body)", async () => {
    const { result } = generateWith({ status: 529, body: '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}' });
    const error = await failureOf(result);
    expect(error.code).toBe(Code.Unavailable);
    expect(error.reason).toBe("PROVIDER_UNAVAILABLE");
    expect(error.facts.upstreamStatus).toBe(529);
  });

  it("maps 429 rate_limit_error to RATE_LIMIT_EXCEEDED with retryAfterMs from retry-after (hand-made body)", async () => {
    const { result } = generateWith({ status: 429, headers: { "retry-after": "7" }, body: '{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}' });
    const error = await failureOf(result);
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.reason).toBe("RATE_LIMIT_EXCEEDED");
    expect(error.facts.retryAfterMs).toBe(7000);
  });

  it("maps 401 to PROVIDER_AUTH_FAILED without the provider's text or the key (hand-made body)", async () => {
    const body = `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key ${TEST_API_KEY}"}}`;
    const { result } = generateWith({ status: 401, body });
    const error = await failureOf(result);
    expect(error.reason).toBe("PROVIDER_AUTH_FAILED");
    expect(error.message).not.toContain("TESTKEY");
    expect(error.message).not.toContain("invalid x-api-key");
    expect(String(error.cause)).not.toContain("TESTKEY");
  });

  it("throws the mapped error from stream() on a non-2xx answer before any event", async () => {
    const replay = replayTransport({ status: 529, body: '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}' });
    const events: string[] = [];
    const error = await failureOf(
      (async () => {
        for await (const event of adapterFor(replay).stream(chatInput({ maxTokens: 10, messages: [user("hi")] }), callOptions("claude-sonnet-4-5"))) events.push(...summarize([event]).map((e) => e[0]));
      })(),
    );
    expect(events).toEqual([]);
    expect(error.reason).toBe("PROVIDER_UNAVAILABLE");
  });

  it.each([
    [403, "permission_error", "PROVIDER_AUTH_FAILED"],
    [404, "not_found_error", "MODEL_NOT_FOUND"],
    [413, "request_too_large", "REQUEST_TOO_LARGE"],
    [500, "api_error", "PROVIDER_UNAVAILABLE"],
    [504, "timeout_error", "UPSTREAM_TIMEOUT"],
    [502, undefined, "PROVIDER_UNAVAILABLE"],
  ])("maps status %i (%s) to %s", (status, type, reason) => {
    const bodyText = type ? JSON.stringify({ type: "error", error: { type, message: "m" } }) : "<html>bad gateway</html>";
    expect(fromAnthropicErrorResponse({ provider: "p", status, bodyText }).reason).toBe(reason);
  });

  it("maps stream error events by type", () => {
    expect(fromAnthropicStreamError("p", { type: "rate_limit_error", message: "slow down" }).reason).toBe("RATE_LIMIT_EXCEEDED");
    expect(fromAnthropicStreamError("p", { type: "api_error", message: "boom" }).reason).toBe("PROVIDER_UNAVAILABLE");
    expect(fromAnthropicStreamError("p", {}).reason).toBe("PROVIDER_UNAVAILABLE");
  });
});
