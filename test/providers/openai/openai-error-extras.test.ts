import { describe, expect, it } from "vitest";
import { ErrorDetailSchema } from "../../../gen/switchyard/v1/error_pb.js";
import { Code } from "@connectrpc/connect";
import { gatewayError, GatewayError, Reason } from "../../../src/core/errors.js";
import { cleanedProviderError } from "../../../src/providers/upstream-status.js";
import { testAccount } from "../../support/test-accounts.js";
import { postChat, testApp } from "../../http/rest-test-setup.js";
import { callOptions, user } from "../../support/proto-builders.js";
import { replayTransport } from "../../support/replay-transport.js";
import { adapterFor, chatInput } from "./openai-test-setup.js";

/*
 * Fields of an OpenAI-dialect error object the gateway does not model come back. Azure OpenAI's
 * content filter refusal says in `innererror.content_filter_result` which category fired (what a
 * client reacts to); it was lost. Body hand-made from Azure's documented error contract
 * (learn.microsoft.com, "Content filtering": the prompt-filtered 400).
 */

const AZURE_FILTERED = {
  error: {
    message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
    type: null,
    param: "prompt",
    code: "content_filter",
    status: 400,
    innererror: {
      code: "ResponsibleAIPolicyViolation",
      content_filter_result: { hate: { filtered: false, severity: "safe" }, jailbreak: { filtered: true, detected: true }, self_harm: { filtered: false, severity: "safe" } },
    },
  },
};

