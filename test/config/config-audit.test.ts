import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configRefusal } from "../support/config-refusal.js";
import { builtInConfig, ConfigError, loadConfig, parseConfigText } from "../../src/config/load-config.js";


describe("${VAR} substitution into number and boolean keys", () => {
  it("reads substituted text as the number or boolean the key takes, in block and quoted flow style", () => {
    const config = parseConfigText(
      `server:
  port: \${PORT:-8080}
  workers: \${WORKERS}
  shutdown_grace_ms: "\${GRACE}"
routing:
  retry: { max_retries: "\${RETRIES:-1}", budget_ms: "\${BUDGET}" }
  timeouts: { first_token_ms: "\${FIRST_TOKEN_MS}" }
media: { allow_private_network: "\${ALLOW_PRIVATE:-false}" }
providers:
  up: { type: openai, api_key: "\${KEY}" }
`,
      "sy.yaml",
      { WORKERS: "4", GRACE: "2500", BUDGET: "5000", FIRST_TOKEN_MS: " 60000 ", ALLOW_PRIVATE: "", KEY: "12345" },
    );
    expect(config.server).toMatchObject({ port: 8080, workers: 4, shutdownGraceMs: 2500 });
    expect(config.routing.retry).toMatchObject({ maxRetries: 1, budgetMs: 5000 });
    expect(config.routing.timeouts.firstTokenMs).toBe(60_000);
    expect(config.media.allowPrivateNetwork).toBe(false);
    // A string key keeps the text, even when it looks like a number.
    expect(config.providers.up?.apiKey).toBe("12345");
  });

  it("still checks the substituted value's range and kind, naming the key and the variable", () => {
    expect(configRefusal('server: { port: "${PORT}" }', { PORT: "http" })).toContain('server.port: must be a number, got a string (from ${PORT})');
    expect(configRefusal('server: { port: "${PORT}" }', { PORT: "70000" })).toContain("server.port: must be at most 65535, got 70000");
    expect(configRefusal('routing: { retry: { max_retries: "${R}" } }', { R: "1.5" })).toContain("routing.retry.max_retries: must be a whole number, got 1.5");
    expect(configRefusal('media: { allow_private_network: "${A}" }', { A: "yes" })).toContain('media.allow_private_network: must be true or false, got a string (from ${A})');
  });

  it("does not turn text written in the file into a number: types stay strict", () => {
    expect(configRefusal('server: { port: "8080" }')).toContain('server.port: must be a number, got a string');
    expect(configRefusal('media: { allow_private_network: "true" }')).toContain("media.allow_private_network: must be true or false");
  });
});

describe("the built-in default's SWITCHYARD_PORT / PORT", () => {
  it("takes SWITCHYARD_PORT, else PORT, else 8080; an empty variable counts as unset (not port 0, a random port)", () => {
    expect(builtInConfig({ SWITCHYARD_PORT: "9001", PORT: "9002" }).config.server.port).toBe(9001);
    expect(builtInConfig({ PORT: "9002" }).config.server.port).toBe(9002);
    expect(builtInConfig({ SWITCHYARD_PORT: "" }).config.server.port).toBe(8080);
    expect(builtInConfig({ SWITCHYARD_HOST: "", SWITCHYARD_PORT: "0" }).config.server).toMatchObject({ host: "127.0.0.1", port: 0 });
  });

  it("refuses a value that is not a port, naming the variable", () => {
    expect(() => builtInConfig({ SWITCHYARD_PORT: "80a" })).toThrow('server.port: must be a number, got a string (from ${SWITCHYARD_PORT})');
    expect(() => builtInConfig({ PORT: "99999" })).toThrow("server.port: must be at most 65535, got 99999");
  });
});

