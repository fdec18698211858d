import OpenAI from "openai";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FaultInjector, fault } from "../support/fault-injector.js";
import { collectSdkStream, startResilienceGateway, userMessage, type AccountSpec, type ResilienceGateway } from "./resilience-harness.js";

let gateway: ResilienceGateway | undefined;

afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

async function start(specs: Record<string, AccountSpec> = { a: { text: "Answer from a." }, b: { text: "Answer from b." } }): Promise<ResilienceGateway> {
  gateway = await startResilienceGateway(specs);
  return gateway;
}

function streamBody(fallbacks: string[] = ["b/m"]) {
  return { model: "a/m", messages: userMessage(), fallbacks, stream: true } as OpenAI.ChatCompletionCreateParamsStreaming;
}

function unaryBody(fallbacks: string[] = ["b/m"]) {
  return { model: "a/m", messages: userMessage(), fallbacks } as OpenAI.ChatCompletionCreateParamsNonStreaming;
}

describe("first_token_ms longer than idle_ms (a slow reasoning model)", () => {
  it("waits for the first token up to first_token_ms after a role chunk, though idle_ms is shorter", async () => {
    gateway = await startResilienceGateway(
      { a: { text: "Thought long." }, b: { text: "Answer from b." } },
      `routing:
  timeouts: { connect_ms: 1000, first_token_ms: 1500, idle_ms: 250, total_ms: 5000 }
  retry: { max_retries: 0, base_delay_ms: 5, max_delay_ms: 20, budget_ms: 1000 }`,
    );
    const { upstreams, openai } = gateway;
    upstreams.a?.always(fault.answer({ delayFirstTokenMs: 700 }));
    const answer = await collectSdkStream(await openai.chat.completions.create(streamBody()));
    expect(answer.text).toBe("Thought long.");
    expect(upstreams.b?.attempts).toHaveLength(0);
  });
});

describe("time to first token on streams (200 ms in these tests)", () => {
  it("fails over from a provider that accepts and never answers, without calling it again", async () => {
    const { upstreams, openai } = await start();
    upstreams.a?.always(fault.hang());
    const started = Date.now();
    const answer = await collectSdkStream(await openai.chat.completions.create(streamBody()));
    const elapsed = Date.now() - started;
    expect(answer.text).toBe("Answer from b.");
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(1200);
    expect(upstreams.a?.attempts).toHaveLength(1);
  });

  it("fails over when headers come but the first token does not, and closes the silent upstream", async () => {
    const { upstreams, openai } = await start();
    upstreams.a?.always(fault.answer({ delayFirstTokenMs: 2000 }));
    const started = Date.now();
    const answer = await collectSdkStream(await openai.chat.completions.create(streamBody()));
    expect(answer.text).toBe("Answer from b.");
    expect(Date.now() - started).toBeLessThan(1200);
    expect(upstreams.a?.attempts).toHaveLength(1);
    expect(upstreams.a?.attempts[0]?.closedByClient).toBe(true);
  });

  it("does not cut a stream whose first token is slow but within the bound", async () => {
    const { upstreams, openai } = await start();
    upstreams.a?.always(fault.answer({ delayFirstTokenMs: 80 }));
    const answer = await collectSdkStream(await openai.chat.completions.create(streamBody()));
    expect(answer.text).toBe("Answer from a.");
  });
});

describe("non-streaming answers are bounded by the total timeout only", () => {
  it("waits past the first-token bound for a slow unary answer", async () => {
    const { upstreams, openai } = await start();
    upstreams.a?.always(fault.answer({ delayHeadersMs: 400 }));
    const data = await openai.chat.completions.create(unaryBody());
    expect(data.model).toBe("a/m");
    expect(upstreams.a?.attempts).toHaveLength(1);
  });

  it("fails over from a silent provider after its total timeout, once", async () => {
    const { upstreams, openai } = await start({ a: { text: "Answer from a.", extra: ["timeouts: { total_ms: 400 }"] }, b: { text: "Answer from b." } });
    upstreams.a?.always(fault.hang());
    const started = Date.now();
    const data = await openai.chat.completions.create(unaryBody());
    const elapsed = Date.now() - started;
    expect(data.model).toBe("b/m");
    expect(elapsed).toBeGreaterThanOrEqual(390);
    expect(elapsed).toBeLessThan(1500);
    expect(upstreams.a?.attempts).toHaveLength(1);
  });
});

