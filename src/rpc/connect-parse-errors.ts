import { createAsyncIterable, readAllBytes, type UniversalHandler, type UniversalServerResponse } from "@connectrpc/connect/protocol";

/** How Connect words a request message it could not decode from protobuf binary. */
const PARSE_BINARY = "parse binary: ";
/** Connect's unary error bodies are a few hundred bytes; anything larger is not one to look at. */
const MAX_ERROR_BODY_BYTES = 16 * 1024;

/**
 * Connect reports a request message it cannot decode from protobuf binary as `internal`, which
 * its own protocol answers with HTTP 500 (its JSON decoding errors are `invalid_argument`, 400).
 * Bad input is the caller's mistake in the gateway's error model, so a Connect unary answer that
 * is exactly that error becomes `invalid_argument` with HTTP 400; every other answer passes as it
 * is. (gRPC and gRPC-Web carry the same error as grpc-status 13 with HTTP 200; the gRPC fast path,
 * which takes most gRPC calls, answers INVALID_ARGUMENT itself.)
 */
export async function withParseErrorAsInvalidArgument(response: UniversalServerResponse): Promise<UniversalServerResponse> {
  const header = response.header;
  const length = Number(header?.get("content-length"));
  if (response.status !== 500 || !response.body || !header?.get("content-type")?.startsWith("application/json") || !(length <= MAX_ERROR_BODY_BYTES)) return response;
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

/** The same handler (with its routing properties), answering through {@link withParseErrorAsInvalidArgument}. */
export function withClientParseErrors(handler: UniversalHandler): UniversalHandler {
  const wrapped = async (...args: Parameters<UniversalHandler>) => withParseErrorAsInvalidArgument(await handler(...args));
  return Object.assign(wrapped, handler);
}
