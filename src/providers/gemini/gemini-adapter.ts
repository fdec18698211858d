import { Code } from "@connectrpc/connect";
import type { ChatInput } from "../../../gen/switchyard/v1/chat_pb.js";
import type { TimeoutSettings } from "../../config/gateway-config.js";
import type { ChatResponse, ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import { gatewayError, Reason } from "../../core/errors.js";
import { createGuardedMediaFetcher, type MediaFetcher } from "../../media/guarded-media-fetch.js";
import { inflightMediaBudget, MediaBudget } from "../../media/media-budget.js";
import type { AdapterSettings, CallOptions, ProviderAdapter } from "../provider-adapter.js";
import { sendUpstream, type GuardedResponse } from "../upstream-attempt.js";
import { fromGeminiError, fromGeminiHttpResponse } from "./gemini-errors.js";
import { fetchRemoteMedia, NO_MEDIA, type FetchedMediaByPath } from "./gemini-media.js";
import { toGeminiRequest, withGeminiTargetParams, type GeminiRequestTranslation } from "./gemini-request.js";
import { fromGeminiResponse } from "./gemini-response.js";
import { createThoughtSignatureCache, type ThoughtSignatureCache } from "./gemini-signature-cache.js";
import { GeminiStreamTranslator } from "./gemini-stream.js";
import { JsonArrayDecoder } from "../json-array-decoder.js";
import { mediaTypeOf, sseAnswer } from "../sse-answer.js";
import { MAX_SSE_EVENT_CHARS } from "../sse-decoder.js";
import { GEMINI_FAMILY, parseGeminiResponse } from "./gemini-wire.js";
import { endpointUrl } from "../upstream-http.js";

/** The Gemini API's public endpoint, used when the account sets no base_url. */
export const GEMINI_DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com";

/** What a Gemini stream may be besides SSE: the JSON array `streamGenerateContent` sends without `alt=sse`. */
const GEMINI_STREAM_ALSO_READS: readonly string[] = ["application/json"];

/** Test and wiring seams of the Gemini adapter; production uses the defaults. */
export interface GeminiAdapterOptions {
  /** Fetches media URLs the gateway must inline; default: the guarded fetcher built from config.media. */
  readonly fetchMedia?: MediaFetcher;
  /** Remembers thought signatures of emitted tool calls; default: a fresh per-adapter cache. */
  readonly signatureCache?: ThoughtSignatureCache;
  /** Clock in ms; default Date.now. */
  readonly now?: () => number;
}

/** `{base}/v1beta/models/{model}:{method}` (a leading "models/" in the model name is tolerated), or `{base}/v1beta/tunedModels/{id}:{method}` for a tuned model. */
export function geminiEndpoint(baseUrl: string, model: string, method: "generateContent" | "streamGenerateContent"): string {
  // A tuned model has its own collection (`tunedModels/{id}`); any other name is a base model's.
  const [collection, name] = model.startsWith("tunedModels/") ? ["tunedModels", model.slice("tunedModels/".length)] : ["models", model.startsWith("models/") ? model.slice("models/".length) : model];
  return endpointUrl(baseUrl, `/v1beta/${collection}/${encodeURIComponent(name)}:${method}`, method === "streamGenerateContent" ? "alt=sse" : "");
}

/**
 * Creates the adapter for one Gemini API account (config `type: gemini`). It guarantees: requests
 * go to `{base_url}/v1beta/models/{model}:generateContent` or `:streamGenerateContent?alt=sse` with
 * the key in `x-goog-api-key` (never in the URL); media URLs that Gemini cannot take by reference are
 * fetched through the guarded fetcher before translation; thought signatures of emitted tool calls
 * are remembered for replay; a streamed answer is read as SSE or, when it is application/json, as
 * the JSON array of chunks (any other content-type is INVALID_PROVIDER_RESPONSE); every failure is
 * a GatewayError (Gemini errors mapped from their structured fields, media problems as 400s, caller
 * aborts as CANCELED).
 * @see https://ai.google.dev/api/generate-content
 */
export function createGeminiAdapter(settings: AdapterSettings, options: GeminiAdapterOptions = {}): ProviderAdapter {
  const { account, transport, config } = settings;
  // The API version is the gateway's to add: a base URL written with it (…/v1beta) is taken without.
  const baseUrl = (account.baseUrl ?? GEMINI_DEFAULT_BASE_URL).replace(/\/+$/, "").replace(/\/v1beta$/, "");
  const fetchMedia = options.fetchMedia ?? createGuardedMediaFetcher(config.media);
  // One in-flight bound for every Gemini account of this configuration: each request's budget is taken from it.
  const inflight = inflightMediaBudget(config.media);
  const newMediaBudget = () => new MediaBudget(config.media.maxTotalBytes, inflight);
  const signatures = options.signatureCache ?? createThoughtSignatureCache();
  const now = options.now ?? Date.now;
  const onToolCall = (callId: string, signature: string) => signatures.remember(callId, signature);
  const headers: Record<string, string> = {
    ...account.headers,
    "content-type": "application/json",
    ...(account.apiKey ? { "x-goog-api-key": account.apiKey } : {}),
  };

  /**
   * The request and the timeouts of its upstream call. Media downloads are part of the attempt:
   * they must end within its total_ms (else a 400, as for one URL past media.timeout_ms: the
   * caller's media hosts are slow, not the provider), and the upstream call gets the rest of it.
   */
  async function translate(input: ChatInput, callOptions: CallOptions): Promise<{ translation: GeminiRequestTranslation; timeouts: TimeoutSettings }> {
    let { timeouts } = callOptions;
    const downloads = fetchRemoteMedia(input, baseUrl, fetchMedia, callOptions.signal, newMediaBudget, callOptions.request);
    let fetchedMedia: FetchedMediaByPath;
    if (downloads === NO_MEDIA) fetchedMedia = await downloads;
    else {
      const started = now();
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_resolve, reject) => {
        // The caller's media hosts are slow, not the provider: a 400 like the fetcher's own timeout, which no circuit counts.
        const message = `Invalid 'messages': the media URLs of this request could not be used: they were not fetched within routing.timeouts.total_ms (${timeouts.totalMs} ms).`;
        timer = setTimeout(() => reject(gatewayError(Code.InvalidArgument, Reason.INVALID_REQUEST, message, { param: "messages" })), timeouts.totalMs);
      });
      try {
        const fetched = Promise.race([downloads, late]);
        // A stream's first-token clock does not run while the caller's media hosts answer.
        fetchedMedia = await (callOptions.beforeRequest ? callOptions.beforeRequest(fetched) : fetched);
      } finally {
        clearTimeout(timer);
      }
      timeouts = { ...timeouts, totalMs: Math.max(1, timeouts.totalMs - (now() - started)) };
    }
    const translation = toGeminiRequest(input, {
      baseUrl,
      upstreamModel: callOptions.upstreamModel,
      ...(callOptions.catalogModel ? { catalogModel: callOptions.catalogModel } : {}),
      fetchedMedia,
      thoughtSignatureFor: (callId) => signatures.recall(callId),
    });
    return { translation, timeouts };
  }

  async function send(translation: GeminiRequestTranslation, callOptions: CallOptions, timeouts: TimeoutSettings, streaming: boolean): Promise<GuardedResponse> {
    const response = await sendUpstream(
      transport,
      {
        url: geminiEndpoint(baseUrl, callOptions.upstreamModel, streaming ? "streamGenerateContent" : "generateContent"),
        method: "POST",
        headers,
        body: JSON.stringify(translation.body),
      },
      // Media downloads took more than half of total_ms: a timeout at what they left is not the provider's (tightenedBound).
      // A provider that had most of its bound and did not answer is still charged (a hung account behind media-heavy traffic).
      { provider: account.name, timeouts, signal: callOptions.signal, streaming, totalShortened: timeouts.totalMs < callOptions.timeouts.totalMs / 2 },
    );
    if (response.status >= 200 && response.status < 300) return response;
    try {
      // A body that breaks off still leaves the status (and Retry-After) to map by.
      const text = await response.text().catch(() => "");
      throw fromGeminiHttpResponse(account.name, response.status, text, (name) => response.header(name));
    } finally {
      response.close();
    }
  }

  return {
    family: GEMINI_FAMILY,
    withTargetParams: withGeminiTargetParams,

    async generate(input: ChatInput, callOptions: CallOptions): Promise<ChatResponse> {
      const { translation, timeouts } = await translate(input, callOptions);
      const response = await send(translation, callOptions, timeouts, false);
      let parsed: unknown;
      try {
        const text = await response.text();
        try {
          parsed = JSON.parse(text);
        } catch (error) {
          throw gatewayError(Code.Internal, Reason.INVALID_PROVIDER_RESPONSE, "Gemini sent a response body that is not JSON", { provider: account.name }, error);
        }
      } finally {
        response.close();
      }
      const body = parseGeminiResponse(parsed);
      if (body.error) throw fromGeminiError({ provider: account.name, httpStatus: response.status, error: body.error });
      return fromGeminiResponse(body, { upstreamModel: callOptions.upstreamModel, warnings: translation.warnings, now, onToolCall });
    },

    stream(input: ChatInput, callOptions: CallOptions): AsyncGenerator<ChatStreamResponse> {
      return sseAnswer(async () => {
        const { translation, timeouts } = await translate(input, callOptions);
        return {
          response: send(translation, callOptions, timeouts, true),
          provider: account.name,
          // The JSON-array form of streamGenerateContent (upstreams or proxies that ignore alt=sse),
          // read element by element as it streams; any other type but SSE fails over.
          alsoReads: GEMINI_STREAM_ALSO_READS,
          idleMs: timeouts.idleMs,
          async accept() {
            return new GeminiStreamTranslator({ provider: account.name, upstreamModel: callOptions.upstreamModel, warnings: translation.warnings, now, onToolCall, choices: input.n ?? 1 });
          },
          decoderFor(response) {
            return mediaTypeOf(response.header("content-type")) === "application/json" ? new JsonArrayDecoder(MAX_SSE_EVENT_CHARS, account.name) : undefined;
          },
        };
      });
    },
  };
}
