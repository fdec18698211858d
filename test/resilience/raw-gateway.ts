import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { ChatInputSchema, Role } from "../../gen/switchyard/v1/chat_pb.js";
import { completionJson, jsonResponse, RawUpstream, type RawScript } from "../support/raw-upstream.js";
import { startResilienceGateway, type ResilienceGateway } from "./resilience-harness.js";

/** The raw upstream's default answer: a keep-alive JSON completion saying "Hello there.". */
export const okJson: RawScript = (socket) => {
  socket.write(jsonResponse(completionJson()));
};

/** A gateway whose account `raw` is a {@link RawUpstream} and whose account `good` (a fault injector) answers "Fallback answer.". */
export interface RawGateway {
  readonly raw: RawUpstream;
  readonly gateway: ResilienceGateway;
  /** POSTs a chat request for raw/m (with `good/m` as the fallback when asked) and reads the whole answer. */
  ask(options?: { stream?: boolean; fallback?: boolean; headers?: Record<string, string>; timeoutMs?: number }): Promise<RawAnswer>;
  close(): Promise<void>;
}

/** What the caller got, read with plain fetch. */
export interface RawAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The OpenAI error envelope's `error`, when the body is one. */
  readonly error: { message: string; type: string; param: string | null; code: string } | undefined;
  readonly ms: number;
}

/** Starts a raw upstream (answering {@link okJson} by default) and a gateway in front of it and of a healthy fallback. */
export async function startRawGateway(extraYaml = ""): Promise<RawGateway> {
  const raw = await RawUpstream.start(okJson);
  const gateway = await startResilienceGateway({ raw: { baseUrl: raw.baseUrl, extra: ['api_key: "sk-raw-upstream-key-123456"'] }, good: { text: "Fallback answer." } }, extraYaml);
  return {
    raw,
    gateway,
    async ask(options = {}) {
      const started = Date.now();
      const body = { model: "raw/m", messages: [{ role: "user", content: "Say hello." }], ...(options.stream ? { stream: true } : {}), ...(options.fallback ? { fallbacks: ["good/m"] } : {}) };
      const response = await fetch(`${gateway.origin}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...options.headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs ?? 8000),
      });
      const text = await response.text();
      let error: RawAnswer["error"];
      try {
        error = (JSON.parse(text) as { error?: RawAnswer["error"] }).error;
      } catch {
        error = undefined;
      }
      return { status: response.status, headers: response.headers, text, error, ms: Date.now() - started };
    },
    async close() {
      await gateway.close();
      await raw.close();
    },
  };
}

/**
 * Registers the suite's hooks: one raw gateway for the file (started before, closed after), its
 * raw upstream back to {@link okJson} and the fallback's script cleared before each test. Returns
 * a getter, valid inside tests.
 */
export function useRawGateway(): () => RawGateway {
  let rig: RawGateway | undefined;
  beforeAll(async () => {
    rig = await startRawGateway();
  });
  afterAll(async () => {
    await rig?.close();
  });
  beforeEach(() => {
    rig?.raw.reset(okJson);
    rig?.gateway.upstreams.good?.reset();
  });
  return () => {
    if (!rig) throw new Error("the raw gateway is not started");
    return rig;
  };
}

/** A typed ChatInput for raw/m, for the gRPC client. */
export function rawInput(fallbacks: string[] = []) {
  return create(ChatInputSchema, { model: "raw/m", fallbacks, messages: [{ role: Role.USER, content: [{ part: { case: "text", value: "Say hello." } }] }] });
}

/** The text of the SSE `data:` lines' `delta.content`, and whether the stream ended with `[DONE]`, from a REST stream body. */
export function sseText(body: string): { text: string; done: boolean; errorCode: string | undefined } {
  let text = "";
  let done = false;
  let errorCode: string | undefined;
  for (const line of body.split("\n")) {
    if (!line.startsWith("data: ")) continue;
    const data = line.slice(6);
    if (data === "[DONE]") {
      done = true;
      continue;
    }
    const parsed = JSON.parse(data) as { choices?: { delta?: { content?: string } }[]; error?: { code: string } };
    if (parsed.error) errorCode = parsed.error.code;
    for (const choice of parsed.choices ?? []) text += choice.delta?.content ?? "";
  }
  return { text, done, errorCode };
}
