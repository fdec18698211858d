/**
 * Fields of a message or a function definition that the gateway does not model (a provider's own
 * extension, such as DeepSeek's and Mistral's `prefix: true`): sent as they are to OpenAI-dialect
 * providers, from REST and from gRPC (Message.extra, Tool.extra); named in a warning by the
 * others; never dropped without a word. A gRPC caller's extra that names a modelled field is
 * INVALID_ARGUMENT.
 */
import { create, type JsonObject } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/switchyard/v1/chat_pb.js";
import { ChatRequestSchema, ChatService } from "../../gen/switchyard/v1/chat_service_pb.js";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/error_pb.js";
import { startDialectUpstream, type DialectUpstream } from "../support/dialect-upstream.js";
import { listenApp, type ListeningApp } from "../support/listening-app.js";

const KEYS = { openai: "sk-extra-openai-0123456789", anthropic: "sk-ant-extra-0123456789", gemini: "AIzaExtra0123456789abcdef" };
const MODELS = { openai: ["deepseek-chat"], anthropic: ["claude-sonnet-4-5"], gemini: ["gemini-2.5-flash"] };

let upstream: DialectUpstream;
let gateway: ListeningApp;
let manager: Http2SessionManager;
let grpc: Client<typeof ChatService>;

beforeAll(async () => {
  upstream = await startDialectUpstream({ keys: KEYS, models: MODELS });
  gateway = await listenApp(
    `providers:
  ds: { type: openai-compatible, api_key: "${KEYS.openai}", base_url: "${upstream.origin}/v1" }
  ant: { type: anthropic, api_key: "${KEYS.anthropic}", base_url: "${upstream.origin}" }
  gem: { type: gemini, api_key: "${KEYS.gemini}", base_url: "${upstream.origin}" }
routing:
  retry: { max_retries: 0 }
logging: { level: silent }
`,
    "extra.yaml",
  );
  manager = new Http2SessionManager(gateway.origin);
  grpc = createClient(ChatService, createGrpcTransport({ baseUrl: gateway.origin, sessionManager: manager }));
});

afterAll(async () => {
  manager?.abort();
  await gateway?.close();
  await upstream?.close();
});

const restBody = (model: string) => ({
  model,
  messages: [
    { role: "user", content: "Write a haiku." },
    { role: "assistant", content: "Autumn", prefix: true },
  ],
  tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object" }, x_extra: { keep: 1 } } }],
});

