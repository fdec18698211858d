import type { ChatInput } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ChatResponse, ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import type { AdapterSettings, CallOptions, ProviderAdapter } from "../provider-adapter.js";
import { sseAnswer } from "../sse-answer.js";
import { sendUpstream, type GuardedResponse } from "../upstream-attempt.js";
import { nonJsonErrorText, retryAfterFromHeader, withAnswerHeaders } from "../upstream-status.js";
import { fromOpenAIError, fromOpenAIInBandError } from "./openai-errors.js";
import { toOpenAIRequest, type OpenAIDialect } from "./openai-request.js";
import { fromOpenAIResponse, isRecord } from "./openai-response.js";
import { OpenAIStreamTranslator } from "./openai-stream.js";
import { Code } from "@connectrpc/connect";
import { gatewayError, Reason } from "../../core/errors.js";
import { endpointUrl } from "../upstream-http.js";

/** The warning of a stream sent without stream_options because the account's server refuses it. */
export const STREAM_OPTIONS_REFUSED_WARNING = "stream_options.include_usage not sent: this provider refuses it (usage is the provider's own when it sends any, else estimated)";

/** How many model names an account remembers for each thing a refusal taught it (max_tokens, reasoning_content, seed). */
const MAX_REMEMBERED_MODELS = 1000;

/**
 * The refusal of max_tokens that asks for max_completion_tokens (OpenAI's reasoning models, also
 * behind Azure: "Use 'max_completion_tokens' instead"); not any 400 that names the field, such as
 * vLLM's "'max_tokens' or 'max_completion_tokens' is too large".
 */
const USE_MAX_COMPLETION_TOKENS = /\buse\W{0,3}max_completion_tokens\b/i;

/** Mistral's 422 for `seed` (its name is random_seed): `extra_forbidden` at `["body", "seed"]`. */
const SEED_REFUSED = /extra_forbidden[^\]]*\[\s*"body"\s*,\s*"seed"\s*\]|\[\s*"body"\s*,\s*"seed"\s*\][^}]*extra_forbidden/;

/**
 * A refusal of reasoning_content as a field the server does not take: Mistral's 422
 * `extra_forbidden` (whose `input` echoes the refused reasoning, so the model's own words are in
 * the body too), Groq's "property 'reasoning_content' is unsupported", a strict schema's
 * "Additional properties are not allowed ('reasoning_content' was unexpected)", Azure's
 * "Unrecognized request argument", "is not supported", "unknown field", Google's "Unknown name
 * \"reasoning_content\" …: Cannot find field." (Gemini's OpenAI-compatible endpoint), and DeepSeek-R1's "Please
 * remove the reasoning_content from your message". DeepSeek V4's "Missing `reasoning_content`
 * field" and "must be passed back", which want more of it, say none of these.
 */
const REASONING_CONTENT_REFUSED = /reasoning_content[^\n]{0,200}?(?:extra_forbidden|not permitted|unsupported|not supported|unrecognized|unexpected|not allowed|unknown field|unknown name|cannot find field|remove the)|(?:extra_forbidden|not permitted|unsupported|not supported|unrecognized|unexpected|not allowed|unknown field|unknown name|cannot find field|remove the)[^\n]{0,200}?reasoning_content/i;

/** Adds `model` to a set of models that taught the account something, at most MAX_REMEMBERED_MODELS of them. */
function remember(models: Set<string>, model: string): void {
  if (models.size >= MAX_REMEMBERED_MODELS) models.clear();
  models.add(model);
}

/** Whether the request sends reasoning text in its history (what a reasoning_content refusal can be about). */
function carriesReasoning(input: ChatInput): boolean {
  return input.messages.some((message) => message.content.some((part) => part.part.case === "reasoning" && part.part.value.text !== ""));
}

/** The request fields the gateway chooses, and may choose again when the server refuses them. */
interface RequestForm {
  /** Ask a stream for usage with stream_options. */
  readonly streamUsage: boolean;
  /** Send the token limit as max_completion_tokens (else max_tokens). */
  readonly maxCompletionTokens: boolean;
  /** Send tool-call ids as 9 letters and digits. */
  readonly nineCharToolCallIds: boolean;
  /** Send assistant reasoning back as reasoning_content. */
  readonly reasoningContent: boolean;
  /** Send the seed as random_seed. */
  readonly randomSeed: boolean;
}

/**
 * Whether a 200 body is an error instead of an answer: `{"error": …}` without choices
 * (OpenRouter), or Google's envelope in a one-element array (Gemini's OpenAI-compatible endpoint).
 */
