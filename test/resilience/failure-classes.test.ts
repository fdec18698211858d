import OpenAI from "openai";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fault } from "../support/fault-injector.js";
import { collectSdkStream, startResilienceGateway, userMessage, type ResilienceGateway } from "./resilience-harness.js";

let gateway: ResilienceGateway;

beforeEach(async () => {
  gateway = await startResilienceGateway({ a: { text: "Answer from a." }, b: { text: "Answer from b." } });
});

afterEach(async () => {
  await gateway.close();
});

/** A non-streaming request for a/m with b/m as the fallback; returns the answer and the response headers. */
async function ask(fallbacks: string[] = ["b/m"]) {
  const body = { model: "a/m", messages: userMessage(), fallbacks };
  const { data, response } = await gateway.openai.chat.completions.create(body as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse();
  return { text: data.choices[0]?.message.content, model: data.model, usage: data.usage, headers: response.headers };
}

async function askError(fallbacks: string[] = ["b/m"]): Promise<InstanceType<typeof OpenAI.APIError>> {
  const error = await ask(fallbacks).then(() => undefined, (thrown: unknown) => thrown);
  expect(error).toBeInstanceOf(OpenAI.APIError);
  return error as InstanceType<typeof OpenAI.APIError>;
}

describe("retryable failures are retried on the same target", () => {
  it("retries a 500 once and answers from the primary", async () => {
    gateway.upstreams.a?.script(fault.serverError(500));
    const answer = await ask();
    expect(answer.text).toBe("Answer from a.");
    expect(answer.model).toBe("a/m");
    expect(gateway.upstreams.a?.attempts).toHaveLength(2);
    expect(gateway.upstreams.b?.attempts).toHaveLength(0);
    expect(answer.headers.get("x-switchyard-model")).toBe("a/m");
    expect(answer.headers.get("x-switchyard-attempts")).toBe("2");
    expect(answer.headers.get("x-switchyard-failed")).toBe("a/m provider_unavailable");
  });

  it.each([
    ["502", fault.serverError(502)],
    ["503", fault.serverError(503)],
    ["504", fault.serverError(504)],
    ["529 overloaded", fault.overloaded()],
    ["429 without Retry-After", fault.rateLimited()],
    ["a connection reset before any byte", fault.reset()],
  ])("retries %s", async (_name, step) => {
    gateway.upstreams.a?.script(step, step);
    const answer = await ask();
    expect(answer.text).toBe("Answer from a.");
    expect(gateway.upstreams.a?.attempts).toHaveLength(3);
    expect(gateway.upstreams.b?.attempts).toHaveLength(0);
    for (const gap of gateway.upstreams.a?.gaps() ?? []) expect(gap).toBeLessThan(40 + 250);
  });

  it.each([
    ["a 500", 500],
    ["a 429", 429],
  ])("does not retry %s whose provider says x-should-retry: false, and fails over", async (_name, status) => {
    gateway.upstreams.a?.always({ kind: "status", status, body: { error: { message: "do not retry", type: "server_error" } }, headers: { "x-should-retry": "false" } });
    const answer = await ask();
    expect(answer.text).toBe("Answer from b.");
    expect(gateway.upstreams.a?.attempts).toHaveLength(1);
    expect(answer.headers.get("x-switchyard-attempts")).toBe("2");
  });

  it("fails over after the retries when the target keeps failing (persistent 503), and bounds the attempts", async () => {
    gateway.upstreams.a?.always(fault.serverError(503));
    const answer = await ask();
    expect(answer.text).toBe("Answer from b.");
    expect(answer.model).toBe("b/m");
    expect(gateway.upstreams.a?.attempts).toHaveLength(3);
    expect(answer.headers.get("x-switchyard-attempts")).toBe("4");
    expect(answer.headers.get("x-switchyard-failed")).toBe("a/m provider_unavailable, a/m provider_unavailable, a/m provider_unavailable");
  });

  it("fails over after the retries on a persistent 429", async () => {
    gateway.upstreams.a?.always(fault.rateLimited());
    const answer = await ask();
    expect(answer.model).toBe("b/m");
    expect(gateway.upstreams.a?.attempts).toHaveLength(3);
  });

  it("waits at least the Retry-After (seconds) before retrying", async () => {
    gateway.upstreams.a?.script(fault.rateLimited("1"));
    const answer = await ask();
    expect(answer.model).toBe("a/m");
    const [gap] = gateway.upstreams.a?.gaps() ?? [];
    expect(gap).toBeGreaterThanOrEqual(990);
    expect(gap).toBeLessThan(2500);
  });

  it("waits for a Retry-After given as an HTTP date", async () => {
    const date = new Date(Date.now() + 1200).toUTCString();
    gateway.upstreams.a?.script(fault.rateLimited(date));
    const started = Date.now();
    await ask();
    const [gap] = gateway.upstreams.a?.gaps() ?? [];
    const expected = Date.parse(date) - started;
    expect(gap).toBeGreaterThanOrEqual(expected - 100);
  });

  it("honours retry-after-ms", async () => {
    gateway.upstreams.a?.script({ kind: "status", status: 429, body: { error: { message: "slow down", type: "requests", code: "rate_limit_exceeded" } }, headers: { "retry-after-ms": "150" } });
    await ask();
    const [gap] = gateway.upstreams.a?.gaps() ?? [];
    expect(gap).toBeGreaterThanOrEqual(145);
  });

  it("honours retry-after-ms beside a Retry-After it cannot read", async () => {
    gateway.upstreams.a?.script({ kind: "status", status: 429, body: { error: { message: "slow down", type: "requests", code: "rate_limit_exceeded" } }, headers: { "retry-after": "abc", "retry-after-ms": "150" } });
    await ask();
    const [gap] = gateway.upstreams.a?.gaps() ?? [];
    expect(gap).toBeGreaterThanOrEqual(145);
  });

  it("waits for the rate limit's reset (x-ratelimit-reset-*) when a 429 has no Retry-After", async () => {
    gateway.upstreams.a?.script({ kind: "status", status: 429, body: { error: { message: "Rate limit reached for requests", type: "requests", code: "rate_limit_exceeded" } }, headers: { "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "150ms", "x-ratelimit-remaining-tokens": "9000", "x-ratelimit-reset-tokens": "6m0s" } });
    await ask();
    const [gap] = gateway.upstreams.a?.gaps() ?? [];
    expect(gap).toBeGreaterThanOrEqual(145);
  });

  it("fails over at once when the Retry-After does not fit in the retry budget", async () => {
    gateway.upstreams.a?.always(fault.rateLimited("60"));
    const started = Date.now();
    const answer = await ask();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(answer.model).toBe("b/m");
    expect(gateway.upstreams.a?.attempts).toHaveLength(1);
  });
});

describe("failures that fail over without retrying", () => {
  it.each([
    ["context length exceeded", fault.contextLength(), "context_length_exceeded"],
    ["the gateway's provider key rejected", fault.authFailed(), "provider_auth_failed"],
  ])("%s goes to the next target after one attempt", async (_name, step, reason) => {
    gateway.upstreams.a?.always(step);
    const answer = await ask();
    expect(answer.text).toBe("Answer from b.");
    expect(gateway.upstreams.a?.attempts).toHaveLength(1);
    expect(answer.headers.get("x-switchyard-failed")).toBe(`a/m ${reason}`);
  });
});

describe("the caller's own mistakes are returned once", () => {
  it.each([
    ["a content-filter rejection", fault.contentFilter(), "content_filter"],
    ["an invalid request", fault.invalidRequest(), "upstream_invalid_request"],
  ])("%s: one attempt, no fallback, the provider's reason", async (_name, step, code) => {
    gateway.upstreams.a?.always(step);
    const error = await askError();
    expect(error.status).toBe(400);
    expect(error.code).toBe(code);
    expect(gateway.upstreams.a?.attempts).toHaveLength(1);
    expect(gateway.upstreams.b?.attempts).toHaveLength(0);
  });
});

describe("route facts", () => {
  it("answers the primary's real error when every target fails", async () => {
    gateway.upstreams.a?.always(fault.serverError(503));
    gateway.upstreams.b?.always(fault.serverError(500));
    const error = await askError();
    expect(error.status).toBe(503);
    expect(error.message).toContain("503");
    expect(gateway.upstreams.a?.attempts).toHaveLength(3);
    expect(gateway.upstreams.b?.attempts).toHaveLength(3);
  });

  it("accepts an empty fallbacks list", async () => {
    const answer = await ask([]);
    expect(answer.text).toBe("Answer from a.");
  });

  it("counts only the answering attempt's usage", async () => {
    gateway.upstreams.a?.always(fault.serverError(503));
    const answer = await ask();
    expect(answer.usage?.prompt_tokens).toBe(10);
    expect(answer.usage?.completion_tokens).toBe(3);
  });

  it("estimates the usage of an answer whose provider reported none, and marks it", async () => {
    gateway.upstreams.a?.always(fault.answer({ omitUsage: true }));
    const answer = await ask([]);
    expect(answer.text).toBe("Answer from a.");
    // "Answer from a." is 14 characters: about 4 tokens.
    expect(answer.usage).toMatchObject({ completion_tokens: 4, estimated: true });
    expect(answer.usage?.prompt_tokens).toBeGreaterThan(0);
    gateway.upstreams.a?.always(fault.answer({}));
    expect((await ask([])).usage).not.toHaveProperty("estimated");
  });

  it("streams: failures before the first token fail over invisibly and the headers name the answering target", async () => {
    gateway.upstreams.a?.always(fault.serverError(503));
    const body = { model: "a/m", messages: userMessage(), fallbacks: ["b/m"], stream: true, stream_options: { include_usage: true } };
    const { data, response } = await gateway.openai.chat.completions.create(body as OpenAI.ChatCompletionCreateParamsStreaming).withResponse();
    const answer = await collectSdkStream(data);
    expect(answer.text).toBe("Answer from b.");
    expect(answer.finish).toBe("stop");
    expect(answer.model).toBe("b/m");
    expect(answer.usage?.completion_tokens).toBe(3);
    expect(response.headers.get("x-switchyard-model")).toBe("b/m");
    expect(response.headers.get("x-switchyard-attempts")).toBe("4");
    expect(gateway.upstreams.a?.attempts).toHaveLength(3);
  });
});
