import { isUtf8 } from "node:buffer";
import { TextDecoder } from "node:util";
import { invalidRequest } from "../../core/errors.js";

/**
 * Turning the bytes of a REST request body into JSON, the same way on the raw route and on the
 * Fastify route: the declared charset honoured (UTF-8 when none), bytes that are not valid in it
 * refused rather than replaced with U+FFFD, a leading byte order mark ignored (RFC 8259 §8.1
 * allows it), and prototype-poisoning keys refused as Fastify's own parser does.
 */

/** The message of every body that is not JSON. */
export const INVALID_JSON = "We could not parse the JSON body of your request. Send valid JSON.";

/** Keys secure-json-parse (Fastify's JSON parser) refuses: prototype poisoning. */
const POISON = /"(?:__proto__|constructor)"/;
/** The `charset` parameter of a Content-Type value. */
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i;

/** A body in a charset or content coding the front door cannot decode: a 415 (Fastify's error handler reads `statusCode`). */
export class UnreadableBody extends Error {
  /** The REST status of the answer. */
  readonly statusCode = 415;
}

/** JSON.parse, refusing `__proto__` keys and `constructor.prototype` as Fastify's parser does. */
export function parseJsonText(text: string): unknown {
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
 * Decodes UTF-8 body bytes strictly: a 400 when they are not valid UTF-8 (a silently replaced
 * character would change the request); a leading byte order mark is dropped.
 */
export function decodeUtf8Body(bytes: Buffer): string {
  if (!isUtf8(bytes)) throw invalidRequest("The request body is not valid UTF-8. Send JSON encoded as UTF-8.");
  const text = bytes.toString("utf8");
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** The body's text in the charset its Content-Type declares: 415 for an unknown charset, 400 for bytes invalid in it. */
export function decodeBodyText(bytes: Buffer, contentType: string | undefined): string {
  const label = contentType === undefined ? undefined : CHARSET.exec(contentType)?.[1];
  if (label === undefined || /^utf-?8$/i.test(label)) return decodeUtf8Body(bytes);
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(label, { fatal: true });
  } catch {
    throw new UnreadableBody(`Unsupported charset '${label}' in the Content-Type header. Send JSON encoded as UTF-8.`);
  }
  try {
    return decoder.decode(bytes);
  } catch {
    throw invalidRequest(`The request body is not valid ${decoder.encoding}, the charset its Content-Type declares.`);
  }
}

/**
 * Refuses a body sent with a content coding (gzip, br, …): the gateway reads bodies as sent, and
 * compressed bytes would only fail as "not JSON". RFC 9110 §15.5.16: 415.
 */
export function checkContentEncoding(contentEncoding: string | undefined): void {
  if (contentEncoding === undefined || /^\s*(?:identity)?\s*$/i.test(contentEncoding)) return;
  throw new UnreadableBody(`Content-Encoding '${contentEncoding}' is not supported: send the request body uncompressed.`);
}
