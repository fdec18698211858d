import http from "node:http";
import type { AddressInfo } from "node:net";
import { readExchange } from "./recorded-exchange.js";
import { readFixture } from "./replay-transport.js";
import { onRequestBody } from "./request-body.js";

/** One scripted answer of the fake upstream. */
export interface UpstreamAnswer {
  /** HTTP status; default 200. */
  readonly status?: number;
  /** Response headers. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Body pieces, written one `write` each (e.g. one SSE event per piece). */
  readonly chunks: readonly (string | Uint8Array)[];
  /** Delay before each piece, in milliseconds; default 0 (pieces still go out in separate ticks). */
  readonly chunkDelayMs?: number;
  /** Keep the response open after the last piece (until the client or the server closes it). */
  readonly holdOpen?: boolean;
}

/** One request the fake upstream received. */
export interface RecordedUpstreamRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The raw body text. */
  readonly text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  readonly body: unknown;
  /** How many answer pieces were written before the response ended or the connection closed. */
  chunksWritten: number;
  /** True when the client closed the connection before the fake upstream ended the response. */
  closedEarly: boolean;
  /** Resolves when the response is over: ended by the server, or closed by the client. */
  readonly settled: Promise<void>;
}

/** Decides the answer for a request; gets the parsed request. */
export type UpstreamResponder = (request: RecordedUpstreamRequest) => UpstreamAnswer;

/** A real node:http server speaking the OpenAI chat-completions wire format from scripts. */
export interface FakeUpstream {
  /** The base URL to configure as an account's `base_url`, e.g. http://127.0.0.1:4321/v1. */
  readonly baseUrl: string;
  /** Every request received, in order. */
  readonly requests: RecordedUpstreamRequest[];
  /** Answers the next request with `answer` (queued answers are used first, in order). */
  enqueue(...answers: UpstreamAnswer[]): void;
  /** Sets the answer used when the queue is empty (default: a 500 saying nothing was scripted). */
  setDefault(answer: UpstreamAnswer | UpstreamResponder): void;
  /** Forgets recorded requests and queued answers, and restores the default answer. */
  reset(): void;
  /** The most recent request; throws when there is none. */
  lastRequest(): RecordedUpstreamRequest;
  /** Waits until `request` is settled; rejects after `timeoutMs`. */
  waitSettled(request: RecordedUpstreamRequest, timeoutMs: number): Promise<void>;
  /** Waits until at least `count` requests arrived; rejects after `timeoutMs`. */
  waitForRequests(count: number, timeoutMs: number): Promise<void>;
  /** Stops the server and drops every open connection. */
  close(): Promise<void>;
}

const NOTHING_SCRIPTED: UpstreamAnswer = {
  status: 500,
  headers: { "content-type": "application/json" },
  chunks: [JSON.stringify({ error: { message: "fake upstream: no answer scripted", type: "server_error", param: null, code: null } })],
};

/** A JSON answer (one piece). */
export function jsonAnswer(body: unknown, options: { status?: number; headers?: Record<string, string> } = {}): UpstreamAnswer {
  return {
    status: options.status ?? 200,
    headers: { "content-type": "application/json", ...options.headers },
    chunks: [typeof body === "string" ? body : JSON.stringify(body)],
  };
}

/** Serves a recorded raw JSON body (e.g. `openai/chat-nonstream-text.json`) byte for byte. */
export function jsonFixtureAnswer(fixture: string, options: { status?: number; headers?: Record<string, string> } = {}): UpstreamAnswer {
  return jsonAnswer(readFixture(fixture), options);
}

/** Serves the recorded response of an exchange fixture (`{request, response:{status, body}}`). */
export function exchangeFixtureAnswer(fixture: string): UpstreamAnswer {
  const exchange = readExchange(fixture);
  return jsonAnswer(exchange.response.body, { status: exchange.response.status });
}

/** Splits raw SSE text into its events, keeping each event's exact bytes (including separators). */
export function splitSseEvents(text: string): string[] {
  const events: string[] = [];
  const separator = /\r\n\r\n|\n\n|\r\r/g;
  let start = 0;
  for (let match = separator.exec(text); match; match = separator.exec(text)) {
    events.push(text.slice(start, match.index + match[0].length));
    start = match.index + match[0].length;
  }
  if (start < text.length) events.push(text.slice(start));
  return events;
}

/** An SSE answer: one piece per event, in the given order. */
export function sseAnswer(events: readonly string[], options: { chunkDelayMs?: number; holdOpen?: boolean; headers?: Record<string, string> } = {}): UpstreamAnswer {
  return {
    status: 200,
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache", ...options.headers },
    chunks: events,
    ...(options.chunkDelayMs !== undefined ? { chunkDelayMs: options.chunkDelayMs } : {}),
    ...(options.holdOpen !== undefined ? { holdOpen: options.holdOpen } : {}),
  };
}

