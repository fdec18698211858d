import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { FinishReason } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import { GatewayError } from "../../../src/core/errors.js";
import { finishEvent, responseStartEvent, usageEvent, usageOf } from "../../../src/core/stream-events.js";
import { createGeminiAdapter } from "../../../src/providers/gemini/gemini-adapter.js";
import { fromGeminiError, parseRetryDelay } from "../../../src/providers/gemini/gemini-errors.js";
import type { UpstreamTransport } from "../../../src/providers/upstream-http.js";
import { readExchange } from "../../support/recorded-exchange.js";
import { readFixture, replayTransport, type ReplayAnswer } from "../../support/replay-transport.js";
import { callOptions, user } from "../../support/proto-builders.js";
import { chatInput, geminiConfig } from "./gemini-inputs.js";

const KEY = "AIzaTestKey-0123456789abcdefghij";
const NOW = 1_750_000_000_000;

function adapterWith(transport: UpstreamTransport) {
  const config = geminiConfig();
  const google = config.providers.google;
  if (!google) throw new Error("no account");
  return createGeminiAdapter({ account: google, transport, config }, { now: () => NOW, fetchMedia: async () => Promise.reject(new Error("unexpected")) });
}

const input = chatInput({ messages: [user("hi")] });

async function failure(run: () => Promise<unknown>): Promise<GatewayError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error("expected a GatewayError");
}

async function generateError(answer: ReplayAnswer): Promise<GatewayError> {
  return failure(() => adapterWith(replayTransport(answer).transport).generate(input, callOptions("gemini-2.5-pro")));
}

async function streamError(answer: ReplayAnswer): Promise<GatewayError> {
  return failure(async () => {
    for await (const _event of adapterWith(replayTransport(answer).transport).stream(input, callOptions("gemini-2.5-pro"))) {
      // drain
    }
  });
}

/** Hand-made (no public recording): shape of Google's RESOURCE_EXHAUSTED error with QuotaFailure and RetryInfo. */
const HAND_MADE_429 = {
  error: {
    code: 429,
    message: "You exceeded your current quota, please check your plan.",
    status: "RESOURCE_EXHAUSTED",
    details: [
      { "@type": "type.googleapis.com/google.rpc.QuotaFailure", violations: [{ quotaId: "GenerateRequestsPerMinutePerProjectPerModel-FreeTier" }] },
      { "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "34.4s" },
    ],
  },
};

/** Hand-made: the Developer API's answer to a bad key is a 400 INVALID_ARGUMENT with ErrorInfo reason API_KEY_INVALID. */
const HAND_MADE_BAD_KEY = {
  error: {
    code: 400,
    message: `API key not valid. Please pass a valid API key. (${KEY})`,
    status: "INVALID_ARGUMENT",
    details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID", domain: "googleapis.com", metadata: { service: "generativelanguage.googleapis.com" } }],
  },
};

describe("Gemini error mapping (recorded fixtures)", () => {
  it.each([
    ["generate", generateError],
    ["stream", streamError],
  ] as const)("error-400-invalid-argument-penalty (%s) -> UPSTREAM_INVALID_REQUEST with Google's message", async (_name, run) => {
    const error = await run({ status: 400, body: readFixture("gemini/error-400-invalid-argument-penalty.json") });
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.reason).toBe("UPSTREAM_INVALID_REQUEST");
    expect(error.rawMessage).toContain("Penalty is not enabled for models/gemini-2.5-pro");
    expect(error.facts).toMatchObject({ provider: "google", upstreamStatus: 400, upstreamCode: "INVALID_ARGUMENT" });
  });

  it("error-400-vertex-url-not-fetchable -> UPSTREAM_INVALID_REQUEST", async () => {
    const exchange = readExchange("gemini/error-400-vertex-url-not-fetchable.json");
    const error = await generateError({ status: exchange.response.status, body: JSON.stringify(exchange.response.body) });
    expect(error.reason).toBe("UPSTREAM_INVALID_REQUEST");
    expect(error.rawMessage).toContain("URL_ROBOTED-ROBOTED_DENIED");
  });
});

