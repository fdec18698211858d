import { create } from "@bufbuild/protobuf";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { ChatInputSchema, Role } from "../../gen/switchyard/v1/chat_pb.js";
import { fault } from "../support/fault-injector.js";
import { askVia, collectSdkStream, FAST_ROUTING, useResilienceGateway, userMessage } from "./resilience-harness.js";

const MODELS = `models:
  ordered: { strategy: fallback, targets: [a/m, b/m] }
  balanced:
    strategy: loadbalance
    targets:
      - { model: a/m, weight: 3 }
      - { model: b/m, weight: 1 }
  fastest: { strategy: latency, targets: [a/m, b/m] }
  tuned:
    strategy: fallback
    targets:
      - { model: a/m, params: { temperature: 0.1, max_tokens: 50, top_k: 5 } }
  chain: { strategy: fallback, targets: [noimg/m, a/m] }
  capped: { strategy: fallback, targets: [{ model: small/m, params: { max_tokens: 10 } }, a/m] }`;

const IMAGE = { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } };

const rig = useResilienceGateway(
  {
    a: { text: "from a" },
    b: { text: "from b" },
    noimg: { models: "[{ name: m, supports: { images: false } }]", text: "from noimg" },
    notools: { models: "[{ name: m, supports: { tools: false, json_schema: false } }]", text: "from notools" },
    small: { models: "[{ name: m, context_window: 60 }]", text: "from small" },
    open: { extra: ["circuit_breaker: { failure_threshold: 1, cooldown_ms: 60000 }", "retry: { max_retries: 0 }"] },
  },
  `${FAST_ROUTING}\n${MODELS}`,
);

const ask = (body: Record<string, unknown>) => askVia(rig(), body);

describe("virtual models", () => {
  it("fallback: tries the targets in order and names the one that answered", async () => {
    rig().upstreams.a?.always(fault.contextLength());
    const answer = await ask({ model: "ordered" });
    expect(answer.model).toBe("b/m");
    expect(answer.text).toBe("from b");
    expect(answer.headers.get("x-switchyard-failed")).toBe("a/m context_length_exceeded");
  });

  it("loadbalance: spreads requests by weight", async () => {
    let a = 0;
    const total = 80;
    for (let index = 0; index < total; index++) if ((await ask({ model: "balanced" })).model === "a/m") a++;
    expect(a / total).toBeGreaterThan(0.55);
    expect(a / total).toBeLessThan(0.93);
  });

  it("loadbalance: the other targets are the fallbacks", async () => {
    rig().upstreams.a?.always(fault.serverError(503));
    for (let index = 0; index < 10; index++) expect((await ask({ model: "balanced" })).model).toBe("b/m");
  });

  it("latency: prefers the target with the best recent time to first token, and still explores", async () => {
    rig().upstreams.a?.always(fault.answer({ delayFirstTokenMs: 60 }));
    const counts: Record<string, number> = {};
    for (let index = 0; index < 40; index++) {
      const answer = await collectSdkStream(await rig().openai.chat.completions.create({ model: "fastest", messages: userMessage(), stream: true }));
      const key = answer.text === "from a" ? "a" : "b";
      counts[key] = (counts[key] ?? 0) + 1;
    }
    expect(counts.b ?? 0).toBeGreaterThanOrEqual(30);
    expect(counts.a ?? 0).toBeGreaterThanOrEqual(1);
  });

  it("applies per-target parameter overrides to the request", async () => {
    await ask({ model: "tuned", temperature: 1.5 });
    const body = rig().upstreams.a?.attempts[0]?.body;
    expect(body?.temperature).toBe(0.1);
    expect(body?.max_tokens).toBe(50);
    expect(body?.top_k).toBe(5);
  });

  it("expands virtual models named in fallbacks", async () => {
    rig().upstreams.b?.always(fault.serverError(503));
    const answer = await ask({ model: "b/m", fallbacks: ["ordered"] });
    expect(answer.model).toBe("a/m");
    expect(rig().upstreams.b?.attempts).toHaveLength(3);
  });
});

