import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";

const CONFIG = `
server: { host: 127.0.0.1, port: 8080 }
providers:
  openai-main: { type: openai, api_key: "sk-test", base_url: "https://api.openai.com/v1" }
logging: { level: silent }
`;

describe("Fastify's schema compilers", () => {
  it("are replaced: a route that declares a JSON schema fails at start-up instead of loading Ajv", async () => {
    const { app } = await buildApp({ config: parseConfigText(CONFIG, "test.yaml", {}) });
    app.get("/with-schema", { schema: { querystring: { type: "object", properties: { q: { type: "string" } } } } }, async () => ({ ok: true }));
    await expect(app.ready()).rejects.toThrow(/declare no JSON schemas/);
  });

  it("are not needed by the gateway's own routes, including Fastify's 404 and its body errors", async () => {
    const { app } = await buildApp({ config: parseConfigText(CONFIG, "test.yaml", {}) });
    await app.ready();
    expect((await app.inject({ method: "GET", url: "/healthz" })).json()).toEqual({ status: "ok" });
    const missing = await app.inject({ method: "GET", url: "/nowhere" });
    expect(missing.statusCode).toBe(404);
    const badJson = await app.inject({ method: "POST", url: "/v1/chat/completions", headers: { "content-type": "application/json" }, payload: "{not json" });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json()).toMatchObject({ error: { type: "invalid_request_error" } });
    await app.close();
  });
});