describe("Gemini error mapping (hand-made bodies, marked)", () => {
  it("hand-made 429 with RetryInfo -> RATE_LIMIT_EXCEEDED with retryAfterMs from retryDelay", async () => {
    const error = await generateError({ status: 429, body: JSON.stringify(HAND_MADE_429), headers: { "retry-after": "5" } });
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(error.reason).toBe("RATE_LIMIT_EXCEEDED");
    expect(error.facts.retryAfterMs).toBe(34_400);
    expect(error.metadata.get("retry-after")).toBe("35");
  });

  it("hand-made 429 without RetryInfo falls back to the Retry-After header", async () => {
    const error = await generateError({ status: 429, body: JSON.stringify({ error: { code: 429, message: "slow down", status: "RESOURCE_EXHAUSTED" } }), headers: { "retry-after": "7" } });
    expect(error.facts.retryAfterMs).toBe(7_000);
  });

  it("hand-made 400 API_KEY_INVALID -> PROVIDER_AUTH_FAILED whose message leaks neither Google's text nor the key", async () => {
    const error = await generateError({ status: 400, body: JSON.stringify(HAND_MADE_BAD_KEY) });
    expect(error.code).toBe(Code.Internal);
    expect(error.reason).toBe("PROVIDER_AUTH_FAILED");
    expect(error.facts).toMatchObject({ upstreamStatus: 400, upstreamCode: "API_KEY_INVALID" });
    expect(error.rawMessage).not.toContain(KEY);
    expect(error.rawMessage).not.toContain("API key not valid");
  });

  it.each<[string, number, string, Code, string]>([
    ["UNAVAILABLE", 503, "The model is overloaded. Please try again later.", Code.Unavailable, "PROVIDER_UNAVAILABLE"],
    ["INTERNAL", 500, "An internal error has occurred.", Code.Unavailable, "PROVIDER_UNAVAILABLE"],
    ["DEADLINE_EXCEEDED", 504, "Deadline exceeded.", Code.DeadlineExceeded, "UPSTREAM_TIMEOUT"],
    ["NOT_FOUND", 404, "models/gemini-9 is not found for API version v1beta.", Code.NotFound, "MODEL_NOT_FOUND"],
    ["PERMISSION_DENIED", 403, "Permission denied.", Code.Internal, "PROVIDER_AUTH_FAILED"],
    ["UNAUTHENTICATED", 401, "Request had invalid authentication credentials.", Code.Internal, "PROVIDER_AUTH_FAILED"],
    ["FAILED_PRECONDITION", 400, "Precondition check failed.", Code.InvalidArgument, "UPSTREAM_INVALID_REQUEST"],
    // The account-level ones (location, billing) are a provider failure: see gemini-native-audit.test.ts.
    ["FAILED_PRECONDITION", 400, "User location is not supported for the API use.", Code.Unavailable, "PROVIDER_UNAVAILABLE"],
  ])("hand-made %s (%i) -> %s", async (status, httpStatus, message, code, reason) => {
    const error = await generateError({ status: httpStatus, body: JSON.stringify({ error: { code: httpStatus, message, status } }) });
    expect(error.code).toBe(code);
    expect(error.reason).toBe(reason);
    expect(error.facts.upstreamStatus).toBe(httpStatus);
  });

  it("scrubs key-like strings from a caller-visible INVALID_ARGUMENT message", async () => {
    const error = await generateError({ status: 400, body: JSON.stringify({ error: { code: 400, message: `bad request for key ${KEY}`, status: "INVALID_ARGUMENT" } }) });
    expect(error.reason).toBe("UPSTREAM_INVALID_REQUEST");
    expect(error.rawMessage).toContain("[redacted]");
    expect(error.rawMessage).not.toContain(KEY);
  });

  it("hand-made 400 'input token count exceeds the maximum' -> CONTEXT_LENGTH_EXCEEDED (fails over), streaming or not", async () => {
    const body = JSON.stringify({ error: { code: 400, message: "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).", status: "INVALID_ARGUMENT" } });
    for (const error of [await generateError({ status: 400, body }), await streamError({ status: 400, body })]) {
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.reason).toBe("CONTEXT_LENGTH_EXCEEDED");
      expect(error.facts.upstreamStatus).toBe(400);
    }
  });

  it("marks a failure whose answer says x-should-retry: false as noRetry (the route does not ask that target again), JSON body or not", async () => {
    const body = JSON.stringify({ error: { code: 503, message: "The model is overloaded.", status: "UNAVAILABLE" } });
    expect((await generateError({ status: 503, headers: { "x-should-retry": "false" }, body })).facts.noRetry).toBe(true);
    expect((await generateError({ status: 502, headers: { "x-should-retry": "false" }, body: "<html>Bad Gateway</html>" })).facts.noRetry).toBe(true);
    expect((await generateError({ status: 503, body })).facts.noRetry).toBeUndefined();
  });

  it("reads a status name no table holds, even one every object inherits, by the error's code", () => {
    const error = fromGeminiError({ provider: "google", httpStatus: 200, error: { code: 429, message: "x", status: "constructor", details: [] } });
    expect(error.reason).toBe("RATE_LIMIT_EXCEEDED");
  });

  it("maps ABORTED (409, a concurrency conflict: \"retry\") to PROVIDER_UNAVAILABLE, which is retried and fails over, not to the caller's mistake", async () => {
    const body = JSON.stringify({ error: { code: 409, message: "The operation was aborted due to a concurrency conflict, retry.", status: "ABORTED" } });
    const error = await generateError({ status: 409, body });
    expect(error.reason).toBe("PROVIDER_UNAVAILABLE");
    expect(error.facts.upstreamStatus).toBe(409);
  });

  it("maps a non-JSON 502 page by its status", async () => {
    const error = await generateError({ status: 502, body: "<html><body>Bad Gateway</body></html>" });
    expect(error.reason).toBe("PROVIDER_UNAVAILABLE");
    expect(error.facts.upstreamStatus).toBe(502);
  });

  it("rejects a 200 body that is not JSON as INVALID_PROVIDER_RESPONSE", async () => {
    const error = await generateError({ status: 200, body: "not json" });
    expect(error.reason).toBe("INVALID_PROVIDER_RESPONSE");
  });
});

