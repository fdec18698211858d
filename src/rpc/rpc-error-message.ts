import { GatewayError } from "../core/errors.js";

/**
 * The longest error message an RPC answer carries, in UTF-8 bytes. gRPC sends the message twice
 * in the response metadata (percent-encoded in grpc-message, and inside grpc-status-details-bin),
 * and grpc-core (Python, C++, Ruby…) and grpc-java clients refuse response metadata over 8 KiB by
 * default: a provider's 7,000-character validation error reached a Python client as
 * RESOURCE_EXHAUSTED "received initial metadata size exceeds limit" instead of its status.
 */
export const MAX_RPC_MESSAGE_BYTES = 1024;

/** `message` cut to {@link MAX_RPC_MESSAGE_BYTES} of UTF-8 at a character boundary, with its full length noted; unchanged when it fits. */
function boundedMessage(message: string): string {
  if (message.length <= MAX_RPC_MESSAGE_BYTES / 3 || Buffer.byteLength(message, "utf8") <= MAX_RPC_MESSAGE_BYTES) return message;
  const note = `… (${message.length} characters in all)`;
  const kept = Buffer.from(message, "utf8")
    .subarray(0, MAX_RPC_MESSAGE_BYTES - Buffer.byteLength(note, "utf8"))
    .toString("utf8")
    .replace(/\uFFFD$/, "");
  return `${kept}${note}`;
}

/**
 * The error as the RPC front doors (gRPC, gRPC-Web, Connect) send it: a GatewayError whose message
 * is longer than {@link MAX_RPC_MESSAGE_BYTES} becomes a copy with the message cut (same code,
 * reason, facts, route, metadata and cause); anything else is returned as it is. Logs keep the
 * original.
 */
export function boundedForRpc<E>(error: E): E | GatewayError {
  if (!(error instanceof GatewayError)) return error;
  const message = boundedMessage(error.rawMessage);
  if (message === error.rawMessage) return error;
  const copy = new GatewayError(error.code, error.reason, message, error.facts, error.cause);
  copy.route = error.route;
  error.metadata.forEach((value, name) => copy.metadata.set(name, value));
  return copy;
}
