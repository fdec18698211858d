import { TextDecoder } from "node:util";
import { invalidRequest } from "./errors.js";

/**
 * Inline media bytes, read once for every front door and every adapter: strict base64 and
 * `data:` URLs (RFC 2397), both refused with a 400 naming the field when malformed.
 */

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64_URL = /^[A-Za-z0-9_-]*={0,2}$/;
const DATA_URL_PREFIX = /^data:/i;

/** Decodes strict base64 (standard or URL-safe alphabet, whitespace ignored); throws 400 when invalid. */
export function decodeBase64(text: string, param: string): Uint8Array {
  const compact = text.replace(/\s+/g, "");
  const standard = BASE64.test(compact);
  if ((!standard && !BASE64_URL.test(compact)) || compact.replace(/=+$/, "").length % 4 === 1) {
    throw invalidRequest(`Invalid '${param}': the data is not valid base64.`, param);
  }
  const bytes = Buffer.from(compact, standard ? "base64" : "base64url");
  if (bytes.length === 0 && compact.length > 0) throw invalidRequest(`Invalid '${param}': the data is not valid base64.`, param);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Standard, padded base64 of strict base64 text: returned as it is when it already is that (no copy of the bytes). */
function canonicalBase64(text: string, param: string): string {
  if (text.length % 4 === 0 && BASE64.test(text)) return text;
  return Buffer.from(decodeBase64(text, param)).toString("base64");
}

/** The bytes of a percent-encoded payload: `%XX` is one octet, every other character its UTF-8. */
function percentDecoded(payload: string, param: string): Buffer {
  const pieces: Buffer[] = [];
  let start = 0;
  for (let at = payload.indexOf("%"); at !== -1; at = payload.indexOf("%", start)) {
    const hex = payload.slice(at + 1, at + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw invalidRequest(`Invalid '${param}': the data URL payload is not valid percent-encoding.`, param);
    pieces.push(Buffer.from(payload.slice(start, at), "utf8"), Buffer.of(Number.parseInt(hex, 16)));
    start = at + 3;
  }
  pieces.push(Buffer.from(payload.slice(start), "utf8"));
  return Buffer.concat(pieces);
}

/** A `data:` URL read: its declared media type (lower-cased, "" when none) and its bytes as standard base64. */
export interface DataUrl {
  readonly mimeType: string;
  readonly base64: string;
}

/** True when `url` is a `data:` URL (any case of the scheme). */
export function isDataUrl(url: string): boolean {
  return DATA_URL_PREFIX.test(url);
}

/**
 * Reads a `data:[<media type>][;<parameter>]*[;base64],<payload>` URL. Guarantees: the payload
 * comes back as standard, padded base64 with no whitespace, whether it was given as base64
 * (standard or URL-safe alphabet, whitespace and percent-escapes read) or percent-encoded; malformed URLs, base64
 * and escapes throw a 400 naming `param`, and so does an empty payload; text (`text/*`) that declares
 * a charset other than UTF-8 comes back as the same text in UTF-8 (the media type without the
 * parameter); other media keep their bytes, whatever charset they declare.
 * Undefined when `url` is not a data URL.
 */
export function readDataUrl(url: string, param: string): DataUrl | undefined {
  if (!isDataUrl(url)) return undefined;
  const comma = url.indexOf(",");
  if (comma === -1) throw invalidRequest(`Invalid '${param}': the data URL has no ',' before its payload.`, param);
  const segments = url.slice(5, comma).split(";");
  const mimeType = (segments[0] ?? "").trim().toLowerCase();
  const payload = url.slice(comma + 1);
  const isBase64 = segments.slice(1).some((segment) => segment.trim().toLowerCase() === "base64");
  // Browsers read escapes in a base64 payload too (%2B for "+", %3D for "=").
  const text = isBase64 && payload.includes("%") ? percentDecoded(payload, param).toString("latin1") : payload;
  const base64 = isBase64 ? canonicalBase64(text.replace(/\s+/g, ""), param) : percentDecoded(payload, param).toString("base64");
  if (base64 === "") throw invalidRequest(`Invalid '${param}': the data URL carries no data.`, param);
  // Only text is carried as text: a charset on other media (PHP's `image/png; charset=binary`) says nothing about their bytes.
  const charset = mimeType.startsWith("text/") ? declaredCharset(segments) : undefined;
  return { mimeType, base64: charset ? utf8Base64(base64, charset, param) : base64 };
}

/** Charsets whose text is UTF-8 bytes already. */
const UTF8_CHARSETS: ReadonlySet<string> = new Set(["utf-8", "utf8", "us-ascii", "ascii"]);

/** The `charset` parameter of a data URL's media type, lower-cased and unquoted; undefined when absent or UTF-8 (nothing to do). */
function declaredCharset(segments: readonly string[]): string | undefined {
  for (const segment of segments.slice(1)) {
    const [name, value] = segment.split("=", 2);
    if (name?.trim().toLowerCase() !== "charset" || value === undefined) continue;
    const charset = value.trim().replace(/^"(.*)"$/, "$1").toLowerCase();
    return UTF8_CHARSETS.has(charset) ? undefined : charset;
  }
  return undefined;
}

/**
 * Base64 of the payload's text as UTF-8, read by its declared charset (ISO-8859-1, UTF-16LE, …):
 * providers read text as UTF-8 and take no charset parameter, so the text is carried, not its
 * encoding. A charset the WHATWG Encoding Standard does not know, or bytes it cannot read, are a 400.
 */
function utf8Base64(base64: string, charset: string, param: string): string {
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(charset, { fatal: true });
  } catch {
    throw invalidRequest(`Invalid '${param}': the data URL's charset '${charset.slice(0, 40)}' is not known; send the text as UTF-8.`, param);
  }
  try {
    return Buffer.from(decoder.decode(Buffer.from(base64, "base64")), "utf8").toString("base64");
  } catch {
    throw invalidRequest(`Invalid '${param}': the data URL's text is not valid ${charset}.`, param);
  }
}