describe("Gemini stream failures", () => {
  const [firstEvent = ""] = readFixture("gemini/stream-text-system-instruction.sse.txt").split("\r\n\r\n");

  it("hand-made mid-stream {error} event -> thrown GatewayError after the events already sent", async () => {
    const body = `${firstEvent}\r\n\r\ndata: {"error": {"code": 503,"message": "The model is overloaded.","status": "UNAVAILABLE"}}\r\n\r\n`;
    const seen: string[] = [];
    const error = await failure(async () => {
      for await (const event of adapterWith(replayTransport({ body }).transport).stream(input, callOptions("gemini-2.0-flash-exp"))) seen.push(event.event.case ?? "");
    });
    expect(seen).toEqual(["responseStart", "textDelta"]);
    expect(error.reason).toBe("PROVIDER_UNAVAILABLE");
    expect(error.rawMessage).toContain("The model is overloaded.");
  });

  it("a stream cut before finishReason (recorded fixture minus its last event) emits no finish", async () => {
    const events = readFixture("gemini/stream-text-system-instruction.sse.txt").split("\r\n\r\n").filter(Boolean);
    const body = `${events.slice(0, 2).join("\r\n\r\n")}\r\n\r\n`;
    const seen: (string | undefined)[] = [];
    for await (const event of adapterWith(replayTransport({ body }).transport).stream(input, callOptions("gemini-2.0-flash-exp"))) seen.push(event.event.case);
    expect(seen).toEqual(["responseStart", "textDelta", "textDelta", "usage"]);
  });

  it("hand-made blocked prompt event -> role, content_filter finish, usage", async () => {
    const body = 'data: {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},"usageMetadata": {"promptTokenCount": 7,"totalTokenCount": 7},"modelVersion": "gemini-2.5-flash","responseId": "blocked-1"}\r\n\r\n';
    const out: ChatStreamResponse[] = [];
    for await (const event of adapterWith(replayTransport({ body }).transport).stream(input, callOptions("gemini-2.5-flash"))) out.push(event);
    expect(out).toEqual([
      responseStartEvent("blocked-1", "gemini-2.5-flash", BigInt(NOW / 1000), []),
      finishEvent(0, FinishReason.CONTENT_FILTER, "PROHIBITED_CONTENT"),
      usageEvent(usageOf({ prompt: 7, completion: 0, total: 7 })),
    ]);
  });

  it("an event that is not JSON -> INVALID_PROVIDER_RESPONSE", async () => {
    const error = await streamError({ body: `${firstEvent}\r\n\r\ndata: {broken\r\n\r\n` });
    expect(error.reason).toBe("INVALID_PROVIDER_RESPONSE");
  });

  it("aborting mid-stream ends the stream with CANCELED", async () => {
    const controller = new AbortController();
    const replay = replayTransport({ body: readFixture("gemini/stream-text-usage-every-chunk.sse.txt"), sliceSizes: [16] });
    const seen: (string | undefined)[] = [];
    const error = await failure(async () => {
      for await (const event of adapterWith(replay.transport).stream(input, callOptions("gemini-2.5-flash", controller.signal))) {
        seen.push(event.event.case);
        if (event.event.case === "textDelta") controller.abort();
      }
    });
    expect(error.reason).toBe("CANCELED");
    expect(seen).toEqual(["responseStart", "textDelta"]);
  });

  it("a request aborted before it starts never reaches the upstream", async () => {
    const controller = new AbortController();
    controller.abort();
    const replay = replayTransport({ body: "" });
    const error = await failure(() => adapterWith(replay.transport).generate(input, callOptions("gemini-2.5-flash", controller.signal)));
    expect(error.reason).toBe("CANCELED");
  });
});

describe("parseRetryDelay", () => {
  it.each<[unknown, number | undefined]>([
    ["34s", 34_000],
    ["34.4s", 34_400],
    ["0.5s", 500],
    ["34", undefined],
    ["-1s", undefined],
    [34, undefined],
    ["99999999999s", 86_400_000],
  ])("%j -> %j", (value, expected) => {
    expect(parseRetryDelay(value)).toBe(expected);
  });
});
