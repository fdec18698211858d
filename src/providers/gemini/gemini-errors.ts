import { errorFromUpstreamStatus, nonJsonErrorText, retryAfterFromHeader, withAnswerHeaders } from "../upstream-status.js";
import { fromGoogleStatusError, parseGoogleStatusError } from "../google-status-errors.js";
import type { GatewayError } from "../../core/errors.js";

/** Google's error object read into the gateway's errors (an error answer, or an error event inside a stream); Gemini's Retry-After in RetryInfo. */
export { fromGoogleStatusError as fromGeminiError, parseRetryDelay } from "../google-status-errors.js";

/**
 * Maps a non-2xx Gemini HTTP response to a GatewayError. Bodies that are not Google's error envelope
 * fall back to the HTTP status with a short scrubbed excerpt of the body.
 */
export function fromGeminiHttpResponse(provider: string, httpStatus: number, bodyText: string, header: (name: string) => string | undefined): GatewayError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    parsed = undefined;
  }
  const headerRetryAfterMs = retryAfterFromHeader(header, httpStatus);
  const error = parseGoogleStatusError(parsed);
  if (error) return withAnswerHeaders(fromGoogleStatusError({ provider, httpStatus, error, ...(headerRetryAfterMs !== undefined ? { headerRetryAfterMs } : {}) }), header);
  const excerpt = nonJsonErrorText(bodyText) ?? `HTTP ${httpStatus}`;
  return withAnswerHeaders(errorFromUpstreamStatus({ provider, status: httpStatus, message: excerpt, ...(headerRetryAfterMs !== undefined ? { retryAfterMs: headerRetryAfterMs } : {}) }), header);
}
