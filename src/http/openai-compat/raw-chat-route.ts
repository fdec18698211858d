import type { IncomingMessage, ServerResponse } from "node:http";
import type { CallerAuthenticator } from "../../core/caller-auth.js";
import { invalidRequest, toGatewayError } from "../../core/errors.js";
import { answerChatCompletion, sendRestError, type ChatCompletionsDeps } from "./chat-completions.js";

/** What the raw route needs besides the chat handler's dependencies. */
export interface RawChatRouteOptions extends ChatCompletionsDeps {
  readonly authenticate: CallerAuthenticator;
  readonly bodyLimitBytes: number;
  /** True once the server is closing (Fastify then answers 503; the raw route leaves it to Fastify). */
  readonly closing: () => boolean;
}

/** An HTTP/1.1 request handler that may take a request before Fastify does (true: it took it). */
export type Http1RequestTaker = (request: IncomingMessage, response: ServerResponse) => boolean;

const PATH = "/v1/chat/completions";
/** `application/json`, optionally with a charset parameter: what Fastify's JSON parser accepts without surprises. */
const JSON_TYPE = /^application\/json\s*(?:;\s*charset=(?:"?utf-8"?))?\s*$/i;
/** Keys secure-json-parse (Fastify's JSON parser) refuses: prototype poisoning. */
const POISON = /"(?:__proto__|constructor)"/;
const INVALID_JSON = "We could not parse the JSON body of your request. Send valid JSON.";

/** JSON.parse, refusing `__proto__` keys and `constructor.prototype` as Fastify's parser does. */
function parseJson(text: string): unknown {
  if (!POISON.test(text)) return JSON.parse(text);
  return JSON.parse(text, function (key, value: unknown) {
    if (key === "__proto__") throw new SyntaxError("Object contains forbidden prototype property");
    if (key === "constructor" && value !== null && typeof value === "object" && Object.hasOwn(value, "prototype")) {
      throw new SyntaxError("Object contains forbidden prototype property");
    }
    return value;
  });
}

/**
 * `POST /v1/chat/completions` on plain `node:http`, ahead of Fastify's per-request machinery
 * (~7 µs per request; bench/PROFILE.md), for the common shape of request only: HTTP/1.1, exact
 * path, `content-type: application/json` (optionally with charset utf-8), a Content-Length within
 * `server.body_limit_bytes`, and the server not closing. Everything else (chunked or oversized
 * uploads, other content types, query strings, HTTP/2) goes to the Fastify route, which answers it
 * with the same handler or with the same envelopes for body errors. The same auth as Fastify's hook;
 * an unparsable body gets Fastify's 400.
 */
export function createRawChatRoute(options: RawChatRouteOptions): Http1RequestTaker {
  return (request, response) => {
    if (request.method !== "POST" || request.url !== PATH) return false;
    const type = request.headers["content-type"];
    if (type === undefined || !JSON_TYPE.test(type)) return false;
    const length = Number(request.headers["content-length"]);
    if (!Number.isInteger(length) || length <= 0 || length > options.bodyLimitBytes) return false;
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
    let body: unknown;
    try {
      body = parseJson(bytes.toString("utf8"));
    } catch {
      sendRestError(response, invalidRequest(INVALID_JSON));
      return;
    }
    // The handler answers every error itself; this only guards a failure to write that answer.
    answerChatCompletion(options, body, request.headers, response, PATH, false).catch(() => response.destroy());
  });
}