describe("virtual target params", () => {
  const config = (params: string) => `providers: { a: { type: openai, api_key: k } }\nmodels: { v: { targets: [{ model: a/m, params: { ${params} } }] } }`;

  it("refuses a misspelt sampling name at start-up instead of sending it to the provider as a native field on every request", () => {
    const message = configRefusal(config("temprature: 0.2, maxTokens: 50, Top_P: 0.5"));
    expect(message).toContain("models.v.targets[0].params.temprature: is not a parameter name: did you mean temperature?");
    expect(message).toContain("models.v.targets[0].params.maxTokens: is not a parameter name: did you mean max_tokens?");
    expect(message).toContain("models.v.targets[0].params.Top_P: is not a parameter name: did you mean top_p?");
  });

  it("refuses at start-up what a caller's request is refused for: a sampling value out of its range, NaN or infinity", () => {
    const message = configRefusal(config("max_tokens: -5, n: 0, temperature: -3, top_logprobs: -1, top_p: .inf, top_k: .nan"));
    expect(message).toContain("models.v.targets[0].params.max_tokens: must be an integer from 1 to 2147483647, got -5");
    expect(message).toContain("models.v.targets[0].params.n: must be an integer from 1 to 128, got 0");
    expect(message).toContain("models.v.targets[0].params.temperature: must be a number from 0 to 2, got -3");
    expect(message).toContain("models.v.targets[0].params.top_logprobs: must be an integer from 0 to 20, got -1");
    expect(message).toContain("models.v.targets[0].params.top_p: must be a finite number, got Infinity");
    expect(message).toContain("models.v.targets[0].params.top_k: must be a finite number, got NaN");
  });

  it("refuses the request fields the gateway sets itself (they were dropped on OpenAI, a 400 blamed on the caller on Anthropic)", () => {
    const message = configRefusal(config("model: other-model, stream: true, Messages: x, stream_options: x"));
    for (const key of ["model", "stream", "Messages", "stream_options"]) {
      expect(message).toContain(`models.v.targets[0].params.${key}: is set by the gateway for each request and cannot be a target param`);
    }
  });

  it("reads substituted text as the number or boolean it spells, as weight does, except under user and stop", () => {
    const taken = parseConfigText(config('temperature: "${T:-0.3}", top_k: "${TK:-5}", logprobs: "${LP}", user: "${U}", service_tier: "${TIER}"'), "v.yaml", { LP: "true", U: "12345", TIER: "flex" });
    expect(taken.models.v?.targets[0]?.params).toEqual({ temperature: 0.3, top_k: 5, logprobs: true, user: "12345", service_tier: "flex" });
    expect(configRefusal(config('temperature: "${T}"'), { T: "3" })).toContain("models.v.targets[0].params.temperature: must be a number from 0 to 2, got 3");
  });

  it("keeps sampling names and native provider fields, short ones included (top_k)", () => {
    const taken = parseConfigText(config("temperature: 0.2, max_tokens: 50, top_k: 5, service_tier: flex, store: false"), "v.yaml", {});
    expect(taken.models.v?.targets[0]?.params).toEqual({ temperature: 0.2, max_tokens: 50, top_k: 5, service_tier: "flex", store: false });
  });
});

describe("provider model catalogues", () => {
  it("refuses a model listed twice (routing would read the first entry, GET /v1/models would list both)", () => {
    const message = configRefusal("providers:\n  oa: { type: openai, models: [gpt-a, { name: gpt-a, context_window: 10 }, gpt-b, gpt-a] }\n");
    expect(message).toContain("providers.oa.models[1]: repeats the name of providers.oa.models[0]");
    expect(message).toContain("providers.oa.models[3]: repeats the name of providers.oa.models[0]");
    expect(message).not.toContain("models[2]");
  });

  it("takes names that differ only in case (upstream model names are case-sensitive) and the same name in two accounts", () => {
    const config = parseConfigText("providers:\n  a: { type: openai, models: [gpt-a, GPT-A] }\n  b: { type: openai, models: [gpt-a] }\n", "m.yaml", {});
    expect(config.providers.a?.models.map((model) => model.name)).toEqual(["gpt-a", "GPT-A"]);
  });
});

describe("loadConfig", () => {
  it("reads ./switchyard.yaml when SWITCHYARD_CONFIG is set but empty (an empty variable counts as unset)", () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-config-"));
    writeFileSync(join(dir, "switchyard.yaml"), "keys: [{ name: a, key: k1 }]\n");
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const loaded = loadConfig([], { SWITCHYARD_CONFIG: "" });
      expect(loaded.file).toBe("switchyard.yaml");
      expect(loaded.config.keys).toEqual([{ name: "a", key: "k1" }]);
    } finally {
      process.chdir(cwd);
    }
    // An empty flag is a mistake on the command line, not a request for the default.
    expect(() => loadConfig(["--config="], {})).toThrow("--config needs a file name");
  });

  it("refuses a config path it cannot read (a directory) with a ConfigError naming it, not a crash", () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-config-"));
    expect(() => loadConfig(["--config", dir], {})).toThrow(ConfigError);
    expect(() => loadConfig([], { SWITCHYARD_CONFIG: dir })).toThrow(`config file ${dir} cannot be read: EISDIR`);
  });
});
