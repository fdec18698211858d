import OpenAI from "openai";
import { afterEach, describe, expect, it } from "vitest";
import { fault } from "../support/fault-injector.js";
import { sleep, startResilienceGateway, userMessage, type ResilienceGateway } from "./resilience-harness.js";

const ROUTING = `routing:
  timeouts: { connect_ms: 1000, first_token_ms: 500, idle_ms: 500, total_ms: 5000 }
  retry: { max_retries: 0, base_delay_ms: 5, max_delay_ms: 20, budget_ms: 3000 }
  circuit_breaker: { failure_threshold: 1, cooldown_ms: 300 }`;

let gateway: ResilienceGateway | undefined;

afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

describe("a long stream as the half-open probe", () => {
  it("lets other requests reach the recovered target once the probe's first token arrived, not only when it ends", async () => {
    gateway = await startResilienceGateway({ a: { text: "one two three four five six seven eight nine ten" }, b: {} }, ROUTING);
    const { upstreams, openai } = gateway;
    upstreams.a?.script(fault.serverError(503));
    const opened = await openai.chat.completions.create({ model: "a/m", messages: userMessage(), fallbacks: ["b/m"] } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    expect(opened.model).toBe("b/m");
    await sleep(350);

    // The probe: a healthy stream of ten words, 150 ms apart (about 1.5 s).
    upstreams.a?.script(fault.answer({ chunkDelayMs: 150 }));
    let probeEnded = 0;
    const probe = (async () => {
      let text = "";
      for await (const chunk of await openai.chat.completions.create({ model: "a/m", messages: userMessage(), fallbacks: ["b/m"], stream: true } as OpenAI.ChatCompletionCreateParamsStreaming)) text += chunk.choices[0]?.delta.content ?? "";
      probeEnded = Date.now();
      return text;
    })();
    await sleep(400);
    const during = await openai.chat.completions.create({ model: "a/m", messages: userMessage(), fallbacks: ["b/m"] } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const answeredAt = Date.now();
    expect(during.model).toBe("a/m");
    expect(await probe).toBe("one two three four five six seven eight nine ten");
    expect(answeredAt).toBeLessThan(probeEnded);
  });
});
