import { encodeEnvelope } from "@connectrpc/connect/protocol";
import { codeToHttpStatus, contentTypeStreamRegExp, contentTypeUnaryRegExp, endStreamFlag, endStreamToJson, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { contentTypeRegExp as grpcContentType, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { contentTypeRegExp as grpcWebContentType, trailerFlag, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import { Code } from "@connectrpc/connect";
import { gatewayError, Reason, type GatewayError } from "../core/errors.js";

/** The path prefix of every RPC the gateway serves (`/switchyard.v1.ChatService/Chat`, …). */
const RPC_PATH_PREFIX = "/switchyard.v1.";

/** A whole answer sent before any handler runs: status, headers and body (empty for a gRPC trailers-only answer). */
export interface EdgeAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

function headerRecord(headers: Headers): Record<string, string> {
  const record: Record<string, string> = {};
  headers.forEach((value, name) => {
    record[name] = value;
  });
  return record;
}

/**
 * `error` as the protocol of an RPC request would carry it, so that gRPC, gRPC-Web and Connect
 * clients read its status, message and ErrorDetail as they would from the service itself:
 * gRPC a trailers-only answer (grpc-status, grpc-message, grpc-status-details-bin); gRPC-Web a
 * trailer frame; Connect streaming an end-stream message; Connect unary the JSON error body under
 * the code's HTTP status. Undefined for a request that is not an RPC: the REST edge answers those.
 * A gRPC or gRPC-Web content-type is an RPC on any path; a Connect one (its unary form is
 * `application/json`, as REST's) only under the gateway's RPC paths.
 */
export function rpcErrorAnswer(path: string | undefined, contentType: string | undefined, error: GatewayError): EdgeAnswer | undefined {
  if (contentType === undefined) return undefined;
  const type = contentType.trim();
  const webMatch = grpcWebContentType.exec(type);
  if (webMatch) {
    const frame = encodeEnvelope(trailerFlag, trailerSerialize(setTrailerStatus(new Headers(), error)));
    const body = webMatch[1] ? new TextEncoder().encode(Buffer.from(frame).toString("base64")) : frame;
    return { status: 200, headers: { "content-type": type }, body };
  }
  if (grpcContentType.test(type)) {
    return { status: 200, headers: { "content-type": type, ...headerRecord(setTrailerStatus(new Headers(), error)) }, body: new Uint8Array(0) };
  }
  if (!path?.startsWith(RPC_PATH_PREFIX)) return undefined;
  if (contentTypeStreamRegExp.test(type)) {
    const json = JSON.stringify(endStreamToJson(error.metadata, error, undefined));
    return { status: 200, headers: { "content-type": type }, body: encodeEnvelope(endStreamFlag, new TextEncoder().encode(json)) };
  }
  if (contentTypeUnaryRegExp.test(type)) {
    return { status: codeToHttpStatus(error.code), headers: { "content-type": "application/json" }, body: errorToJsonBytes(error, undefined) };
  }
  return undefined;
}

/**
 * The answer to a gRPC or gRPC-Web call of a method the gateway does not serve: UNIMPLEMENTED in
 * that protocol (HTTP 200 with grpc-status 12, as the gRPC protocol over HTTP/2 asks) instead of an
 * HTTP 404 that gRPC clients can only guess from. Undefined for other content types (a Connect
 * or REST request gets the REST edge's 404).
 */
export function unknownMethodAnswer(path: string, contentType: string | undefined): EdgeAnswer | undefined {
  const type = contentType?.trim() ?? "";
  if (!grpcContentType.test(type) && !grpcWebContentType.test(type)) return undefined;
  return rpcErrorAnswer(path, type, unknownMethodError(path));
}

/** UNIMPLEMENTED for a call of a method the gateway does not serve, naming it (bounded). */
export function unknownMethodError(path: string): GatewayError {
  return gatewayError(Code.Unimplemented, Reason.NOT_FOUND, `unknown method ${path.slice(0, 200)}`);
}

/** DEADLINE_EXCEEDED for an RPC whose request message did not arrive in time. */
const LATE_UPLOAD = gatewayError(Code.DeadlineExceeded, Reason.INVALID_REQUEST, "the request message did not arrive before the call's deadline or within 120 s");

/**
 * The answer to an RPC on Node's handler (Connect, gRPC-Web, compressed or `+json` gRPC) whose
 * request message did not arrive before its deadline or within 120 s: DEADLINE_EXCEEDED in its own
 * protocol, as the gRPC fast path answers; undefined for a request that is not an RPC.
 */
export function lateUploadAnswer(path: string | undefined, contentType: string | undefined): EdgeAnswer | undefined {
  return rpcErrorAnswer(path, contentType, LATE_UPLOAD);
}
