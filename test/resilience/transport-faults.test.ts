import net from "node:net";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ChatService } from "../../gen/switchyard/v1/chat_service_pb.js";
import OpenAI from "openai";
import { describe, expect, it, vi } from "vitest";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/error_pb.js";
import { chunkFrame, completionJson, completionSse, jsonResponse, pause, RawUpstream, SSE_HEAD, type RawScript } from "../support/raw-upstream.js";
import { okJson, rawInput, sseText, useRawGateway } from "./raw-gateway.js";
import { startResilienceGateway } from "./resilience-harness.js";

// An upstream that misbehaves at the HTTP/TCP level (a bare `net` server writing raw bytes), in
// front of the real gateway, driven by plain fetch, the OpenAI SDK and gRPC.

const rig = useRawGateway();

const SSE = completionSse(["Hél", "lo ", "wörld"]);
const sseAnswer: RawScript = (socket) => {
  socket.write(SSE_HEAD + SSE.map(chunkFrame).join("") + "0\r\n\r\n");
};

/** After a failed exchange the gateway dropped the connection (nothing half-read is left in its pool). */
async function expectNoOpenUpstreamSockets(): Promise<void> {
  await vi.waitFor(() => expect(rig().raw.openSockets).toBe(0), { timeout: 2000, interval: 20 });
}

