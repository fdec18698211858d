/**
 * The REST front door as real clients use it, against a listening gateway in front of the fake
 * upstream: the official SDK's model endpoints, and request bodies the way raw HTTP/1.1 and h2c
 * clients send them (charsets, byte order marks, invalid UTF-8, content codings), over both the
 * raw route (a Content-Length body) and the Fastify route (chunked, HTTP/2).
 */
import http2 from "node:http2";
import net from "node:net";
import { gzipSync } from "node:zlib";
import OpenAI, { APIError } from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { jsonFixtureAnswer, sseAnswer } from "../support/fake-upstream.js";
import { thrown } from "../support/thrown.js";
import { GATEWAY_KEY, MODEL, startGateway, type RunningGateway } from "../e2e/gateway-harness.js";

let gateway: RunningGateway;
let client: OpenAI;

beforeAll(async () => {
  gateway = await startGateway({ extraYaml: "models:\n  smart: { strategy: fallback, targets: [openai-main/gpt-4o-mini] }\n" });
  client = new OpenAI({ apiKey: GATEWAY_KEY, baseURL: `${gateway.origin}/v1`, maxRetries: 0, timeout: 10_000 });
});

afterAll(async () => {
  await gateway?.close();
});

beforeEach(() => {
  gateway.upstream.reset();
  gateway.upstream.setDefault(jsonFixtureAnswer("openai/chat-nonstream-text.json"));
});

interface RawAnswer {
  readonly status: number;
  readonly head: string;
  readonly body: string;
}

