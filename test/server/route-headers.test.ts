import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { validateHeaderValue } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { ImageDetail, Role, ToolChoiceMode } from "../../gen/switchyard/v1/chat_pb.js";
import { ChatRequestSchema, ChatService } from "../../gen/switchyard/v1/chat_service_pb.js";
import { buildApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";
import { ModelCatalog } from "../../src/core/model-catalog.js";
import { MAX_LIST_HEADER_CHARS, routeHeaders } from "../../src/server/route-headers.js";
import { jsonAnswer, startFakeUpstream } from "../support/fake-upstream.js";
import { FUZZ_CONFIG, wellBehavedUpstream } from "../support/fuzzing.js";
import { thrown } from "../support/thrown.js";

describe("route headers for names outside printable ASCII", () => {
  it("percent-encodes model and target names as UTF-8 and keeps plain ones as they are", () => {
    const headers = routeHeaders("up/中文", "up", { $typeName: "switchyard.v1.RouteInfo", attempts: 2, failures: [{ $typeName: "switchyard.v1.AttemptFailure", model: "up/é", reason: "PROVIDER_UNAVAILABLE", upstreamStatus: 503 }], skipped: [] }, []);
    expect(headers["x-switchyard-model"]).toBe("up/%E4%B8%AD%E6%96%87");
    expect(decodeURIComponent(headers["x-switchyard-model"] ?? "")).toBe("up/中文");
    expect(headers["x-switchyard-failed"]).toBe("up/%C3%A9 provider_unavailable");
    expect(routeHeaders("oai/gpt-4o", "oai", undefined, [])["x-switchyard-model"]).toBe("oai/gpt-4o");
  });

  it("answers a model name with non-ASCII characters on REST, Connect and gRPC, and refuses one with a control character", async () => {
    const { app } = await buildApp({ config: parseConfigText(FUZZ_CONFIG, "headers.yaml", {}), transport: wellBehavedUpstream });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    try {
      const rest = await fetch(`${origin}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "oai/中文", messages: [{ role: "user", content: "hi" }] }) });
      expect(rest.status).toBe(200);
      expect(rest.headers.get("x-switchyard-model")).toBe("oai/%E4%B8%AD%E6%96%87");
      const message = { role: Role.USER, content: [{ part: { case: "text" as const, value: "hi" } }] };
      for (const transport of [createConnectTransport({ baseUrl: origin, httpVersion: "1.1" }), createGrpcTransport({ baseUrl: origin })]) {
        const headers: string[] = [];
        await createClient(ChatService, transport).chat({ input: { model: "oai/中文", messages: [message] } }, { onHeader: (header) => headers.push(header.get("x-switchyard-model") ?? ""), onTrailer: (trailer) => headers.push(trailer.get("x-switchyard-model") ?? "") });
        expect(headers.filter(Boolean)).toContain("oai/%E4%B8%AD%E6%96%87");
      }
      const bad = await fetch(`${origin}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "oai/a\nb", messages: [{ role: "user", content: "hi" }] }) });
      expect(bad.status).toBe(400);
      expect((await bad.json()) as unknown).toMatchObject({ error: { param: "model" } });
    } finally {
      await app.close();
    }
  });
});

