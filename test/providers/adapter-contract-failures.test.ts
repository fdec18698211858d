/**
 * The adapter contract (see adapter-contract.test.ts), failures: upstream errors before the first
 * byte, and streams that fail mid-way, stop short or are aborted.
 */
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/core/errors.js";
import { toRestError } from "../../src/http/openai-compat/error-response.js";
import type { AbortSignalLike } from "../../src/core/light-abort.js";
import type { UpstreamTransport } from "../../src/providers/upstream-http.js";
import { assertError, runRow, sentRequest } from "../support/contract-run.js";
import { ANSWER_IDS, ERROR_ROWS, MODES, SCENARIOS } from "../support/contract-scenarios.js";
import { nativeBody, nativeError, nativeStream, nativeStreamErrorFrame, type CanonicalAnswer } from "../support/dialect-answers.js";
import { callOptions } from "../support/proto-builders.js";
import { chatInput, KITS } from "../support/provider-kits.js";
import { replayTransport } from "../support/replay-transport.js";
import { drain } from "../support/stream-collectors.js";

describe.each(KITS)("$label adapter contract", (kit) => {
  describe("upstream errors before the first byte", () => {
    const rows = ERROR_ROWS.flatMap((row) => MODES.map((mode) => ({ row, mode })));
    it.each(rows)("$row.kind ($mode)", async ({ row, mode }) => {
      const native = nativeError(kit.dialect, row.kind, row.message.replace("KEY", kit.apiKey));
      const run = await runRow(kit, { mode, model: kit.model, input: SCENARIOS[0]?.input ?? chatInput({}), answer: { status: native.status, headers: native.headers, body: native.body } });
      const want = row.expect(kit);
      const error = assertError(run, want, kit);
      expect(run.eventCount, "nothing is emitted before an upstream error").toBe(0);
      expect(error.message).not.toContain("Incorrect API key");
      const rest = toRestError(error);
      expect(rest.status).toBe(want.restStatus);
      if (want.retryAfter) {
        expect(error.facts.retryAfterMs).toBe(7000);
        expect(rest.headers["retry-after"]).toBe(want.retryAfter);
      }
      sentRequest(run);
    });
  });

  describe("streams that fail or stop", () => {
    const longAnswer = (): CanonicalAnswer => ({ id: ANSWER_IDS[kit.dialect], model: kit.model, text: Array.from({ length: 60 }, (_, i) => `word${i}`).join(" "), finish: "stop", usage: { prompt: 5, cached: 0, completion: 60, reasoning: 0 } });

    it("mid-stream error: the text so far arrives, then a PROVIDER_UNAVAILABLE error marked after-first-byte, and no finish", async () => {
      const answer = { ...longAnswer(), text: "partial answer here" };
      const stream = nativeStream(kit.dialect, answer);
      const body = [...stream.content, nativeStreamErrorFrame(kit.dialect, "Overloaded")].join("");
      const run = await runRow(kit, { mode: "stream", model: kit.model, input: SCENARIOS[0]?.input ?? chatInput({}), answer: { headers: stream.headers, body } });
      expect(run.outcome?.text).toBe("partial answer here");
      expect(run.outcome?.finish).toBeUndefined();
      const error = assertError(run, { code: Code.Unavailable, reason: "PROVIDER_UNAVAILABLE", messageIncludes: "Overloaded" }, kit);
      expect(error.facts.afterFirstByte).toBe(true);
    });

    it("truncated stream (hand-made): content without terminal events ends with no finish", async () => {
      const stream = nativeStream(kit.dialect, longAnswer());
      const run = await runRow(kit, { mode: "stream", model: kit.model, input: SCENARIOS[0]?.input ?? chatInput({}), answer: { headers: stream.headers, body: stream.content.join("") } });
      expect(run.error).toBeUndefined();
      expect(run.outcome?.text).toBe(longAnswer().text);
      expect(run.outcome?.finish).toBeUndefined();
    });

    it("abort while streaming: CANCELED, and the upstream request is aborted", async () => {
      const stream = nativeStream(kit.dialect, longAnswer());
      const replay = replayTransport({ headers: stream.headers, body: [...stream.content, ...stream.terminal].join(""), sliceSizes: [24] });
      const controller = new AbortController();
      const { events, error } = await drain(kit.createAdapter(replay.transport).stream(SCENARIOS[0]?.input ?? chatInput({}), callOptions(kit.model, controller.signal)), (event) => {
        if (event.event.case === "textDelta") controller.abort();
      });
      expect(error).toBeInstanceOf(GatewayError);
      expect((error as GatewayError).reason).toBe("CANCELED");
      expect(events.filter((event) => event.event.case === "textDelta")).toHaveLength(1);
      expect(events.some((event) => event.event.case === "finish")).toBe(false);
      expect(replay.requests[0]?.signal.aborted).toBe(true);
    });

    it("abort while a non-streaming answer is being read: CANCELED, and the upstream request is aborted", async () => {
      // A transport that sends the first bytes of the answer, then holds the rest until the request is aborted.
      const body = new TextEncoder().encode(JSON.stringify(nativeBody(kit.dialect, longAnswer())));
      let requestSignal: AbortSignalLike | undefined;
      let firstBytesSent: () => void = () => undefined;
      const sentFirstBytes = new Promise<void>((resolve) => { firstBytesSent = resolve; });
      const transport: UpstreamTransport = async (request) => {
        requestSignal = request.signal;
        async function* chunks(): AsyncGenerator<Uint8Array> {
          yield body.subarray(0, 16);
          firstBytesSent();
          await new Promise((resolve) => request.signal.addEventListener("abort", () => resolve(undefined), { once: true }));
          const error = new Error("This operation was aborted");
          error.name = "AbortError";
          throw error;
        }
        return { status: 200, header: (name) => (name === "content-type" ? "application/json" : undefined), body: chunks() };
      };
      const controller = new AbortController();
      const pending = kit.createAdapter(transport).generate(SCENARIOS[0]?.input ?? chatInput({}), callOptions(kit.model, controller.signal)).then(() => undefined, (thrown: unknown) => thrown);
      await sentFirstBytes;
      controller.abort();
      const error = await pending;
      expect(error).toBeInstanceOf(GatewayError);
      expect((error as GatewayError).reason).toBe("CANCELED");
      expect(requestSignal?.aborted).toBe(true);
    });
  });

  it("an error page that is not the provider's JSON (a proxy's HTML) is described by its title, not relayed", async () => {
    const page = `<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center>${"<p>padding</p>".repeat(50)}</body></html>`;
    const transport: UpstreamTransport = async () => {
      async function* chunks(): AsyncGenerator<Uint8Array> {
        yield new TextEncoder().encode(page);
      }
      return { status: 502, header: (name) => (name === "content-type" ? "text/html" : undefined), body: chunks() };
    };
    const error = await kit.createAdapter(transport).generate(SCENARIOS[0]?.input ?? chatInput({}), callOptions(kit.model)).then(() => undefined, (thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).rawMessage).toContain('an HTML page titled "502 Bad Gateway"');
    expect((error as GatewayError).rawMessage).not.toContain("<");
  });

  it.each(["json", "stream"] as const)("an error status whose body breaks off keeps its status and Retry-After (%s)", async (mode) => {
    const transport: UpstreamTransport = async () => {
      async function* chunks(): AsyncGenerator<Uint8Array> {
        yield new TextEncoder().encode('{"error":');
        throw Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" });
      }
      return { status: 429, header: (name) => ({ "retry-after": "30", "content-type": "application/json" })[name], body: chunks() };
    };
    const adapter = kit.createAdapter(transport);
    const input = SCENARIOS[0]?.input ?? chatInput({});
    const error = await (mode === "json" ? adapter.generate(input, callOptions(kit.model)) : drain(adapter.stream(input, callOptions(kit.model))).then((run) => { throw run.error; })).then(() => undefined, (thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).code).toBe(Code.ResourceExhausted);
    expect((error as GatewayError).facts).toMatchObject({ upstreamStatus: 429, retryAfterMs: 30_000 });
  });
});
