import OpenAI from "openai";
import { afterEach, describe, expect, it } from "vitest";
import { fault } from "../support/fault-injector.js";
import { collectSdkStream, startResilienceGateway, userMessage, type ResilienceGateway } from "./resilience-harness.js";

// Target a/m is shared by two virtual models; `tight` gives it a first-token bound of its own, far
// below the account's 1000 ms. Two failures open a circuit, for a minute.
const CONFIG = `routing:
  timeouts: { connect_ms: 1000, first_token_ms: 1000, idle_ms: 1000, total_ms: 3000 }
  retry: { max_retries: 0, base_delay_ms: 5, max_delay_ms: 20, budget_ms: 1000 }
  circuit_breaker: { failure_threshold: 2, cooldown_ms: 60000 }
models:
  tight: { strategy: fallback, targets: [{ model: a/m, timeouts: { first_token_ms: 100 } }, b/m] }
  loose: { strategy: fallback, targets: [a/m, c/m] }`;

let gateway: ResilienceGateway | undefined;

afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

async function stream(openai: OpenAI, model: string): Promise<{ text: string; skipped: string | null }> {
  const { data, response } = await openai.chat.completions.create({ model, messages: userMessage(), stream: true }).withResponse();
  return { text: (await collectSdkStream(data)).text, skipped: response.headers.get("x-switchyard-skipped") };
}

describe("a virtual-model target's own timeout, tighter than the account's", () => {
  it("fails over without opening the circuit the target shares with other routes", async () => {
    gateway = await startResilienceGateway({ a: { text: "Answer from a." }, b: { text: "Answer from b." }, c: { text: "Answer from c." } }, CONFIG);
    const { upstreams, openai } = gateway;
    upstreams.a?.always(fault.answer({ delayFirstTokenMs: 400 }));
    for (let request = 0; request < 4; request++) expect((await stream(openai, "tight")).text).toBe("Answer from b.");
    expect(upstreams.a?.attempts).toHaveLength(4);

    const loose = await stream(openai, "loose");
    expect(loose.text).toBe("Answer from a.");
    expect(loose.skipped).toBeNull();
    expect((await stream(openai, "a/m")).text).toBe("Answer from a.");
  });

  it("a timeout at the account's own bound still counts against the circuit", async () => {
    gateway = await startResilienceGateway({ a: {}, b: { text: "Answer from b." }, c: { text: "Answer from c." } }, CONFIG);
    const { upstreams, openai } = gateway;
    upstreams.a?.always(fault.hang());
    for (let request = 0; request < 2; request++) expect((await stream(openai, "loose")).text).toBe("Answer from c.");
    const skipped = await stream(openai, "loose");
    expect(skipped.text).toBe("Answer from c.");
    expect(skipped.skipped).toBe("a/m circuit_open");
    expect(upstreams.a?.attempts).toHaveLength(2);
  });
});
