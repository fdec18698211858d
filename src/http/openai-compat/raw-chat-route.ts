import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { CallerAuthenticator } from "../../core/caller-auth.js";
import { GatewayError, invalidRequest, toGatewayError } from "../../core/errors.js";
import type { FastRequestTaker } from "../../server/fast-h1.js";
import { answerChatCompletion, answerError, answerPrepared, prepareChat, sendRestError, type AnswerTarget, type ChatCompletionsDeps, type PreparedChat } from "./chat-completions.js";
import { decodeUtf8Body, INVALID_JSON, parseJsonText } from "./json-body.js";

/** What the raw route needs besides the chat handler's dependencies. */
export interface RawChatRouteOptions extends ChatCompletionsDeps {
  readonly authenticate: CallerAuthenticator;
  readonly bodyLimitBytes: number;
  /** True once the server is closing (Fastify then answers 503; the raw route leaves it to Fastify). */
  readonly closing: () => boolean;
  /** `server.cors` is on: requests with an `Origin` go to Fastify, whose CORS hook adds the headers. */
  readonly leavesBrowsers?: boolean;
}

/** An HTTP/1.1 request handler that may take a request before Fastify does (true: it took it). */
export type Http1RequestTaker = (request: IncomingMessage, response: ServerResponse) => boolean;

const PATH = "/v1/chat/completions";
/** `application/json`, optionally with a charset parameter: what Fastify's JSON parser accepts without surprises. */
const JSON_TYPE = /^application\/json\s*(?:;\s*charset=(?:"?utf-8"?))?\s*$/i;

/**
 * True when a request with these headers is left to Fastify: a content type other than
 * `application/json` (optionally with charset utf-8), a missing, zero or oversized Content-Length,
 * a Content-Encoding, a browser request (an `Origin`) while `server.cors` is on, or a closing server.
 */
function leftToFastify(headers: IncomingHttpHeaders, options: RawChatRouteOptions): boolean {
  const type = headers["content-type"];
  if (type === undefined || !JSON_TYPE.test(type)) return true;
  const length = Number(headers["content-length"]);
  if (!Number.isInteger(length) || length <= 0 || length > options.bodyLimitBytes) return true;
  if (headers["content-encoding"] !== undefined) return true;
  if (options.leavesBrowsers && headers.origin !== undefined) return true;
  return options.closing();
}

/**
 * Checks the caller's key: the key's name (undefined when auth is off); when it fails, answers
 * the error (and logs it once) and returns {@link UNANSWERABLE}.
 */
function authenticated(headers: IncomingHttpHeaders, response: AnswerTarget, options: RawChatRouteOptions): string | undefined | typeof UNANSWERABLE {
  try {
    return options.authenticate(headers.authorization);
  } catch (thrown) {
    const error = toGatewayError(thrown);
    options.onError(error, PATH, undefined);
    sendRestError(response, error);
    return UNANSWERABLE;
  }
}

/** The body's JSON value; when it is not UTF-8 JSON, answers the error (and logs it once) and returns {@link UNANSWERABLE}. */
function parsedBody(bytes: Buffer, response: AnswerTarget, keyName: string | undefined, options: RawChatRouteOptions): unknown {
  let text: string;
  try {
    text = decodeUtf8Body(bytes);
  } catch (thrown) {
    return refusedBody(toGatewayError(thrown), response, keyName, options);
  }
  try {
    return parseJsonText(text);
  } catch (thrown) {
    // A GatewayError says what is wrong (a body nested too deep); anything else is JSON that does not parse.
    return refusedBody(thrown instanceof GatewayError ? thrown : invalidRequest(INVALID_JSON), response, keyName, options);
  }
}

function refusedBody(error: GatewayError, response: AnswerTarget, keyName: string | undefined, options: RawChatRouteOptions): typeof UNANSWERABLE {
  options.onError(error, PATH, keyName);
  sendRestError(response, error);
  return UNANSWERABLE;
}

/** Marks a request (its key or its body) that was answered with an error already. */
const UNANSWERABLE = Symbol("answered");

/**
 * `POST /v1/chat/completions` on plain `node:http`, ahead of Fastify's per-request machinery
 * (~7 µs per request; bench/PROFILE.md), for the common shape of request only: HTTP/1.1, exact
 * path, `content-type: application/json` (optionally with charset utf-8), a Content-Length within
 * `server.body_limit_bytes`, no Content-Encoding, and the server not closing. Everything else
 * (chunked, encoded or oversized uploads, other content types or charsets, query strings, HTTP/2)
 * goes to the Fastify route, which answers it with the same handler or with the same envelopes for
 * body errors; with `server.cors` on, so do browser requests (an `Origin` header). The same auth as
 * Fastify's hook; the body is decoded as the Fastify route's parser decodes it (json-body.ts).
 */
export function createRawChatRoute(options: RawChatRouteOptions): Http1RequestTaker {
  return (request, response) => {
    if (request.method !== "POST" || request.url !== PATH || leftToFastify(request.headers, options)) return false;
    const keyName = authenticated(request.headers, response, options);
    if (keyName === UNANSWERABLE) {
      request.resume();
      return true;
    }
    readBody(request, response, Number(request.headers["content-length"]), keyName, options);
    return true;
  };
}

/**
 * The same route on the HTTP/1.1 fast path (server/fast-h1.ts), which has read the whole request:
 * the same requests taken, the same auth, body decoding and answers (JSON and SSE). A request it
 * leaves (false) moves its connection to Node's server, where Fastify serves it.
 */
export function createFastChatRoute(options: RawChatRouteOptions): FastRequestTaker {
  return (request, response) => {
    const { headers } = request;
    if (leftToFastify(headers, options)) return false;
    const keyName = authenticated(headers, response, options);
    if (keyName === UNANSWERABLE) return true;
    const body = parsedBody(request.body, response, keyName, options);
    if (body === UNANSWERABLE) return true;
    let prepared: PreparedChat;
    try {
      prepared = prepareChat(body, headers);
    } catch (thrown) {
      answerError(options, response, PATH, keyName, thrown);
      return true;
    }
    // The handler answers every error itself; this only guards a failure to write that answer.
    answerPrepared(options, prepared, response, PATH, keyName).catch(() => response.destroy());
    return true;
  };
}

/** The path both forms of the route serve. */
export const RAW_CHAT_PATH = PATH;

function readBody(request: IncomingMessage, response: ServerResponse, length: number, keyName: string | undefined, options: RawChatRouteOptions): void {
  const chunks: Buffer[] = [];
  // A client that goes away mid-upload: nothing to answer, and no unhandled 'error' event.
  request.on("error", () => undefined);
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    const body = parsedBody(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length), response, keyName, options);
    if (body === UNANSWERABLE) return;
    // The handler answers every error itself; this only guards a failure to write that answer.
    answerChatCompletion(options, body, request.headers, response, PATH, keyName).catch(() => response.destroy());
  });
}