/** Sends raw bytes on a fresh socket and reads one HTTP/1.1 answer (Content-Length framed). */
function rawExchange(port: number, ...pieces: (string | Buffer)[]): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within 5 s: ${received.toString("latin1")}`));
    }, 5_000);
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const text = received.toString("utf8");
      const end = text.indexOf("\r\n\r\n");
      if (end === -1) return;
      const head = text.slice(0, end);
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? NaN);
      const body = received.subarray(Buffer.byteLength(text.slice(0, end + 4)));
      if (body.length < length) return;
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: Number(head.split(" ")[1]), head, body: body.toString("utf8") });
    });
    socket.on("error", reject);
    for (const piece of pieces) socket.write(piece);
  });
}

/** A POST /v1/chat/completions head with a Content-Length (the raw route's shape) or chunked. */
function postHead(body: Buffer, headers: Record<string, string> = {}, chunked = false): string {
  const all: Record<string, string> = { host: "gateway", authorization: `Bearer ${GATEWAY_KEY}`, "content-type": "application/json", ...headers };
  if (chunked) all["transfer-encoding"] = "chunked";
  else all["content-length"] = String(body.length);
  return `POST /v1/chat/completions HTTP/1.1\r\n${Object.entries(all).map(([name, value]) => `${name}: ${value}\r\n`).join("")}\r\n`;
}

/** The same request over HTTP/1.1 with a Content-Length (raw route) and chunked (Fastify route). */
async function overBothRoutes(body: Buffer, headers: Record<string, string> = {}): Promise<RawAnswer[]> {
  const chunk = body.length === 0 ? Buffer.from("0\r\n\r\n") : Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from("\r\n0\r\n\r\n")]);
  return [
    await rawExchange(gateway.port, postHead(body, headers), body),
    await rawExchange(gateway.port, postHead(body, headers, true), chunk),
  ];
}

/** One POST over h2c prior knowledge. */
function h2Post(body: Buffer, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const session = http2.connect(gateway.origin);
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": "/v1/chat/completions", authorization: `Bearer ${GATEWAY_KEY}`, "content-type": "application/json", ...headers });
    let status = 0;
    let text = "";
    stream.setEncoding("utf8");
    stream.on("response", (received) => (status = Number(received[":status"])));
    stream.on("data", (piece: string) => (text += piece));
    stream.on("end", () => {
      session.close();
      resolve({ status, body: text });
    });
    stream.on("error", reject);
    stream.end(body);
  });
}

const chat = (content: string) => JSON.stringify({ model: MODEL, messages: [{ role: "user", content }] });

/** The error envelope of an answer, checked for its four keys. */
function envelope(body: string): { message: string; type: string; param: string | null; code: string } {
  const parsed = JSON.parse(body) as { error: { message: string; type: string; param: string | null; code: string } };
  expect(Object.keys(parsed.error).sort()).toEqual(["code", "message", "param", "type"]);
  return parsed.error;
}

describe("GET /v1/models/{id} (the SDK's models.retrieve; ids contain a slash)", () => {
  it("describes a catalogue model whether the slash comes encoded (the SDK) or as is (curl)", async () => {
    expect(await client.models.retrieve(MODEL)).toEqual({ id: MODEL, object: "model", created: 0, owned_by: "openai-main" });
    const plain = await fetch(`${gateway.origin}/v1/models/${MODEL}`, { headers: { authorization: `Bearer ${GATEWAY_KEY}` } });
    expect(plain.status).toBe(200);
    expect(await plain.json()).toEqual({ id: MODEL, object: "model", created: 0, owned_by: "openai-main" });
  });

  it("describes a virtual model, and any model of a configured account a chat request would route", async () => {
    expect(await client.models.retrieve("smart")).toMatchObject({ id: "smart", owned_by: "virtual" });
    expect(await client.models.retrieve("openai-main/gpt-5/preview")).toMatchObject({ id: "openai-main/gpt-5/preview", owned_by: "openai-main" });
  });

  it("answers 404 model_not_found in the OpenAI envelope for an id nothing would route, and 401 without the key", async () => {
    for (const id of ["no-such-account/gpt-4o-mini", "gpt-4o-mini", "openai-main/", "openai-main/a\nb", "constructor", "toString/x", "__proto__/x"]) {
      const error = await thrown(() => client.models.retrieve(id));
      expect(error, id).toBeInstanceOf(OpenAI.NotFoundError);
      expect((error as APIError).code).toBe("model_not_found");
      expect((error as APIError).type).toBe("invalid_request_error");
    }
    const anonymous = await fetch(`${gateway.origin}/v1/models/${MODEL}`);
    expect(anonymous.status).toBe(401);
    expect(gateway.upstream.requests).toHaveLength(0);
  });
});

describe("request body bytes, the same on the raw route, the Fastify route and h2c", () => {
  it("refuses a body that is not valid UTF-8 with a 400 instead of forwarding U+FFFD in its place", async () => {
    const text = Buffer.from(chat("hi__"));
    text.set([0xff, 0xfe], text.indexOf("__"));
    for (const answer of [...(await overBothRoutes(text)), await h2Post(text)]) {
      expect(answer.status).toBe(400);
      expect(envelope(answer.body)).toMatchObject({ type: "invalid_request_error", code: "invalid_request", message: expect.stringContaining("not valid UTF-8") });
    }
    expect(gateway.upstream.requests).toHaveLength(0);
  });

  it("ignores a leading UTF-8 byte order mark on every route", async () => {
    const text = Buffer.from(`\uFEFF${chat("Grüße")}`);
    for (const answer of [...(await overBothRoutes(text)), await h2Post(text)]) expect(answer.status).toBe(200);
    expect(gateway.upstream.requests.map((request) => (request.body as { messages: { content: string }[] }).messages[0]?.content)).toEqual(["Grüße", "Grüße", "Grüße"]);
  });

  it("decodes the charset the Content-Type declares, and answers 415 for one it does not know", async () => {
    const latin1 = Buffer.from(chat("héllo"), "latin1");
    for (const answer of await overBothRoutes(latin1, { "content-type": "application/json; charset=ISO-8859-1" })) expect(answer.status).toBe(200);
    expect(gateway.upstream.requests.map((request) => (request.body as { messages: { content: string }[] }).messages[0]?.content)).toEqual(["héllo", "héllo"]);

    for (const answer of await overBothRoutes(Buffer.from(chat("hi")), { "content-type": "application/json; charset=klingon" })) {
      expect(answer.status).toBe(415);
      expect(envelope(answer.body)).toMatchObject({ code: "unsupported_media_type", message: expect.stringContaining("charset 'klingon'") });
    }
  });

  it("answers 415 for a compressed body rather than failing it as unparsable JSON", async () => {
    const compressed = gzipSync(chat("hi"));
    for (const answer of [...(await overBothRoutes(compressed, { "content-encoding": "gzip" })), await h2Post(compressed, { "content-encoding": "gzip" })]) {
      expect(answer.status).toBe(415);
      expect(envelope(answer.body)).toMatchObject({ type: "invalid_request_error", code: "unsupported_media_type", message: expect.stringContaining("Content-Encoding 'gzip'") });
    }
    const identity = await overBothRoutes(Buffer.from(chat("hi")), { "content-encoding": "identity" });
    expect(identity.map((answer) => answer.status)).toEqual([200, 200]);
    expect(gateway.upstream.requests).toHaveLength(2);
  });

  it("answers an empty body with a 400 that says so", async () => {
    for (const answer of await overBothRoutes(Buffer.alloc(0))) {
      expect(answer.status).toBe(400);
      expect(envelope(answer.body)).toMatchObject({ code: "invalid_request", message: "The request body is empty. Send a JSON object." });
    }
  });
});

describe("content types", () => {
  it("a body without a JSON Content-Type gets a 415 that says what to send", async () => {
    // text/plain too: Fastify's own text parser used to take it, so the JSON was refused as "not a JSON object" (400).
    for (const type of ["application/x-www-form-urlencoded", "application/vnd.api+json", "text/plain", "text/plain; charset=utf-8"]) {
      const [answer] = await overBothRoutes(Buffer.from(chat("hi")), { "content-type": type });
      expect(answer?.status).toBe(415);
      expect(envelope(answer?.body ?? "")).toMatchObject({ code: "unsupported_media_type", message: `Unsupported Content-Type '${type}': send the request body as JSON with 'Content-Type: application/json'.` });
    }
  });
});

describe("model names the gateway would echo in response headers", () => {
  it("a model name too long for a response header is a 400 the SDK can read, not a connection error", async () => {
    const error = await thrown(() => client.chat.completions.create({ model: `openai-main/${"m".repeat(20_000)}`, messages: [{ role: "user", content: "hi" }] }));
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as APIError).param).toBe("model");
    expect((error as APIError).message).toContain("longer than 256 characters");
    expect(gateway.upstream.requests).toHaveLength(0);
  });
});

describe("numbers beyond a double's range", () => {
  it("1e400 (Infinity once parsed) is a 400 that says the number is too large, not 'a decimal'", async () => {
    for (const [field, expected] of [["max_tokens", "an integer"], ["temperature", "a number"]] as const) {
      const body = Buffer.from(chat("hi").replace(/}$/, `,"${field}":1e400}`));
      const [answer] = await overBothRoutes(body);
      expect(answer?.status).toBe(400);
      expect(envelope(answer?.body ?? "")).toMatchObject({ param: field, message: `Invalid type for '${field}': expected ${expected}, but got a number too large to represent instead.` });
    }
  });
});

describe("requests Node's HTTP/1.1 parser refuses", () => {
  it("are answered in the OpenAI envelope (Node's own answers have no body), and the server keeps serving", async () => {
    const garbage = await rawExchange(gateway.port, "GARBAGE\r\n\r\n");
    expect(garbage.status).toBe(400);
    expect(envelope(garbage.body)).toEqual({ message: "The request is not valid HTTP/1.1.", type: "invalid_request_error", param: null, code: "invalid_request" });
    const body = Buffer.from(chat("hi"));
    const smuggled = await rawExchange(gateway.port, postHead(body).replace("\r\n\r\n", "\r\ntransfer-encoding: chunked\r\n\r\n"), body);
    expect(smuggled.status).toBe(400);

    const bigHeaders = new OpenAI({ apiKey: GATEWAY_KEY, baseURL: `${gateway.origin}/v1`, maxRetries: 0, defaultHeaders: { "x-big": "a".repeat(20_000) } });
    const error = await thrown(() => bigHeaders.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] }));
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).status).toBe(431);
    expect((error as APIError).code).toBe("request_too_large");
    expect((error as APIError).message).toContain("The request headers are too large.");

    expect((await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] })).choices).toHaveLength(1);
    expect(gateway.upstream.requests).toHaveLength(1);
  });
});

describe("stream_options.include_obfuscation (README: accepted, no effect)", () => {
  it("is accepted, not sent upstream, and the chunks carry no obfuscation padding even when the upstream's do", async () => {
    const base = { id: "chatcmpl-obf", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini" };
    const frame = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`;
    gateway.upstream.enqueue(sseAnswer([
      frame({ ...base, obfuscation: "Xy", choices: [{ index: 0, delta: { role: "assistant", content: "hi" }, finish_reason: null }] }),
      frame({ ...base, obfuscation: "Q", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }),
      "data: [DONE]\n\n",
    ]));
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }], stream: true, stream_options: { include_obfuscation: true } });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe("hi");
    expect(chunks.every((chunk) => !("obfuscation" in chunk))).toBe(true);
    expect((gateway.upstream.lastRequest().body as { stream_options: unknown }).stream_options).toEqual({ include_usage: true });
  });
});
