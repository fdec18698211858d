import http2 from "node:http2";
import { create, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import { Code, type ConnectError } from "@connectrpc/connect";
// Connect's own gRPC status encoding (grpc-status, grpc-message, grpc-status-details-bin), so the
// fast path's errors are byte-for-byte those of the Connect handler. Marked internal by Connect;
// the version is pinned in package.json.
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { ChatInputSchema, type RouteInfo } from "../../gen/switchyard/v1/chat_pb.js";
import { ChatRequestSchema, ChatResponseSchema, ChatService, ChatStreamRequestSchema, ChatStreamResponseSchema, type ChatStreamResponse } from "../../gen/switchyard/v1/chat_service_pb.js";
import { ModelService } from "../../gen/switchyard/v1/model_service_pb.js";
import type { CallerAuthenticator } from "../core/caller-auth.js";
import { gatewayError, invalidRequest, Reason, toGatewayError, type GatewayError } from "../core/errors.js";
import type { Gateway } from "../core/gateway.js";
import { LightAbort } from "../core/light-abort.js";
import { routeHeaders, withRouteMetadata } from "../server/route-headers.js";
import { DrainWaiter } from "../server/write-drain.js";
import { GRPC_PREFIX_BYTES, grpcFrame } from "./grpc-frame.js";
import { boundedForRpc } from "./rpc-error-message.js";
import { unknownMethodError } from "./rpc-refusal.js";
import { keepaliveMsOf, keptAlive } from "./stream-keepalive.js";

/** The paths of every method the gateway serves, whichever handler takes it. */
const SERVED_PATHS: ReadonlySet<string> = new Set([ChatService, ModelService].flatMap((service) => service.methods.map((method) => `/${service.typeName}/${method.name}`)));
/** gRPC (any codec), not gRPC-Web. */
const GRPC_ANY = /^application\/grpc(?:$|[+;])/i;

/** The methods this path serves; everything else (and every other protocol) goes to Connect. */
const CHAT_PATH = "/switchyard.v1.ChatService/Chat";
const CHAT_STREAM_PATH = "/switchyard.v1.ChatService/ChatStream";
/** gRPC with binary protobuf; `application/grpc+json` is left to Connect. */
const GRPC_PROTO = /^application\/grpc(?:\+proto)?$/i;
/** The compressions Connect's handler accepts; a compressed request is left to it. */
const ACCEPT_ENCODING = "gzip, br";
const ACCEPTED_ENCODINGS: ReadonlySet<unknown> = new Set(["gzip", "br"]);
/** A client that has not finished sending its request after this long is answered with an error. */
const UPLOAD_TIMEOUT_MS = 120_000;
/** The abort reason when the client resets the stream or goes away. */
const CLIENT_GONE = new DOMException("the client reset the stream", "AbortError");

/** What the gRPC fast path needs: the core, caller auth, the message size bound and the error log. */
export interface GrpcChatOptions {
  readonly gateway: Gateway;
  readonly authenticate: CallerAuthenticator;
  readonly readMaxBytes: number;
  /** Called once per error answered (the edge's one log line per error), with the method name and the caller's key name (undefined when auth is off or failed). */
  readonly onError: (error: GatewayError, procedure: string, keyName: string | undefined) => void;
}

/** Decides whether a new HTTP/2 stream is a gRPC Chat or ChatStream call this path serves (true: it took the stream). */
export type Http2StreamTaker = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean;

/** A request that breaks the gRPC framing: the caller's mistake. */
function framingError(message: string): GatewayError {
  return gatewayError(Code.InvalidArgument, Reason.INVALID_REQUEST, `protocol error: ${message}`);
}

/**
 * Serves `switchyard.v1.ChatService/Chat` and `ChatStream` over gRPC (HTTP/2, binary protobuf,
 * uncompressed request) straight on the HTTP/2 stream, without Connect's per-call pipeline or
 * Node's HTTP/2 compatibility layer: about a quarter of the CPU per call (bench/PROFILE.md). It
 * behaves as the Connect handler (rpc/chat-service.ts) does for these methods: the same auth,
 * `grpc-timeout` deadline, message size bound, keep-alives on request, route metadata (stream:
 * headers at response_start, trailers at route_summary) and status encoding (ErrorDetail in
 * grpc-status-details-bin); client resets cancel the upstream call; a stream honours HTTP/2
 * back-pressure. Requests compressed with gzip or br, `+json`, gRPC-Web, the Connect protocol and ModelService
 * are not taken (they go to Connect).
 */
export function createGrpcChat(options: GrpcChatOptions): Http2StreamTaker {
  return (stream, headers) => {
    const path = headers[":path"];
    const contentType = headers["content-type"];
    // A gRPC call of a method the gateway does not serve: UNIMPLEMENTED in a trailers-only answer, the one
    // HEADERS frame ending the stream, as gRPC clients read it (an answer through Fastify ends it in a DATA frame).
    // The method is the path up to its query string, which may carry a key (`?key=`): it is neither logged nor echoed.
    const method = typeof path === "string" ? (path.split("?")[0] ?? path) : undefined;
    if (method !== undefined && !SERVED_PATHS.has(method) && typeof contentType === "string" && GRPC_ANY.test(contentType)) {
      stream.on("error", ignore);
      const error = unknownMethodError(method);
      options.onError(error, method.slice(0, 200), undefined);
      answerTrailersOnly(stream, error);
      return true;
    }
    if ((path !== CHAT_PATH && path !== CHAT_STREAM_PATH) || headers[":method"] !== "POST") return false;
    if (typeof contentType !== "string" || !GRPC_PROTO.test(contentType)) return false;
    // Another encoding is refused here (UNIMPLEMENTED with grpc-accept-encoding, for both methods: see readCall).
    if (ACCEPTED_ENCODINGS.has(headers["grpc-encoding"])) return false;
    // serve() answers every error itself; this catches only a failure to write that answer
    // (e.g. the stream died in between), which must not become an unhandled rejection.
    serve(stream, headers, options, path === CHAT_STREAM_PATH).catch(() => stream.destroy());
    return true;
  };
}

/** The trailer of a successful call (Connect's setTrailerStatus writes the same for no error). */
const OK_TRAILERS = { "grpc-status": "0" } as const;

/** grpc-status, grpc-message and grpc-status-details-bin (with the ErrorDetail) of an error, as Connect encodes them. */
function errorTrailerFields(error: ConnectError): Record<string, string> {
  const fields: Record<string, string> = {};
  setTrailerStatus(new Headers(), error).forEach((value, name) => {
    fields[name] = value;
  });
  return fields;
}

/** Reads the one enveloped request message, bounded by `readMaxBytes`, UPLOAD_TIMEOUT_MS and the call's deadline; rejects with a GatewayError. */
function readMessage(stream: http2.ServerHttp2Stream, readMaxBytes: number, deadlineMs: number | undefined, method: "unary" | "server_streaming"): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const byDeadline = deadlineMs !== undefined && deadlineMs < UPLOAD_TIMEOUT_MS;
    const timer = setTimeout(
      () => fail(gatewayError(Code.DeadlineExceeded, Reason.INVALID_REQUEST, byDeadline ? "the call's deadline (grpc-timeout) passed before its request message arrived" : `the request message was not sent within ${UPLOAD_TIMEOUT_MS / 1000} s`)),
      byDeadline ? deadlineMs : UPLOAD_TIMEOUT_MS,
    );
    const fail = (error: Error) => {
      clearTimeout(timer);
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("close", onClose);
      reject(error);
    };
    const onClose = () => fail(gatewayError(Code.Canceled, Reason.CANCELED, "the client reset the stream before sending its request"));
    const tooLarge = (what: string) => fail(gatewayError(Code.ResourceExhausted, Reason.REQUEST_TOO_LARGE, `message size ${what} is larger than configured readMaxBytes ${readMaxBytes}`));
    let declared: number | undefined;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
      // The envelope's prefix states the message's size: one over the limit is refused at once, by that size.
      if (declared === undefined && size >= GRPC_PREFIX_BYTES) {
        const prefix = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
        declared = prefix.readUInt32BE(1);
        if (declared > readMaxBytes) return tooLarge(String(declared));
      }
      if (size > readMaxBytes + GRPC_PREFIX_BYTES) tooLarge(`at least ${size - GRPC_PREFIX_BYTES}`);
    };
    const onEnd = () => {
      clearTimeout(timer);
      stream.off("close", onClose);
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      if (body.length === 0) return reject(framingError(`missing input message for ${method} method`));
      if (body.length < GRPC_PREFIX_BYTES) return reject(framingError("incomplete envelope"));
      const flags = body[0] as number;
      const length = body.readUInt32BE(1);
      if (body.length < GRPC_PREFIX_BYTES + length) return reject(framingError(`promised ${length} bytes in enveloped message, got ${body.length - GRPC_PREFIX_BYTES} bytes`));
      if (body.length > GRPC_PREFIX_BYTES + length) return reject(framingError(`received extra input message for ${method} method`));
      // INTERNAL, not INVALID_ARGUMENT: the gRPC compression spec says so, and Connect's handler answers it so.
      if ((flags & 0b01) !== 0) return reject(gatewayError(Code.Internal, Reason.INVALID_REQUEST, "protocol error: received compressed envelope, but the request has no grpc-encoding"));
      resolve(body.subarray(GRPC_PREFIX_BYTES));
    };
    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("close", onClose);
  });
}