describe("stalls", () => {
  it("detects a stalled stream (idle 200 ms) and ends it with an in-band error when no fallback exists", async () => {
    const { upstreams, openai } = await start();
    upstreams.a?.always(fault.answer({ stallAfterChunks: 2 }));
    const started = Date.now();
    let text = "";
    const error = await (async () => {
      for await (const chunk of await openai.chat.completions.create(streamBody([]))) text += chunk.choices[0]?.delta.content ?? "";
    })().then(() => undefined, (thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(String((error as Error).message)).toMatch(/stalled/);
    expect(text).toBe("Answer from");
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

describe("connections", () => {
  it("retries a refused connection, then fails over", async () => {
    const dead = await FaultInjector.start();
    const deadUrl = dead.baseUrl;
    await dead.close();
    const { openai } = await start({ a: { baseUrl: deadUrl }, b: { text: "Answer from b." } });
    const { data, response } = await openai.chat.completions.create(unaryBody()).withResponse();
    expect(data.model).toBe("b/m");
    expect(response.headers.get("x-switchyard-failed")).toBe("a/m provider_unreachable, a/m provider_unreachable, a/m provider_unreachable");
  });
});

describe("the caller's deadline (x-switchyard-timeout) bounds everything", () => {
  it("answers 504 at the deadline and aborts the upstream request", async () => {
    const { upstreams, openai } = await start();
    upstreams.a?.always(fault.hang());
    upstreams.b?.always(fault.hang());
    const started = Date.now();
    const error = await openai.chat.completions.create(unaryBody(), { headers: { "x-switchyard-timeout": "300ms" } }).then(() => undefined, (thrown: unknown) => thrown);
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(504);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1000);
    await vi.waitFor(() => expect(upstreams.a?.attempts[0]?.closedByClient).toBe(true), { timeout: 3000, interval: 20 });
  });

  it("a 504 for the deadline names the route and says x-should-retry: false, so an SDK runs the route once", async () => {
    const { upstreams, origin } = await start();
    upstreams.a?.always(fault.hang());
    upstreams.b?.always(fault.hang());
    for (const stream of [false, true]) {
      const response = await fetch(`${origin}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-switchyard-timeout": "300ms" },
        body: JSON.stringify({ ...unaryBody([]), stream }),
      });
      expect(response.status).toBe(504);
      expect(response.headers.get("x-should-retry")).toBe("false");
      expect(response.headers.get("x-switchyard-attempts")).toBe("1");
      expect(response.headers.get("x-switchyard-failed")).toContain("a/m");
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("upstream_timeout");
    }
    // The SDK's default: up to two retries of a 504 unless told otherwise.
    const retrying = new OpenAI({ baseURL: `${origin}/v1`, apiKey: "unused", timeout: 10_000 });
    const before = upstreams.a?.attempts.length ?? 0;
    const error = await retrying.chat.completions.create(unaryBody([]), { headers: { "x-switchyard-timeout": "300ms" } }).then(() => undefined, (thrown: unknown) => thrown);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(504);
    expect((upstreams.a?.attempts.length ?? 0) - before).toBe(1);
  });

  it("fails over at once when a Retry-After would outlast the caller's deadline", async () => {
    const { upstreams, openai } = await start();
    upstreams.a?.always(fault.rateLimited("1"));
    const started = Date.now();
    const data = await openai.chat.completions.create(unaryBody(), { headers: { "x-switchyard-timeout": "0.8s" } });
    expect(data.model).toBe("b/m");
    expect(Date.now() - started).toBeLessThan(700);
    expect(upstreams.a?.attempts).toHaveLength(1);
  });

  it("ends a stream with an in-band error at the deadline", async () => {
    const { upstreams, openai } = await start();
    upstreams.a?.always(fault.answer({ chunkDelayMs: 150 }));
    const error = await (async () => {
      for await (const chunk of await openai.chat.completions.create(streamBody([]), { headers: { "x-switchyard-timeout": "400" } })) void chunk;
    })().then(() => undefined, (thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(String((error as Error).message)).toMatch(/deadline/);
  });

  it("rejects a malformed timeout header with 400", async () => {
    const { openai } = await start();
    const error = await openai.chat.completions.create(unaryBody(), { headers: { "x-switchyard-timeout": "soon" } }).then(() => undefined, (thrown: unknown) => thrown);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
  });
});
