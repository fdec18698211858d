import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";
import type { UpstreamResponse, UpstreamTransport } from "../../src/providers/upstream-http.js";
import { FUZZ_CONFIG, fuzzCases, fuzzRandom, wellBehavedAnswer } from "../support/fuzzing.js";

/*
 * Seeded fuzzing of callers that go away: streaming and non-streaming requests over real sockets,
 * many at once, each destroyed at a random moment (before the head, between chunks, during a
 * retry's backoff, after the end). Whenever it happens, the upstream call it caused must end
 * (finished or aborted, none left open) and the gateway must keep answering.
 */

const MODELS = ["oai/gpt-4o", "anth/claude-sonnet-4-5", "gem/gemini-2.5-flash"];

/** Eight words: a stream long enough to be cut between its events. */
const WORDS = Array.from({ length: 8 }, (_, index) => `w${index} `);

/** The two routing set-ups the fuzz runs under. */
const SETUPS = [
  { name: "defaults, one retry", config: FUZZ_CONFIG.replace("routing: { retry: { max_retries: 0 }", "routing: { retry: { max_retries: 1, base_delay_ms: 5, max_delay_ms: 20 }"), fallbacks: false },
  {
    // The SSE head goes out after 50 ms with a keep-alive comment; a stream that only "thinks"
    // for 300 ms misses its 200 ms first-token bound and fails over to the fallback.
    name: "keep-alive after 50 ms, 200 ms first-token bound, a fallback",
    config: FUZZ_CONFIG.replace("server: { host: 127.0.0.1, port: 8080 }", "server: { host: 127.0.0.1, port: 8080, stream_keepalive_ms: 50 }").replace("routing: { retry: { max_retries: 0 }", "routing: { timeouts: { first_token_ms: 200 }, retry: { max_retries: 0 }"),
    fallbacks: true,
  },
] as const;

describe("callers that go away at random moments (seeded, real sockets)", () => {
  it.each(SETUPS)("leaves no upstream call open and keeps answering ($name)", async ({ config, fallbacks }) => {
    const random = fuzzRandom(12);
    const open = new Set<number>();
    let started = 0;
    // An upstream that answers in small slices with pauses, may fail once with a 503 (a retry with
    // backoff), and ends its body when the gateway aborts the call.
    const transport: UpstreamTransport = async (request) => {
      const id = started++;
      open.add(id);
      const fail = random() < 0.15;
      const streaming = /"stream"\s*:\s*true/.test(request.body ?? "") || request.url.includes(":stream");
      const text = fail ? '{"error":{"message":"busy","type":"server_error"}}' : wellBehavedAnswer(request.url, request.body ?? "", WORDS).text;
      // A quarter of the streams think for a while first (SSE comments, 300 ms in all): a call the
      // gateway failed to abort would still be open when the check below runs.
      const thinking = streaming && !fail && random() < 0.25 ? ": thinking\n\n".repeat(60) : "";
      const bytes = new TextEncoder().encode(thinking + text);
      const pause = Math.floor(random() * 4);
      async function* body(): AsyncGenerator<Uint8Array> {
        try {
          for (let at = 0; at < bytes.length; ) {
            // The thinking goes out a comment every 5 ms; the answer in slices of 120 bytes.
            const slice = at < thinking.length ? 12 : 120;
            if (request.signal.aborted) throw Object.assign(new Error("aborted"), { name: "AbortError" });
            await new Promise((resolve) => setTimeout(resolve, at < thinking.length ? 5 : pause));
            yield bytes.subarray(at, at + slice);
            at += slice;
          }
        } finally {
          open.delete(id);
        }
      }
      const iterator = body();
      // A call whose body is never read (a refused status read as text, or an abandoned stream) still ends.
      request.signal.addEventListener("abort", () => void iterator.return(undefined));
      const response: UpstreamResponse = { status: fail ? 503 : 200, header: (name) => (name === "content-type" ? (streaming && !fail ? "text/event-stream" : "application/json") : undefined), body: iterator };
      return response;
    };
    const { app } = await buildApp({ config: parseConfigText(config, "cancel.yaml", {}), transport });
    await app.listen({ host: "127.0.0.1", port: 0 });
    const port = (app.server.address() as AddressInfo).port;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const unfinished: string[] = [];
    const one = (stream: boolean, abortAfterMs: number | undefined): Promise<void> =>
      new Promise((resolve) => {
        const model = MODELS[Math.floor(random() * MODELS.length)] as string;
        const payload = JSON.stringify({ model, messages: [{ role: "user", content: "hi" }], stream, ...(fallbacks ? { fallbacks: MODELS.filter((other) => other !== model) } : {}) });
        const request = http.request({ host: "127.0.0.1", port, agent, method: "POST", path: "/v1/chat/completions", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } }, (response) => {
          let body = "";
          response.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
          response.on("end", () => {
            // A caller that stayed gets a stream that ends in [DONE] or an in-band error frame.
            const last = body.split("\n\n").filter((frame) => frame.startsWith("data: ")).at(-1) ?? "";
            if (stream && response.statusCode === 200 && last !== "data: [DONE]" && !last.startsWith('data: {"error":')) unfinished.push(body.slice(-300));
            resolve();
          });
          response.on("error", () => resolve());
        });
        request.on("error", () => resolve());
        request.on("close", () => resolve());
        request.end(payload);
        if (abortAfterMs !== undefined) setTimeout(() => request.destroy(), abortAfterMs);
      });
    try {
      for (let batch = 0; batch < fuzzCases(20); batch++) {
        await Promise.all(Array.from({ length: 12 }, () => one(random() < 0.7, random() < 0.8 ? Math.floor(random() * 40) : undefined)));
      }
      // Every upstream call the gateway made has ended by now, or does within a moment.
      const deadline = Date.now() + 100;
      while (open.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect([...open], `upstream calls still open after ${started} calls`).toEqual([]);
      expect(unfinished).toEqual([]);
      expect(started).toBeGreaterThan(100);
      const after = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "oai/gpt-4o", messages: [{ role: "user", content: "hi" }] }) });
      expect([200, 503]).toContain(after.status);
    } finally {
      agent.destroy();
      await app.close();
    }
  }, 60_000);
});
