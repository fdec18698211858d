/**
 * The gateway's own connection pool at its limit: a request that waited its connect bound for a
 * free pooled connection, all busy serving others, never reached the provider. It is the gateway's
 * saturation (503 GATEWAY_OVERLOADED, Retry-After 1 s), not a connect timeout, and it does not
 * count against the target's circuit.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { ChatInputSchema, Role } from "../../gen/switchyard/v1/chat_pb.js";
import { createAdapters } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";
import { GatewayError, Reason } from "../../src/core/errors.js";
import { Gateway } from "../../src/core/gateway.js";
import { ModelCatalog } from "../../src/core/model-catalog.js";
import type { CircuitState } from "../../src/core/routing/circuit-breaker.js";
import { sharedLookup } from "../../src/net/shared-lookup.js";
import { PoolBusyError } from "../../src/net/undici-exchange.js";
import { createUndiciTransport } from "../../src/providers/upstream-http.js";

/** How long the upstream takes to answer: well past the connect bound. */
const ANSWER_MS = 600;
const CONNECT_MS = 200;

let upstream: http.Server;
let base = "";

beforeAll(async () => {
  upstream = http.createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      setTimeout(() => {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ id: "c", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
      }, ANSWER_MS);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});

afterAll(async () => {
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

describe("the transport with every pooled connection of an origin busy", () => {
  it("fails a request still waiting for one at its connect bound with a PoolBusyError, not a connect timeout", async () => {
    const transport = createUndiciTransport(sharedLookup(), { connectionsPerOrigin: 2 });
    const send = () => transport({ url: `${base}/v1/chat/completions`, method: "POST", headers: {}, body: "{}", signal: new AbortController().signal, connectTimeoutMs: CONNECT_MS });
    const outcomes = await Promise.allSettled([send(), send(), send()]);
    const refused = outcomes.filter((outcome) => outcome.status === "rejected");
    expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(2);
    expect(refused).toHaveLength(1);
    const reason = (refused[0] as PromiseRejectedResult).reason;
    expect(reason).toBeInstanceOf(PoolBusyError);
    expect(reason).toMatchObject({ connections: 2 });
    for (const outcome of outcomes) if (outcome.status === "fulfilled") await outcome.value.body[Symbol.asyncIterator]().next();
  });
});

describe("a gateway whose pool to a healthy target is full", () => {
  it("answers the requests that found no free connection with 503 GATEWAY_OVERLOADED and keeps the target's circuit closed", async () => {
    const config = parseConfigText(
      `providers:
  up: { type: openai-compatible, base_url: "${base}/v1" }
routing:
  timeouts: { connect_ms: ${CONNECT_MS}, first_token_ms: 5000, idle_ms: 5000, total_ms: 5000 }
  retry: { max_retries: 0, base_delay_ms: 5, max_delay_ms: 20, budget_ms: 1000 }
  circuit_breaker: { failure_threshold: 1, cooldown_ms: 60000 }
logging: { level: silent }
`,
      "pool.yaml",
      {},
    );
    const changes: string[] = [];
    const transport = createUndiciTransport(sharedLookup(), { connectionsPerOrigin: 2 });
    const gateway = new Gateway(new ModelCatalog(config, createAdapters(config, transport)), { onCircuitChange: (target: string, state: CircuitState) => changes.push(`${target} ${state}`) });
    const ask = () => gateway.chat(create(ChatInputSchema, { model: "up/m", messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "hi" } }] }] }), { signal: new AbortController().signal });
    const outcomes = await Promise.allSettled([ask(), ask(), ask()]);
    expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(2);
    const refused = outcomes.find((outcome) => outcome.status === "rejected")?.reason as GatewayError;
    expect(refused).toBeInstanceOf(GatewayError);
    expect(refused.reason).toBe(Reason.GATEWAY_OVERLOADED);
    expect(refused.facts.retryAfterMs).toBe(1000);
    // The gateway did not wait it out: the caller may (REST: no x-should-retry: false, so the SDKs retry after it).
    expect(refused.retryAfterHonoured).toBe(false);
    expect(refused.rawMessage).toContain("connections to provider \"up\" were all busy (2");
    expect(refused.rawMessage).not.toMatch(/could not connect/);
    // A failure threshold of one: a failure counted against the target would have opened it.
    expect(changes).toEqual([]);
    expect((await ask()).model).toBe("up/m");
  });
});
