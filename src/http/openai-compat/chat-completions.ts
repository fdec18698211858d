import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import { toGatewayError, type GatewayError } from "../../core/errors.js";
import type { Gateway } from "../../core/gateway.js";
import { LightAbort } from "../../core/light-abort.js";
import type { FastResponse } from "../../server/fast-h1.js";
import { parseCallerTimeout } from "../../core/routing/request-scope.js";
import { routeHeaders } from "../../server/route-headers.js";
import { toRestError } from "./error-response.js";
import { OpenAIChunkEncoder } from "./chunk-encoder.js";
import { toOpenAICompletion } from "./from-proto.js";
import { responseClosed, SseWriter, type RawResponse } from "./sse-writer.js";
import { toProtoChatRequest, type RestChatRequest } from "./to-proto.js";

/** What answering a chat completion needs: the core, the edge's error log and the stream keep-alive. */
export interface ChatCompletionsDeps {
  readonly gateway: Gateway;
  /** Called once per error answered (the edge's one log line per error), with the request URL and the caller's key name (undefined when auth is off or failed). */
  readonly onError: (error: GatewayError, url: string, keyName: string | undefined) => void;
  /**
   * `server.stream_keepalive_ms`: how long a stream may wait for its first event before the SSE
   * head and a comment are sent (then a comment every as long); 0 or absent: the head waits.
   */
  readonly streamKeepAliveMs?: number;
}

/** The abort reason when the client goes away (shared: a DOMException captures a stack). */
const CLIENT_GONE = new DOMException("the client closed the connection", "AbortError");

/** Where a complete answer is written: Node's HTTP/1.1 or HTTP/2 response, or the HTTP/1.1 fast path's (server/fast-h1.ts). */
export type AnswerTarget = RawResponse | FastResponse;

/** Aborts when the client goes away before the gateway ended the response (toolchain.md trap 12). */
function clientSignal(raw: AnswerTarget, endedByServer: () => boolean): LightAbort {
  const controller = new LightAbort();
  // Gone already (e.g. an HTTP/2 stream reset before its handler ran): its 'close' has fired.
  if (responseClosed(raw)) controller.abort(CLIENT_GONE);
  (raw as { on(event: "close", listener: () => void): unknown }).on("close", () => {
    if (!endedByServer()) controller.abort(CLIENT_GONE);
  });
  return controller;
}

/** Writes a complete JSON answer (Fastify's reply.send would set the same two headers). */
export function sendJson(raw: AnswerTarget, status: number, headers: Readonly<Record<string, string>>, body: unknown): void {
  const text = JSON.stringify(body);
  const head = { ...headers, "content-type": "application/json; charset=utf-8", "content-length": String(Buffer.byteLength(text)) };
  // Node's responses and the fast path's FastResponse take the same two calls.
  (raw as ServerResponse).writeHead(status, head).end(text);
}

/** Answers an error in the OpenAI envelope, with its status and headers. */
export function sendRestError(raw: AnswerTarget, error: GatewayError): void {
  const rest = toRestError(error);
  sendJson(raw, rest.status, rest.headers, rest.body);
}

/** A chat completion request translated for the core, with the caller's timeout. */
export interface PreparedChat {
  readonly request: RestChatRequest;
  readonly timeoutMs: number | undefined;
}

/** Translates a parsed `POST /v1/chat/completions` body and its headers; throws a GatewayError (400) for bad input. */
export function prepareChat(body: unknown, headers: IncomingHttpHeaders): PreparedChat {
  return { request: toProtoChatRequest(body), timeoutMs: parseCallerTimeout(headers["x-switchyard-timeout"]) };
}

/**
 * Answers one `POST /v1/chat/completions` whose body is already parsed, on the raw response: JSON
 * with the route headers, or SSE (headers with the first frame, `[DONE]` at the end, an error frame
 * after a mid-stream failure). Every error becomes the OpenAI envelope and one `onError` call;
 * it never throws. A thin translator: JSON -> proto, the Gateway core, proto -> JSON/SSE.
 * `keyName` names the gateway key the caller authenticated with, for the log lines (undefined when auth is off).
 */
export async function answerChatCompletion(deps: ChatCompletionsDeps, body: unknown, headers: IncomingHttpHeaders, raw: RawResponse, url: string, keyName: string | undefined): Promise<void> {
  let prepared: PreparedChat;
  try {
    prepared = prepareChat(body, headers);
  } catch (thrown) {
    return answerError(deps, raw, url, keyName, thrown);
  }
  return answerPrepared(deps, prepared, raw, url, keyName);
}

/** Answers a translated request: the JSON completion, or the SSE stream; errors as in {@link answerChatCompletion}; never throws. */
export function answerPrepared(deps: ChatCompletionsDeps, prepared: PreparedChat, raw: AnswerTarget, url: string, keyName: string | undefined): Promise<void> {
  if (prepared.request.stream) return streamAnswer(deps, prepared.request, prepared.timeoutMs, raw, url, keyName);
  return answerComplete(deps, prepared, raw, url, keyName);
}

