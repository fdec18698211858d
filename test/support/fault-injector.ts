import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { performance } from "node:perf_hooks";

/** How a scripted answer streams (or returns) the injector's text, and what goes wrong on the way. */
export interface AnswerOptions {
  /** The full answer text; default the injector's text. Streamed as one chunk per word. */
  readonly text?: string;
  /** Delay between streamed chunks, ms (default 2). */
  readonly chunkDelayMs?: number;
  /** Delay before the status line, ms. */
  readonly delayHeadersMs?: number;
  /** Streams: delay after the role-only first chunk, before the first token, ms. */
  readonly delayFirstTokenMs?: number;
  /** Streams: destroy the connection after this many content chunks. */
  readonly cutAfterChunks?: number;
  /** Streams: stop writing after this many content chunks and hold the connection open. */
  readonly stallAfterChunks?: number;
  /** Streams: write a chunk that is not JSON before content chunk number N (0-based). */
  readonly malformedAtChunk?: number;
  /** Streams: end without `data: [DONE]`. */
  readonly omitDone?: boolean;
  /** Streams: after the finish and usage chunks, keep the connection open (implies omitDone). */
  readonly holdOpenAfterFinish?: boolean;
  /** Streams: end with [DONE] but without a finish chunk. */
  readonly omitFinish?: boolean;
  /** No usage: streams send no usage chunk even when asked (a server that ignores stream_options.include_usage); answers have no `usage`. */
  readonly omitUsage?: boolean;
  /** After the text, a tool call (streamed as a start and two argument fragments). */
  readonly toolCall?: { readonly name: string; readonly arguments: string };
}

/** One scripted behaviour for one upstream request. */
export type FaultStep =
  | ({ readonly kind: "answer" } & AnswerOptions)
  | { readonly kind: "status"; readonly status: number; readonly body: unknown; readonly headers?: Readonly<Record<string, string>> }
  | { readonly kind: "reset" }
  | { readonly kind: "hang" };

const errorBody = (message: string, type: string, code: string | null, param: string | null = null) => ({ error: { message, type, param, code } });

/** Builders for the common faults, in the OpenAI dialect. */
export const fault = {
  answer: (options: AnswerOptions = {}): FaultStep => ({ kind: "answer", ...options }),
  /** 429; `retryAfter` is the raw Retry-After header (seconds or an HTTP date), omitted when undefined. */
  rateLimited: (retryAfter?: string): FaultStep => ({
    kind: "status", status: 429, body: errorBody("Rate limit reached for requests", "requests", "rate_limit_exceeded"),
    ...(retryAfter !== undefined ? { headers: { "retry-after": retryAfter } } : {}),
  }),
  serverError: (status = 500): FaultStep => ({ kind: "status", status, body: errorBody("The server had an error while processing your request.", "server_error", null) }),
  overloaded: (): FaultStep => ({ kind: "status", status: 529, body: errorBody("Overloaded", "overloaded_error", null) }),
  contextLength: (): FaultStep => ({ kind: "status", status: 400, body: errorBody("This model's maximum context length is 8192 tokens.", "invalid_request_error", "context_length_exceeded", "messages") }),
  contentFilter: (): FaultStep => ({ kind: "status", status: 400, body: errorBody("The prompt was filtered by the content policy.", "invalid_request_error", "content_filter", "prompt") }),
  invalidRequest: (): FaultStep => ({ kind: "status", status: 400, body: errorBody("Invalid value for 'temperature'.", "invalid_request_error", "invalid_value", "temperature") }),
  authFailed: (): FaultStep => ({ kind: "status", status: 401, body: errorBody("Incorrect API key provided: sk-abc...", "invalid_request_error", "invalid_api_key") }),
  /** Resets the TCP connection before any response byte. */
  reset: (): FaultStep => ({ kind: "reset" }),
  /** Accepts the request and never answers. */
  hang: (): FaultStep => ({ kind: "hang" }),
};