describe("typed inputs REST cannot express, refused as REST refuses their equivalents", () => {
  it.each<[string, Record<string, unknown>, string]>([
    ["a seed beyond 2^53", { seed: 9_007_199_254_740_993n }, "seed"],
    ["an unknown tool_choice mode", { tools: [{ name: "f" }], toolChoice: { choice: { case: "mode", value: 99 as ToolChoiceMode } } }, "tool_choice"],
    ["an unknown response_format type", { responseFormat: { type: 99 } }, "response_format.type"],
    ["an unknown image detail", { messages: [{ role: Role.USER, content: [{ part: { case: "image", value: { source: { case: "url", value: "https://x.test/a.png" }, detail: 99 as ImageDetail } } }] }] }, "messages[0].content[0].detail"],
    ["an unknown role", { messages: [{ role: 99 as Role, content: [{ part: { case: "text", value: "hi" } }] }] }, "messages[0].role': 99 is not a Role"],
    ["a javascript: media URL", { messages: [{ role: Role.USER, content: [{ part: { case: "image", value: { source: { case: "url", value: "javascript:alert(1)" } } } }] }] }, "messages[0].content[0]"],
  ])("%s is INVALID_ARGUMENT naming %s", async (_name, fields, param) => {
    const { app } = await buildApp({ config: parseConfigText(FUZZ_CONFIG, "typed.yaml", {}), transport: wellBehavedUpstream });
    await app.listen({ host: "127.0.0.1", port: 0 });
    try {
      const input = { model: "oai/gpt-4o", messages: [{ role: Role.USER, content: [{ part: { case: "text" as const, value: "hi" } }] }], ...fields };
      const request = create(ChatRequestSchema, { input } as Parameters<typeof create<typeof ChatRequestSchema>>[1]);
      expect(toBinary(ChatRequestSchema, request).length).toBeGreaterThan(0);
      const client = createClient(ChatService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` }));
      const error = await thrown(() => client.chat(request));
      expect(error).toMatchObject({ code: 3 });
      expect(String((error as Error).message)).toContain(param);
    } finally {
      await app.close();
    }
  });
});

describe("the model list", () => {
  it("is in code-point order, the same whatever the machine's locale", () => {
    const config = parseConfigText(`providers:\n  Bee: { type: openai, api_key: k, models: [m1] }\n  up: { type: openai, api_key: k, models: [a_b, a-b, Zeta, echo] }\n`, "list.yaml", {});
    const ids = new ModelCatalog(config, new Map()).list().map((model) => model.id);
    expect(ids).toEqual(["Bee/m1", "up/Zeta", "up/a-b", "up/a_b", "up/echo"]);
  });
});

describe("list headers", () => {
  const warning = (index: number) => `tools[${index}].function.strict is not enforced by Anthropic for this model and was dropped.`;

  it("keep whole items up to MAX_LIST_HEADER_CHARS and then say how many more there were", () => {
    const warnings = Array.from({ length: 128 }, (_, index) => warning(index));
    const value = routeHeaders("anth/claude", "anth", undefined, warnings)["x-switchyard-warnings"] ?? "";
    expect(value.length).toBeLessThanOrEqual(MAX_LIST_HEADER_CHARS);
    const shown = value.split("; ");
    const more = /^\.\.\. (\d+) more$/.exec(shown.pop() ?? "");
    // A header value Node's HTTP/1.1 server accepts (it refuses characters above U+00FF).
    expect(() => validateHeaderValue("x-switchyard-warnings", value)).not.toThrow();
    expect(shown).toEqual(warnings.slice(0, shown.length));
    expect(Number(more?.[1])).toBe(128 - shown.length);
    expect(shown.length).toBeGreaterThan(5);
  });

  it("cut a first item too long on its own rather than leave only '... N more'", () => {
    const long = `ignored provider_options.openai.${Array.from({ length: 80 }, (_, index) => `field_${index}`).join(", provider_options.openai.")} (not for Gemini)`;
    const value = routeHeaders("gem/g", "gem", undefined, [long, "second"])["x-switchyard-warnings"] ?? "";
    expect(value.length).toBeLessThanOrEqual(MAX_LIST_HEADER_CHARS);
    expect(value.startsWith("ignored provider_options.openai.field_0, ")).toBe(true);
    expect(value.endsWith("...; second")).toBe(true);
    expect(routeHeaders("gem/g", "gem", undefined, [long])["x-switchyard-warnings"]?.endsWith("...")).toBe(true);
  });

  it("leave lists that fit as they are, and cut a long list of failed targets the same way", () => {
    const route = {
      $typeName: "switchyard.v1.RouteInfo" as const,
      attempts: 40,
      failures: Array.from({ length: 40 }, (_, index) => ({ $typeName: "switchyard.v1.AttemptFailure" as const, model: `account-${index}/some-long-model-name`, reason: "PROVIDER_UNAVAILABLE", upstreamStatus: 503 })),
      skipped: [{ $typeName: "switchyard.v1.SkippedTarget" as const, model: "b/m", reason: "CIRCUIT_OPEN", detail: "" }],
    };
    const headers = routeHeaders("a/m", "a", route, [warning(0), warning(1)]);
    expect(headers["x-switchyard-warnings"]).toBe(`${warning(0)}; ${warning(1)}`);
    expect(headers["x-switchyard-skipped"]).toBe("b/m circuit_open");
    expect(headers["x-switchyard-failed"]?.length).toBeLessThanOrEqual(MAX_LIST_HEADER_CHARS);
    expect(headers["x-switchyard-failed"]).toMatch(/^account-0\/some-long-model-name provider_unavailable, account-1\/.*, \.\.\. \d+ more$/);
  });

  it("reach a REST caller of 128 strict tools on an Anthropic model cut, in a 200", async () => {
    const upstream = await startFakeUpstream();
    const config = parseConfigText(`server: { host: 127.0.0.1, port: 0 }\nproviders:\n  anth: { type: anthropic, api_key: k, base_url: "${upstream.baseUrl}" }\n`, "warnings.yaml", {});
    const { app } = await buildApp({ config, logStream: { write: () => undefined } });
    await app.listen({ host: "127.0.0.1", port: 0 });
    try {
      upstream.enqueue(jsonAnswer({ id: "msg_1", type: "message", role: "assistant", model: "claude-3-haiku-20240307", content: [{ type: "text", text: "Hi." }], stop_reason: "end_turn", usage: { input_tokens: 5, output_tokens: 2 } }));
      const tools = Array.from({ length: 128 }, (_, index) => ({ type: "function", function: { name: `tool_${index}`, strict: true, parameters: { type: "object", properties: { a: { type: "string" } }, required: ["a"], additionalProperties: false } } }));
      const answer = await fetch(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "anth/claude-3-haiku-20240307", messages: [{ role: "user", content: "hi" }], tools }) });
      expect(answer.status).toBe(200);
      const warnings = answer.headers.get("x-switchyard-warnings") ?? "";
      expect(warnings).toContain("tools[0].function.strict is not enforced");
      expect(warnings).toMatch(/; \.\.\. \d+ more$/);
      expect(warnings.length).toBeLessThanOrEqual(MAX_LIST_HEADER_CHARS);
    } finally {
      await app.close();
      await upstream.close();
    }
  });
});
