import OpenAI from "openai";
import { afterEach, describe, expect, it } from "vitest";
import { fault } from "../support/fault-injector.js";
import { sleep, startResilienceGateway, userMessage, type ResilienceGateway } from "./resilience-harness.js";

const ROUTING = `routing:
  timeouts: { connect_ms: 1000, first_token_ms: 200, idle_ms: 200, total_ms: 1500 }
  retry: { max_retries: 2, base_delay_ms: 5, max_delay_ms: 20, budget_ms: 3000 }
  circuit_breaker: { failure_threshold: 2, cooldown_ms: 300 }`;

let gateway: ResilienceGateway | undefined;

afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

async function ask(openai: OpenAI, stream = false): Promise<{ model: string; skipped: string | null }> {
  const body = { model: "a/m", messages: userMessage(), fallbacks: ["b/m"], stream };
  const { data, response } = await openai.chat.completions.create(body as OpenAI.ChatCompletionCreateParams).withResponse();
  let model = "";
  if (stream) {
    for await (const chunk of data as AsyncIterable<OpenAI.ChatCompletionChunk>) model ||= chunk.model;
  } else {
    model = (data as OpenAI.ChatCompletion).model;
  }
  return { model: response.headers.get("x-switchyard-model") ?? model, skipped: response.headers.get("x-switchyard-skipped") };
}

describe("circuit breaker per target", () => {
  it("opens after consecutive failures, skips the dead target at once, and lets one probe through after the cool-down", async () => {
    gateway = await startResilienceGateway({ a: {}, b: {} }, ROUTING.replace("cooldown_ms: 300", "cooldown_ms: 1000"));
    const { upstreams, openai } = gateway;
    upstreams.a?.always(fault.serverError(503));

    const first = await ask(openai);
    expect(first.model).toBe("b/m");
    expect(upstreams.a?.attempts).toHaveLength(2);
    expect(first.skipped).toBe("a/m circuit_open");

    for (let index = 0; index < 5; index++) {
      const started = Date.now();
      const answer = await ask(openai, index % 2 === 1);
      expect(answer.model).toBe("b/m");
      // Served without any call to, or wait on, the dead target (its retries alone would take longer).
      expect(Date.now() - started).toBeLessThan(1000);
    }
    expect(upstreams.a?.attempts).toHaveLength(2);

    await sleep(1050);
    const probe = await ask(openai);
    expect(probe.model).toBe("b/m");
    expect(upstreams.a?.attempts).toHaveLength(3);
    expect((await ask(openai)).model).toBe("b/m");
    expect(upstreams.a?.attempts).toHaveLength(3);

    upstreams.a?.always(fault.answer());
    await sleep(1050);
    expect((await ask(openai)).model).toBe("a/m");
    expect((await ask(openai, true)).model).toBe("a/m");
    expect(upstreams.a?.attempts).toHaveLength(5);
  });

  it("during a flapping outage every request is served without waiting on the dead target, and traffic returns within seconds", async () => {
    gateway = await startResilienceGateway({ a: {}, b: {} }, ROUTING);
    const { upstreams, openai } = gateway;
    upstreams.a?.flap(800);
    const outageEnds = Date.now() + 800;
    const served: { at: number; model: string; ms: number }[] = [];
    const until = Date.now() + 2000;
    while (Date.now() < until) {
      const started = Date.now();
      const answer = await ask(openai, served.length % 2 === 0);
      served.push({ at: started, model: answer.model, ms: Date.now() - started });
      await sleep(20);
    }
    expect(served.every((entry) => entry.model === "a/m" || entry.model === "b/m")).toBe(true);
    const duringOutage = served.filter((entry) => entry.at < outageEnds);
    expect(duringOutage.every((entry) => entry.model === "b/m")).toBe(true);
    expect(duringOutage.slice(1).every((entry) => entry.ms < 1000)).toBe(true);
    // The dead target saw its two opening failures plus at most one probe per cool-down, not one call per request.
    const outageAttempts = (upstreams.a?.attempts ?? []).filter((attempt) => attempt.outcome !== "answer").length;
    expect(outageAttempts).toBeLessThanOrEqual(2 + Math.ceil(800 / 300) + 1);
    expect(duringOutage.length).toBeGreaterThan(outageAttempts);
    const recovered = served.find((entry) => entry.at > outageEnds && entry.model === "a/m");
    expect(recovered).toBeDefined();
    expect((recovered?.at ?? Number.POSITIVE_INFINITY) - outageEnds).toBeLessThan(1000);
    expect(served.at(-1)?.model).toBe("a/m");
  });

  it("answers 503 with Retry-After when every target's circuit is open", async () => {
    gateway = await startResilienceGateway({ a: {} }, ROUTING);
    const { upstreams, openai } = gateway;
    upstreams.a?.always(fault.serverError(503));
    await openai.chat.completions.create({ model: "a/m", messages: userMessage() }).catch(() => undefined);
    const error = await openai.chat.completions.create({ model: "a/m", messages: userMessage() }).then(() => undefined, (thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    const apiError = error as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(503);
    expect(apiError.message).toMatch(/circuit open/);
    expect(Number(apiError.headers?.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(upstreams.a?.attempts).toHaveLength(2);
  });
});
