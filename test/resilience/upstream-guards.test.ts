import { describe, expect, it } from "vitest";
import type { GatewayError } from "../../src/core/errors.js";
import { sendUpstream } from "../../src/providers/upstream-attempt.js";
import type { UpstreamTransport } from "../../src/providers/upstream-http.js";

const timeouts = { connectMs: 100, firstTokenMs: 100, idleMs: 60, totalMs: 5000 };
const request = { url: "http://upstream.invalid/v1/chat/completions", method: "POST" as const, headers: {} };

/** A transport whose body yields `chunks` after the given delays, and fails with AbortError when aborted. */
function transport(steps: [number, string][]): UpstreamTransport {
  return async ({ signal }) => ({
    status: 200,
    header: () => undefined,
    body: (async function* () {
      for (const [delay, text] of steps) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, delay);
          signal.addEventListener("abort", () => { clearTimeout(timer); reject(Object.assign(new Error("aborted"), { name: "AbortError" })); }, { once: true });
        });
        yield new TextEncoder().encode(text);
      }
    })(),
  });
}

async function read(body: AsyncIterable<Uint8Array>, holdMs = 0): Promise<{ text: string; error?: GatewayError }> {
  let text = "";
  try {
    for await (const chunk of body) {
      text += new TextDecoder().decode(chunk);
      if (holdMs) await new Promise((resolve) => setTimeout(resolve, holdMs));
    }
    return { text };
  } catch (error) {
    return { text, error: error as GatewayError };
  }
}

const context = { provider: "p", timeouts, signal: new AbortController().signal, streaming: true };

describe("sendUpstream stream bounds", () => {
  it("detects a stall between body chunks", async () => {
    const response = await sendUpstream(transport([[0, "a"], [10, "b"], [400, "c"]]), request, context);
    const result = await read(response.body);
    expect(result.text).toBe("ab");
    expect(result.error?.reason).toBe("UPSTREAM_TIMEOUT");
    expect(result.error?.facts.afterFirstByte).toBe(true);
  });

  it("fails a stream whose first byte does not come in time", async () => {
    const response = await sendUpstream(transport([[300, "a"]]), request, context);
    const result = await read(response.body);
    expect(result.error?.reason).toBe("UPSTREAM_TIMEOUT");
    expect(result.error?.facts.afterFirstByte).toBe(false);
  });

  it("names the bound that ended the wait: idle_ms for a stall, first_token_ms after a role chunk, and no byte at all", async () => {
    const patient = { ...context, timeouts: { ...timeouts, idleMs: 200 } };
    const stall = await read((await sendUpstream(transport([[0, "a"], [150, "b"], [2000, "c"]]), request, patient)).body);
    expect(stall.text).toBe("ab");
    expect(stall.error?.message).toContain("stalled for 200 ms");
    const slowFirstToken = { ...context, timeouts: { ...timeouts, firstTokenMs: 300 } };
    const roleOnly = await read((await sendUpstream(transport([[0, "role chunk"], [2000, "c"]]), request, slowFirstToken)).body);
    expect(roleOnly.error?.message).toContain("sent no token within 300 ms");
    const silent = await read((await sendUpstream(transport([[2000, "a"]]), request, slowFirstToken)).body);
    expect(silent.error?.message).toContain("sent nothing within 300 ms");
  });

  it("does not count the time a slow consumer holds a chunk as upstream silence", async () => {
    const response = await sendUpstream(transport([[0, "a"], [5, "b"], [5, "c"]]), request, context);
    const result = await read(response.body, 150);
    expect(result.error).toBeUndefined();
    expect(result.text).toBe("abc");
  });

  it("maps a connect timeout to UPSTREAM_TIMEOUT (fail over), not PROVIDER_UNREACHABLE (retry)", async () => {
    const failing: UpstreamTransport = async () => { throw Object.assign(new Error("Connect Timeout Error"), { code: "UND_ERR_CONNECT_TIMEOUT" }); };
    const error = await sendUpstream(failing, request, context).then(() => undefined, (thrown: unknown) => thrown as GatewayError);
    expect(error?.reason).toBe("UPSTREAM_TIMEOUT");
    expect(error?.facts.afterFirstByte).toBe(false);
  });

  it("maps a refused connection to PROVIDER_UNREACHABLE before any byte", async () => {
    const failing: UpstreamTransport = async () => { throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }); };
    const error = await sendUpstream(failing, request, context).then(() => undefined, (thrown: unknown) => thrown as GatewayError);
    expect(error?.reason).toBe("PROVIDER_UNREACHABLE");
    expect(error?.facts.afterFirstByte).toBe(false);
  });
});