describe("a provider's own error fields", () => {
  it("Azure's innererror reaches REST callers where Azure put it, and RPC callers in ErrorDetail.upstream_extra", async () => {
    const replay = replayTransport({ status: 400, body: JSON.stringify(AZURE_FILTERED) });
    const error = await adapterFor(replay).generate(chatInput({ messages: [user("hi")] }), callOptions("gpt-4o")).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).reason).toBe(Reason.CONTENT_FILTER);
    const detail = (error as GatewayError).findDetails(ErrorDetailSchema)[0];
    expect(detail?.upstreamExtra).toEqual({ status: 400, innererror: AZURE_FILTERED.error.innererror });

    const { app } = await testApp({ status: 400, body: JSON.stringify(AZURE_FILTERED) });
    try {
      const response = await postChat(app, { model: "openai-main/gpt-4o", messages: [{ role: "user", content: "hi" }] });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({
        error: { message: AZURE_FILTERED.error.message, type: "invalid_request_error", param: "prompt", code: "content_filter", status: 400, innererror: AZURE_FILTERED.error.innererror },
      });
    } finally {
      await app.close();
    }
  });

  const failureOf = (status: number, body: unknown) =>
    adapterFor(replayTransport({ status, body: JSON.stringify(body) })).generate(chatInput({ messages: [user("hi")] }), callOptions("m")).then(
      () => {
        throw new Error("expected a failure");
      },
      (thrown: unknown) => thrown as GatewayError,
    );

  it("scrubs key-like text from them, and gives none back for an error object without such fields or a bare body's envelope keys", async () => {
    const leaky = { error: { message: "bad", type: "invalid_request_error", code: "x", param: null, debug: { echoed: "Bearer sk-proj-ABCDEFGHIJKLMNOPQRSTUVWX" } } };
    const withDebug = await failureOf(400, leaky);
    expect(JSON.stringify(withDebug.facts.upstreamExtra)).not.toContain("ABCDEFGH");
    expect(withDebug.facts.upstreamExtra).toEqual({ debug: { echoed: "Bearer [redacted]" } });
    const plain = await failureOf(400, { error: { message: "bad", type: "invalid_request_error", code: null, param: null } });
    expect(plain.facts.upstreamExtra).toBeUndefined();
    const bare = await failureOf(422, { object: "error", message: "bad", type: "invalid_request_error" });
    expect(bare.facts.upstreamExtra).toBeUndefined();
  });

  it("gives none back with a rejected credential (like its text, they may name the account)", async () => {
    const rejected = await failureOf(401, { error: { message: "Incorrect API key provided", type: "invalid_request_error", code: "invalid_api_key", request_echo: { org: "org-secretorg" } } });
    expect(rejected.reason).toBe(Reason.PROVIDER_AUTH_FAILED);
    expect(rejected.facts.upstreamExtra).toBeUndefined();
  });

  it("keeps them to what every client can carry: none past 2 KB or 8 levels deep; numbers JSON cannot hold as null; no prototype-changing keys", async () => {
    expect((await failureOf(400, { error: { message: "m", innererror: { blob: "x y ".repeat(800) } } })).facts.upstreamExtra).toBeUndefined();
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let level = 0; level < 60; level++) deep = { a: deep };
    expect((await failureOf(400, { error: { message: "m", nested: deep } })).facts.upstreamExtra).toBeUndefined();
    const odd = (await adapterFor(replayTransport({ status: 400, body: '{"error":{"message":"m","n":1e400,"__proto__":{"polluted":1},"constructor":{"prototype":{"x":1}},"kept":{"ok":true}}}' }))
      .generate(chatInput({ messages: [user("hi")] }), callOptions("m"))
      .catch((thrown: unknown) => thrown)) as GatewayError;
    expect(odd.facts.upstreamExtra).toEqual({ n: null, kept: { ok: true } });
    expect(Object.keys(odd.facts.upstreamExtra ?? {})).toEqual(["n", "kept"]);
  });

  it("keeps them for an error inside a stream too (Groq's failed_generation of a streamed call)", async () => {
    const body = `data: ${JSON.stringify({ error: { message: "Failed to call a function.", type: "invalid_request_error", code: "tool_use_failed", failed_generation: "<function=get_weather>{}" } })}\n\n`;
    const replay = replayTransport({ headers: { "content-type": "text/event-stream" }, body });
    const events = adapterFor(replay).stream(chatInput({ messages: [user("hi")] }), callOptions("m"));
    let thrown: unknown;
    try {
      for await (const _event of events) void _event;
    } catch (error) {
      thrown = error;
    }
    expect((thrown as GatewayError).facts.upstreamExtra).toEqual({ failed_generation: "<function=get_weather>{}" });
  });

  it("counts the bound in the bytes of the Struct the gRPC status header carries: 1,000 small numbers (2 KB of JSON, 11 KB as a Struct) are too many", async () => {
    expect((await failureOf(400, { error: { message: "Invalid token ids", input: Array.from({ length: 1000 }, (_, index) => index % 10) } })).facts.upstreamExtra).toBeUndefined();
    expect((await failureOf(400, { error: { message: "Invalid token ids", input: [1, 2, 3] } })).facts.upstreamExtra).toEqual({ input: [1, 2, 3] });
  });

  it("gives none back for a huge error object without copying it first (a body of millions of values), nor for one nested past the stack's depth; the error is still read", async () => {
    expect((await failureOf(400, { error: { message: "bad", ids: Array.from({ length: 1_000_000 }, () => 1) } })).facts.upstreamExtra).toBeUndefined();
    const deep = `{"error":{"message":"bad thing","type":"invalid_request_error","extra":${"[".repeat(6000)}${"]".repeat(6000)}}}`;
    const nested = (await adapterFor(replayTransport({ status: 400, body: deep })).generate(chatInput({ messages: [user("hi")] }), callOptions("m")).catch((thrown: unknown) => thrown)) as GatewayError;
    expect(nested.reason).toBe(Reason.UPSTREAM_INVALID_REQUEST);
    expect(nested.message).toContain("bad thing");
    expect(nested.facts.upstreamExtra).toBeUndefined();
    // The same depth as the message itself (Mistral and FastAPI servers send objects there).
    const deepMessage = `{"error":{"message":${"[".repeat(6000)}${"]".repeat(6000)},"type":"invalid_request_error"}}`;
    const unreadable = (await adapterFor(replayTransport({ status: 400, body: deepMessage })).generate(chatInput({ messages: [user("hi")] }), callOptions("m")).catch((thrown: unknown) => thrown)) as GatewayError;
    expect(unreadable.reason).toBe(Reason.UPSTREAM_INVALID_REQUEST);
  });

  it("keeps text of control characters within the Struct bound although its JSON is six times longer", async () => {
    const generation = `partial output${"\u0000".repeat(1000)}`;
    expect((await failureOf(400, { error: { message: "Failed to call a function", type: "invalid_request_error", code: "tool_use_failed", failed_generation: generation } })).facts.upstreamExtra).toEqual({ failed_generation: generation });
  });

  it("counts the 2 KB bound in bytes (what the gRPC status header carries): CJK text is three a character", async () => {
    // 700 characters: 726 UTF-16 units, 2,126 bytes of JSON.
    expect((await failureOf(400, { error: { message: "m", innererror: { note: "漢".repeat(700) } } })).facts.upstreamExtra).toBeUndefined();
    expect((await failureOf(400, { error: { message: "m", innererror: { note: "漢".repeat(600) } } })).facts.upstreamExtra).toEqual({ innererror: { note: "漢".repeat(600) } });
  });

  it("the account's own credentials are taken out of them, as out of the message (an error inside a stream or a 200 never went through the body's pass)", () => {
    const account = testAccount("compat", "openai-compatible", "s3cr3tTok3n-abc-123", {});
    const echoed = gatewayError(Code.Unavailable, Reason.PROVIDER_UNAVAILABLE, "upstream broke s3cr3tTok3n-abc-123", { provider: "compat", upstreamExtra: { metadata: { provider_key: "s3cr3tTok3n-abc-123", auth: "plain s3cr3tTok3n-abc-123" }, kept: 1 } });
    const cleaned = cleanedProviderError(echoed, account);
    expect(JSON.stringify(cleaned.facts.upstreamExtra)).not.toContain("s3cr3tTok3n");
    expect(cleaned.facts.upstreamExtra).toMatchObject({ kept: 1 });
    expect(cleaned.findDetails(ErrorDetailSchema)[0]?.upstreamExtra).toEqual(cleaned.facts.upstreamExtra);
  });
});