describe("connections refused, reset or cut", () => {
  it("a refused connection is provider_unreachable (503) after the retries", async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const gone = await startResilienceGateway({ gone: { baseUrl: `http://127.0.0.1:${port}/v1` } });
    try {
      const error = await gone.openai.chat.completions.create({ model: "gone/m", messages: [{ role: "user", content: "hi" }] }).then(() => undefined, (thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
      expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe("provider_unreachable");
      expect((error as InstanceType<typeof OpenAI.APIError>).type).toBe("server_error");
    } finally {
      await gone.close();
    }
  });

  it("a TLS connection that cannot be verified (here: https to a server that speaks plain HTTP) fails over at once, without retries", async () => {
    const sockets: net.Socket[] = [];
    const plain = net.createServer((socket) => {
      sockets.push(socket);
      socket.on("error", () => {});
      socket.end("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
    });
    await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
    const port = (plain.address() as net.AddressInfo).port;
    const gateway = await startResilienceGateway({ tls: { baseUrl: `https://127.0.0.1:${port}/v1` }, good: {} });
    try {
      const started = Date.now();
      const response = await fetch(`${gateway.origin}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "tls/m", fallbacks: ["good/m"], messages: [{ role: "user", content: "hi" }] }) });
      expect(response.status).toBe(200);
      expect(response.headers.get("x-switchyard-model")).toBe("good/m");
      expect(response.headers.get("x-switchyard-failed")).toBe("tls/m provider_unreachable");
      expect(sockets).toHaveLength(1);
      // No backoff wait was spent on it (the default base delay is 250 ms).
      expect(Date.now() - started).toBeLessThan(1000);
      const alone = await fetch(`${gateway.origin}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "tls/m", messages: [{ role: "user", content: "hi" }] }) });
      expect(alone.status).toBe(503);
      const body = (await alone.json()) as { error: { message: string } };
      expect(body.error.message).toBe("could not reach the provider: the provider's TLS connection could not be verified (ERR_SSL_WRONG_VERSION_NUMBER)");
    } finally {
      await gateway.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => plain.close(() => resolve()));
    }
  });

  it("a reset before the head is retried on the same target, then fails over", async () => {
    rig().raw.always((socket) => void socket.resetAndDestroy());
    const single = await rig().ask();
    expect(single.status).toBe(503);
    expect(single.error).toMatchObject({ code: "provider_unreachable", type: "server_error", param: null });
    expect(rig().raw.requests).toHaveLength(3);
    const withFallback = await rig().ask({ fallback: true });
    expect(withFallback.status).toBe(200);
    expect(withFallback.headers.get("x-switchyard-model")).toBe("good/m");
  });

  it("a reset after the head, in the JSON body, fails over at once (no retry once bytes arrived)", async () => {
    rig().raw.always(async (socket) => {
      socket.write("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{\"id\":");
      await pause(20);
      socket.resetAndDestroy();
    });
    const single = await rig().ask();
    expect(single.status).toBe(503);
    expect(single.error?.code).toBe("provider_unreachable");
    expect(rig().raw.requests).toHaveLength(1);
    const withFallback = await rig().ask({ fallback: true });
    expect(withFallback.status).toBe(200);
    expect(withFallback.headers.get("x-switchyard-failed")).toBe("raw/m provider_unreachable");
    expect(rig().raw.requests).toHaveLength(2);
    await expectNoOpenUpstreamSockets();
  });

  it("a content-length larger than the body, then a close, is a cut, not an answer", async () => {
    rig().raw.always(async (socket) => {
      socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5000\r\n\r\n${completionJson()}`);
      await pause(20);
      socket.end();
    });
    const single = await rig().ask();
    expect(single.status).toBe(503);
    expect(single.error?.code).toBe("provider_unreachable");
    expect(rig().raw.requests).toHaveLength(1);
  });

  it("an HTTP/1.0 body delimited by the close is a whole answer", async () => {
    rig().raw.always((socket) => void socket.end(`HTTP/1.0 200 OK\r\ncontent-type: application/json\r\n\r\n${completionJson()}`));
    const answer = await rig().ask();
    expect(answer.status).toBe(200);
    expect((JSON.parse(answer.text) as { choices: { message: { content: string } }[] }).choices[0]?.message.content).toBe("Hello there.");
  });

  it.each([
    ["a reset", (socket: net.Socket) => void socket.resetAndDestroy()],
    ["a close after a partial chunk frame", (socket: net.Socket) => void socket.end("200\r\ndata: {\"id\"")],
  ])("a stream cut by %s after content ends with an in-band error and no [DONE]", async (_name, cut) => {
    rig().raw.always(async (socket) => {
      socket.write(SSE_HEAD + chunkFrame(SSE[0] as string) + chunkFrame(SSE[1] as string));
      await pause(30);
      cut(socket);
    });
    const answer = await rig().ask({ stream: true });
    expect(answer.status).toBe(200);
    expect(sseText(answer.text)).toEqual({ text: "Hél", done: false, errorCode: "stream_interrupted" });
    expect(answer.text).toContain("PROVIDER_UNREACHABLE");
  });

  it("a pooled connection the upstream closes as it is reused is retried on a new one, and the answer comes back", async () => {
    rig().raw.script(okJson, (socket) => void socket.destroy());
    expect((await rig().ask()).status).toBe(200);
    const answer = await rig().ask();
    expect(answer.status).toBe(200);
    expect(answer.headers.get("x-switchyard-model")).toBe("raw/m");
    expect(answer.headers.get("x-switchyard-attempts")).toBe("2");
  });
});

describe("a response that breaks HTTP/1.1 is malformed: fail over at once, never retried", () => {
  const body = completionJson();
  it.each<[string, RawScript]>([
    ["a garbage status line", (socket) => void socket.end("this is not http\r\n\r\n")],
    ["an invalid chunk size", (socket) => void socket.write("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n")],
    ["a header section over 16 KB", (socket) => void socket.write(`HTTP/1.1 200 OK\r\nx-big: ${"a".repeat(70_000)}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`)],
    ["3,000 headers", (socket) => void socket.write(`HTTP/1.1 200 OK\r\n${Array.from({ length: 3000 }, (_, i) => `x-h${i}: v\r\n`).join("")}content-length: ${body.length}\r\n\r\n${body}`)],
    ["two different content-lengths", (socket) => void socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\ncontent-length: ${body.length + 5}\r\n\r\n${body}`)],
    ["a 100 Continue nobody asked for", (socket) => void socket.write(`HTTP/1.1 100 Continue\r\n\r\n${jsonResponse(body)}`)],
  ])("%s", async (_name, script) => {
    rig().raw.always(script);
    const single = await rig().ask();
    expect(single.status).toBe(502);
    expect(single.error).toMatchObject({ code: "invalid_provider_response", type: "server_error", param: null });
    expect(single.error?.message).toContain("malformed HTTP response");
    expect(rig().raw.requests).toHaveLength(1);
    const withFallback = await rig().ask({ fallback: true });
    expect(withFallback.status).toBe(200);
    expect(withFallback.headers.get("x-switchyard-failed")).toBe("raw/m invalid_provider_response");
    expect(rig().raw.requests).toHaveLength(2);
    await expectNoOpenUpstreamSockets();
  });

  it("over gRPC and Connect: INTERNAL with reason INVALID_PROVIDER_RESPONSE; a reset is UNAVAILABLE with PROVIDER_UNREACHABLE", async () => {
    rig().raw.always((socket) => void socket.end("this is not http\r\n\r\n"));
    const malformed = await rig().gateway.grpc.chat({ input: rawInput() }).then(() => undefined, (thrown: unknown) => thrown);
    expect(malformed).toBeInstanceOf(ConnectError);
    expect((malformed as ConnectError).code).toBe(Code.Internal);
    expect((malformed as ConnectError).findDetails(ErrorDetailSchema)[0]).toMatchObject({ reason: "INVALID_PROVIDER_RESPONSE", provider: "raw" });
    const overConnect = createClient(ChatService, createConnectTransport({ baseUrl: rig().gateway.origin, httpVersion: "1.1" }));
    const connectError = await overConnect.chat({ input: rawInput() }).then(() => undefined, (thrown: unknown) => thrown);
    expect((connectError as ConnectError).code).toBe(Code.Internal);
    expect((connectError as ConnectError).findDetails(ErrorDetailSchema)[0]?.reason).toBe("INVALID_PROVIDER_RESPONSE");
    rig().raw.always((socket) => void socket.resetAndDestroy());
    const reset = await rig().gateway.grpc.chat({ input: rawInput() }).then(() => undefined, (thrown: unknown) => thrown);
    expect((reset as ConnectError).code).toBe(Code.Unavailable);
    expect((reset as ConnectError).findDetails(ErrorDetailSchema)[0]?.reason).toBe("PROVIDER_UNREACHABLE");
  });
});