/** Answers a non-streaming request with the JSON completion, or its error in the OpenAI envelope (one `onError` call); never throws. */
async function answerComplete(deps: ChatCompletionsDeps, prepared: PreparedChat, raw: AnswerTarget, url: string, keyName: string | undefined): Promise<void> {
  const { request } = prepared;
  let answered = false;
  const signal = clientSignal(raw, () => answered);
  try {
    const response = await deps.gateway.chat(request.input, { signal, timeoutMs: prepared.timeoutMs, keyName });
    answered = true;
    if (responseClosed(raw)) return;
    sendJson(raw, 200, routeHeaders(response.model, response.provider, response.route, response.warnings), toOpenAICompletion(response, request.legacyFunctions));
  } catch (thrown) {
    answered = true;
    answerError(deps, raw, url, keyName, thrown);
  }
}

/** Answers `thrown` as the OpenAI error envelope (unless the response is gone or started), after one `onError` call. */
export function answerError(deps: ChatCompletionsDeps, raw: AnswerTarget, url: string, keyName: string | undefined, thrown: unknown): void {
  const error = toGatewayError(thrown);
  deps.onError(error, url, keyName);
  if (!responseClosed(raw) && !raw.headersSent) sendRestError(raw, error);
}

async function streamAnswer(deps: ChatCompletionsDeps, request: RestChatRequest, timeoutMs: number | undefined, raw: AnswerTarget, url: string, keyName: string | undefined): Promise<void> {
  let writer: SseWriter | undefined;
  const signal = clientSignal(raw, () => writer?.endedByServer ?? false);
  const deadlineAt = timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs;
  const events = deps.gateway.chatStream(request.input, { signal, timeoutMs, keyName });
  const keepAlive = deps.streamKeepAliveMs ? new FirstEventKeepAlive(raw, deps.streamKeepAliveMs, deadlineAt) : undefined;
  let first: IteratorResult<ChatStreamResponse>;
  try {
    first = await events.next();
  } catch (thrown) {
    writer = keepAlive?.stop();
    // With the head already out (keep-alive), the failure can only be the in-band error frame.
    return writer ? endWithError(deps, writer, signal, url, keyName, thrown) : answerError(deps, raw, url, keyName, thrown);
  }
  writer = keepAlive?.stop();
  const encoder = new OpenAIChunkEncoder(request.includeUsage, request.legacyFunctions);
  if (!writer) {
    writer = new SseWriter(raw, deadlineAt);
    const start = first.done ? undefined : first.value.event;
    writer.open(start?.case === "responseStart" ? routeHeaders(start.value.model, start.value.provider, start.value.route, start.value.warnings) : {});
  }
  try {
    // writer.data returns a promise only under back-pressure: no await (and no microtask hop) per frame otherwise.
    if (!first.done) for (const chunk of encoder.encode(first.value)) await writer.data(chunk);
    for (;;) {
      const next = await events.next();
      if (next.done) break;
      if (signal.aborted) {
        // The client left: events already buffered would be encoded for nobody. Closing the chain closes the upstream answer.
        await events.return?.(undefined);
        throw signal.reason;
      }
      for (const chunk of encoder.encode(next.value)) {
        const drained = writer.data(chunk);
        if (drained) await drained;
      }
    }
    writer.done();
  } catch (thrown) {
    endWithError(deps, writer, signal, url, keyName, thrown);
  } finally {
    writer.dispose();
  }
}

/** Ends a stream whose head was sent with the in-band error frame (none when the client left), and logs the error once. */
function endWithError(deps: ChatCompletionsDeps, writer: SseWriter, signal: LightAbort, url: string, keyName: string | undefined, thrown: unknown): void {
  const error = toGatewayError(thrown);
  deps.onError(error, url, keyName);
  if (!signal.aborted) writer.error(toRestError(error).body);
}

/**
 * Keeps a client (and any load balancer between) from giving up on a stream whose first event is
 * slow: after `everyMs` without it, sends the SSE head (without the route headers, which are not
 * known yet) and a `: waiting for the first token` comment, then a comment every `everyMs`.
 * {@link stop} ends the timers and returns the writer if the head went out.
 */
class FirstEventKeepAlive {
  private writer: SseWriter | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly raw: AnswerTarget,
    everyMs: number,
    private readonly deadlineAt: number,
  ) {
    this.timer = setInterval(this.tick, everyMs);
  }

  private readonly tick = (): void => {
    if (responseClosed(this.raw)) return;
    if (!this.writer) {
      this.writer = new SseWriter(this.raw, this.deadlineAt);
      this.writer.open({});
    }
    this.writer.comment("waiting for the first token");
  };

  /** Stops the comments; the writer whose head was sent, or undefined if none was. */
  stop(): SseWriter | undefined {
    clearInterval(this.timer);
    return this.writer;
  }
}
