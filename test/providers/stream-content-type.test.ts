/**
 * A streaming request's 200 answer must be an event stream (Gemini: or its JSON-array form).
 * Anything else (JSON from a server that ignored `stream: true`, an HTML page, an error body
 * under 200) is INVALID_PROVIDER_RESPONSE, which fails over at once, rather than an empty stream
 * that is retried and ends as STREAM_INTERRUPTED. A missing content-type is read as SSE.
 */
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";
import { GatewayError, Reason } from "../../src/core/errors.js";
import { classifyFailure } from "../../src/core/routing/failure-classification.js";
import { toRestError } from "../../src/http/openai-compat/error-response.js";
import { mediaTypeOf, streamContentTypeError } from "../../src/providers/sse-answer.js";
import type { UpstreamResponse, UpstreamTransport } from "../../src/providers/upstream-http.js";
import { SCENARIOS } from "../support/contract-scenarios.js";
import { nativeBody, nativeStream, type CanonicalAnswer } from "../support/dialect-answers.js";
import { callOptions } from "../support/proto-builders.js";
import { chatInput, KITS, outcomeOfStream, type ProviderKit } from "../support/provider-kits.js";
import { replayTransport, type ReplayAnswer } from "../support/replay-transport.js";
import { drain } from "../support/stream-collectors.js";
import { wellBehavedAnswer } from "../support/fuzzing.js";

const ANSWER: CanonicalAnswer = { id: "ct-answer", model: "m", text: "the whole answer", finish: "stop", usage: { prompt: 3, cached: 0, completion: 3, reasoning: 0 } };
const SECRET = "sk-proj-ECHOEDKEY0123456789abcdefghijklmnop";

/** Runs one stream request of `kit` against `answer`; returns what came back and the replay. */
async function streamOnce(kit: ProviderKit, answer: ReplayAnswer) {
  const replay = replayTransport(answer);
  const { events, error } = await drain(kit.createAdapter(replay.transport).stream(SCENARIOS[0]?.input ?? chatInput({}), callOptions(kit.model)));
  return { replay, events, error };
}

/** Answers a stream request must not be read as a stream, per kit (Gemini reads application/json as its JSON array). */
function notStreams(kit: ProviderKit): { label: string; answer: ReplayAnswer; mediaType: string }[] {
  const html = { label: "an HTML page", answer: { headers: { "content-type": "text/html; charset=utf-8" }, body: `<html><body>Bad gateway page ${SECRET}</body></html>` }, mediaType: "text/html" };
  const plain = { label: "an SSE body labelled text/plain", answer: { headers: { "content-type": "text/plain" }, body: nativeStream(kit.dialect, ANSWER).content.join("") }, mediaType: "text/plain" };
  if (kit.dialect === "gemini") return [html, plain];
  return [
    { label: "a whole JSON answer (stream ignored)", answer: { headers: { "content-type": "application/json" }, body: JSON.stringify(nativeBody(kit.dialect, ANSWER)) }, mediaType: "application/json" },
    { label: "a JSON error body under 200", answer: { headers: { "content-type": "application/json" }, body: JSON.stringify({ error: { message: `Rate limit reached for key ${SECRET}`, type: "rate_limit_error", code: "rate_limit_exceeded" } }) }, mediaType: "application/json" },
    html,
    plain,
  ];
}

describe.each(KITS)("$label stream answers that are not streams", (kit) => {
  it.each(notStreams(kit))("$label: INVALID_PROVIDER_RESPONSE naming the content-type, which fails over; the body is not read", async ({ answer, mediaType }) => {
    const { replay, events, error } = await streamOnce(kit, answer);
    expect(events).toHaveLength(0);
    expect(error).toBeInstanceOf(GatewayError);
    const failure = error as GatewayError;
    expect({ reason: failure.reason, status: failure.facts.upstreamStatus, afterFirstByte: failure.facts.afterFirstByte }).toEqual({ reason: Reason.INVALID_PROVIDER_RESPONSE, status: 200, afterFirstByte: undefined });
    expect(failure.rawMessage).toContain(`content-type "${mediaType}"`);
    expect(failure.facts.provider).toBeTruthy();
    expect(failure.message).not.toContain(SECRET);
    expect(failure.message).not.toMatch(/Bad gateway page|Rate limit|the whole answer/);
    expect(classifyFailure(failure)).toEqual({ action: "failover", unhealthy: true });
    expect(toRestError(failure).status).toBe(502);
    // The unread body is dropped with its request.
    expect(replay.requests).toHaveLength(1);
    expect(replay.requests[0]?.signal.aborted).toBe(true);
  });

  it("a missing content-type is read as SSE (lenient), and the media type is matched without case or parameters", async () => {
    const stream = nativeStream(kit.dialect, ANSWER);
    const body = [...stream.content, ...stream.terminal].join("");
    for (const headers of [{}, { "content-type": "" }, { "content-type": "Text/Event-Stream; charset=UTF-8" }]) {
      const { events, error } = await streamOnce(kit, { headers, body });
      expect(error, JSON.stringify(headers)).toBeUndefined();
      expect(outcomeOfStream(events).text).toBe("the whole answer");
    }
  });
});

