import { Code } from "@connectrpc/connect";
import { gatewayError, type GatewayError, Reason } from "../../core/errors.js";
import { errorFromUpstreamStatus, scrubSecrets } from "../upstream-status.js";

interface OpenAIErrorFields {
  message?: unknown;
  type?: unknown;
  code?: unknown;
  param?: unknown;
}

function readErrorFields(body: unknown): OpenAIErrorFields {
  if (body && typeof body === "object" && "error" in body) {
    const error = (body as { error: unknown }).error;
    if (error && typeof error === "object") return error as OpenAIErrorFields;
    if (typeof error === "string") return { message: error };
  }
  if (body && typeof body === "object" && "message" in body) return body as OpenAIErrorFields;
  return {};
}

/**
 * Maps an OpenAI-dialect error (HTTP status + `{error:{message,type,code,param}}` body, or an
 * in-stream error object) to a GatewayError, reading the structured `code`/`type` first:
 * context_length_exceeded, insufficient_quota and content_filter have their own reasons; the rest
 * follow the upstream status. Provider messages are scrubbed of secrets.
 * @see https://platform.openai.com/docs/guides/error-codes
 */
export function fromOpenAIError(status: number, body: unknown, provider: string, retryAfterMs?: number): GatewayError {
  const fields = readErrorFields(body);
  const rawMessage = typeof fields.message === "string" && fields.message ? fields.message : `upstream returned HTTP ${status}`;
  const message = scrubSecrets(rawMessage);
  const code = typeof fields.code === "string" ? fields.code : typeof fields.type === "string" ? fields.type : undefined;
  const param = typeof fields.param === "string" ? fields.param : undefined;
  const facts = {
    provider,
    upstreamStatus: status,
    ...(code ? { upstreamCode: code } : {}),
    ...(param ? { param } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  };
  if (code === "context_length_exceeded" || code === "string_above_max_length") {
    return gatewayError(Code.InvalidArgument, Reason.CONTEXT_LENGTH_EXCEEDED, message, facts);
  }
  if (code === "insufficient_quota") return gatewayError(Code.ResourceExhausted, Reason.INSUFFICIENT_QUOTA, `provider "${provider}" quota exhausted: ${message}`, facts);
  if (code === "content_filter" || code === "content_policy_violation") return gatewayError(Code.InvalidArgument, Reason.CONTENT_FILTER, message, facts);
  if (status >= 400 && status < 500 && status !== 401 && status !== 403 && status !== 404 && status !== 408 && status !== 413 && status !== 429) {
    return gatewayError(Code.InvalidArgument, Reason.UPSTREAM_INVALID_REQUEST, message, facts);
  }
  if (status === 0) return gatewayError(Code.Unavailable, Reason.PROVIDER_UNAVAILABLE, `provider "${provider}" reported an error mid-stream: ${message}`, facts);
  return errorFromUpstreamStatus({ provider, status, message, ...(code ? { upstreamCode: code } : {}), ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
}
