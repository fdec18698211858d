import { createAsyncIterable, encodeEnvelope, readAllBytes, type UniversalHandler, type UniversalServerResponse } from "@connectrpc/connect/protocol";
import { headerGrpcMessage, headerGrpcStatus, trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";

/** How Connect words a request message it could not decode from protobuf binary. */
const PARSE_BINARY = "parse binary: ";
/** Connect's unary error bodies are a few hundred bytes; anything larger is not one to look at. */
const MAX_ERROR_BODY_BYTES = 16 * 1024;
/** gRPC status codes as their trailers spell them. */
const GRPC_INTERNAL = "13";
const GRPC_INVALID_ARGUMENT = "3";

/**
 * Connect reports a request message it cannot decode from protobuf binary as `internal`: HTTP 500
 * in its own protocol, grpc-status 13 in gRPC and gRPC-Web (its JSON decoding errors are
 * `invalid_argument`). Bad input is the caller's mistake in the gateway's error model, and the gRPC
 * fast path answers it with INVALID_ARGUMENT, so an answer that is exactly that error becomes
 * `invalid_argument` in each protocol: HTTP 400 for Connect, grpc-status 3 in the gRPC trailers or
 * the gRPC-Web trailer frame. Every other answer passes as it is.
 */
export async function withParseErrorAsInvalidArgument(response: UniversalServerResponse): Promise<UniversalServerResponse> {
  const contentType = response.header?.get("content-type") ?? "";
  if (contentType.startsWith("application/grpc-web")) return grpcWebAnswer(response);
  if (contentType.startsWith("application/grpc")) {
    // Connect's handler resolves after the first output, so a request that did not parse has set its trailer already.
    if (response.trailer) rewriteGrpcStatus(response.trailer);
    return response;
  }
  if (response.status === 500 && contentType.startsWith("application/json")) return connectUnaryAnswer(response);
  return response;
}

/** Sets grpc-status 3 when the trailer holds Connect's "could not decode the request" error (13, "parse binary: …"); says whether it did. */
function rewriteGrpcStatus(trailer: Headers): boolean {
  if (trailer.get(headerGrpcStatus) !== GRPC_INTERNAL) return false;
  let message: string;
  try {
    message = decodeURIComponent(trailer.get(headerGrpcMessage) ?? "");
  } catch {
    return false;
  }
  if (!message.startsWith(PARSE_BINARY)) return false;
  trailer.set(headerGrpcStatus, GRPC_INVALID_ARGUMENT);
  return true;
}

/** The Connect protocol's unary error: a JSON body `{code, message}` under HTTP 500. */
async function connectUnaryAnswer(response: UniversalServerResponse): Promise<UniversalServerResponse> {
  const header = response.header as Headers;
  const length = Number(header.get("content-length"));
  if (!response.body || !(length <= MAX_ERROR_BODY_BYTES)) return response;
  const bytes = await readAllBytes(response.body, MAX_ERROR_BODY_BYTES, length);
  let error: { code?: unknown; message?: unknown } | undefined;
  try {
    error = JSON.parse(Buffer.from(bytes).toString("utf8")) as { code?: unknown; message?: unknown };
  } catch {
    error = undefined;
  }
  if (error?.code !== "internal" || typeof error.message !== "string" || !error.message.startsWith(PARSE_BINARY)) return { ...response, body: createAsyncIterable([bytes]) };
  const body = new TextEncoder().encode(JSON.stringify({ ...error, code: "invalid_argument" }));
  const rewritten = new Headers(header);
  rewritten.set("content-length", String(body.byteLength));
  return { ...response, status: 400, header: rewritten, body: createAsyncIterable([body]) };
}

/**
 * gRPC-Web carries the status in a trailer frame at the end of the body. A request that did not
 * parse produces no message, so its body starts with that frame (one envelope per chunk, as
 * Connect joins them); the first chunk is already buffered when the handler resolves.
 */
async function grpcWebAnswer(response: UniversalServerResponse): Promise<UniversalServerResponse> {
  if (!response.body) return response;
  const source = response.body[Symbol.asyncIterator]();
  const first = await source.next();
  if (first.done) return { ...response, body: createAsyncIterable([]) };
  return { ...response, body: startingWith(rewriteTrailerFrame(first.value), source) };
}

/** The chunk, or when it is exactly one gRPC-Web trailer frame holding the parse error, that frame with grpc-status 3. */
function rewriteTrailerFrame(chunk: Uint8Array): Uint8Array {
  if (chunk.byteLength < 5 || chunk[0] !== trailerFlag || chunk.byteLength > MAX_ERROR_BODY_BYTES) return chunk;
  const length = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength).getUint32(1);
  if (length !== chunk.byteLength - 5) return chunk;
  const trailer = trailerParse(chunk.subarray(5));
  return rewriteGrpcStatus(trailer) ? encodeEnvelope(trailerFlag, trailerSerialize(trailer)) : chunk;
}

/** An iterable yielding `first`, then the rest of `rest`; return and throw reach `rest` (Connect aborts its call on them). */
function startingWith(first: Uint8Array, rest: AsyncIterator<Uint8Array>): AsyncIterable<Uint8Array> {
  let given = false;
  const iterator: AsyncIterator<Uint8Array> = {
    next: () => {
      if (given) return rest.next();
      given = true;
      return Promise.resolve({ done: false, value: first });
    },
    return: (value?: unknown) => rest.return?.(value) ?? Promise.resolve({ done: true, value: undefined }),
    throw: (error?: unknown) => rest.throw?.(error) ?? Promise.reject(error),
  };
  return { [Symbol.asyncIterator]: () => iterator };
}

/** The same handler (with its routing properties), answering through {@link withParseErrorAsInvalidArgument}. */
export function withClientParseErrors(handler: UniversalHandler): UniversalHandler {
  const wrapped = async (...args: Parameters<UniversalHandler>) => withParseErrorAsInvalidArgument(await handler(...args));
  return Object.assign(wrapped, handler);
}
