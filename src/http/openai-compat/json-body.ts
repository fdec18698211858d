import { isUtf8 } from "node:buffer";
import { TextDecoder } from "node:util";
import { invalidRequest } from "../../core/errors.js";
import { MAX_JSON_DEPTH } from "../../core/validate-input.js";
import { nestsDeeperThan } from "../../providers/json-nesting.js";

/**
 * Turning the bytes of a REST request body into JSON, the same way on the raw route and on the
 * Fastify route: the declared charset honoured (UTF-8 when none), bytes that are not valid in it
 * refused rather than replaced with U+FFFD, a leading byte order mark ignored (RFC 8259 §8.1
 * allows it), and prototype-poisoning keys refused as Fastify's own parser does.
 */

/** The message of every body that is not JSON. */
export const INVALID_JSON = "We could not parse the JSON body of your request. Send valid JSON.";

/**
 * Text that may hold a key secure-json-parse (Fastify's JSON parser) refuses, for prototype
 * poisoning: `"__proto__":` or `"constructor":` as a key (not as a string value, which is never
 * followed by a colon), or any `\u00` escape, since a key may spell them with escapes.
 */
const MAYBE_POISON = /"(?:__proto__|constructor)"\s*:|\\u00/;

/** Bodies up to this many characters are parsed at once: nesting in them costs little to build and refuse later. */
const DEPTH_SCAN_FROM_CHARS = 64 * 1024;
/** Deepest nesting a body can have: the request's own structure, a few levels, around MAX_JSON_DEPTH levels of a caller's JSON. */
const MAX_BODY_DEPTH = MAX_JSON_DEPTH + 16;

/** Whether a parsed value holds a `__proto__` key, or a `constructor` key whose value has its own `prototype` (iterative, at every depth). */
function holdsPoison(root: unknown): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (value === null || typeof value !== "object") continue;
    if (Array.isArray(value)) {
      for (const item of value) if (item !== null && typeof item === "object") stack.push(item);
      continue;
    }
    for (const key of Object.keys(value)) {
      const child = (value as Record<string, unknown>)[key];
      if (key === "__proto__") return true;
      if (child === null || typeof child !== "object") continue;
      if (key === "constructor" && Object.hasOwn(child, "prototype")) return true;
      stack.push(child);
    }
  }
  return false;
}

/** The `charset` parameter of a Content-Type value. */
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]+)"?/i;

/** A body in a charset or content coding the front door cannot decode: a 415 (Fastify's error handler reads `statusCode`). */
export class UnreadableBody extends Error {
  /** The REST status of the answer. */
  readonly statusCode = 415;
}

/**
 * JSON.parse, refusing `__proto__` keys and `constructor.prototype` as Fastify's parser does
 * (SyntaxError, like text that does not parse). A body over 64 Ki characters that nests deeper
 * than any valid request can is refused before it is parsed (INVALID_REQUEST): building millions
 * of nested arrays only to refuse them blocked the event loop for seconds.
 */
export function parseJsonText(text: string): unknown {
  if (text.length > DEPTH_SCAN_FROM_CHARS && nestsDeeperThan(text, MAX_BODY_DEPTH)) {
    throw invalidRequest(`The request body nests JSON deeper than ${MAX_JSON_DEPTH} levels.`);
  }
  const value: unknown = JSON.parse(text);
  if (MAYBE_POISON.test(text) && holdsPoison(value)) throw new SyntaxError("Object contains forbidden prototype property");
  return value;
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
