import { Code } from "@connectrpc/connect";
import { createBrotliDecompress, createGunzip, createInflate, createInflateRaw } from "node:zlib";
import type { Transform } from "node:stream";
import { gatewayError, type GatewayError, Reason } from "../core/errors.js";
import type { UpstreamResponse } from "./upstream-http.js";

/**
 * What every upstream request says it reads (`accept-encoding: identity`): without the header,
 * RFC 9110 lets a server pick any content coding. Servers that compress anyway are decoded
 * ({@link decodedResponse}).
 */
export const ACCEPTED_ENCODING = "identity";

/** Decoded bytes a single upstream chunk may expand to before the answer is refused (a decompression bomb). */
export const MAX_DECODED_BURST_BYTES = 16 * 1024 * 1024;

/**
 * Whether bytes start with a zlib header (RFC 1950: compression method 8, and the two header bytes
 * a multiple of 31), as `deflate` should; some servers send raw deflate (RFC 1951) instead, which
 * curl and browsers accept too.
 */
export function zlibWrapped(first: Uint8Array): boolean {
  const cmf = first[0];
  if (cmf === undefined || (cmf & 0x0f) !== 8 || cmf >> 4 > 7) return false;
  const flg = first[1];
  return flg === undefined || (cmf * 256 + flg) % 31 === 0;
}

/** The content codings the gateway decodes, by their lower-case names (RFC 9110 §8.4.1); each decoder is chosen seeing the body's first bytes. */
const DECODERS: ReadonlyMap<string, (first: Uint8Array) => Transform> = new Map<string, (first: Uint8Array) => Transform>([
  ["gzip", () => createGunzip()],
  ["x-gzip", () => createGunzip()],
  ["deflate", (first: Uint8Array) => (zlibWrapped(first) ? createInflate() : createInflateRaw())],
  ["br", () => createBrotliDecompress()],
]);

/** `source` decoded by the decoder `make` picks for its first chunk (see {@link decode}). */
async function* decodeSniffed(source: AsyncIterable<Uint8Array>, make: (first: Uint8Array) => Transform, fail: (message: string, cause?: unknown) => GatewayError): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  const first = await iterator.next();
  const head = first.done ? new Uint8Array(0) : first.value;
  async function* whole(): AsyncGenerator<Uint8Array> {
    if (first.done) return;
    yield head;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  yield* decode(whole(), make(head), fail);
}

function undecodable(provider: string, status: number, message: string, afterFirstByte: boolean, cause?: unknown): GatewayError {
  return gatewayError(Code.Internal, Reason.INVALID_PROVIDER_RESPONSE, `provider "${provider}" ${message}`, { provider, upstreamStatus: status, afterFirstByte }, cause);
}

/**
 * The body decoded by one zlib or brotli stream, chunk by chunk as it arrives (a compressed event
 * stream keeps its pace). Errors of the source pass through as they are; a corrupt or truncated
 * coding, or one chunk that expands past {@link MAX_DECODED_BURST_BYTES}, is INVALID_PROVIDER_RESPONSE.
 */
async function* decode(source: AsyncIterable<Uint8Array>, decoder: Transform, fail: (message: string, cause?: unknown) => GatewayError): AsyncGenerator<Uint8Array> {
  const out: Buffer[] = [];
  let burst = 0;
  let failure: GatewayError | undefined;
  let wake: (() => void) | undefined;
  decoder.on("data", (chunk: Buffer) => {
    burst += chunk.byteLength;
    if (burst > MAX_DECODED_BURST_BYTES) {
      failure ??= fail(`sent a compressed body that expands beyond ${MAX_DECODED_BURST_BYTES} bytes at once`);
      decoder.destroy();
      wake?.();
      return;
    }
    out.push(chunk);
  });
  decoder.on("error", (error: Error) => {
    failure ??= fail(`sent a body that does not decode as its content-encoding says (${error.message})`, error);
    wake?.();
  });
  decoder.on("close", () => wake?.());
  // Settles once the decoder took the input (its callback or 'end'), or failed, or was destroyed.
  const settled = (start: (done: () => void) => void): Promise<void> =>
    new Promise((resolve) => {
      if (failure || decoder.destroyed) return resolve();
      wake = resolve;
      start(resolve);
    });
  try {
    for await (const chunk of source) {
      await settled((done) => decoder.write(chunk, () => done()));
      if (failure) throw failure;
      burst = 0;
      while (out.length > 0) yield out.shift() as Buffer;
    }
    if (failure) throw failure;
    // 'end', not the end callback: the last decoded bytes are emitted before it.
    await settled((done) => {
      decoder.once("end", done);
      decoder.end();
    });
    if (failure) throw failure;
    while (out.length > 0) yield out.shift() as Buffer;
  } finally {
    decoder.destroy();
  }
}

/** Reads `source` to its end and yields nothing: an error answer whose body cannot be decoded still ends cleanly. */
async function* discard(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) void chunk;
}

/**
 * The response with its body decoded per its `content-encoding`: unchanged when the header is
 * absent or `identity`; one gzip, deflate or br coding is decoded on the fly. Any other coding (or
 * several stacked) on a 2xx answer throws INVALID_PROVIDER_RESPONSE, as an unreadable answer (it
 * fails over); on an error status the body is read and dropped, so the status still decides.
 */
export function decodedResponse(response: UpstreamResponse, provider: string): UpstreamResponse {
  const header = response.header("content-encoding");
  if (header === undefined) return response;
  const codings = header
    .split(",")
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== "" && coding !== "identity");
  if (codings.length === 0) return response;
  const make = codings.length === 1 ? DECODERS.get(codings[0] as string) : undefined;
  const { status } = response;
  if (make) return { status, header: (name) => response.header(name), body: decodeSniffed(response.body, make, (message, cause) => undecodable(provider, status, message, true, cause)) };
  if (status >= 300) return { status, header: (name) => response.header(name), body: discard(response.body) };
  const shown = codings.join(", ").slice(0, 100).replace(/[^a-z0-9!#$%&'*+.^_`|~, -]/g, "?");
  throw undecodable(provider, status, `answered with content-encoding "${shown}", which the gateway cannot decode (it asks for identity)`, false);
}