/** One request the injector received, and what it did with it. */
export interface FaultAttempt {
  /** 0-based arrival order. */
  readonly index: number;
  /** Arrival time, performance.now() ms. */
  readonly at: number;
  stream: boolean;
  model: string;
  body: Record<string, unknown>;
  /** The role of the last message (e.g. "assistant" for a prefill). */
  lastRole: string | undefined;
  /** The text of a trailing assistant message, when there is one. */
  prefill: string | undefined;
  /** The behaviour applied ("answer", "status 429", "reset", "hang", "prefill rejected"...). */
  outcome: string;
  /** Content chunks written. */
  chunksWritten: number;
  /** True when the gateway closed the connection before the injector ended the response. */
  closedByClient: boolean;
  /** When the connection closed, performance.now() ms. */
  closedAt: number | undefined;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function messageText(message: unknown): string | undefined {
  if (!message || typeof message !== "object") return undefined;
  const content = (message as { content?: unknown }).content;
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((part) => (part && typeof part === "object" && typeof (part as { text?: unknown }).text === "string" ? (part as { text: string }).text : "")).join("");
  return undefined;
}

/**
 * A scriptable OpenAI chat-completions upstream on 127.0.0.1:<ephemeral> (node:http) for
 * resilience tests. Each request takes the next scripted step (then the default step), or the
 * flap step while a flap window is open; every request is logged with its arrival time, what was
 * done, how many chunks went out and whether the gateway hung up first. A trailing assistant
 * message is treated as a prefill: rejected with 400 when `rejectPrefill` is set, otherwise the
 * answer continues the text (or starts afresh when the prefill is not a prefix of it).
 */
export class FaultInjector {
  readonly attempts: FaultAttempt[] = [];
  rejectPrefill: boolean;
  private queue: FaultStep[] = [];
  private fallbackStep: FaultStep = fault.answer();
  private flapUntil = 0;
  private flapStep: FaultStep = fault.serverError(503);
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: http.Server,
    readonly name: string,
    readonly text: string,
    rejectPrefill: boolean,
  ) {
    this.rejectPrefill = rejectPrefill;
  }

  /** Starts an injector; `text` is what it answers by default. */
  static async start(options: { name?: string; text?: string; rejectPrefill?: boolean } = {}): Promise<FaultInjector> {
    const server = http.createServer();
    const injector = new FaultInjector(server, options.name ?? "upstream", options.text ?? "The quick brown fox jumps over the lazy dog.", options.rejectPrefill ?? false);
    server.on("connection", (socket) => {
      injector.sockets.add(socket);
      socket.on("close", () => injector.sockets.delete(socket));
    });
    server.on("request", (request, response) => void injector.handle(request, response));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return injector;
  }

  /** The OpenAI base URL, http://127.0.0.1:<port>/v1. */
  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  /** Queues steps for the next requests, in order. */
  script(...steps: FaultStep[]): this {
    this.queue.push(...steps);
    return this;
  }

  /** The step for requests once the script is used up (default: a normal answer). */
  always(step: FaultStep): this {
    this.fallbackStep = step;
    return this;
  }

  /** Fails every request with `step` (default 503) for the next `downForMs`, then behaves as scripted again. */
  flap(downForMs: number, step: FaultStep = fault.serverError(503)): this {
    this.flapUntil = performance.now() + downForMs;
    this.flapStep = step;
    return this;
  }

  /** Forgets the log, the script, the flap window and prefill rejection; back to normal answers. */
  reset(): void {
    this.attempts.length = 0;
    this.queue = [];
    this.fallbackStep = fault.answer();
    this.flapUntil = 0;
  }

  /** Milliseconds between consecutive request arrivals. */
  gaps(): number[] {
    return this.attempts.slice(1).map((attempt, index) => attempt.at - (this.attempts[index]?.at ?? attempt.at));
  }

