import http from "node:http";
import OpenAI from "openai";
import { afterEach, describe, expect, it } from "vitest";
import { fault } from "../support/fault-injector.js";
import { collectSdkStream, startResilienceGateway, userMessage, type ResilienceGateway } from "./resilience-harness.js";

const KEEPALIVE_MS = 100;
const routing = `routing:
  timeouts: { connect_ms: 1000, first_token_ms: 600, idle_ms: 600, total_ms: 5000 }
  retry: { max_retries: 0, base_delay_ms: 10, max_delay_ms: 40, budget_ms: 3000 }`;
const server = (keepAliveMs: number) => `server: { host: 127.0.0.1, port: 0, shutdown_grace_ms: 500, stream_keepalive_ms: ${keepAliveMs} }`;

let gateway: ResilienceGateway | undefined;

afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

async function start(keepAliveMs = KEEPALIVE_MS): Promise<ResilienceGateway> {
  gateway = await startResilienceGateway({ a: { text: "Answer from a." }, b: { text: "Answer from b." } }, `${server(keepAliveMs)}\n${routing}`);
  return gateway;
}

function body(fallbacks: string[] = []) {
  return { model: "a/m", messages: userMessage(), fallbacks, stream: true } as OpenAI.ChatCompletionCreateParamsStreaming;
}

/** A raw SSE request: when the head arrived (ms after sending), the headers, and the whole body. */
function rawStream(origin: string, fallbacks: string[] = []): Promise<{ headAtMs: number; headers: http.IncomingHttpHeaders; status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const sent = Date.now();
    const request = http.request(`${origin}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" } }, (response) => {
      const headAtMs = Date.now() - sent;
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (piece: string) => (text += piece));
      response.on("end", () => resolve({ headAtMs, headers: response.headers, status: response.statusCode ?? 0, text }));
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end(JSON.stringify(body(fallbacks)));
  });
}

const COMMENT = ": waiting for the first token\n\n";

describe("server.stream_keepalive_ms: a slow first token", () => {
  it("sends the SSE head and a comment every interval until the first token, then the answer", async () => {
    const { upstreams, origin, openai } = await start();
    upstreams.a?.always(fault.answer({ delayFirstTokenMs: 450 }));
    const raw = await rawStream(origin);
    expect(raw.status).toBe(200);
    expect(raw.headers["content-type"]).toContain("text/event-stream");
    expect(raw.headAtMs).toBeLessThan(400);
    const beforeData = raw.text.slice(0, raw.text.indexOf("data: "));
    const comments = beforeData.split(COMMENT).length - 1;
    expect(comments).toBeGreaterThanOrEqual(2);
    expect(beforeData).toBe(COMMENT.repeat(comments));
    expect(raw.text.endsWith("data: [DONE]\n\n")).toBe(true);
    // The route headers are not known when the head goes out early.
    expect(raw.headers["x-switchyard-model"]).toBeUndefined();

    // The official SDK reads past the comments.
    const answer = await collectSdkStream(await openai.chat.completions.create(body()));
    expect(answer.text).toBe("Answer from a.");
    expect(answer.finish).toBe("stop");
  });

  it("still fails over on a first-token timeout after the head went out: the caller gets the fallback's answer", async () => {
    const { upstreams, origin, openai } = await start();
    upstreams.a?.always(fault.answer({ delayFirstTokenMs: 3000 }));
    const answer = await collectSdkStream(await openai.chat.completions.create(body(["b/m"])));
    expect(answer.text).toBe("Answer from b.");
    // Without the route headers, the chunks still name the target that answered.
    expect(answer.model).toBe("b/m");
    expect(upstreams.a?.attempts).toHaveLength(1);
    const raw = await rawStream(origin, ["b/m"]);
    expect(raw.text).toContain(COMMENT);
    expect(raw.text.endsWith("data: [DONE]\n\n")).toBe(true);
  });

  it("ends with the in-band error frame (no [DONE]) when every target fails after the head went out", async () => {
    const { upstreams, origin, openai } = await start();
    upstreams.a?.always(fault.answer({ delayFirstTokenMs: 3000 }));
    const stream = await openai.chat.completions.create(body());
    const failure = await collectSdkStream(stream).then(() => undefined, (thrown: unknown) => thrown);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    const raw = await rawStream(origin);
    expect(raw.status).toBe(200);
    const frames = raw.text.split("\n\n").filter((frame) => frame.startsWith("data: "));
    expect(frames).toHaveLength(1);
    expect(JSON.parse(frames[0]?.slice("data: ".length) ?? "{}")).toMatchObject({ error: { code: "upstream_timeout" } });
    expect(raw.text).not.toContain("[DONE]");
  });

  it("with 0, holds the head until the first token, with no comment", async () => {
    const { upstreams, origin } = await start(0);
    upstreams.a?.always(fault.answer({ delayFirstTokenMs: 450 }));
    const raw = await rawStream(origin);
    expect(raw.headAtMs).toBeGreaterThanOrEqual(400);
    expect(raw.text.startsWith("data: ")).toBe(true);
    expect(raw.text).not.toContain(COMMENT);
    expect(raw.headers["x-switchyard-model"]).toBe("a/m");
  });
});
