import { describe, expect, it } from "vitest";
import { toBinary, toJson } from "@bufbuild/protobuf";
import { ChatResponseSchema, ChatStreamResponseSchema } from "../../gen/switchyard/v1/chat_service_pb.js";
import { buildApp } from "../../src/app.js";
import { GatewayError, Reason } from "../../src/core/errors.js";
import { LightAbort } from "../../src/core/light-abort.js";
import { toProtoChatRequest } from "../../src/http/openai-compat/to-proto.js";
import { parseConfigText } from "../../src/config/load-config.js";
import type { UpstreamResponse, UpstreamTransport } from "../../src/providers/upstream-http.js";
import { FUZZ_CONFIG, fuzzCases, fuzzRandom, mutateJson } from "../support/fuzzing.js";
import { readFixture, sseFromChunks } from "../support/replay-transport.js";

/*
 * Seeded mutation fuzzing of what providers send back: recorded streams and bodies of every
 * dialect (../shared/fixtures/upstream), with events dropped, repeated, cut short or interleaved
 * with garbage, and fields of their JSON deleted or replaced by values of the wrong type. Whatever
 * the upstream sends, the caller gets a complete answer, the gateway's error for a bad provider
 * response (a 5xx that names the provider, not an internal error), or a stream that ends with
 * [DONE] or an in-band error frame: never an internal error, never a stream that just stops, and
 * never [DONE] after an upstream stream that did not say how it finished.
 * (For a longer local run: FUZZ_SEED=<n> FUZZ_CASES=<n>; ten seeds of 3,000 cases each passed
 * when it was written.)
 */


const STREAMS: Record<string, string[]> = {
  oai: ["openai/chat-stream-tool-call-include-usage.sse.txt", "openai/chat-stream-text-after-tool-result-include-usage.sse.txt", "openai/chat-stream-finish-length.sse.txt", "openai/chat-stream-content-logprobs.sse.txt", "openai-compatible/anthropic-openai-compat-stream-tool-call.sse.txt", "openai-compatible/groq-stream-tool-call.chunks.txt"],
  anth: ["anthropic/messages-stream-text.sse.txt", "anthropic/messages-stream-after-two-tool-results.sse.txt", "anthropic/messages-stream-refusal.sse.txt", "anthropic/messages-stream-tool-use-input-json-delta.chunks.txt", "anthropic/messages-stream-cache-write.chunks.txt"],
  gem: ["gemini/stream-text-system-instruction.sse.txt", "gemini/stream-text-usage-every-chunk.sse.txt", "gemini/stream-function-call-single-chunk.sse.txt", "gemini/stream-gemini3-after-function-response.sse.txt"],
};
const BODIES: Record<string, string[]> = {
  oai: ["openai/chat-nonstream-text.json", "openai/chat-nonstream-tool-call.json"],
  anth: ["anthropic/messages-nonstream-text.json"],
  gem: ["gemini/nonstream-finish-max-tokens.json", "gemini/nonstream-finish-safety.json"],
};
/**
 * How each dialect says a stream finished: a finish reason, known or not; for Anthropic the
 * message_stop event, its clean end of a message (a null stop_reason before it means "stop"), so a
 * stream cut before message_stop, even after a stop_reason, must not end normally.
 */
const FINISH = { oai: /"finish_reason":\s*"[^"]/, anth: /"type":\s*"message_stop"/, gem: /"finishReason":\s*"[^"]/ } as const;
const ERRORS: Record<string, string[]> = {
  oai: ["openai/error-400-invalid-value-content-block-type.json", "openai/error-400-unsupported-parameter.json", "openai/error-400-unsupported-value.json", "openai-compatible/groq-error-400-tool-use-failed.json"],
  anth: ["anthropic/error-400-invalid-request.json", "anthropic/error-400-tool-result-without-tool-use.json", "anthropic/error-400-tool-use-without-tool-result.json"],
  gem: ["gemini/error-400-invalid-argument-penalty.json", "gemini/error-400-vertex-url-not-fetchable.json"],
};
const ERROR_STATUSES = [400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504, 529, 418, 302];
const RETRY_AFTER = [undefined, "1", "0", "-5", "abc", "99999999999", "1e400", "Wed, 21 Oct 2015 07:28:00 GMT"];
/** What the fake upstream answers to one call. */
interface UpstreamAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
  readonly retryAfter?: string | undefined;
}

