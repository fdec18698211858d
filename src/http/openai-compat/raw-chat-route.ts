import type { IncomingMessage, ServerResponse } from "node:http";
import type { CallerAuthenticator } from "../../core/caller-auth.js";
import { invalidRequest, toGatewayError } from "../../core/errors.js";
import { answerChatCompletion, sendRestError, type ChatCompletionsDeps } from "./chat-completions.js";
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
    if (request.method !== "POST" || request.url !== PATH) return false;
    const type = request.headers["content-type"];
    if (type === undefined || !JSON_TYPE.test(type)) return false;
    const length = Number(request.headers["content-length"]);
    if (!Number.isInteger(length) || length <= 0 || length > options.bodyLimitBytes) return false;
    if (request.headers["content-encoding"] !== undefined) return false;
    if (options.leavesBrowsers && request.headers.origin !== undefined) return false;
    if (options.closing()) return false;
    try {
      options.authenticate(request.headers.authorization);
    } catch (thrown) {
      const error = toGatewayError(thrown);
      options.onError(error, PATH);
      sendRestError(response, error);
      request.resume();
      return true;
    }
    readBody(request, response, length, options);
    return true;
  };
}

function readBody(request: IncomingMessage, response: ServerResponse, length: number, options: RawChatRouteOptions): void {
  const chunks: Buffer[] = [];
  // A client that goes away mid-upload: nothing to answer, and no unhandled 'error' event.
  request.on("error", () => undefined);
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    const bytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length);
    let text: string;
    let body: unknown;
    try {
      text = decodeUtf8Body(bytes);
    } catch (thrown) {
      sendRestError(response, toGatewayError(thrown));
      return;
    }
    try {
      body = parseJsonText(text);
    } catch {
      sendRestError(response, invalidRequest(INVALID_JSON));
      return;
    }
    // The handler answers every error itself; this only guards a failure to write that answer.
    answerChatCompletion(options, body, request.headers, response, PATH, false).catch(() => response.destroy());
  });
}
