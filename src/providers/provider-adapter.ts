import type { JsonObject } from "@bufbuild/protobuf";
import type { ChatInput } from "../../gen/switchyard/v1/chat_pb.js";
import type { ChatResponse, ChatStreamResponse } from "../../gen/switchyard/v1/chat_service_pb.js";
import type { CatalogModel, GatewayConfig, ProviderAccount, TimeoutSettings } from "../config/gateway-config.js";
import type { AbortSignalLike } from "../core/light-abort.js";
import type { UpstreamTransport } from "./upstream-http.js";

/** Per-call facts the core resolves for an adapter; adapters never parse ChatInput.model. */
export interface CallOptions {
  /** The provider's own model name (the part of the model id after the account). */
  readonly upstreamModel: string;
  /** The catalogue entry for this model, when config has one (capabilities, limits). */
  readonly catalogModel?: CatalogModel;
  /** Aborts when the caller goes away or the attempt is abandoned; passed to every upstream request. */
  readonly signal: AbortSignalLike;
  /** Timeouts for this attempt. */
  readonly timeouts: TimeoutSettings;
  /**
   * The caller's request, the same object for every attempt of it (retries, fallbacks), and a new
   * one for the next request: what an adapter does once per request is keyed on it (Gemini's media
   * downloads), and released when it ends. Unset when the caller is not the core (tests).
   */
  readonly request?: RequestHandle;
  /**
   * Wraps work the adapter does before its provider request (Gemini's media downloads, bounded by
   * media.timeout_ms and the attempt's total_ms): a stream's first-token clock is stopped while it
   * runs and starts when it ends. Absent (non-streaming calls, tests): the work runs as it is.
   */
  readonly beforeRequest?: <T>(work: Promise<T>) => Promise<T>;
}

/** The caller's request as an adapter sees it: an identity for work done once per request, and its end. */
export interface RequestHandle {
  /** Runs `release` once, when the request has ended (answered, failed or canceled, after all its attempts); at once if it already has. */
  onEnd(release: () => void): void;
}

/**
 * A model provider reached over its native HTTP API; one instance per configured account.
 * Adapters translate proto to the provider's wire format and back, and nothing else: routing,
 * retries and model resolution are the core's.
 */
export interface ProviderAdapter {
  /** The provider family of this adapter, e.g. "openai", "anthropic"; keys ChatInput.provider_options. */
  readonly family: string;
  /**
   * Where a virtual-model target's native `params` (scalars under names the gateway does not
   * model, such as `top_k`) go in this family's provider options, merged over the caller's
   * `provider_options[family]` (the target's values win). Absent: they are top-level fields of
   * the provider's request body.
   */
  readonly withTargetParams?: (callerOptions: JsonObject | undefined, params: Readonly<Record<string, string | number | boolean>>) => JsonObject;
  /**
   * Single-shot generation. Resolves with choices, usage and warnings (ChatResponse.model and
   * provider are filled in by the core). Throws a GatewayError on any failure.
   */
  generate(input: ChatInput, options: CallOptions): Promise<ChatResponse>;
  /**
   * Streaming generation: response_start first (with warnings), then deltas, one finish per choice
   * and one usage event. Throws a GatewayError on failure, before or mid-stream; a stream that ends
   * without a finish is treated by the core as interrupted.
   */
  stream(input: ChatInput, options: CallOptions): AsyncIterable<ChatStreamResponse>;
}

/** What a factory receives to build an adapter for one account. */
export interface AdapterSettings {
  readonly account: ProviderAccount;
  readonly transport: UpstreamTransport;
  readonly config: GatewayConfig;
}

/** Builds the adapter for one account. */
export type AdapterFactory = (settings: AdapterSettings) => ProviderAdapter;