describe("capability-aware fallback", () => {
  it("skips a target the catalogue says cannot take images", async () => {
    const answer = await ask({ model: "noimg/m", fallbacks: ["a/m"], messages: [{ role: "user", content: [{ type: "text", text: "what is it?" }, IMAGE] }] });
    expect(answer.model).toBe("a/m");
    expect(rig().upstreams.noimg?.attempts).toHaveLength(0);
    expect(answer.headers.get("x-switchyard-skipped")).toBe("noimg/m unsupported_feature (images)");
    expect(answer.headers.get("x-switchyard-attempts")).toBe("1");
  });

  it("skips inside a virtual model too", async () => {
    const answer = await ask({ model: "chain", messages: [{ role: "user", content: [IMAGE] }] });
    expect(answer.model).toBe("a/m");
  });

  it("skips targets without tools or json_schema when the request needs them", async () => {
    const tools = [{ type: "function", function: { name: "lookup", parameters: { type: "object" } } }];
    expect((await ask({ model: "notools/m", fallbacks: ["a/m"], tools })).model).toBe("a/m");
    const format = { type: "json_schema", json_schema: { name: "x", schema: { type: "object" } } };
    expect((await ask({ model: "notools/m", fallbacks: ["a/m"], response_format: format })).model).toBe("a/m");
    expect(rig().upstreams.notools?.attempts).toHaveLength(0);
  });

  it("skips a target whose context window the request clearly exceeds", async () => {
    const answer = await ask({ model: "small/m", fallbacks: ["a/m"], messages: userMessage("x".repeat(400)) });
    expect(answer.model).toBe("a/m");
    expect(rig().upstreams.small?.attempts).toHaveLength(0);
  });

  it("judges the context window with the max_tokens the target is sent (its params win)", async () => {
    const answer = await ask({ model: "capped", max_tokens: 5000 });
    expect(answer.model).toBe("small/m");
    expect(answer.headers.get("x-switchyard-skipped")).toBeNull();
    expect(rig().upstreams.small?.attempts[0]?.body?.max_tokens).toBe(10);
  });

  it("names the skipped targets in route order, circuit and capability alike (REST and gRPC)", async () => {
    rig().upstreams.open?.always(fault.serverError(503));
    await ask({ model: "open/m" }).catch(() => undefined);
    const answer = await ask({ model: "open/m", fallbacks: ["noimg/m", "a/m"], messages: [{ role: "user", content: [IMAGE] }] });
    expect(answer.model).toBe("a/m");
    expect(answer.headers.get("x-switchyard-skipped")).toBe("open/m circuit_open, noimg/m unsupported_feature (images)");
    const image = { part: { case: "image" as const, value: { source: { case: "url" as const, value: "https://img.example/cat.png" } } } };
    const response = await rig().grpc.chat({ input: create(ChatInputSchema, { model: "open/m", fallbacks: ["noimg/m", "a/m"], messages: [{ role: Role.USER, content: [image] }] }) });
    expect(response.route?.skipped.map((skip) => [skip.model, skip.reason])).toEqual([["open/m", "CIRCUIT_OPEN"], ["noimg/m", "UNSUPPORTED_FEATURE"]]);
  });

  it("names no skip for a fallback the route never reached (REST and gRPC)", async () => {
    const answer = await ask({ model: "a/m", fallbacks: ["noimg/m"], messages: [{ role: "user", content: [IMAGE] }] });
    expect(answer.model).toBe("a/m");
    expect(answer.headers.get("x-switchyard-skipped")).toBeNull();
    const image = { part: { case: "image" as const, value: { source: { case: "url" as const, value: "https://img.example/cat.png" } } } };
    const response = await rig().grpc.chat({ input: create(ChatInputSchema, { model: "a/m", fallbacks: ["noimg/m"], messages: [{ role: Role.USER, content: [image] }] }) });
    expect(response.route?.skipped).toEqual([]);
  });

  it("when no target can take the request, the caller gets the primary's real answer", async () => {
    rig().upstreams.noimg?.always(fault.invalidRequest());
    const error = await ask({ model: "noimg/m", fallbacks: ["notools/m"], messages: [{ role: "user", content: [IMAGE] }], tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }] }).then(() => undefined, (thrown: unknown) => thrown);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe("upstream_invalid_request");
    expect(rig().upstreams.noimg?.attempts).toHaveLength(1);
    expect(rig().upstreams.notools?.attempts).toHaveLength(0);
  });
});
