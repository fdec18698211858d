/**
 * Connect and gRPC-Web over HTTP/1.1 with the official connect-node client: a message over
 * server.body_limit_bytes is RESOURCE_EXHAUSTED, and the client's next call on the same
 * keep-alive transport is answered (before, the connection stayed stuck behind the unread rest of
 * the oversize body and the next call timed out).
 */
import http from "node:http";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/switchyard/v1/chat_pb.js";
import { ChatRequestSchema, ChatService } from "../../gen/switchyard/v1/chat_service_pb.js";
import { jsonAnswer, startFakeUpstream, type FakeUpstream } from "../support/fake-upstream.js";
import { listenApp, type ListeningApp } from "../support/listening-app.js";

const LIMIT = 64 * 1024;
let upstream: FakeUpstream;
let gateway: ListeningApp;
const agents: http.Agent[] = [];

beforeAll(async () => {
  upstream = await startFakeUpstream();
  upstream.setDefault(jsonAnswer({ id: "c", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }));
  gateway = await listenApp(`server: { host: 127.0.0.1, port: 0, body_limit_bytes: ${LIMIT} }\nproviders:\n  up: { type: openai-compatible, base_url: "${upstream.baseUrl}" }\nlogging: { level: silent }\n`, "oversize.yaml");
});

afterAll(async () => {
  for (const agent of agents) agent.destroy();
  await gateway?.close();
  await upstream?.close();
});

const transports: Record<string, () => Transport> = {
  "Connect (binary)": () => createConnectTransport({ baseUrl: gateway.origin, httpVersion: "1.1", nodeOptions: { agent: keptAlive() } }),
  "Connect (JSON)": () => createConnectTransport({ baseUrl: gateway.origin, httpVersion: "1.1", useBinaryFormat: false, nodeOptions: { agent: keptAlive() } }),
  "gRPC-Web": () => createGrpcWebTransport({ baseUrl: gateway.origin, httpVersion: "1.1", nodeOptions: { agent: keptAlive() } }),
};

function keptAlive(): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  agents.push(agent);
  return agent;
}

const input = (characters: number) => ({ model: "up/m", messages: [{ role: Role.USER, content: [{ part: { case: "text" as const, value: "a".repeat(characters) } }] }] });
const request = (characters: number) => create(ChatRequestSchema, { input: input(characters) });

describe.each(Object.keys(transports))("%s over HTTP/1.1, one keep-alive connection", (name) => {
  it("answers an oversize unary call RESOURCE_EXHAUSTED, and the next calls on the connection as usual", async () => {
    const client = createClient(ChatService, (transports[name] as () => Transport)());
    const oversize = await client.chat(request(4 * LIMIT), { timeoutMs: 5_000 }).then(() => undefined, (thrown: unknown) => ConnectError.from(thrown));
    expect(oversize?.code).toBe(Code.ResourceExhausted);
    for (let index = 0; index < 2; index++) {
      const answer = await client.chat(request(10), { timeoutMs: 5_000 });
      expect(answer.choices[0]?.message?.content[0]?.part.value).toBe("hi");
    }
    const streamed = await (async () => {
      for await (const event of client.chatStream({ input: input(4 * LIMIT) }, { timeoutMs: 5_000 })) void event;
    })().then(() => undefined, (thrown: unknown) => ConnectError.from(thrown));
    expect(streamed?.code).toBe(Code.ResourceExhausted);
    expect((await client.chat(request(10), { timeoutMs: 5_000 })).choices).toHaveLength(1);
  });
});