describe("interim, empty and redirect statuses", () => {
  it("a 103 Early Hints before the real head is skipped", async () => {
    rig().raw.always((socket) => void socket.write(`HTTP/1.1 103 Early Hints\r\nlink: </x>; rel=preload\r\n\r\n${jsonResponse(completionJson())}`));
    const answer = await rig().ask();
    expect(answer.status).toBe(200);
    expect(answer.text).toContain("Hello there.");
  });

  it("a 204 to a chat request is an invalid provider response that fails over", async () => {
    rig().raw.always((socket) => void socket.write("HTTP/1.1 204 No Content\r\n\r\n"));
    const single = await rig().ask();
    expect(single.status).toBe(502);
    expect(single.error?.code).toBe("invalid_provider_response");
    expect((await rig().ask({ fallback: true })).headers.get("x-switchyard-model")).toBe("good/m");
  });

  it("a redirect is not followed (the credentials never go to the Location), and fails over", async () => {
    const elsewhere = await RawUpstream.start(okJson);
    try {
      rig().raw.always((socket) => void socket.write(`HTTP/1.1 307 Temporary Redirect\r\nlocation: ${elsewhere.baseUrl}/chat/completions\r\ncontent-length: 0\r\n\r\n`));
      const single = await rig().ask();
      expect(single.status).toBe(503);
      expect(single.error?.code).toBe("provider_unavailable");
      expect((await rig().ask({ fallback: true })).headers.get("x-switchyard-model")).toBe("good/m");
      expect(elsewhere.requests).toHaveLength(0);
      expect(rig().raw.requests).toHaveLength(2);
    } finally {
      await elsewhere.close();
    }
  });
});

