import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redactSecrets, requestSecrets } from "../../src/providers/upstream-status.js";
import { listenApp } from "../support/listening-app.js";
import { jsonAnswer, sseAnswer, startFakeUpstream, type FakeUpstream, type UpstreamAnswer } from "../support/fake-upstream.js";

/*
 * A provider that echoes the account's key in an error must not hand it to the caller or the log,
 * however it encodes it. Before this file, only the raw body was redacted by value, so a key
 * echoed with a JSON escape (`\/`, `\u0070`), percent-encoded, or in an error event of a 200
 * stream reached the caller (REST and Connect) and the log verbatim.
 */

/** Keys without a provider prefix (as Azure and self-hosted keys look): scrubSecrets' patterns do not know them. */
const KEY = "plainKey/with+Slash=0123";
const AZURE_KEY = "azureKey+0123/4567==";

function chunk(content: string): string {
  return `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { role: "assistant", content }, finish_reason: null }] })}\n\n`;
}

function openAIError(message: string, code: string | null = null): string {
  return JSON.stringify({ error: { message, type: "invalid_request_error", code, param: null } });
}

const jsonEscapedSlash = (secret: string) => secret.replace(/\//g, "\\/");

const ECHOES: readonly [string, UpstreamAnswer, boolean][] = [
  ["a key with JSON-escaped slashes", jsonAnswer(`{"error":{"message":"bad key ${jsonEscapedSlash(KEY)}","type":"invalid_request_error"}}`, { status: 400 }), false],
  ["a key with a \\u escape", jsonAnswer(`{"error":{"message":"bad key \\u0070${KEY.slice(1)}","type":"invalid_request_error"}}`, { status: 400 }), false],
  ["a percent-encoded key (an echoed URL)", jsonAnswer(openAIError(`cannot GET /v1/x?key=${encodeURIComponent(KEY)}`), { status: 404 }), false],
  ["a key in the error code (the ErrorDetail's upstream_code)", jsonAnswer(openAIError("bad key", `key_${KEY}`), { status: 400 }), false],
  ["an echoed api-key header, JSON-escaped", jsonAnswer(`{"error":{"message":"header api-key: ${jsonEscapedSlash(AZURE_KEY)} is not valid here","type":"invalid_request_error"}}`, { status: 422 }), false],
  ["a key in an error event of a 200 stream", sseAnswer([chunk("a"), `data: ${openAIError(`bad key ${KEY}`)}\n\n`]), true],
];

let upstream: FakeUpstream;
const lines: string[] = [];
let origin = "";
let close: () => Promise<void>;

beforeAll(async () => {
  upstream = await startFakeUpstream();
  const yaml = `server: { host: 127.0.0.1, port: 0 }
providers:
  b: { type: openai-compatible, api_key: "${KEY}", base_url: "${upstream.baseUrl}", headers: { api-key: "${AZURE_KEY}" } }
routing:
  retry: { max_retries: 0 }
logging: { level: trace, max_similar_per_second: 0 }
`;
  const app = await listenApp(yaml, "secrets.yaml", { write: (line) => lines.push(line) });
  origin = app.origin;
  close = async () => {
    await app.close();
    await upstream.close();
  };
});

afterAll(async () => close());

/** Every form of the two keys a reader could recognise. */
function expectNoKey(text: string): void {
  for (const secret of [KEY, AZURE_KEY]) {
    for (const form of [secret, jsonEscapedSlash(secret), encodeURIComponent(secret), secret.slice(1)]) expect(text).not.toContain(form);
  }
}

async function restAnswer(stream: boolean): Promise<{ status: number; text: string }> {
  const response = await fetch(`${origin}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "b/m", stream, messages: [{ role: "user", content: "hi" }] }),
  });
  return { status: response.status, text: await response.text() };
}

async function connectAnswer(stream: boolean): Promise<string> {
  const input = { model: "b/m", messages: [{ role: "ROLE_USER", content: [{ text: "hi" }] }] };
  if (!stream) {
    const response = await fetch(`${origin}/switchyard.v1.ChatService/Chat`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ input }) });
    return response.text();
  }
  const message = Buffer.from(JSON.stringify({ input }));
  const envelope = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), message]);
  envelope.writeUInt32BE(message.length, 1);
  const response = await fetch(`${origin}/switchyard.v1.ChatService/ChatStream`, { method: "POST", headers: { "content-type": "application/connect+json" }, body: envelope });
  return Buffer.from(await response.arrayBuffer()).toString("utf8");
}

/** The ErrorDetail of Connect answers travels base64-encoded: decode every `value` so the check sees it. */
function withDecodedDetails(text: string): string {
  const values = [...text.matchAll(/"value":"([A-Za-z0-9+/_-]+)"/g)].map((match) => Buffer.from(match[1] ?? "", "base64").toString("latin1"));
  return [text, ...values].join("\n");
}

describe("an account's key echoed by its provider", () => {
  it.each(ECHOES)("never reaches the caller: %s (REST and Connect)", async (_name, answer, stream) => {
    upstream.enqueue(answer);
    const rest = await restAnswer(stream);
    expect(stream ? rest.text : rest.status).toSatisfy((value: unknown) => (stream ? String(value).includes('"error"') : Number(value) >= 400));
    if (!answer.chunks.join("").includes(`"code":"key_`)) expect(rest.text).toContain("[redacted]");
    expectNoKey(rest.text);
    upstream.enqueue(answer);
    expectNoKey(withDecodedDetails(await connectAnswer(stream)));
  });

  it("never reaches the log", () => {
    expect(lines.some((line) => line.includes("upstream attempt failed"))).toBe(true);
    expectNoKey(lines.join("\n"));
  });
});

describe("redactSecrets on a large body", () => {
  it("still removes a key written as is, JSON-escaped or percent-encoded from a body over 256 KiB (common forms only, by substring search)", () => {
    const secrets = requestSecrets({ authorization: `Bearer ${KEY}` }, "https://h/v1");
    const filler = "x".repeat(300 * 1024);
    const text = `${filler} ${KEY} ${jsonEscapedSlash(KEY)} ${encodeURIComponent(KEY)} ${filler}`;
    const redacted = redactSecrets(text, secrets);
    expectNoKey(redacted);
    expect(redacted.match(/\[redacted\]/g)).toHaveLength(3);
  });
});
