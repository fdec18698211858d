import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";
import { withParseErrorAsInvalidArgument } from "../../src/rpc/connect-parse-errors.js";
import { FUZZ_CONFIG, wellBehavedUpstream } from "../support/fuzzing.js";

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

async function text(body: AsyncIterable<Uint8Array> | undefined): Promise<string> {
  let out = "";
  if (body) for await (const chunk of body) out += Buffer.from(chunk).toString("utf8");
  return out;
}

function jsonError(status: number, payload: object) {
  const bytes = new TextEncoder().encode(JSON.stringify(payload));
  return { status, header: new Headers({ "content-type": "application/json", "content-length": String(bytes.byteLength) }), body: once(bytes) };
}

describe("Connect's parse errors, as the gateway answers them", () => {
  it("turns Connect's 500 internal 'parse binary' into 400 invalid_argument, with its content-length", async () => {
    const answer = await withParseErrorAsInvalidArgument(jsonError(500, { code: "internal", message: "parse binary: premature EOF" }));
    const body = await text(answer.body);
    expect(answer.status).toBe(400);
    expect(JSON.parse(body)).toEqual({ code: "invalid_argument", message: "parse binary: premature EOF" });
    expect(answer.header?.get("content-length")).toBe(String(Buffer.byteLength(body)));
  });

  it("passes every other answer on as it was", async () => {
    const ok = { status: 200, header: new Headers({ "content-type": "application/proto" }), body: once(new Uint8Array([1, 2])) };
    expect(await withParseErrorAsInvalidArgument(ok)).toBe(ok);
    const other = await withParseErrorAsInvalidArgument(jsonError(500, { code: "internal", message: "internal error" }));
    expect(other.status).toBe(500);
    expect(JSON.parse(await text(other.body))).toEqual({ code: "internal", message: "internal error" });
    const unavailable = jsonError(503, { code: "unavailable", message: "parse binary: not ours to change" });
    expect(await withParseErrorAsInvalidArgument(unavailable)).toBe(unavailable);
  });

  it("over the Connect protocol, an undecodable binary request is a 400 invalid_argument, not a 500", async () => {
    const { app } = await buildApp({ config: parseConfigText(FUZZ_CONFIG, "connect.yaml", {}), transport: wellBehavedUpstream });
    await app.ready();
    try {
      const headers = { "content-type": "application/proto", "connect-protocol-version": "1" };
      const garbage = await app.inject({ method: "POST", url: "/switchyard.v1.ChatService/Chat", headers, payload: Buffer.from([0x0a, 0xff, 0xff, 0xff]) });
      expect(garbage.statusCode).toBe(400);
      expect(garbage.json()).toMatchObject({ code: "invalid_argument", message: expect.stringMatching(/^parse binary: /) });
      const json = await app.inject({ method: "POST", url: "/switchyard.v1.ChatService/Chat", headers: { ...headers, "content-type": "application/json" }, payload: '{"input":{"model":"oai/gpt-4o","messages":[{"role":"ROLE_USER","content":[{"text":"hi"}]}]}}' });
      expect(json.statusCode).toBe(200);
      expect(json.json()).toMatchObject({ choices: [{ message: { content: [{ text: "ok" }] } }] });
    } finally {
      await app.close();
    }
  });
});
