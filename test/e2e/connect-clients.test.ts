import http from "node:http";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FinishReason, Role } from "../../gen/switchyard/v1/chat_pb.js";
import { ChatRequestSchema, ChatService, ChatStreamRequestSchema, type ChatStreamResponse } from "../../gen/switchyard/v1/chat_service_pb.js";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/error_pb.js";
import { ModelService } from "../../gen/switchyard/v1/model_service_pb.js";
import { jsonFixtureAnswer, longTextStreamAnswer, sseFixtureAnswer } from "../support/fake-upstream.js";
import { GATEWAY_KEY, MODEL, startGateway, type RunningGateway } from "./gateway-harness.js";

let gateway: RunningGateway;
const sessionManagers: Http2SessionManager[] = [];
const agents: http.Agent[] = [];

beforeAll(async () => {
  gateway = await startGateway();
});

afterAll(async () => {
  for (const manager of sessionManagers) manager.abort();
  for (const agent of agents) agent.destroy();
  await gateway?.close();
});

beforeEach(() => {
  gateway.upstream.reset();
});

/** The transports under test, all against the same port. */
const transports: Record<string, () => Transport> = {
  "gRPC (HTTP/2)": () => {
    const manager = new Http2SessionManager(gateway.origin);
    sessionManagers.push(manager);
    return createGrpcTransport({ baseUrl: gateway.origin, sessionManager: manager });
  },
  "Connect over HTTP/1.1": () => {
    const agent = new http.Agent({ keepAlive: true });
    agents.push(agent);
    return createConnectTransport({ baseUrl: gateway.origin, httpVersion: "1.1", nodeOptions: { agent } });
  },
  "Connect over HTTP/2": () => {
    const manager = new Http2SessionManager(gateway.origin);
    sessionManagers.push(manager);
    return createConnectTransport({ baseUrl: gateway.origin, httpVersion: "2", sessionManager: manager });
  },
  "Connect JSON over HTTP/1.1": () => {
    const agent = new http.Agent({ keepAlive: true });
    agents.push(agent);
    return createConnectTransport({ baseUrl: gateway.origin, httpVersion: "1.1", useBinaryFormat: false, nodeOptions: { agent } });
  },
  "gRPC-Web over HTTP/1.1": () => {
    const agent = new http.Agent({ keepAlive: true });
    agents.push(agent);
    return createGrpcWebTransport({ baseUrl: gateway.origin, httpVersion: "1.1", nodeOptions: { agent } });
  },
};

const auth = { authorization: `Bearer ${GATEWAY_KEY}` };

function userInput(text: string, model = MODEL) {
  return { model, messages: [{ role: Role.USER, content: [{ part: { case: "text" as const, value: text } }] }] };
}

/** Collapses runs of the same event kind: [start, text, text, finish] -> [start, text, finish]. */
function eventKinds(events: readonly ChatStreamResponse[]): string[] {
  const kinds: string[] = [];
  for (const event of events) {
    const kind = event.event.case ?? "none";
    if (kinds.at(-1) !== kind) kinds.push(kind);
  }
  return kinds;
}

