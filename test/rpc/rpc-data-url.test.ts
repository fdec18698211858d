/**
 * Media given as `data:` URLs through the typed front doors (REST turns data URLs into bytes at its
 * edge; gRPC and Connect callers hand the URL to the core as it is): every adapter sends the
 * provider standard, padded base64 whichever base64 form or percent-encoding the caller used, the
 * same bytes a REST caller's image reaches the provider as, and a malformed payload is the
 * caller's INVALID_ARGUMENT naming the part, never an INTERNAL error or a request sent on as it is.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/switchyard/v1/chat_pb.js";
import { ChatRequestSchema, ChatService } from "../../gen/switchyard/v1/chat_service_pb.js";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/error_pb.js";
import { startDialectUpstream, type DialectUpstream } from "../support/dialect-upstream.js";
import { listenApp, type ListeningApp } from "../support/listening-app.js";

const KEYS = { openai: "sk-dataurl-openai-0123456789", anthropic: "sk-ant-dataurl-0123456789", gemini: "AIzaDataUrl0123456789abcdef" };
const MODELS = { openai: ["gpt-4o-mini"], anthropic: ["claude-sonnet-4-5"], gemini: ["gemini-2.5-flash"] };
const TARGETS = { openai: "oai/gpt-4o-mini", anthropic: "ant/claude-sonnet-4-5", gemini: "gem/gemini-2.5-flash" } as const;

/** Bytes whose base64 differs between the two alphabets ("+/" against "-_"). */
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xfb, 0xff, 0xbf, 0x00, 0x3e]);
const STANDARD = PNG.toString("base64");

let upstream: DialectUpstream;
let gateway: ListeningApp;
let manager: Http2SessionManager;
let grpc: Client<typeof ChatService>;
let connectJson: Client<typeof ChatService>;

beforeAll(async () => {
  upstream = await startDialectUpstream({ keys: KEYS, models: MODELS });
  const yaml = `server: { host: 127.0.0.1, port: 0 }
providers:
  oai: { type: openai, api_key: "${KEYS.openai}", base_url: "${upstream.origin}/v1" }
  ant: { type: anthropic, api_key: "${KEYS.anthropic}", base_url: "${upstream.origin}" }
  gem: { type: gemini, api_key: "${KEYS.gemini}", base_url: "${upstream.origin}" }
routing:
  retry: { max_retries: 0 }
logging: { level: silent }
`;
  gateway = await listenApp(yaml, "data-url.yaml");
  manager = new Http2SessionManager(gateway.origin);
  grpc = createClient(ChatService, createGrpcTransport({ baseUrl: gateway.origin, sessionManager: manager }));
  connectJson = createClient(ChatService, createConnectTransport({ baseUrl: gateway.origin, httpVersion: "1.1", useBinaryFormat: false }));
});

afterAll(async () => {
  manager?.abort();
  await gateway?.close();
  await upstream?.close();
});

function request(model: string, url: string) {
  return create(ChatRequestSchema, {
    input: {
      model,
      messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "What is this?" } }, { part: { case: "image", value: { source: { case: "url", value: url } } } }] }],
    },
  });
}

/** The base64 the provider received for the image, in its dialect's field. */
function sentImage(): string | undefined {
  const body = JSON.stringify(upstream.lastChat().body);
  return /"(?:url|data)":"(?:data:image\/png;base64,)?([A-Za-z0-9+/=_\-\\n ]{8,})"/.exec(body)?.[1];
}

describe("data URLs from gRPC and Connect callers", () => {
  for (const [dialect, model] of Object.entries(TARGETS)) {
    it(`reach ${dialect} as standard base64, the same as a REST caller's`, async () => {
      upstream.reset();
      const rest = await fetch(`${gateway.origin}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model, messages: [{ role: "user", content: [{ type: "text", text: "What is this?" }, { type: "image_url", image_url: { url: `data:image/png;base64,${STANDARD}` } }] }] }),
      });
      expect(rest.status).toBe(200);
      expect(sentImage()).toBe(STANDARD);
      for (const url of [
        `data:image/png;base64,${PNG.toString("base64url")}`,
        `data:image/png;base64,${STANDARD.slice(0, 4)}\n${STANDARD.slice(4)}`,
        `data:image/png;base64,${encodeURIComponent(STANDARD)}`,
      ]) {
        const answer = await grpc.chat(request(model, url));
        expect(answer.choices[0]?.message?.content.length).toBeGreaterThan(0);
        expect(sentImage()).toBe(STANDARD);
      }
    });

    it(`a malformed payload for ${dialect} is INVALID_ARGUMENT naming the part, over gRPC and Connect JSON`, async () => {
      upstream.reset();
      for (const url of ["data:text/plain,100%", "data:image/png,%E0%A4%A", "data:image/png;base64,@@@not base64!!"]) {
        for (const client of [grpc, connectJson]) {
          const error = await client.chat(request(model, url)).then(() => undefined, (thrown: unknown) => ConnectError.from(thrown));
          expect(error?.code).toBe(Code.InvalidArgument);
          const detail = error?.findDetails(ErrorDetailSchema)[0];
          expect(detail?.reason).toBe("INVALID_REQUEST");
          expect(detail?.param).toBe("messages[0].content[1]");
        }
      }
      expect(upstream.chatRequests()).toHaveLength(0);
    });
  }
});