async function rest(model: string): Promise<Response> {
  return fetch(`${gateway.origin}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(restBody(model)) });
}

describe("fields the gateway does not model", () => {
  it("reach an OpenAI-dialect provider as the caller sent them, from REST", async () => {
    upstream.reset();
    const response = await rest("ds/deepseek-chat");
    expect(response.status).toBe(200);
    expect(response.headers.get("x-switchyard-warnings") ?? "").not.toContain("prefix");
    const sent = upstream.lastChat().body as { messages: Record<string, unknown>[]; tools: { function: Record<string, unknown> }[] };
    expect(sent.messages[1]).toEqual({ role: "assistant", content: "Autumn", prefix: true });
    expect(sent.tools[0]?.function).toMatchObject({ name: "lookup", x_extra: { keep: 1 } });
  });

  it("the gateway's own stream field reasoning_signature, sent back on a message, is known: dropped, not forwarded nor warned about", async () => {
    for (const model of ["ds/deepseek-chat", "ant/claude-sonnet-4-5"]) {
      upstream.reset();
      const messages = [
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello", reasoning_signature: "SIG_FROM_A_STREAM" },
        { role: "user", content: "Again" },
      ];
      const response = await fetch(`${gateway.origin}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model, messages }) });
      expect(response.status).toBe(200);
      expect(response.headers.get("x-switchyard-warnings") ?? "").not.toContain("reasoning_signature");
      expect(JSON.stringify(upstream.lastChat().body)).not.toContain("SIG_FROM_A_STREAM");
    }
  });

  it.each([["ant/claude-sonnet-4-5", "Anthropic"], ["gem/gemini-2.5-flash", "Gemini"]])("are named in a warning by %s", async (model, provider) => {
    upstream.reset();
    const response = await rest(model);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-switchyard-warnings")).toContain(`ignored messages[1].prefix, tools[0].function.x_extra (not for ${provider}).`);
    expect(JSON.stringify(upstream.lastChat().body)).not.toContain("x_extra");
  });

  it("reach an OpenAI-dialect provider from gRPC (Message.extra, Tool.extra); an extra naming a modelled field is INVALID_ARGUMENT", async () => {
    upstream.reset();
    const request = (extra: Record<string, unknown>) =>
      create(ChatRequestSchema, {
        input: {
          model: "ds/deepseek-chat",
          messages: [
            { role: Role.USER, content: [{ part: { case: "text", value: "Write a haiku." } }] },
            { role: Role.ASSISTANT, content: [{ part: { case: "text", value: "Autumn" } }], extra: extra as never },
          ],
          tools: [{ name: "lookup", extra: { x_extra: "kept" } }],
        },
      });
    await grpc.chat(request({ prefix: true }));
    const sent = upstream.lastChat().body as { messages: Record<string, unknown>[]; tools: { function: Record<string, unknown> }[] };
    expect(sent.messages[1]).toEqual({ role: "assistant", content: "Autumn", prefix: true });
    expect(sent.tools[0]?.function.x_extra).toBe("kept");
    const error = await grpc.chat(request({ role: "system" })).then(() => undefined, (thrown: unknown) => ConnectError.from(thrown));
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(error?.findDetails(ErrorDetailSchema)[0]?.param).toBe("messages[1].extra.role");
  });

  const partsBody = (model: string) => ({
    model,
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: "Compare.", x_note: "a" },
          { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=", x_inner: 1 }, uuid: "img-123" },
        ],
      },
      { role: "user", content: [{ type: "text", text: "Only text, with a field", x_tag: 7 }] },
    ],
  });

  it("content parts' unknown fields, and their typed object's, reach an OpenAI-dialect provider where the caller put them", async () => {
    upstream.reset();
    const response = await fetch(`${gateway.origin}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(partsBody("ds/deepseek-chat")) });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-switchyard-warnings") ?? "").not.toContain("uuid");
    const sent = upstream.lastChat().body as { messages: { content: unknown }[] };
    expect(sent.messages[0]?.content).toEqual([
      { type: "text", text: "Compare.", x_note: "a" },
      { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=", x_inner: 1 }, uuid: "img-123" },
    ]);
    // A lone text part with a field of its own stays a part (the string form would lose it).
    expect(sent.messages[1]?.content).toEqual([{ type: "text", text: "Only text, with a field", x_tag: 7 }]);
  });

  it.each([["ant/claude-sonnet-4-5", "Anthropic"], ["gem/gemini-2.5-flash", "Gemini"]])("content parts' unknown fields are named in a warning by %s", async (model, provider) => {
    upstream.reset();
    const response = await fetch(`${gateway.origin}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(partsBody(model)) });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-switchyard-warnings")).toContain(
      `ignored messages[0].content[0].x_note, messages[0].content[1].uuid, messages[0].content[1].image_url.x_inner, messages[1].content[0].x_tag (not for ${provider}).`,
    );
    expect(JSON.stringify(upstream.lastChat().body)).not.toContain("img-123");
  });

  it("a part the gateway sends as another type (a PDF given by image_url goes as a file) takes its nested fields into the object it goes as", async () => {
    upstream.reset();
    const body = { model: "ds/deepseek-chat", messages: [{ role: "user", content: [{ type: "image_url", uuid: "u-1", image_url: { url: "data:application/pdf;base64,JVBERi0xLjQ=", x_opt: 1 } }] }] };
    const response = await fetch(`${gateway.origin}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    expect(response.status).toBe(200);
    const sent = upstream.lastChat().body as { messages: { content: unknown }[] };
    expect(sent.messages[0]?.content).toEqual([{ type: "file", uuid: "u-1", file: { file_data: "data:application/pdf;base64,JVBERi0xLjQ=", filename: "part-0.pdf", x_opt: 1 } }]);
  });

  it("a REST part carrying another part type's field (image_url on a text part) is a 400 naming it, not passed on", async () => {
    const body = { model: "ds/deepseek-chat", messages: [{ role: "user", content: [{ type: "text", text: "hi", image_url: { url: "http://other.example/x.png" } }] }] };
    const response = await fetch(`${gateway.origin}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { param: string } }).error.param).toBe("messages[0].content[0].image_url");
  });

  it("from gRPC, ContentPart.extra and Media.extra reach an OpenAI-dialect provider; a key the gateway models there, or a NaN, is INVALID_ARGUMENT", async () => {
    const request = (partExtra: Record<string, unknown>, mediaExtra: Record<string, unknown>, toolParameters: Record<string, unknown> = { type: "object" }) =>
      create(ChatRequestSchema, {
        input: {
          model: "ds/deepseek-chat",
          messages: [
            {
              role: Role.USER,
              content: [{ part: { case: "image", value: { source: { case: "url", value: "https://img.example/cat.png" }, extra: mediaExtra as never } }, extra: partExtra as never }],
            },
          ],
          tools: [{ name: "lookup", parameters: toolParameters as never }],
        },
      });
    const requestWithMime = (mimeType: string, mediaExtra: Record<string, unknown>) =>
      create(ChatRequestSchema, {
        input: {
          model: "ds/deepseek-chat",
          messages: [{ role: Role.USER, content: [{ part: { case: "image", value: { source: { case: "data", value: new Uint8Array([37, 80, 68, 70]) }, mimeType, extra: mediaExtra as never } } }] }],
        },
      });
    upstream.reset();
    await grpc.chat(request({ uuid: "u-9" }, { x_inner: 2 }));
    const sent = upstream.lastChat().body as { messages: { content: unknown }[] };
    expect(sent.messages[0]?.content).toEqual([{ type: "image_url", uuid: "u-9", image_url: { url: "https://img.example/cat.png", x_inner: 2 } }]);
    const refused = async (call: ReturnType<typeof create<typeof ChatRequestSchema>>) => grpc.chat(call).then(() => undefined, (thrown: unknown) => ConnectError.from(thrown));
    for (const [call, param] of [
      [request({ cache_control: { type: "bogus" } }, {}), "messages[0].content[0].extra.cache_control"],
      [request({}, { detail: "ultra" }), "messages[0].content[0].media.extra.detail"],
      // The object the part goes as follows an explicit mime_type: a PDF in an image part goes as a file.
      [requestWithMime("application/pdf", { file_id: "file-smuggled" }), "messages[0].content[0].media.extra.file_id"],
      [request({}, { image_url: "http://other.example/x.png" }), "messages[0].content[0].media.extra.image_url"],
      [request({ x: Number.NaN }, {}), "messages[0].content[0].extra.x"],
      [request({}, {}, { type: "object", properties: { n: { type: "number", maximum: Number.POSITIVE_INFINITY } } }), "tools[0].function.parameters.properties.n.maximum"],
      // A "__proto__" key, which REST refuses too: copied by assignment it would set a prototype and vanish.
      [request({}, {}, JSON.parse('{"type":"object","properties":{"__proto__":{"type":"string"}}}') as JsonObject), "tools[0].function.parameters.properties"],
    ] as const) {
      const error = await refused(call);
      expect(error?.code).toBe(Code.InvalidArgument);
      expect(error?.findDetails(ErrorDetailSchema)[0]?.param).toBe(param);
    }
  });

  it("a field another typed object models (LiteLLM's format inside image_url or file) is an extension of this one: forwarded, not refused", async () => {
    upstream.reset();
    const body = { model: "ds/deepseek-chat", messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/a.jpg", format: "image/jpeg" } }] }] };
    const response = await fetch(`${gateway.origin}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    expect(response.status).toBe(200);
    const sent = upstream.lastChat().body as { messages: { content: unknown }[] };
    expect(sent.messages[0]?.content).toEqual([{ type: "image_url", image_url: { url: "https://example.com/a.jpg", format: "image/jpeg" } }]);
  });
});