describe.each(Object.keys(transports))("connect-node client: %s", (name) => {
  let chat: ReturnType<typeof createClient<typeof ChatService>>;
  let models: ReturnType<typeof createClient<typeof ModelService>>;

  beforeAll(() => {
    const transport = transports[name]!();
    chat = createClient(ChatService, transport);
    models = createClient(ModelService, transport);
  });

  it("answers unary Chat with the provider's text, usage and route", async () => {
    gateway.upstream.enqueue(jsonFixtureAnswer("openai/chat-nonstream-text.json"));
    const response = await chat.chat(create(ChatRequestSchema, { input: userInput("Invent a holiday.") }), { headers: auth });

    expect(response.model).toBe(MODEL);
    expect(response.provider).toBe("openai-main");
    expect(response.choices).toHaveLength(1);
    const parts = response.choices[0]?.message?.content ?? [];
    expect(parts[0]?.part.case).toBe("text");
    expect(String(parts[0]?.part.value)).toMatch(/^\*\*Holiday Name:\*\* Galaxy Day/);
    expect(response.choices[0]?.finishReason).toBe(FinishReason.STOP);
    expect(response.usage).toMatchObject({ promptTokens: 16, completionTokens: 363, totalTokens: 379 });
    expect(response.route?.attempts).toBe(1);
    expect(gateway.upstream.lastRequest().body).toMatchObject({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Invent a holiday." }] });
  });

  it("streams ChatStream as response_start, text deltas, finish, usage, route_summary", async () => {
    gateway.upstream.enqueue(sseFixtureAnswer("openai/chat-stream-text-after-tool-result-include-usage.sse.txt", { chunkDelayMs: 2 }));
    const events: ChatStreamResponse[] = [];
    for await (const event of chat.chatStream(create(ChatStreamRequestSchema, { input: userInput("Capital of the UK?") }), { headers: auth })) events.push(event);

    expect(eventKinds(events)).toEqual(["responseStart", "textDelta", "finish", "usage", "routeSummary"]);
    const start = events[0]?.event;
    expect(start?.case === "responseStart" && start.value.model).toBe(MODEL);
    expect(start?.case === "responseStart" && start.value.provider).toBe("openai-main");
    const text = events.map((event) => (event.event.case === "textDelta" ? event.event.value.text : "")).join("");
    expect(text).toBe("The capital of the UK is London.");
    const finish = events.find((event) => event.event.case === "finish")?.event;
    expect(finish?.case === "finish" && finish.value.finishReason).toBe(FinishReason.STOP);
    const usage = events.find((event) => event.event.case === "usage")?.event;
    expect(usage?.case === "usage" && { prompt: usage.value.promptTokens, completion: usage.value.completionTokens, total: usage.value.totalTokens }).toEqual({ prompt: 78, completion: 9, total: 87 });
    const summary = events.at(-1)?.event;
    expect(summary?.case === "routeSummary" && summary.value.model).toBe(MODEL);
    expect(summary?.case === "routeSummary" && summary.value.route?.attempts).toBe(1);
    expect(gateway.upstream.lastRequest().body).toMatchObject({ stream: true });
  });

  it("lists models through ModelService", async () => {
    const response = await models.listModels({}, { headers: auth });
    expect(response.models.map((model) => ({ id: model.id, provider: model.provider, providerType: model.providerType }))).toContainEqual({ id: MODEL, provider: "openai-main", providerType: "openai" });
  });

  it("rejects a call without the bearer key with Unauthenticated, before any upstream call", async () => {
    const error = await chat.chat(create(ChatRequestSchema, { input: userInput("hi") })).then(
      () => undefined,
      (thrown: unknown) => ConnectError.from(thrown),
    );
    expect(error?.code).toBe(Code.Unauthenticated);
    expect(error?.findDetails(ErrorDetailSchema)[0]?.reason).toBe("INVALID_API_KEY");
    const wrongKey = await models.listModels({}, { headers: { authorization: "Bearer wrong" } }).then(
      () => undefined,
      (thrown: unknown) => ConnectError.from(thrown),
    );
    expect(wrongKey?.code).toBe(Code.Unauthenticated);
    expect(gateway.upstream.requests).toHaveLength(0);
  });

  it("answers an unknown model with NotFound and an ErrorDetail reason MODEL_NOT_FOUND", async () => {
    const error = await chat.chat(create(ChatRequestSchema, { input: userInput("hi", "no-such-account/gpt-4o-mini") }), { headers: auth }).then(
      () => undefined,
      (thrown: unknown) => ConnectError.from(thrown),
    );
    expect(error?.code).toBe(Code.NotFound);
    const details = error?.findDetails(ErrorDetailSchema) ?? [];
    expect(details).toHaveLength(1);
    expect(details[0]?.reason).toBe("MODEL_NOT_FOUND");
    expect(details[0]?.param).toBe("model");

    const streamError = await (async () => {
      try {
        for await (const _event of chat.chatStream(create(ChatStreamRequestSchema, { input: userInput("hi", "no-such-account/x") }), { headers: auth })) {
          // no events expected
        }
      } catch (thrown) {
        return ConnectError.from(thrown);
      }
      return undefined;
    })();
    expect(streamError?.code).toBe(Code.NotFound);
    expect(streamError?.findDetails(ErrorDetailSchema)[0]?.reason).toBe("MODEL_NOT_FOUND");
    expect(gateway.upstream.requests).toHaveLength(0);
  });

  it("cancelling a stream with an AbortSignal closes the upstream connection", async () => {
    gateway.upstream.enqueue(longTextStreamAnswer(300, 20));
    const controller = new AbortController();
    let deltas = 0;
    let error: ConnectError | undefined;
    try {
      for await (const event of chat.chatStream(create(ChatStreamRequestSchema, { input: userInput("Count") }), { headers: auth, signal: controller.signal })) {
        if (event.event.case === "textDelta") {
          deltas++;
          controller.abort();
        }
      }
    } catch (thrown) {
      error = ConnectError.from(thrown);
    }
    expect(error?.code).toBe(Code.Canceled);
    expect(deltas).toBeGreaterThanOrEqual(1);
    const request = gateway.upstream.lastRequest();
    await gateway.upstream.waitSettled(request, 3_000);
    expect(request.closedEarly).toBe(true);
    expect(request.chunksWritten).toBeLessThan(100);
  });
});
