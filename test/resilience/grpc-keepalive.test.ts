import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { describe, expect, it, vi } from "vitest";
import { ChatInputSchema, Role } from "../../gen/switchyard/v1/chat_pb.js";
import { ChatService, type ChatStreamResponse } from "../../gen/switchyard/v1/chat_service_pb.js";
import { fault } from "../support/fault-injector.js";
import { useResilienceGateway } from "./resilience-harness.js";

const routing = `routing:
  timeouts: { connect_ms: 1000, first_token_ms: 2000, idle_ms: 2000, total_ms: 5000 }`;

const rig = useResilienceGateway({ a: { text: "Slow answer." } }, routing);

const clients: Record<string, () => Client<typeof ChatService>> = {
  "gRPC (fast path, HTTP/2)": () => rig().grpc,
  "Connect over HTTP/1.1": () => createClient(ChatService, createConnectTransport({ baseUrl: rig().origin, httpVersion: "1.1" }) as Transport),
  "gRPC-Web over HTTP/1.1": () => createClient(ChatService, createGrpcWebTransport({ baseUrl: rig().origin, httpVersion: "1.1" }) as Transport),
};

const input = create(ChatInputSchema, { model: "a/m", messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "Say it." } }] }] });

/** Streams with `keepaliveMs`; the event cases in order (undefined for a keep-alive), and the response headers and trailers. */
async function streamCases(client: Client<typeof ChatService>, keepaliveMs: number) {
  const cases: (ChatStreamResponse["event"]["case"])[] = [];
  let headers: Headers | undefined;
  let trailers: Headers | undefined;
  let text = "";
  const sent = Date.now();
  let firstAtMs: number | undefined;
  for await (const event of client.chatStream({ input, keepaliveMs }, { onHeader: (value) => (headers = value), onTrailer: (value) => (trailers = value) })) {
    firstAtMs ??= Date.now() - sent;
    cases.push(event.event.case);
    if (event.event.case === "textDelta") text += event.event.value.text;
  }
  return { cases, headers, trailers, text, firstAtMs };
}

describe.each(Object.entries(clients))("ChatStreamRequest.keepalive_ms over %s", (_name, client) => {
  it("sends event-less keep-alives while the first token is slow, then the whole stream; the route is in response_start and the trailers", async () => {
    rig().upstreams.a?.always(fault.answer({ delayFirstTokenMs: 450 }));
    const { cases, headers, trailers, text, firstAtMs } = await streamCases(client(), 100);
    // The first keep-alive reaches the client while the upstream is still silent (its first token comes at 450 ms).
    expect(firstAtMs).toBeLessThan(350);
    const keepalives = cases.indexOf("responseStart");
    expect(keepalives).toBeGreaterThanOrEqual(2);
    expect(cases.slice(0, keepalives).every((value) => value === undefined)).toBe(true);
    expect(cases.slice(keepalives).includes(undefined)).toBe(false);
    expect(cases.at(-1)).toBe("routeSummary");
    expect(text).toBe("Slow answer.");
    // The head went out with the first keep-alive, before the route was known.
    expect(headers?.get("x-switchyard-model") ?? null).toBeNull();
    expect(trailers?.get("x-switchyard-model")).toBe("a/m");
  });

  it("sends none when not asked, nor when the first event comes in time", async () => {
    rig().upstreams.a?.always(fault.answer({ delayFirstTokenMs: 300 }));
    const unasked = await streamCases(client(), 0);
    expect(unasked.cases[0]).toBe("responseStart");
    expect(unasked.headers?.get("x-switchyard-model")).toBe("a/m");
    rig().upstreams.a?.always(fault.answer({}));
    const quick = await streamCases(client(), 1000);
    expect(quick.cases[0]).toBe("responseStart");
    expect(quick.cases.includes(undefined)).toBe(false);
  });

  it("a cancel during the keep-alives aborts the upstream call", async () => {
    rig().upstreams.a?.always(fault.answer({ delayFirstTokenMs: 1500 }));
    const controller = new AbortController();
    const seen: (ChatStreamResponse["event"]["case"])[] = [];
    const run = (async () => {
      for await (const event of client().chatStream({ input, keepaliveMs: 100 }, { signal: controller.signal })) {
        seen.push(event.event.case);
        if (seen.length === 2) controller.abort();
      }
    })();
    await expect(run).rejects.toThrow();
    expect(seen).toEqual([undefined, undefined]);
    await vi.waitFor(() => expect(rig().upstreams.a?.attempts[0]?.closedByClient).toBe(true), { timeout: 3000, interval: 20 });
  });

  it("refuses an interval out of bounds with INVALID_ARGUMENT naming keepalive_ms", async () => {
    const error = await streamCases(client(), 50).then(() => undefined, (thrown: unknown) => ConnectError.from(thrown));
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(error?.rawMessage).toContain("keepalive_ms");
    expect(rig().upstreams.a?.attempts).toHaveLength(0);
  });
});
