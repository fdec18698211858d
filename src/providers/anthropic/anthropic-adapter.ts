import { Code } from "@connectrpc/connect";
import type { ChatInput } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ChatResponse, ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import { gatewayError, Reason } from "../../core/errors.js";
import { hasInexactNumbers, memberSources, stringifyWithSources } from "../exact-json.js";
import type { AdapterSettings, CallOptions, ProviderAdapter } from "../provider-adapter.js";
import { sseAnswer } from "../sse-answer.js";
import { sendUpstream, type GuardedResponse } from "../upstream-attempt.js";
import { retryAfterFromHeader, withAnswerHeaders } from "../upstream-status.js";
import { fromAnthropicErrorResponse } from "./anthropic-errors.js";
import { toAnthropicRequest, type AnthropicRequestPlan } from "./anthropic-request.js";
import { fromAnthropicResponse } from "./anthropic-response.js";
import { AnthropicStreamTranslator } from "./anthropic-stream.js";
import { ANTHROPIC_FAMILY, parseAnthropicMessage } from "./anthropic-wire.js";
import { endpointUrl } from "../upstream-http.js";

/** Where the Messages API lives when the account sets no base_url. */
export const ANTHROPIC_DEFAULT_BASE_URL = "https://api.anthropic.com";

/** The API version header value this adapter's wire format follows. */
export const ANTHROPIC_VERSION = "2023-06-01";

function nowSeconds(): bigint {
  return BigInt(Math.floor(Date.now() / 1000));
}

/**
 * Creates the adapter for one Anthropic account: `POST {base_url}/v1/messages` with `x-api-key`
 * and `anthropic-version: 2023-06-01` (account headers are merged over the defaults; the key
 * comes from the account). All mapping lives in the pure translators; this file only wires HTTP.
 * Guarantees: request translation errors (unsupported media, parameters, bad tool arguments) are
 * thrown before any upstream call; a non-2xx answer becomes the GatewayError from
 * {@link fromAnthropicErrorResponse}; a 2xx stream answer that is not text/event-stream is
 * INVALID_PROVIDER_RESPONSE (sseAnswer); timeouts and caller cancellation are handled by
 * `sendUpstream`, and a consumer that stops iterating a stream closes the upstream request.
 * @see https://docs.claude.com/en/api/messages
 */
export function createAnthropicAdapter(settings: AdapterSettings): ProviderAdapter {
  const { account, transport } = settings;
  const url = endpointUrl(account.baseUrl ?? ANTHROPIC_DEFAULT_BASE_URL, "/v1/messages");
  const headers: Record<string, string> = { "content-type": "application/json", "anthropic-version": ANTHROPIC_VERSION };
  for (const [name, value] of Object.entries(account.headers)) headers[name.toLowerCase()] = value;
  if (account.apiKey) headers["x-api-key"] = account.apiKey;
  // Built once: the transport caches its per-headers-object additions (accept-encoding).
  const streamHeaders: Record<string, string> = { ...headers, accept: "text/event-stream" };

  // A plan that needs a beta (rare) gets its own headers; every other request shares the account's.
  const withBetas = (base: Record<string, string>, betas: readonly string[]): Record<string, string> => ({ ...base, "anthropic-beta": [base["anthropic-beta"], ...betas].filter(Boolean).join(",") });
  const send = (plan: AnthropicRequestPlan, options: CallOptions, streaming: boolean): Promise<GuardedResponse> => {
    const base = streaming ? streamHeaders : headers;
    return sendUpstream(
      transport,
      { url, method: "POST", headers: plan.betas ? withBetas(base, plan.betas) : base, body: plan.exactSources ? stringifyWithSources(plan.body, plan.exactSources) : JSON.stringify(plan.body) },
      { provider: account.name, timeouts: options.timeouts, signal: options.signal, streaming },
    );
  };

  const failIfNotOk = async (response: GuardedResponse): Promise<void> => {
    if (response.status >= 200 && response.status < 300) return;
    const retryAfterMs = retryAfterFromHeader((name) => response.header(name), response.status);
    const bodyText = await response.text().catch(() => "");
    response.close();
    throw withAnswerHeaders(fromAnthropicErrorResponse({ provider: account.name, status: response.status, bodyText, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) }), (name) => response.header(name));
  };

  return {
    family: ANTHROPIC_FAMILY,

    async generate(input: ChatInput, options: CallOptions): Promise<ChatResponse> {
      const plan = toAnthropicRequest(input, { upstreamModel: options.upstreamModel, ...(options.catalogModel ? { catalogModel: options.catalogModel } : {}), stream: false });
      const response = await send(plan, options, false);
      try {
        await failIfNotOk(response);
        const text = await response.text();
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch (error) {
          throw gatewayError(Code.Internal, Reason.INVALID_PROVIDER_RESPONSE, "Anthropic sent a response that is not JSON", { provider: account.name, upstreamStatus: response.status }, error);
        }
        // Tool inputs are written again as arguments text: numbers a double would change keep their source text.
        const exactInputs = hasInexactNumbers(text) ? memberSources(text, "content", "input") : undefined;
        return fromAnthropicResponse(parseAnthropicMessage(json), { warnings: plan.warnings, localStopSequences: plan.localStopSequences, ...(plan.jsonToolName ? { jsonToolName: plan.jsonToolName } : {}), created: nowSeconds(), ...(exactInputs ? { exactInputs } : {}) });
      } finally {
        response.close();
      }
    },

    stream(input: ChatInput, options: CallOptions): AsyncGenerator<ChatStreamResponse> {
      return sseAnswer(() => {
        const plan = toAnthropicRequest(input, { upstreamModel: options.upstreamModel, ...(options.catalogModel ? { catalogModel: options.catalogModel } : {}), stream: true });
        return {
          response: send(plan, options, true),
          provider: account.name,
          async accept(response) {
            await failIfNotOk(response);
            return new AnthropicStreamTranslator({
              provider: account.name,
              warnings: plan.warnings,
              localStopSequences: plan.localStopSequences,
              ...(plan.jsonToolName ? { jsonToolName: plan.jsonToolName } : {}),
              created: nowSeconds(),
            });
          },
        };
      });
    },
  };
}
