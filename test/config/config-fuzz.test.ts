import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { buildApp } from "../../src/app.js";
import { ConfigError, parseConfigText } from "../../src/config/load-config.js";
import { fuzzCases, fuzzRandom, mutateJson } from "../support/fuzzing.js";

/*
 * Seeded mutation fuzzing of the config loader: the README's full example (server, keys, accounts
 * with catalogue models, routing, virtual models of every strategy) with fields deleted, replaced
 * by values of the wrong type or shape, or nested oddly. A config the gateway cannot use must be
 * refused with a ConfigError that names where it is wrong, never with a TypeError from deep inside.
 */

const EXAMPLE = {
  server: { host: "127.0.0.1", port: 8080, workers: 2, body_limit_bytes: 1048576, stream_keepalive_ms: 15000 },
  keys: [{ name: "dev", key: "sy-0123456789abcdef0123" }],
  logging: { level: "info", max_similar_per_second: 10 },
  routing: {
    timeouts: { connect_ms: 5000, first_token_ms: 10000, idle_ms: 30000, total_ms: 600000 },
    retry: { max_retries: 2, base_delay_ms: 250, max_delay_ms: 4000, budget_ms: 20000 },
    circuit_breaker: { failure_threshold: 5, cooldown_ms: 5000 },
  },
  providers: {
    anthropic: { type: "anthropic", api_key: "sk-ant-test", models: [{ name: "claude-sonnet-4-5", context_window: 200000, supports: { prefill: true } }] },
    "openai-main": { type: "openai", api_key: "sk-test", retry: { max_retries: 1 }, models: [{ name: "o3", supports: { prefill: false }, timeouts: { first_token_ms: 60000 } }, "gpt-4o-mini"] },
    "local-vllm": { type: "openai-compatible", base_url: "http://127.0.0.1:8000/v1", headers: { "x-team": "a" } },
    gem: { type: "gemini", api_key: "g-test" },
  },
  models: {
    smart: { strategy: "fallback", targets: ["anthropic/claude-sonnet-4-5", "openai-main/gpt-4o-mini"] },
    cheap: { strategy: "loadbalance", targets: [{ model: "openai-main/gpt-4o-mini", weight: 3, params: { temperature: 0.2 } }, { model: "anthropic/claude-sonnet-4-5", weight: 1, timeouts: { first_token_ms: 5000 } }] },
    fast: { strategy: "latency", targets: ["openai-main/gpt-4o-mini", "anthropic/claude-sonnet-4-5"] },
  },
};

const WEIRD: unknown[] = [null, true, 0, -1, 1e308, 3.7, "", "x", "${MISSING_VAR}", "${HOME:-/tmp}", [], {}, [null], { a: 1 }, "anthropic/claude-sonnet-4-5", "nosuch/model", "fallback", "openai"];

describe("the config loader under mutation fuzzing (seeded)", () => {
  it("takes the example as written, refuses every mangled copy it cannot use with a ConfigError, and builds a gateway from every copy it takes", async () => {
    expect(() => parseConfigText(stringify(EXAMPLE), "example.yaml", {})).not.toThrow();
    const random = fuzzRandom(31);
    const seen = { accepted: 0, refused: 0 };
    for (let index = 0; index < fuzzCases(800); index++) {
      const mangled = mutateJson(structuredClone(EXAMPLE), random, WEIRD, { remove: 0.05, replace: 0.05, descend: 0.8 });
      const text = stringify(mangled);
      try {
        const config = parseConfigText(text, "fuzz.yaml", {});
        seen.accepted++;
        // What the loader takes, the gateway must be able to run.
        const { app } = await buildApp({ config: { ...config, logging: { ...config.logging, level: "silent" } } });
        await app.ready();
        await app.close();
      } catch (thrown) {
        expect(thrown, `case ${index}: ${String(thrown)}\n${text}`).toBeInstanceOf(ConfigError);
        expect((thrown as ConfigError).message, `case ${index}`).toMatch(/^invalid config fuzz\.yaml/);
        seen.refused++;
      }
    }
    expect(seen.accepted).toBeGreaterThan(15);
    expect(seen.refused).toBeGreaterThan(200);
  }, 60_000);
});