function carriesError(body: unknown): boolean {
  const envelope = Array.isArray(body) && body.length === 1 ? body[0] : body;
  return isRecord(envelope) && !Array.isArray(envelope.choices) && envelope.error !== undefined && envelope.error !== null;
}

/** OpenAI's own API, the default base URL of `type: openai` accounts. */
export const OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1";

async function failureFrom(response: GuardedResponse, provider: string, text?: string): Promise<Error> {
  text ??= await response.text().catch(() => "");
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    body = { error: { message: nonJsonErrorText(text) ?? "" } };
  }
  const header = (name: string) => response.header(name);
  return withAnswerHeaders(fromOpenAIError(response.status, body, provider, retryAfterFromHeader(header, response.status)), header);
}

/**
 * Creates the adapter for an OpenAI or OpenAI-compatible account (vLLM, Ollama, Groq, Mistral,
 * Together, OpenRouter...): `POST {base_url}/chat/completions` with a bearer key, over the pooled
 * transport, with the caller's cancellation passed through. A 2xx stream answer that is not
 * text/event-stream is INVALID_PROVIDER_RESPONSE (sseAnswer).
 */
export function createOpenAIAdapter(settings: AdapterSettings): ProviderAdapter {
  const { account, transport } = settings;
  const provider = account.name;
  const baseUrl = account.baseUrl ?? (account.type === "openai" ? OPENAI_DEFAULT_BASE_URL : undefined);
  const dialect: OpenAIDialect = { maxCompletionTokens: account.type === "openai", developerRole: account.type === "openai", reasoningContent: account.type !== "openai", toolCallExtraContent: account.type !== "openai" };
  const headers: Record<string, string> = {
    "content-type": "application/json",
    ...(account.apiKey ? { authorization: `Bearer ${account.apiKey}` } : {}),
    ...account.headers,
  };
  const url = endpointUrl(baseUrl ?? "", "/chat/completions");
  // Built once per account, not spread per request.
  const jsonHeaders: Record<string, string> = { ...headers, accept: "application/json" };
  const streamHeaders: Record<string, string> = { ...headers, accept: "text/event-stream" };

  // Set once this account's server refused the stream_options the gateway adds (Mistral answers 422
  // "extra_forbidden", Azure before api-version 2024-09-01 400 "Unrecognized request argument").
  let streamOptionsRefused = false;
  // Models of a compatible server that refused max_tokens ("Use 'max_completion_tokens' instead":
  // OpenAI reasoning models behind Azure or another OpenAI-compatible front), bounded.
  const maxCompletionTokenModels = new Set<string>();
  // Set once this account's server refused a tool-call id that is not 9 letters and digits (Mistral).
  let nineCharToolCallIds = false;
  // Models of this account whose server refused the reasoning_content of assistant messages
  // (Mistral: 422 extra_forbidden), and models that refused `seed` (Mistral, whose name is
  // random_seed), bounded: per model, since one account may front several servers (a proxy).
  const reasoningContentRefusedModels = new Set<string>();
  const randomSeedModels = new Set<string>();

  // The dialect of each request form, built once per account rather than per request.
  const dialects = new Map<number, OpenAIDialect>();
  function dialectFor(form: RequestForm): OpenAIDialect {
    const key = (form.maxCompletionTokens ? 1 : 0) | (form.nineCharToolCallIds ? 2 : 0) | (form.reasoningContent ? 4 : 0) | (form.randomSeed ? 8 : 0);
    let found = dialects.get(key);
    if (!found) {
      found = { ...dialect, maxCompletionTokens: form.maxCompletionTokens, nineCharToolCallIds: form.nineCharToolCallIds, reasoningContent: form.reasoningContent, randomSeed: form.randomSeed };
      dialects.set(key, found);
    }
    return found;
  }

  function send(input: ChatInput, options: CallOptions, stream: boolean, form: RequestForm) {
    if (!baseUrl) {
      throw gatewayError(Code.FailedPrecondition, Reason.INTERNAL_ERROR, `provider account "${provider}" has no base_url`, { provider });
    }
    const translated = toOpenAIRequest(input, options.upstreamModel, { stream, streamUsage: form.streamUsage, dialect: dialectFor(form) });
    return {
      warnings: translated.warnings,
      response: sendUpstream(transport, { url, method: "POST", headers: stream ? streamHeaders : jsonHeaders, body: JSON.stringify(translated.body) }, {
        provider,
        timeouts: options.timeouts,
        signal: options.signal,
        streaming: stream,
      }),
    };
  }

  /**
   * Sends the request; a 400 or 422 refusing a field the gateway chose (its own stream_options,
   * max_tokens where the caller's limit could go as max_completion_tokens, tool-call ids that are
   * not the 9 letters and digits Mistral requires, the history's reasoning_content, a seed Mistral
   * takes as random_seed) is answered by sending the request again
   * without it, once per field, and remembered. Fields the caller set in
   * provider_options.openai are the caller's: their refusal is returned. An error answer comes back
   * with its body already read (`errorText`).
   */
  async function exchange(input: ChatInput, options: CallOptions, stream: boolean): Promise<{ warnings: string[]; response: GuardedResponse; errorText?: string }> {
    const own = input.providerOptions.openai ?? {};
    const ownStreamOptions = own["stream_options"] === undefined;
    const ownLimit = input.maxTokens !== undefined && own["max_tokens"] === undefined && own["max_completion_tokens"] === undefined;
    let form: RequestForm = {
      streamUsage: !(streamOptionsRefused && ownStreamOptions),
      maxCompletionTokens: dialect.maxCompletionTokens || (ownLimit && maxCompletionTokenModels.has(options.upstreamModel)),
      nineCharToolCallIds,
      reasoningContent: dialect.reasoningContent === true && !reasoningContentRefusedModels.has(options.upstreamModel),
      randomSeed: randomSeedModels.has(options.upstreamModel),
    };
    // What a refusal taught is remembered for the account only once the request without the
    // field was accepted: a 400 for another reason that merely mentions the field (a validation
    // error echoing the whole request) must not change every later request.
    const learned: (() => void)[] = [];
    for (;;) {
      const { warnings, response: pending } = send(input, options, stream, form);
      const response = await pending;
      const noted = stream && !form.streamUsage ? [...warnings, STREAM_OPTIONS_REFUSED_WARNING] : warnings;
      if (response.status !== 400 && response.status !== 422) {
        for (const lesson of learned) lesson();
        return { warnings: noted, response };
      }
      const errorText = await response.text().catch(() => "");
      let next: RequestForm | undefined;
      if (stream && form.streamUsage && ownStreamOptions && errorText.includes("stream_options")) {
        learned.push(() => (streamOptionsRefused = true));
        next = { ...form, streamUsage: false };
      } else if (!form.maxCompletionTokens && ownLimit && USE_MAX_COMPLETION_TOKENS.test(errorText)) {
        learned.push(() => remember(maxCompletionTokenModels, options.upstreamModel));
        next = { ...form, maxCompletionTokens: true };
      } else if (!form.nineCharToolCallIds && errorText.includes("with a length of 9") && input.messages.some((message) => message.toolCalls.length > 0 || message.toolCallId !== "")) {
        learned.push(() => (nineCharToolCallIds = true));
        next = { ...form, nineCharToolCallIds: true };
      } else if (form.reasoningContent && REASONING_CONTENT_REFUSED.test(errorText) && carriesReasoning(input)) {
        learned.push(() => remember(reasoningContentRefusedModels, options.upstreamModel));
        next = { ...form, reasoningContent: false };
      } else if (!form.randomSeed && input.seed !== undefined && own["seed"] === undefined && SEED_REFUSED.test(errorText)) {
        learned.push(() => remember(randomSeedModels, options.upstreamModel));
        next = { ...form, randomSeed: true };
      }
      if (!next) return { warnings: noted, response, errorText };
      response.close();
      form = next;
    }
  }

  return {
    family: "openai",
    async generate(input: ChatInput, options: CallOptions): Promise<ChatResponse> {
      const { warnings, response, errorText } = await exchange(input, options, false);
      try {
        if (response.status < 200 || response.status >= 300) throw await failureFrom(response, provider, errorText);
        const text = await response.text();
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch (error) {
          throw gatewayError(Code.Internal, Reason.INVALID_PROVIDER_RESPONSE, `provider "${provider}" returned a body that is not JSON`, { provider, upstreamStatus: response.status }, error);
        }
        // A 200 that carries an error instead of choices (OpenRouter) is that error, not a malformed answer.
        if (carriesError(body)) {
          throw fromOpenAIInBandError(body, provider, retryAfterFromHeader((name) => response.header(name)));
        }
        const result = fromOpenAIResponse(body, provider);
        result.warnings = warnings;
        return result;
      } finally {
        response.close();
      }
    },
    stream(input: ChatInput, options: CallOptions): AsyncGenerator<ChatStreamResponse> {
      return sseAnswer(async () => {
        const { warnings, response, errorText } = await exchange(input, options, true);
        return {
          response: Promise.resolve(response),
          provider,
          async accept(upstream) {
            if (upstream.status < 200 || upstream.status >= 300) throw await failureFrom(upstream, provider, errorText);
            return new OpenAIStreamTranslator(provider, warnings, input.n ?? 1);
          },
        };
      });
    },
  };
}