/** A clean recorded answer in the dialect of an upstream URL, JSON or SSE as the request asks. */
function cleanAnswer(url: string, body: string): UpstreamAnswer {
  const stream = /"stream"\s*:\s*true/.test(body) || url.includes(":streamGenerateContent");
  const account = url.endsWith("/messages") ? "anth" : url.includes("enerateContent") ? "gem" : "oai";
  const file = { oai: stream ? "openai/chat-stream-text-after-tool-result-include-usage.sse.txt" : "openai/chat-nonstream-text.json", anth: stream ? "anthropic/messages-stream-text.sse.txt" : "anthropic/messages-nonstream-text.json", gem: stream ? "gemini/stream-text-usage-every-chunk.sse.txt" : "gemini/nonstream-finish-max-tokens.json" }[account];
  return { status: 200, contentType: stream ? "text/event-stream" : "application/json", text: recorded(file, account) };
}

const MODELS: Record<string, string> = { oai: "oai/gpt-4o-mini", anth: "anth/claude-sonnet-4-5", gem: "gem/gemini-2.5-flash" };

/** Stands for numbers JSON.stringify cannot write: replaced in the text by one that parses to Infinity or loses precision. */
const RAW_NUMBER = "__raw_number__";
const RAW_NUMBERS = ["1e400", "-1e400", "123456789012345678901234567890", "-0", "1E-400"];

function withRawNumbers(text: string, random: () => number): string {
  return text.replace(/"__raw_number__"/g, () => RAW_NUMBERS[Math.floor(random() * RAW_NUMBERS.length)] as string);
}

/** A fixture's upstream bytes: SSE rebuilt from a `.chunks.txt`, the response body of an exchange. */
function recorded(file: string, account: string): string {
  const text = readFixture(file);
  if (file.endsWith(".chunks.txt")) return sseFromChunks(text, account === "anth");
  if (file.endsWith(".sse.txt")) return text;
  const parsed = JSON.parse(text) as { response?: { body?: unknown } };
  return parsed.response?.body === undefined ? text : JSON.stringify(parsed.response.body);
}


const WEIRD: unknown[] = [null, true, 0, -1, 1e308, 3.7, "", "x", [], {}, [null], { a: 1 }, "STOP", "MAX_TOKENS", "tool_use", "end_turn", "\u0000", "\ud800", RAW_NUMBER];

const RATES = { remove: 0.05, replace: 0.05, descend: 1 };

/** Mutates one SSE body: its events' JSON, and the event sequence itself. */
function mutateStream(text: string, random: () => number): string {
  const separator = text.includes("\r\n\r\n") ? "\r\n\r\n" : "\n\n";
  const events = text.split(separator).filter((event) => event.trim().length > 0);
  const out: string[] = [];
  for (const event of events) {
    const roll = random();
    if (roll < 0.06) continue;
    const mutated = random() < 0.3
      ? event.replace(/^data: ?(\{.*\})\s*$/m, (_line, json: string) => {
          try {
            return `data: ${withRawNumbers(JSON.stringify(mutateJson(JSON.parse(json), random, WEIRD, RATES)), random)}`;
          } catch {
            return `data: ${json}`;
          }
        })
      : event;
    out.push(mutated);
    if (roll > 0.97) out.push(mutated);
    if (random() < 0.02) out.push(["data: {not json", "data: [", ": comment", "event: ping\ndata: {}", "data: []", "data: 42"][Math.floor(random() * 6)] as string);
  }
  let body = out.join(separator) + separator;
  if (random() < 0.15) body = body.slice(0, Math.floor(random() * body.length));
  return body;
}

