import { describe, expect, it } from "vitest";
import { GatewayError, Reason } from "../../../src/core/errors.js";
import { callOptions, user } from "../../support/proto-builders.js";
import { replayTransport } from "../../support/replay-transport.js";
import { adapterFor, chatInput } from "./openai-test-setup.js";

/*
 * Gemini's OpenAI-compatible endpoint (…/v1beta/openai/) answers errors in Google's own envelope,
 * inside a one-element JSON array (bytedance/deer-flow#1515, jackmpcollins/magentic#382,
 * continuedev/continue#8516 quote them). They were read as nothing: "upstream returned HTTP 400",
 * no failover for a rejected key or an over-long prompt, RetryInfo ignored.
 */

const GEMINI_COMPAT = { name: "gemcompat", type: "openai-compatible", apiKey: "AIzaTestKey-0123456789abcdefghij", baseUrl: "https://generativelanguage.googleapis.com/v1beta/openai/" } as const;

async function failure(status: number, body: unknown): Promise<GatewayError> {
  const error = await adapterFor(replayTransport({ status, body: JSON.stringify(body) }), GEMINI_COMPAT)
    .generate(chatInput({ messages: [user("hi")] }), callOptions("gemini-2.5-flash"))
    .then(() => undefined, (thrown: unknown) => thrown);
  if (!(error instanceof GatewayError)) throw new Error("expected a GatewayError");
  return error;
}

const google = (code: number, status: string, message: string, details: unknown[] = []) => [{ error: { code, message, status, details } }];

/** The failure of a 200 answer (whole, or a stream whose one event is `body`). */
async function failureIn200(body: unknown, stream: boolean): Promise<GatewayError | undefined> {
  const adapter = adapterFor(replayTransport(stream ? { headers: { "content-type": "text/event-stream" }, body: `data: ${JSON.stringify(body)}\n\n` } : { status: 200, body: JSON.stringify(body) }), GEMINI_COMPAT);
  const input = chatInput({ messages: [user("hi")] });
  try {
    if (stream) for await (const _event of adapter.stream(input, callOptions("gemini-2.5-flash"))) void _event;
    else await adapter.generate(input, callOptions("gemini-2.5-flash"));
  } catch (error) {
    return error as GatewayError;
  }
  return undefined;
}

describe("Google's error envelope from an OpenAI-compatible endpoint", () => {
  it("keeps the provider's message of an INVALID_ARGUMENT", async () => {
    const error = await failure(400, google(400, "INVALID_ARGUMENT", 'Invalid JSON payload received. Unknown name "logit_bias": Cannot find field.'));
    expect(error.reason).toBe(Reason.UPSTREAM_INVALID_REQUEST);
    expect(error.message).toContain('Unknown name "logit_bias"');
  });

  it("reads API_KEY_INVALID as the gateway's credential rejected (fails over, no provider text)", async () => {
    const error = await failure(400, google(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID", domain: "googleapis.com" }]));
    expect(error.reason).toBe(Reason.PROVIDER_AUTH_FAILED);
    expect(error.message).not.toContain("API key not valid");
  });

  it("reads an over-long prompt as context_length_exceeded, an unserved location as the provider's failure, RetryInfo as the wait", async () => {
    expect((await failure(400, google(400, "INVALID_ARGUMENT", "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."))).reason).toBe(Reason.CONTEXT_LENGTH_EXCEEDED);
    expect((await failure(400, google(400, "FAILED_PRECONDITION", "User location is not supported for the API use."))).reason).toBe(Reason.PROVIDER_UNAVAILABLE);
    const limited = await failure(429, google(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota.", [{ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: "37s" }]));
    expect(limited.reason).toBe(Reason.RATE_LIMIT_EXCEEDED);
    expect(limited.facts.retryAfterMs).toBe(37_000);
  });

  it("leaves an OpenAI-style error with a status of its own to the OpenAI reading (Azure's numeric status, a server's own word)", async () => {
    const azure = await failure(400, { error: { message: "filtered", type: null, param: "prompt", code: "content_filter", status: 400 } });
    expect(azure.reason).toBe(Reason.CONTENT_FILTER);
    const own = await failure(400, { error: { message: "bad thing", type: "invalid_request_error", status: "error" } });
    expect(own.reason).toBe(Reason.UPSTREAM_INVALID_REQUEST);
    expect(own.message).toContain("bad thing");
  });

  it("reads it the same inside a 200: a stream's error event, and a whole answer that is an error", async () => {
    const cancelled = { error: { code: 499, message: "The operation was cancelled.", status: "CANCELLED", details: [] } };
    expect((await failureIn200(cancelled, true))?.reason).toBe(Reason.PROVIDER_UNAVAILABLE);
    const keyRejected = google(400, "INVALID_ARGUMENT", "API key not valid.", [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID", metadata: { consumer: "projects/123456789012" } }])[0];
    const inBand = await failureIn200(keyRejected, false);
    expect(inBand?.reason).toBe(Reason.PROVIDER_AUTH_FAILED);
    expect(JSON.stringify(inBand?.facts)).not.toContain("123456789012");
  });

  it("reads it in a one-element array inside a 200 too, whole or as a stream's event", async () => {
    const exhausted = google(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).");
    expect((await failureIn200(exhausted, false))?.reason).toBe(Reason.RATE_LIMIT_EXCEEDED);
    const unavailable = await failureIn200(google(503, "UNAVAILABLE", "The model is overloaded."), true);
    expect(unavailable?.reason).toBe(Reason.PROVIDER_UNAVAILABLE);
    expect(unavailable?.message).toContain("The model is overloaded.");
  });

  it("leaves an OpenAI-style error whose status happens to be a google.rpc word OpenAI-style (it has a type or a param, or no numeric code)", async () => {
    const context = await failure(400, { error: { message: "This model's maximum context length is 4096 tokens. However, you requested 9000 tokens.", type: "invalid_request_error", code: "context_length_exceeded", status: "UNKNOWN" } });
    expect(context.reason).toBe(Reason.CONTEXT_LENGTH_EXCEEDED);
    const named = await failure(400, { error: { message: "Invalid 'tools[0].function.name'.", type: "invalid_request_error", param: "tools[0].function.name", code: "invalid_value", status: "NOT_FOUND" } });
    expect(named.reason).toBe(Reason.UPSTREAM_INVALID_REQUEST);
    expect(named.facts.param).toBe("tools[0].function.name");
    expect((await failure(400, { error: { message: "m", status: "INTERNAL" } })).reason).toBe(Reason.UPSTREAM_INVALID_REQUEST);
  });

  it("reads an OpenAI-style error in a one-element array as the object itself, and Google's in a 200 keeps the answer's Retry-After", async () => {
    const inBand = (body: unknown, headers: Record<string, string> = {}) =>
      adapterFor(replayTransport({ status: 200, headers, body: JSON.stringify(body) }), GEMINI_COMPAT)
        .generate(chatInput({ messages: [user("hi")] }), callOptions("m"))
        .then(() => undefined, (error: unknown) => error as GatewayError);
    const limited = await inBand([{ error: { message: "Rate limit reached for requests", type: "requests", code: "rate_limit_exceeded" } }]);
    expect(limited?.reason).toBe(Reason.RATE_LIMIT_EXCEEDED);
    expect(limited?.message).toContain("Rate limit reached");
    const exhausted = await inBand(google(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."), { "retry-after": "30" });
    expect(exhausted?.reason).toBe(Reason.RATE_LIMIT_EXCEEDED);
    expect(exhausted?.facts.retryAfterMs).toBe(30_000);
  });
});