  /** Stops the server and destroys every open connection (hung and stalled ones included). */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private nextStep(): FaultStep {
    if (performance.now() < this.flapUntil) return this.flapStep;
    return this.queue.shift() ?? this.fallbackStep;
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    // Logged on arrival, so a request the gateway abandons while sending is still counted.
    const attempt: FaultAttempt = {
      index: this.attempts.length,
      at: performance.now(),
      stream: false,
      model: "",
      body: {},
      lastRole: undefined,
      prefill: undefined,
      outcome: "reading",
      chunksWritten: 0,
      closedByClient: false,
      closedAt: undefined,
    };
    this.attempts.push(attempt);
    const state = { endedByUs: false };
    response.on("close", () => {
      attempt.closedAt = performance.now();
      if (!state.endedByUs && !response.writableEnded) attempt.closedByClient = true;
    });
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of request) chunks.push(chunk as Buffer);
      attempt.body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
    } catch {
      if (response.destroyed) return;
    }
    const body = attempt.body;
    const messages = Array.isArray(body.messages) ? (body.messages as unknown[]) : [];
    const last = messages[messages.length - 1] as { role?: unknown } | undefined;
    attempt.stream = body.stream === true;
    attempt.model = typeof body.model === "string" ? body.model : "";
    attempt.lastRole = typeof last?.role === "string" ? last.role : undefined;
    attempt.prefill = attempt.lastRole === "assistant" ? messageText(last) : undefined;
    const step = this.nextStep();
    if (attempt.prefill !== undefined && this.rejectPrefill && step.kind === "answer") {
      attempt.outcome = "prefill rejected";
      response.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify(errorBody("Assistant prefill is not supported: the last message must be from the user.", "invalid_request_error", "invalid_request", "messages")));
      return;
    }
    switch (step.kind) {
      case "status":
        attempt.outcome = `status ${step.status}`;
        response.writeHead(step.status, { "content-type": "application/json", ...step.headers }).end(JSON.stringify(step.body));
        return;
      case "reset":
        attempt.outcome = "reset";
        state.endedByUs = true;
        request.socket.resetAndDestroy();
        return;
      case "hang":
        attempt.outcome = "hang";
        return;
      case "answer": {
        attempt.outcome = "answer";
        const full = step.text ?? this.text;
        const text = attempt.prefill !== undefined && full.startsWith(attempt.prefill) ? full.slice(attempt.prefill.length) : full;
        if (step.delayHeadersMs) await sleep(step.delayHeadersMs);
        if (attempt.stream) await this.stream(response, attempt, text, step, state);
        else this.complete(response, attempt, text, step);
        return;
      }
    }
  }

  private complete(response: http.ServerResponse, attempt: FaultAttempt, text: string, step: AnswerOptions): void {
    const message: Record<string, unknown> = { role: "assistant", content: text };
    if (step.toolCall) message.tool_calls = [{ id: "call_fault_1", type: "function", function: step.toolCall }];
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({
      id: `chatcmpl-${this.name}-${attempt.index}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: attempt.model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: step.toolCall ? "tool_calls" : "stop" }],
      ...(step.omitUsage ? {} : { usage: { prompt_tokens: 10, completion_tokens: text.split(/\s+/).length, total_tokens: 10 + text.split(/\s+/).length } }),
    }));
  }

  /** Streams an answer; sets `state.endedByUs` when the injector itself cuts the connection. */
  private async stream(response: http.ServerResponse, attempt: FaultAttempt, text: string, step: AnswerOptions, state: { endedByUs: boolean }): Promise<void> {
    const base = { id: `chatcmpl-${this.name}-${attempt.index}`, object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model: attempt.model };
    const send = (payload: unknown) => response.write(`data: ${typeof payload === "string" ? payload : JSON.stringify(payload)}\n\n`);
    const delta = (value: Record<string, unknown>, finish: string | null = null) => send({ ...base, choices: [{ index: 0, delta: value, logprobs: null, finish_reason: finish }] });
    const content: Record<string, unknown>[] = text.split(/(?=\s)/).filter((piece) => piece.length > 0).map((piece) => ({ content: piece }));
    if (step.toolCall) {
      const half = Math.ceil(step.toolCall.arguments.length / 2);
      content.push({ tool_calls: [{ index: 0, id: "call_fault_1", type: "function", function: { name: step.toolCall.name, arguments: "" } }] });
      content.push({ tool_calls: [{ index: 0, function: { arguments: step.toolCall.arguments.slice(0, half) } }] });
      content.push({ tool_calls: [{ index: 0, function: { arguments: step.toolCall.arguments.slice(half) } }] });
    }
    response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    delta({ role: "assistant", content: "" });
    if (step.delayFirstTokenMs) await sleep(step.delayFirstTokenMs);
    for (const [index, piece] of content.entries()) {
      if (response.destroyed) return;
      if (step.malformedAtChunk === index) send("{\"id\": \"broken");
      delta(piece);
      attempt.chunksWritten++;
      await sleep(step.chunkDelayMs ?? 2);
      if (step.cutAfterChunks === attempt.chunksWritten) {
        await sleep(10);
        state.endedByUs = true;
        attempt.outcome = "answer, cut";
        response.socket?.destroy();
        return;
      }
      if (step.stallAfterChunks === attempt.chunksWritten) {
        attempt.outcome = "answer, stalled";
        return;
      }
    }
    if (response.destroyed) return;
    if (!step.omitFinish) delta({}, step.toolCall ? "tool_calls" : "stop");
    const options = attempt.body.stream_options as { include_usage?: unknown } | undefined;
    if (options?.include_usage === true && !step.omitUsage) send({ ...base, choices: [], usage: { prompt_tokens: 10, completion_tokens: content.length, total_tokens: 10 + content.length } });
    if (step.holdOpenAfterFinish) return;
    if (!step.omitDone) send("[DONE]");
    response.end();
  }
}