describe("upstream answers under mutation fuzzing (seeded)", () => {
  it("never answers with an internal error or a stream that just stops, whatever a provider sends", async () => {
    const random = fuzzRandom(4242);
    let upstream: UpstreamAnswer = { status: 200, contentType: "application/json", text: "" };
    let calls = 0;
    const transport: UpstreamTransport = async (request) => {
      // The first attempt of a case gets the mangled answer; a fallback gets a clean recording of its dialect.
      const served = calls++ === 0 ? upstream : cleanAnswer(request.url, request.body ?? "");
      const bytes = new TextEncoder().encode(served.text);
      const sizes = [1, 7, 64, 300];
      async function* body(): AsyncGenerator<Uint8Array> {
        let at = 0;
        for (let index = 0; at < bytes.length; index++) {
          const size = sizes[index % sizes.length] as number;
          yield bytes.subarray(at, at + size);
          at += size;
        }
      }
      const { status, contentType, retryAfter } = served;
      const response: UpstreamResponse = { status, header: (name) => (name === "content-type" ? contentType : name === "retry-after" ? retryAfter : undefined), body: body() };
      return response;
    };
    const { app, gateway } = await buildApp({ config: parseConfigText(FUZZ_CONFIG, "fuzz.yaml", {}), transport });
    await app.ready();
    const seen = { streamsDone: 0, streamsInBandError: 0, answers: 0, providerErrors: 0, failedOver: 0 };
    try {
      for (let index = 0; index < fuzzCases(600); index++) {
        const account = (["oai", "anth", "gem"] as const)[index % 3] ?? "oai";
        const stream = random() < 0.75;
        const files = (stream ? STREAMS : BODIES)[account] ?? [];
        const file = files[Math.floor(random() * files.length)] as string;
        const original = recorded(file, account);
        upstream = stream
          ? { status: 200, contentType: "text/event-stream", text: mutateStream(original, random) }
          : { status: 200, contentType: "application/json", text: random() < 0.15 ? original.slice(0, Math.floor(random() * original.length)) : withRawNumbers(JSON.stringify(mutateJson(JSON.parse(original), random, WEIRD, RATES)), random) };
        if (random() < 0.15) {
          // A refusal instead: a recorded error body of the dialect, mangled, under any status.
          const errorFile = (ERRORS[account] ?? [])[Math.floor(random() * (ERRORS[account] ?? []).length)] as string;
          const errorBody = recorded(errorFile, account);
          const roll = random();
          upstream = {
            status: ERROR_STATUSES[Math.floor(random() * ERROR_STATUSES.length)] as number,
            contentType: roll < 0.1 ? "text/html" : "application/json",
            text: roll < 0.1 ? "<html>bad gateway</html>" : roll < 0.2 ? "" : withRawNumbers(JSON.stringify(mutateJson(JSON.parse(errorBody), random, WEIRD, RATES)), random),
            ...(random() < 0.5 ? { retryAfter: RETRY_AFTER[Math.floor(random() * RETRY_AFTER.length)] } : {}),
          };
        }
        const fallback = random() < 0.3 ? MODELS[(["oai", "anth", "gem"] as const)[(index + 1 + Math.floor(random() * 2)) % 3] ?? "oai"] : undefined;
        const request = { model: MODELS[account], messages: [{ role: "user", content: "hi" }], stream, ...(stream ? { stream_options: { include_usage: true } } : {}), ...(fallback ? { fallbacks: [fallback] } : {}) };
        calls = 0;
        const response = await app.inject({ method: "POST", url: "/v1/chat/completions", headers: { "content-type": "application/json" }, payload: JSON.stringify(request) });
        if (calls > 1) seen.failedOver++;
        const context = `case ${index} (${file}, ${stream ? "stream" : "json"}): ${response.statusCode} ${response.body.slice(-400)}\nupstream: ${upstream.text.slice(-2500)}`;
        expect(response.body, context).not.toContain("internal_error");
        if (response.statusCode !== 200) {
          expect(response.statusCode, context).toBeGreaterThanOrEqual(400);
          expect(response.json<{ error?: { message?: unknown } }>().error?.message, context).toEqual(expect.any(String));
          // A Retry-After the gateway passes on is whole seconds, whatever the provider wrote.
          if (response.headers["retry-after"] !== undefined) expect(String(response.headers["retry-after"]), context).toMatch(/^\d{1,5}$/);
          seen.providerErrors++;
        } else if (stream) {
          const frames = response.body.split("\n\n").filter((frame) => frame.startsWith("data: "));
          const last = frames.at(-1) ?? "";
          const ended = last === "data: [DONE]" || last.startsWith('data: {"error":');
          expect(ended, context).toBe(true);
          // An upstream stream that never said how it finished must not end normally.
          if (!fallback && !FINISH[account].test(upstream.text)) expect(last, context).not.toBe("data: [DONE]");
          if (last === "data: [DONE]") seen.streamsDone++;
          else seen.streamsInBandError++;
        } else {
          expect(Array.isArray(response.json<{ choices?: unknown }>().choices), context).toBe(true);
          seen.answers++;
        }
        // The same upstream answer through the core, encoded as the gRPC and Connect edges encode it.
        const input = toProtoChatRequest(request).input;
        calls = 0;
        try {
          if (stream) {
            for await (const event of gateway.chatStream(input, { signal: new LightAbort() })) {
              toBinary(ChatStreamResponseSchema, event);
              toJson(ChatStreamResponseSchema, event);
            }
          } else {
            const answer = await gateway.chat(input, { signal: new LightAbort() });
            toBinary(ChatResponseSchema, answer);
            toJson(ChatResponseSchema, answer);
          }
        } catch (thrown) {
          expect(thrown, `${context}\n(core and protobuf) ${String(thrown)}`).toBeInstanceOf(GatewayError);
          expect((thrown as GatewayError).reason, context).not.toBe(Reason.INTERNAL_ERROR);
        }
      }
    } finally {
      await app.close();
    }
    // Every outcome is well represented; a change that turned everything into errors would show here.
    expect(seen.streamsDone).toBeGreaterThan(200);
    expect(seen.streamsInBandError).toBeGreaterThan(50);
    expect(seen.answers).toBeGreaterThan(50);
    expect(seen.providerErrors).toBeGreaterThan(50);
    expect(seen.failedOver).toBeGreaterThan(50);
  }, 120_000);
});
