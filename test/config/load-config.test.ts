import { describe, expect, it } from "vitest";
import { configRefusal } from "../support/config-refusal.js";
import { builtInConfig, parseConfigText } from "../../src/config/load-config.js";

const env = { SWITCHYARD_API_KEY: "k-123", OPENAI_API_KEY: "sk-upstream" };


describe("parseConfigText", () => {
  it("reads the documented shape with environment interpolation and defaults", () => {
    const config = parseConfigText(
      `server: { host: 127.0.0.1, port: 8080 }
keys:
  - { name: dev, key: "\${SWITCHYARD_API_KEY}" }
providers:
  openai-main: { type: openai, api_key: "\${OPENAI_API_KEY}", base_url: "https://api.openai.com/v1" }
  local-vllm:  { type: openai-compatible, base_url: "http://127.0.0.1:8000/v1/" }
`,
      "switchyard.yaml",
      env,
    );
    expect(config.server).toMatchObject({ host: "127.0.0.1", port: 8080, streamKeepAliveMs: 15_000 });
    expect(config.keys).toEqual([{ name: "dev", key: "k-123" }]);
    expect(config.providers["openai-main"]).toMatchObject({ type: "openai", apiKey: "sk-upstream", baseUrl: "https://api.openai.com/v1" });
    expect(config.providers["local-vllm"]?.baseUrl).toBe("http://127.0.0.1:8000/v1");
    expect(config.routing.retry.maxRetries).toBe(2);
    expect(config.logging).toEqual({ level: "info", maxSimilarPerSecond: 10 });
  });

  it("reads YAML merge keys, and ignores top-level x- keys that hold the anchors", () => {
    const config = parseConfigText(
      `x-compatible: &compatible
  type: openai-compatible
  api_key: "\${OPENAI_API_KEY}"
  timeouts: { connect_ms: 1500 }
x-unused: { port: "\${NOT_SET_ANYWHERE}", colour: blue }
providers:
  vllm-a: { <<: *compatible, base_url: "http://10.0.0.1:8000/v1" }
  vllm-b:
    <<: *compatible
    base_url: "http://10.0.0.2:8000/v1"
    timeouts: { connect_ms: 900 }
`,
      "merge.yaml",
      env,
    );
    expect(config.providers["vllm-a"]).toMatchObject({ type: "openai-compatible", apiKey: "sk-upstream", baseUrl: "http://10.0.0.1:8000/v1", timeouts: { connectMs: 1500 } });
    // A key written next to the merge wins over the merged one.
    expect(config.providers["vllm-b"]).toMatchObject({ type: "openai-compatible", apiKey: "sk-upstream", baseUrl: "http://10.0.0.2:8000/v1", timeouts: { connectMs: 900 } });
    // Only the top level's x- keys are set aside; elsewhere an unknown key is still an error.
    expect(configRefusal(`providers:\n  a: { type: openai, x-colour: blue }\n`)).toContain("providers.a.x-colour: is not a known key");
    expect(configRefusal(`x-a: &a [1, 2]\nx-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nx-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nx-d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n`)).toContain("not valid YAML");
  });

  it("reads logging.max_similar_per_second and refuses negative or fractional values", () => {
    expect(parseConfigText("logging: { level: warn, max_similar_per_second: 0 }", "l.yaml", {}).logging).toEqual({ level: "warn", maxSimilarPerSecond: 0 });
    expect(() => parseConfigText("logging: { max_similar_per_second: -1 }", "l.yaml", {})).toThrow(/logging.max_similar_per_second/);
    expect(() => parseConfigText("logging: { max_similar_per_second: 2.5 }", "l.yaml", {})).toThrow(/logging.max_similar_per_second/);
  });

  it("reads media.max_inflight_bytes (default 128 MiB, or max_total_bytes when larger) and refuses one below max_total_bytes", () => {
    expect(parseConfigText("", "m.yaml", {}).media).toMatchObject({ maxTotalBytes: 64 * 1024 * 1024, maxInflightBytes: 128 * 1024 * 1024 });
    expect(parseConfigText("media: { max_total_bytes: 201326592 }", "m.yaml", {}).media.maxInflightBytes).toBe(201326592);
    expect(parseConfigText("media: { max_inflight_bytes: 1000, max_total_bytes: 1000 }", "m.yaml", {}).media.maxInflightBytes).toBe(1000);
    expect(configRefusal("media: { max_inflight_bytes: 1000 }")).toContain("media.max_inflight_bytes: must be at least media.max_total_bytes (67108864)");
    expect(configRefusal("media: { max_inflight_bytes: 0 }")).toContain("media.max_inflight_bytes");
  });

  it("reads server.stream_keepalive_ms (0 turns it off) and refuses negative or fractional values", () => {
    expect(parseConfigText("server: { stream_keepalive_ms: 0 }", "s.yaml", {}).server.streamKeepAliveMs).toBe(0);
    expect(parseConfigText("server: { stream_keepalive_ms: 20000 }", "s.yaml", {}).server.streamKeepAliveMs).toBe(20_000);
    expect(() => parseConfigText("server: { stream_keepalive_ms: -1 }", "s.yaml", {})).toThrow(/server.stream_keepalive_ms/);
    expect(() => parseConfigText("server: { stream_keepalive_ms: 1.5 }", "s.yaml", {})).toThrow(/server.stream_keepalive_ms/);
  });

  it("names the file, the key path and the problem for unknown keys, wrong types and unset variables", () => {
    const message = configRefusal(`server: { host: 127.0.0.1, port: "eighty", colour: red }
keys:
  - { name: dev, key: "\${NOT_SET_ANYWHERE}" }
providers:
  bad/name: { type: openai }
  main: { type: nosuch }
  untyped: { api_key: k }
`);
    expect(message).toContain("/etc/sy.yaml");
    expect(message).toContain("server.port: must be a number");
    expect(message).toContain("server.colour: is not a known key");
    expect(message).toContain("keys[0].key: uses environment variable NOT_SET_ANYWHERE, which is not set");
    expect(message).toContain("providers.bad/name: is not a valid name");
    expect(message).toContain("providers.main.type: must be one of");
    expect(message).not.toContain("providers.main.type: is required");
    expect(message).toContain("providers.untyped.type: is required (one of openai, openai-compatible, anthropic, gemini)");
  });

  it("refuses at start-up what would otherwise fail every request: an openai-compatible account without base_url, a target param of the wrong type", () => {
    const message = configRefusal(`providers:
  vllm: { type: openai-compatible }
  oa: { type: openai, api_key: k }
models:
  lb: { targets: [{ model: oa/gpt-4o, params: { temperature: hot, max_tokens: 1.5, logprobs: "yes", user: 42, reasoning: { effort: low } } }] }
`);
    expect(message).toContain("providers.vllm.base_url: is required for type openai-compatible");
    expect(message).toContain('models.lb.targets[0].params.temperature: must be a number, got a string');
    expect(message).toContain("models.lb.targets[0].params.max_tokens: must be an integer, got 1.5");
    expect(message).toContain('models.lb.targets[0].params.logprobs: must be true or false, got a string');
    expect(message).not.toContain("params.user");
    expect(() => parseConfigText('providers:\n  oa: { type: openai, api_key: "${EMPTY_KEY}" }\n', "e.yaml", { EMPTY_KEY: "" })).toThrow("uses environment variable EMPTY_KEY, which is empty");
  });

  it("refuses target params a request would be refused for: top_logprobs without logprobs, an empty stop", () => {
    const message = configRefusal(`providers:
  oa: { type: openai, api_key: k }
models:
  a: { targets: [{ model: oa/gpt-4o, params: { top_logprobs: 3, stop: "" } }] }
  b: { targets: [{ model: oa/gpt-4o, params: { top_logprobs: 3, logprobs: false } }] }
  c: { targets: [{ model: oa/gpt-4o, params: { top_logprobs: 3, logprobs: true, stop: "END" } }] }
`);
    expect(message).toContain("models.a.targets[0].params.top_logprobs: needs logprobs: true in the same params");
    expect(message).toContain("models.a.targets[0].params.stop: must be a non-empty text");
    expect(message).toContain("models.b.targets[0].params.top_logprobs: needs logprobs: true in the same params");
    expect(message).not.toContain("models.c.");
  });

  it("reads keys every JavaScript object inherits as the keys they are", () => {
    const message = configRefusal(`server: { port: 8080, constructor: 1, hasOwnProperty: 1 }
toString: 1
__proto__: { x: 1 }
routing: { retry: { valueOf: 5 } }
providers:
  oa: { type: openai, api_key: k, headers: { __proto__: abc, x-ok: "1" } }
models:
  smart: { targets: [oa/a, constructor/gpt-4o] }
  lb: { targets: [{ model: oa/a, params: { __proto__: 5, top_k: 3 } }] }
`);
    for (const key of ["server.constructor", "server.hasOwnProperty", "toString", "__proto__", "routing.retry.valueOf"]) expect(message).toContain(`${key}: is not a known key`);
    expect(message).toContain("providers.oa.headers.__proto__: is not a valid name");
    expect(message).toContain('models.smart.targets[1].model: must be "<provider account>/<model>" naming a configured account');
    expect(message).toContain("models.lb.targets[0].params.__proto__: is not a valid name");
    // A native param named so is a native param like any other.
    const config = parseConfigText("providers:\n  oa: { type: openai, api_key: k }\nmodels:\n  lb: { targets: [{ model: oa/a, params: { toString: abc } }] }\n", "ok.yaml", {});
    expect(config.models.lb?.targets[0]?.params).toEqual({ toString: "abc" });
  });

  it("rejects YAML that does not parse, naming the file", () => {
    expect(() => parseConfigText("server: [", "x.yaml", {})).toThrow(/invalid config x.yaml: not valid YAML/);
  });
});

describe("builtInConfig", () => {
  it("registers accounts for provider keys found in the environment and says so without secrets", () => {
    const loaded = builtInConfig(env);
    expect(Object.keys(loaded.config.providers)).toEqual(["openai"]);
    expect(loaded.config.keys).toHaveLength(1);
    expect(loaded.config.server.host).toBe("127.0.0.1");
    expect(loaded.notes.join("\n")).toContain("OPENAI_API_KEY found");
    expect(loaded.notes.join("\n")).not.toContain("sk-upstream");
  });
});

describe("switchyard.example.yaml", () => {
  it("is a valid config", async () => {
    const { readFileSync } = await import("node:fs");
    const config = parseConfigText(readFileSync("switchyard.example.yaml", "utf8"), "switchyard.example.yaml", {
      SWITCHYARD_API_KEY: "a", OPENAI_API_KEY: "b", ANTHROPIC_API_KEY: "c", GEMINI_API_KEY: "d",
    });
    expect(Object.keys(config.providers)).toEqual(["openai-main", "local-vllm", "anthropic-main", "internal-google"]);
    expect(config.models.cheap?.targets.map((target) => target.weight)).toEqual([3, 1]);
  });
});