describe("slow upstreams meet the configured timeouts", () => {
  const trickleHead: RawScript = async (socket) => {
    for (const char of "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n") {
      if (socket.destroyed) return;
      socket.write(char);
      await pause(40);
    }
  };

  it("a head that trickles in: a stream fails on first_token_ms, a whole answer on total_ms", async () => {
    rig().raw.always(trickleHead);
    const stream = await rig().ask({ stream: true });
    expect(stream.status).toBe(504);
    expect(stream.error?.code).toBe("upstream_timeout");
    expect(stream.ms).toBeLessThan(1000);
    const whole = await rig().ask();
    expect(whole.status).toBe(504);
    expect(whole.error?.message).toContain("1500 ms");
    expect(whole.ms).toBeLessThan(2500);
    await expectNoOpenUpstreamSockets();
  });

  it("a stream of keep-alive comments only fails on first_token_ms and fails over", async () => {
    rig().raw.always(async (socket) => {
      socket.write(SSE_HEAD);
      while (!socket.destroyed) {
        socket.write(chunkFrame(": keep-alive\n\n"));
        await pause(30);
      }
    });
    const single = await rig().ask({ stream: true });
    expect(single.status).toBe(504);
    expect(single.error).toMatchObject({ code: "upstream_timeout", type: "server_error" });
    const withFallback = await rig().ask({ stream: true, fallback: true });
    expect(sseText(withFallback.text)).toMatchObject({ text: "Fallback answer.", done: true });
    expect(rig().raw.requests).toHaveLength(2);
    await expectNoOpenUpstreamSockets();
  });
});

describe("Retry-After", () => {
  const limited = (retryAfter: string): RawScript => (socket) => void socket.write(jsonResponse(JSON.stringify({ error: { message: "Rate limit reached", type: "requests", code: "rate_limit_exceeded" } }), 429, `retry-after: ${retryAfter}\r\n`));

  it("an HTTP date in the past means now: retried at once", async () => {
    rig().raw.script(limited(new Date(Date.now() - 60_000).toUTCString()));
    const answer = await rig().ask();
    expect(answer.status).toBe(200);
    expect(rig().raw.requests).toHaveLength(2);
    expect(answer.ms).toBeLessThan(500);
  });

  it("a wait longer than the caller's deadline is not waited: 429 at once, with the provider's Retry-After", async () => {
    rig().raw.always(limited("5"));
    const answer = await rig().ask({ headers: { "x-switchyard-timeout": "800ms" } });
    expect(answer.status).toBe(429);
    expect(answer.error?.code).toBe("rate_limit_exceeded");
    expect(answer.headers.get("retry-after")).toBe("5");
    expect(answer.ms).toBeLessThan(500);
    expect(rig().raw.requests).toHaveLength(1);
  });
});

describe("SSE framing the gateway must read", () => {
  it.each<[string, RawScript]>([
    ["CRLF line ends", (socket) => void socket.write(SSE_HEAD + SSE.map((event) => chunkFrame(event.replace(/\n/g, "\r\n"))).join("") + "0\r\n\r\n")],
    ["lone-CR line ends", (socket) => void socket.write(SSE_HEAD + SSE.map((event) => chunkFrame(event.replace(/\n/g, "\r"))).join("") + "0\r\n\r\n")],
    ["UTF-8 characters split across TCP segments", async (socket) => {
      const bytes = Buffer.from(SSE.join(""));
      socket.write(SSE_HEAD);
      for (let at = 0; at < bytes.length; at += 7) {
        const part = bytes.subarray(at, at + 7);
        socket.write(`${part.length.toString(16)}\r\n`);
        socket.write(part);
        socket.write("\r\n");
        await pause(1);
      }
      socket.write("0\r\n\r\n");
    }],
    ["an HTTP/1.0 stream delimited by the close", (socket) => void socket.end(`HTTP/1.0 200 OK\r\ncontent-type: text/event-stream\r\n\r\n${SSE.join("")}`)],
  ])("%s", async (_name, script) => {
    rig().raw.always(script);
    const answer = await rig().ask({ stream: true });
    expect(answer.status).toBe(200);
    expect(sseText(answer.text)).toEqual({ text: "Héllo wörld", done: true, errorCode: undefined });
  });

  it("a stream that ends without a finish is an in-band stream_interrupted, never [DONE]", async () => {
    rig().raw.always((socket) => void socket.write(SSE_HEAD + [...SSE.slice(0, 4), SSE.at(-1) as string].map(chunkFrame).join("") + "0\r\n\r\n"));
    const answer = await rig().ask({ stream: true });
    expect(sseText(answer.text)).toEqual({ text: "Héllo wörld", done: false, errorCode: "stream_interrupted" });
  });

  it("the default answer still streams (sanity for the raw upstream)", async () => {
    rig().raw.always(sseAnswer);
    const stream = await rig().gateway.openai.chat.completions.create({ model: "raw/m", messages: [{ role: "user", content: "hi" }], stream: true });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    expect(text).toBe("Héllo wörld");
  });
});
