import { Code, ConnectError } from "@connectrpc/connect";
import { createAsyncIterable, encodeEnvelope, readAllBytes, type UniversalHandler, type UniversalServerResponse } from "@connectrpc/connect/protocol";
import { codeFromString, codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { headerGrpcMessage, headerGrpcStatus, headerStatusDetailsBin, setTrailerStatus, trailerFlag, trailerParse, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { toGatewayError, type GatewayError } from "../core/errors.js";

/** Connect's unary error bodies are a few hundred bytes; anything larger is not one to look at. */
const MAX_ERROR_BODY_BYTES = 16 * 1024;

/*
 * Errors Connect's own handlers raise before the gateway's code runs (a request that does not
 * decode, a bad timeout header, a message over readMaxBytes) reach callers in Connect's form: no
 * ErrorDetail, and an undecodable binary message as `internal` (HTTP 500 in the Connect protocol).
 * The gateway's error model gives every error status an ErrorDetail and calls bad input the
 * caller's mistake, as the gRPC fast path already answers. So each such answer is rewritten, in
 * each protocol's place for it: the Connect protocol's JSON error body, the gRPC trailers, the
 * gRPC-Web trailer frame. Answers that already carry details (the gateway's own errors) pass as
 * they are.
 */

/** Connect's own error as the gateway's (toGatewayError: an undecodable message is INVALID_ARGUMENT; the reason and ErrorDetail follow the code). */
function asGatewayError(code: Code, message: string): GatewayError {
  return toGatewayError(new ConnectError(message, code));
}

/** What is told of each of Connect's own errors the gateway rewrites (they come before its interceptor, which logs the rest). */
export type OwnErrorReport = (error: GatewayError) => void;

/** Gives an error status in gRPC trailers (or a gRPC-Web trailer frame) without details the gateway's status and ErrorDetail; says whether it did. */
function withErrorDetail(trailer: Headers, report: OwnErrorReport | undefined): boolean {
  const status = Number(trailer.get(headerGrpcStatus));
  if (!Number.isInteger(status) || status <= 0 || status > 16 || trailer.has(headerStatusDetailsBin)) return false;
  const raw = trailer.get(headerGrpcMessage) ?? "";
  let message: string;
  try {
    message = decodeURIComponent(raw);
  } catch {
    message = raw;
  }
  const error = asGatewayError(status as Code, message);
  report?.(error);
  setTrailerStatus(trailer, error);
  return true;
}

/**
 * The answer of one of Connect's handlers, with Connect's own errors given the gateway's form (see
 * above): a Connect unary JSON error, the gRPC trailers (set by the time the handler resolves: it
 * waits for the first output), or a gRPC-Web body that starts with its trailer frame; a 405 gets
 * its `Allow: POST`. Every other answer passes as it is. Each error rewritten is told to `report`.
 */
export async function withGatewayErrorForm(response: UniversalServerResponse, report?: OwnErrorReport): Promise<UniversalServerResponse> {
  // RFC 9110: a 405 names the methods allowed; Connect's (a GET of a method that is not idempotent) does not.
  if (response.status === 405) return { ...response, header: new Headers({ ...Object.fromEntries(response.header ?? []), allow: "POST" }) };
  const contentType = response.header?.get("content-type") ?? "";
  if (contentType.startsWith("application/grpc-web")) return grpcWebAnswer(response, report);
  if (contentType.startsWith("application/grpc")) {
    if (response.trailer) withErrorDetail(response.trailer, report);
    return response;
  }
  if (response.status >= 400 && contentType.startsWith("application/json")) return connectUnaryAnswer(response, report);
  return response;
}

/** The Connect protocol's unary error: a JSON body `{code, message, details?}` under an HTTP error status. */
async function connectUnaryAnswer(response: UniversalServerResponse, report: OwnErrorReport | undefined): Promise<UniversalServerResponse> {
  const header = response.header as Headers;
  const length = Number(header.get("content-length"));
  if (!response.body || !(length <= MAX_ERROR_BODY_BYTES)) return response;
  const bytes = await readAllBytes(response.body, MAX_ERROR_BODY_BYTES, length);
  let error: { code?: unknown; message?: unknown; details?: unknown } | undefined;
  try {
    error = JSON.parse(Buffer.from(bytes).toString("utf8")) as { code?: unknown; message?: unknown; details?: unknown };
  } catch {
    error = undefined;
  }
  const code = typeof error?.code === "string" ? codeFromString(error.code) : undefined;
  if (code === undefined || (Array.isArray(error?.details) && error.details.length > 0)) return { ...response, body: createAsyncIterable([bytes]) };
  const gatewayError = asGatewayError(code, typeof error?.message === "string" ? error.message : "");
  report?.(gatewayError);
  const body = errorToJsonBytes(gatewayError, undefined);
  const rewritten = new Headers(header);
  rewritten.set("content-length", String(body.byteLength));
  return { ...response, status: codeToHttpStatus(gatewayError.code), header: rewritten, body: createAsyncIterable([body]) };
}

/**
 * gRPC-Web carries the status in a trailer frame at the end of the body. An error raised before
 * any message leaves a body that starts with that frame (one envelope per chunk, as Connect joins
 * them); the first chunk is already buffered when the handler resolves.
 */
async function grpcWebAnswer(response: UniversalServerResponse, report: OwnErrorReport | undefined): Promise<UniversalServerResponse> {
  if (!response.body) return response;
  const source = response.body[Symbol.asyncIterator]();
  const first = await source.next();
  if (first.done) return { ...response, body: createAsyncIterable([]) };
  return { ...response, body: startingWith(rewriteTrailerFrame(first.value, report), source) };
}

/** The chunk, or when it is exactly one gRPC-Web trailer frame with an error status and no details, that frame in the gateway's form. */
function rewriteTrailerFrame(chunk: Uint8Array, report: OwnErrorReport | undefined): Uint8Array {
  if (chunk.byteLength < 5 || chunk[0] !== trailerFlag || chunk.byteLength > MAX_ERROR_BODY_BYTES) return chunk;
  const length = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength).getUint32(1);
  if (length !== chunk.byteLength - 5) return chunk;
  const trailer = trailerParse(chunk.subarray(5));
  return withErrorDetail(trailer, report) ? encodeEnvelope(trailerFlag, trailerSerialize(trailer)) : chunk;
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

/** The same handler (with its routing properties), answering through {@link withGatewayErrorForm}; each rewritten error is told to `report`. */
export function withGatewayErrors(handler: UniversalHandler, report?: OwnErrorReport): UniversalHandler {
  const wrapped = async (...args: Parameters<UniversalHandler>) => withGatewayErrorForm(await handler(...args), report);
  return Object.assign(wrapped, handler);
}