/** Serves a recorded `*.sse.txt` stream byte for byte, one event per write. */
export function sseFixtureAnswer(fixture: string, options: { chunkDelayMs?: number; holdOpen?: boolean } = {}): UpstreamAnswer {
  return sseAnswer(splitSseEvents(readFixture(fixture)), options);
}

/**
 * A long OpenAI text stream (`count` one-word deltas, then finish, usage and [DONE]) for
 * cancellation tests: with a delay per chunk it runs for seconds unless the client goes away.
 */
export function longTextStreamAnswer(count: number, chunkDelayMs: number): UpstreamAnswer {
  const base = { id: "chatcmpl-long", object: "chat.completion.chunk", created: 1782955818, model: "gpt-4o-mini-2024-07-18" };
  const frame = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`;
  const events = [frame({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] })];
  for (let index = 0; index < count; index++) events.push(frame({ ...base, choices: [{ index: 0, delta: { content: `tok${index} ` }, finish_reason: null }] }));
  events.push(frame({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }));
  events.push(frame({ ...base, choices: [], usage: { prompt_tokens: 5, completion_tokens: count, total_tokens: 5 + count } }));
  events.push("data: [DONE]\n\n");
  return sseAnswer(events, { chunkDelayMs });
}

/** An OpenAI error answer with the standard envelope. */
export function errorAnswer(status: number, error: { message: string; type: string; code?: string | null; param?: string | null }, headers: Record<string, string> = {}): UpstreamAnswer {
  return jsonAnswer({ error: { message: error.message, type: error.type, param: error.param ?? null, code: error.code ?? null } }, { status, headers });
}

/**
 * Starts the fake upstream on 127.0.0.1 with an ephemeral port. It records every request (method,
 * URL, headers, parsed body) and whether the client closed the connection before the response
 * ended, which is how the e2e suites observe cancellation reaching the upstream.
 */
export async function startFakeUpstream(): Promise<FakeUpstream> {
  const requests: RecordedUpstreamRequest[] = [];
  let queue: UpstreamAnswer[] = [];
  let fallback: UpstreamAnswer | UpstreamResponder = NOTHING_SCRIPTED;
  const arrivalWaiters = new Set<() => void>();

  const server = http.createServer((request, response) => {
    onRequestBody(request, (text, body) => {
      let settle: () => void = () => {};
      const settled = new Promise<void>((resolve) => {
        settle = resolve;
      });
      const recorded: RecordedUpstreamRequest = { method: request.method ?? "", url: request.url ?? "", headers: request.headers, text, body, chunksWritten: 0, closedEarly: false, settled };
      requests.push(recorded);
      for (const wake of arrivalWaiters) wake();
      const answer = queue.shift() ?? (typeof fallback === "function" ? fallback(recorded) : fallback);
      void serve(answer, recorded, response, settle);
    });
  });
  server.keepAliveTimeout = 5_000;

  async function serve(answer: UpstreamAnswer, recorded: RecordedUpstreamRequest, response: http.ServerResponse, settle: () => void): Promise<void> {
    let ended = false;
    let gone = false;
    response.on("close", () => {
      gone = true;
      if (!ended) recorded.closedEarly = true;
      settle();
    });
    response.writeHead(answer.status ?? 200, { ...answer.headers });
    response.flushHeaders();
    for (const piece of answer.chunks) {
      await new Promise((resolve) => (answer.chunkDelayMs ? setTimeout(resolve, answer.chunkDelayMs) : setImmediate(resolve)));
      if (gone) return;
      response.write(piece);
      recorded.chunksWritten++;
    }
    if (answer.holdOpen || gone) return;
    ended = true;
    response.end(() => settle());
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;

  const withTimeout = (promise: Promise<void>, timeoutMs: number, what: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fake upstream: ${what} did not happen within ${timeoutMs} ms`)), timeoutMs);
      promise.then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    enqueue: (...answers) => void queue.push(...answers),
    setDefault: (answer) => {
      fallback = answer;
    },
    reset: () => {
      requests.length = 0;
      queue = [];
      fallback = NOTHING_SCRIPTED;
    },
    lastRequest: () => {
      const last = requests.at(-1);
      if (!last) throw new Error("fake upstream: no request received");
      return last;
    },
    waitSettled: (request, timeoutMs) => withTimeout(request.settled, timeoutMs, `the end of ${request.method} ${request.url}`),
    waitForRequests: (count, timeoutMs) =>
      withTimeout(
        new Promise<void>((resolve) => {
          const check = () => {
            if (requests.length >= count) {
              arrivalWaiters.delete(check);
              resolve();
            }
          };
          arrivalWaiters.add(check);
          check();
        }),
        timeoutMs,
        `request #${count}`,
      ),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
