import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { fault } from "../support/fault-injector.js";
import { thrown } from "../support/thrown.js";
import { useResilienceGateway, userMessage } from "./resilience-harness.js";

// The OpenAI SDK retries 408, 409, 429 and 5xx answers twice on its own. After a routed failure
// the gateway has already retried and failed over as its policy says, so it tells the SDK not to
// repeat the whole run (x-should-retry: false), unless it forwards a Retry-After to wait out.

const rig = useResilienceGateway({ a: {}, b: {} });

/** The official SDK with its default retries (2), as callers use it. */
function defaultClient(): OpenAI {
  return new OpenAI({ baseURL: `${rig().origin}/v1`, apiKey: "unused", timeout: 10_000 });
}

describe("the SDK's own retries after a routed failure", () => {
  it("a provider failing with 503 is tried as the gateway's policy says, and no more through a default SDK client", async () => {
    for (const stream of [false, true]) {
      rig().upstreams.a?.reset();
      rig().upstreams.a?.always(fault.serverError(503));
      rig().upstreams.b?.reset();
      rig().upstreams.b?.always(fault.serverError(502));
      const error = (await thrown(() => defaultClient().chat.completions.create({ model: "a/m", fallbacks: ["b/m"], messages: userMessage(), stream } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming))) as InstanceType<typeof OpenAI.APIError>;
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect(error.status).toBe(503);
      expect(error.headers?.get("x-should-retry")).toBe("false");
      // Two retries on each target (FAST_ROUTING), once: not three runs of them.
      expect(rig().upstreams.a?.attempts).toHaveLength(3);
      expect(rig().upstreams.b?.attempts).toHaveLength(3);
    }
  });

  it("a silent provider (first-token timeout) is not asked again through the SDK", async () => {
    rig().upstreams.a?.always(fault.hang());
    const error = (await thrown(() => defaultClient().chat.completions.create({ model: "a/m", messages: userMessage(), stream: true }))) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(504);
    expect(error.headers?.get("x-should-retry")).toBe("false");
    expect(rig().upstreams.a?.attempts).toHaveLength(1);
  });

  it("a Retry-After of up to 60 s the gateway could not wait out is forwarded without x-should-retry, for the client to honour", async () => {
    rig().upstreams.a?.always(fault.rateLimited("5"));
    const error = (await thrown(() => rig().openai.chat.completions.create({ model: "a/m", messages: userMessage() }))) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(429);
    expect(error.headers?.get("retry-after")).toBe("5");
    expect(error.headers?.get("x-should-retry")).toBeNull();
    expect(rig().upstreams.a?.attempts).toHaveLength(1);
  });

  it("a longer Retry-After is passed on with x-should-retry: false (the Node SDK would sleep that long, without a bound)", async () => {
    rig().upstreams.a?.always(fault.rateLimited("3600"));
    const error = (await thrown(() => rig().openai.chat.completions.create({ model: "a/m", messages: userMessage() }))) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(429);
    expect(error.headers?.get("retry-after")).toBe("3600");
    expect(error.headers?.get("x-should-retry")).toBe("false");
  });

  it("a Retry-After the gateway already waited out is not the SDK's to wait again: one run of the route, not three", async () => {
    rig().upstreams.a?.always(fault.rateLimited("0"));
    const error = (await thrown(() => defaultClient().chat.completions.create({ model: "a/m", messages: userMessage() }))) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(429);
    expect(error.headers?.get("x-should-retry")).toBe("false");
    expect(rig().upstreams.a?.attempts).toHaveLength(3);
  });

  it("an error before any routing, and a caller's mistake, carry no x-should-retry (the SDK does not retry them anyway)", async () => {
    const unknown = (await thrown(() => rig().openai.chat.completions.create({ model: "nosuch/m", messages: userMessage() }))) as InstanceType<typeof OpenAI.APIError>;
    expect(unknown.status).toBe(404);
    expect(unknown.headers?.get("x-should-retry")).toBeNull();
    rig().upstreams.a?.always(fault.invalidRequest());
    const invalid = (await thrown(() => rig().openai.chat.completions.create({ model: "a/m", messages: userMessage() }))) as InstanceType<typeof OpenAI.APIError>;
    expect(invalid.status).toBe(400);
    expect(invalid.headers?.get("x-should-retry")).toBeNull();
  });
});
