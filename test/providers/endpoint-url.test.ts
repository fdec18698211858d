import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";
import { endpointUrl } from "../../src/providers/upstream-http.js";
import { jsonAnswer, startFakeUpstream } from "../support/fake-upstream.js";

describe("endpoints under a base_url", () => {
  it.each([
    ["https://api.openai.com/v1", "/chat/completions", "", "https://api.openai.com/v1/chat/completions"],
    ["https://x.test/v1/", "/chat/completions", "", "https://x.test/v1/chat/completions"],
    ["https://r.openai.azure.com/openai/deployments/gpt4o?api-version=2024-10-21", "/chat/completions", "", "https://r.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21"],
    ["https://g.test/?key=abc", "/v1beta/models/m:streamGenerateContent", "alt=sse", "https://g.test/v1beta/models/m:streamGenerateContent?key=abc&alt=sse"],
    ["https://g.test", "/v1beta/models/m:streamGenerateContent", "alt=sse", "https://g.test/v1beta/models/m:streamGenerateContent?alt=sse"],
  ])("%s + %s", (base, path, query, expected) => {
    expect(endpointUrl(base, path, query)).toBe(expected);
  });

  it("keeps a base_url's query parameters after the endpoint path, on every provider type", async () => {
    const upstream = await startFakeUpstream();
    const origin = upstream.baseUrl.replace(/\/v1$/, "");
    const yaml = `server: { host: 127.0.0.1, port: 0 }
providers:
  az: { type: openai-compatible, api_key: k, base_url: "${origin}/openai/deployments/d?api-version=2024-10-21" }
  an: { type: anthropic, api_key: k, base_url: "${origin}/anthropic?tenant=t1" }
  ge: { type: gemini, api_key: k, base_url: "${origin}/gem?x=1" }
routing: { retry: { max_retries: 0 } }
logging: { level: silent }
`;
    const built = await buildApp({ config: parseConfigText(yaml, "endpoints.yaml", {}) });
    await built.app.listen({ host: "127.0.0.1", port: 0 });
    const gateway = `http://127.0.0.1:${(built.app.server.address() as AddressInfo).port}`;
    try {
      upstream.setDefault(jsonAnswer({ error: { message: "scripted", type: "invalid_request_error" } }, { status: 400 }));
      for (const model of ["az/m", "an/m", "ge/m"]) {
        await fetch(`${gateway}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }) });
      }
      expect(upstream.requests.map((request) => request.url)).toEqual([
        "/openai/deployments/d/chat/completions?api-version=2024-10-21",
        "/anthropic/v1/messages?tenant=t1",
        "/gem/v1beta/models/m:generateContent?x=1",
      ]);
    } finally {
      await built.app.close();
      await upstream.close();
    }
  });
});