const BASE_HEADERS = { ":status": 200, "content-type": "application/grpc+proto", "grpc-accept-encoding": ACCEPT_ENCODING } as const;
const RESPOND_WITH_TRAILERS = { waitForTrailers: true } as const;

/** The response headers of an answer: the base headers and the route metadata (a fresh object; Node copies it anyway). */
function answerHeaders(model: string, provider: string, route: RouteInfo | undefined, warnings: readonly string[]): Record<string, string | number> {
  return Object.assign(routeHeaders(model, provider, route, warnings), BASE_HEADERS);
}

/** The deadline and the request message (a ChatRequest or a ChatStreamRequest): what every authenticated call needs before the core runs. */
async function readCall<S extends typeof ChatRequestSchema | typeof ChatStreamRequestSchema>(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  options: GrpcChatOptions,
  schema: S,
): Promise<{ request: MessageShape<S>; timeoutMs: number | undefined }> {
  const encoding = headers["grpc-encoding"];
  if (encoding !== undefined && encoding !== "identity") {
    throw gatewayError(Code.Unimplemented, Reason.UNSUPPORTED_FEATURE, `unsupported grpc-encoding ${JSON.stringify(String(encoding).slice(0, 64))}: supported encodings are ${ACCEPT_ENCODING}`);
  }
  const timeout = parseTimeout(typeof headers["grpc-timeout"] === "string" ? headers["grpc-timeout"] : null, Number.MAX_SAFE_INTEGER);
  if (timeout.error) throw gatewayError(Code.InvalidArgument, Reason.INVALID_REQUEST, timeout.error.rawMessage);
  // The deadline runs from the start of the call: the time the request message took to arrive counts.
  const startedAt = Date.now();
  const bytes = await readMessage(stream, options.readMaxBytes, timeout.timeoutMs, schema === ChatRequestSchema ? "unary" : "server_streaming");
  const timeoutMs = timeout.timeoutMs === undefined ? undefined : Math.max(1, timeout.timeoutMs - (Date.now() - startedAt));
  try {
    return { request: fromBinary(schema, bytes), timeoutMs };
  } catch (error) {
    throw invalidRequest(`the request is not a valid ${schema.typeName}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Ends a stream whose headers were sent: the trailers carry `fields` (grpc-status and metadata). */
function endWithTrailers(stream: http2.ServerHttp2Stream, fields: Readonly<Record<string, string>>): void {
  stream.once("wantTrailers", () => stream.sendTrailers(fields));
  stream.end();
}

/** Listeners shared by every call (no closure per call): 'wantTrailers' is emitted once per stream. */
function ignore(): void {}
function sendOkTrailers(this: http2.ServerHttp2Stream): void {
  this.sendTrailers(OK_TRAILERS);
}

async function serve(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, options: GrpcChatOptions, streaming: boolean): Promise<void> {
  // A reset or a broken connection must not surface as an unhandled 'error' event.
  stream.on("error", ignore);
  let answered = false;
  const signal = new LightAbort();
  stream.once("close", () => {
    if (!answered) signal.abort(CLIENT_GONE);
  });
  let keyName: string | undefined;
  try {
    keyName = options.authenticate(typeof headers.authorization === "string" ? headers.authorization : undefined);
    if (streaming) {
      const { request, timeoutMs } = await readCall(stream, headers, options, ChatStreamRequestSchema);
      const everyMs = keepaliveMsOf(request);
      const deadlineAt = timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs;
      await serveStream(stream, keptAlive(options.gateway.chatStream(request.input ?? create(ChatInputSchema), { signal, timeoutMs, keyName }), everyMs), deadlineAt);
      answered = true;
      return;
    }
    const { request, timeoutMs } = await readCall(stream, headers, options, ChatRequestSchema);
    const response = await options.gateway.chat(request.input ?? create(ChatInputSchema), { signal, timeoutMs, keyName });
    answered = true;
    if (stream.destroyed || stream.closed) return;
    stream.respond(answerHeaders(response.model, response.provider, response.route, response.warnings), RESPOND_WITH_TRAILERS);
    stream.on("wantTrailers", sendOkTrailers);
    stream.end(grpcFrame(ChatResponseSchema, response));
  } catch (thrown) {
    answered = true;
    const error = toGatewayError(thrown);
    withRouteMetadata(error);
    options.onError(error, streaming ? "ChatStream" : "Chat", keyName);
    if (stream.destroyed || stream.closed) return;
    const fields = errorTrailerFields(boundedForRpc(error));
    if (stream.headersSent) {
      endWithTrailers(stream, fields);
      return;
    }
    answerTrailersOnly(stream, error, fields);
  }
}

/** Answers `error` trailers-only: the status travels in the one HEADERS frame that ends the stream. */
function answerTrailersOnly(stream: http2.ServerHttp2Stream, error: ConnectError, fields = errorTrailerFields(boundedForRpc(error))): void {
  stream.respond({ ...BASE_HEADERS, ...fields }, { endStream: true });
  // The client may still be sending; what it sends is not read.
  if (!stream.readableEnded) stream.close(http2.constants.NGHTTP2_NO_ERROR);
}

/**
 * Writes a ChatStream: the response headers (with the route metadata of response_start) before the
 * first message, one length-prefixed message per event, and the trailers (with route_summary's
 * metadata) at the end. Throws what the core throws; the caller turns it into error trailers.
 */
async function serveStream(stream: http2.ServerHttp2Stream, events: AsyncIterable<ChatStreamResponse>, deadlineAt: number): Promise<void> {
  const trailers: Record<string, string> = { ...OK_TRAILERS };
  const drain = new DrainWaiter(stream, () => stream.close(http2.constants.NGHTTP2_CANCEL), deadlineAt);
  try {
    await writeEvents(stream, events, trailers, drain);
  } finally {
    drain.dispose();
  }
  if (stream.destroyed || stream.closed) return;
  if (!stream.headersSent) stream.respond(BASE_HEADERS, RESPOND_WITH_TRAILERS);
  endWithTrailers(stream, trailers);
}

/** Writes each event as a message (headers first), waiting for 'drain' under back-pressure; stops when the stream is gone. */
async function writeEvents(stream: http2.ServerHttp2Stream, events: AsyncIterable<ChatStreamResponse>, trailers: Record<string, string>, drain: DrainWaiter): Promise<void> {
  for await (const event of events) {
    if (stream.destroyed || stream.closed) return;
    if (!stream.headersSent) {
      const start = event.event.case === "responseStart" ? event.event.value : undefined;
      stream.respond(start ? answerHeaders(start.model, start.provider, start.route, start.warnings) : BASE_HEADERS, RESPOND_WITH_TRAILERS);
    }
    if (event.event.case === "routeSummary") {
      const summary = event.event.value;
      trailers["x-switchyard-model"] = summary.model;
      if (summary.route) trailers["x-switchyard-attempts"] = String(summary.route.attempts);
      if (summary.recovery) trailers["x-switchyard-recovery"] = summary.recovery;
    }
    if (!stream.write(grpcFrame(ChatStreamResponseSchema, event))) await drain.wait();
  }
}
