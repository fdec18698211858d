import OpenAI from "openai";
import { afterEach, describe, expect, it } from "vitest";
import { fault } from "../support/fault-injector.js";
import { startResilienceGateway, userMessage, type ResilienceGateway } from "./resilience-harness.js";

/** A 300 ms retry budget, and a primary whose every attempt takes 400 ms (its total timeout). */
const ROUTING = `routing:
  timeouts: { connect_ms: 1000, first_token_ms: 1000, idle_ms: 1000, total_ms: 1500 }
  retry: { max_retries: 2, base_delay_ms: 10, max_delay_ms: 40, budget_ms: 300 }
  circuit_breaker: { failure_threshold: 100, cooldown_ms: 300 }`;

let gateway: ResilienceGateway | undefined;

afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

describe("retry.budget_ms bounds the waiting between attempts, not the attempts", () => {
  it.each([false, true])("a slow primary failure does not use up the fallback's retries (stream: %s)", async (stream) => {
    gateway = await startResilienceGateway({ a: { text: "Answer from a.", extra: ["timeouts: { total_ms: 400 }"] }, b: { text: "Answer from b." } }, ROUTING);
    const { upstreams, openai } = gateway;
    upstreams.a?.always(fault.hang());
    upstreams.b?.script(fault.serverError(503));
    const body = { model: "a/m", messages: userMessage(), fallbacks: ["b/m"] };
    let text = "";
    if (stream) {
      for await (const chunk of await openai.chat.completions.create({ ...body, stream: true } as OpenAI.ChatCompletionCreateParamsStreaming)) text += chunk.choices[0]?.delta.content ?? "";
    } else {
      text = (await openai.chat.completions.create(body as OpenAI.ChatCompletionCreateParamsNonStreaming)).choices[0]?.message.content ?? "";
    }
    expect(text).toBe("Answer from b.");
    expect(upstreams.a?.attempts).toHaveLength(1);
    expect(upstreams.b?.attempts).toHaveLength(2);
  });
});