describe("Gemini's JSON-array stream form", () => {
  it("is still read when the answer is application/json (any case, with parameters)", async () => {
    const gemini = KITS.find((kit) => kit.dialect === "gemini") as ProviderKit;
    const frames = [...nativeStream("gemini", ANSWER).content, ...nativeStream("gemini", ANSWER).terminal].map((frame) => frame.replace(/^data: /, "").trim());
    const { events, error } = await streamOnce(gemini, { headers: { "content-type": "Application/JSON; charset=UTF-8" }, body: `[${frames.join(",\n")}]` });
    expect(error).toBeUndefined();
    expect(outcomeOfStream(events).text).toBe("the whole answer");
  });
});

describe("streamContentTypeError", () => {
  it("accepts SSE, a missing or blank type and the caller's extra types; names anything else, sanitised", () => {
    const context = { provider: "p", status: 200 };
    expect(streamContentTypeError(undefined, context)).toBeUndefined();
    expect(streamContentTypeError("  ", context)).toBeUndefined();
    expect(streamContentTypeError("text/event-stream;charset=utf-8", context)).toBeUndefined();
    expect(streamContentTypeError("application/json", { ...context, alsoReads: ["application/json"] })).toBeUndefined();
    expect(streamContentTypeError("application/json", context)?.rawMessage).toBe('provider "p" answered a streaming request with content-type "application/json" instead of an event stream');
    expect(streamContentTypeError(`text/x"\n${"a".repeat(300)}`, context)?.rawMessage).toContain('content-type "text/x??[redacted]"');
    expect(mediaTypeOf(" Application/JSON ; charset=UTF-8")).toBe("application/json");
  });
});

describe("through the gateway", () => {
  it("a JSON answer to a stream fails over to the next target at once, without retrying the first", async () => {
    const config = `
server: { host: 127.0.0.1, port: 8080 }
providers:
  bad: { type: openai, api_key: k, base_url: "https://bad.test/v1" }
  good: { type: anthropic, api_key: k, base_url: "https://good.test" }
routing: { retry: { max_retries: 2, base_delay_ms: 1, max_delay_ms: 1 } }
logging: { level: silent }
`;
    const calls: string[] = [];
    const transport: UpstreamTransport = async (request) => {
      calls.push(new URL(request.url).host);
      const { contentType, text } = request.url.startsWith("https://bad.test") ? { contentType: "application/json", text: JSON.stringify(nativeBody("openai", ANSWER)) } : wellBehavedAnswer(request.url, request.body ?? "", ["fallback ", "answer"]);
      const bytes = new TextEncoder().encode(text);
      async function* body(): AsyncGenerator<Uint8Array> {
        yield bytes;
      }
      const response: UpstreamResponse = { status: 200, header: (name) => (name === "content-type" ? contentType : undefined), body: body() };
      return response;
    };
    const { app } = await buildApp({ config: parseConfigText(config, "ct.yaml", {}), transport });
    await app.ready();
    try {
      const payload = JSON.stringify({ model: "bad/gpt-4o-mini", fallbacks: ["good/claude-sonnet-4-5"], messages: [{ role: "user", content: "hi" }], stream: true });
      const response = await app.inject({ method: "POST", url: "/v1/chat/completions", headers: { "content-type": "application/json" }, payload });
      expect(response.statusCode).toBe(200);
      expect(response.body).toContain("fallback ");
      expect(response.body.trim().endsWith("data: [DONE]")).toBe(true);
      expect(calls).toEqual(["bad.test", "good.test"]);
    } finally {
      await app.close();
    }
  });
});
