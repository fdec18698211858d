/**
 * Per-provider kits for the shared adapter contract suite: each kit builds its adapter over a
 * replay transport, knows its dialect (answer writers and request readers from dialect-answers /
 * dialect-requests) and lists its recorded-fixture rows. Also the outcome collectors that turn a
 * ChatResponse or a stream of events into one comparable shape, asserting the stream contract
 * (response_start first, dense tool indexes, id/name once, one finish, usage last) on the way.
 */
import type { JsonObject } from "@bufbuild/protobuf";
import { expect } from "vitest";
import type { ChatInput, ContentPart, FinishReason } from "../../gen/switchyard/v1/chat_pb.js";
import type { ChatResponse, ChatStreamResponse } from "../../gen/switchyard/v1/chat_service_pb.js";
import type { GatewayConfig, ProviderAccount } from "../../src/config/gateway-config.js";
import type { MediaFetcher } from "../../src/media/guarded-media-fetch.js";
import { createAnthropicAdapter } from "../../src/providers/anthropic/anthropic-adapter.js";
import { createGeminiAdapter } from "../../src/providers/gemini/gemini-adapter.js";
import { createOpenAIAdapter } from "../../src/providers/openai/openai-adapter.js";
import type { ProviderAdapter } from "../../src/providers/provider-adapter.js";
import type { UpstreamTransport } from "../../src/providers/upstream-http.js";
import type { Dialect, Json } from "./dialect-answers.js";
import { chatInputFor } from "./proto-builders.js";
import type { ReplayAnswer } from "./replay-transport.js";
import { defaultTestConfig, testAccount } from "./test-accounts.js";
import { usageSummary, type UsageSummary } from "./usage-summary.js";

/** Whether a row calls generate or stream. */
export type Mode = "generate" | "stream";

/** Builds a ChatInput from an init object (the contract's model; rows pass the upstream model in CallOptions). */
export const chatInput = chatInputFor("contract/model");

/** The contract scenarios; every fixture row names one. */
export type ScenarioName =
  | "plain text" | "system prompt" | "images" | "single tool call" | "parallel tool calls" | "tool-result round trip"
  | "zero-argument tool" | "length finish" | "stop finish" | "content filter" | "usage" | "upstream 400" | "truncated stream";

/** One tool call of an outcome. */
export interface ToolCallOutcome {
  index: number;
  id: string;
  name: string;
  arguments: string;
  extraContent?: JsonObject;
}

/** What an adapter answered, the same shape for generate and stream. */
export interface Outcome {
  id: string;
  text: string;
  reasoning: string;
  refusal: string;
  toolCalls: ToolCallOutcome[];
  finish: FinishReason | undefined;
  rawFinish: string;
  usage: UsageSummary | undefined;
  warnings: string[];
}

/** The outcome of choice 0 of a non-streaming response. */
export function outcomeOfResponse(response: ChatResponse): Outcome {
  const choice = response.choices[0];
  const parts = choice?.message?.content ?? [];
  const join = (kind: ContentPart["part"]["case"]) => parts.map((part) => (part.part.case === kind ? (kind === "reasoning" ? (part.part.value as { text: string }).text : String(part.part.value)) : "")).join("");
  return {
    id: response.id,
    text: join("text"),
    reasoning: join("reasoning"),
    refusal: join("refusal"),
    toolCalls: (choice?.message?.toolCalls ?? []).map((call, index) => ({ index, id: call.id, name: call.name, arguments: call.arguments, ...(call.extraContent ? { extraContent: call.extraContent } : {}) })),
    finish: choice?.finishReason,
    rawFinish: choice?.rawFinishReason ?? "",
    usage: response.usage ? usageSummary(response.usage) : undefined,
    warnings: [...response.warnings],
  };
}

/**
 * Assembles stream events like a client would, asserting the stream contract on the way:
 * response_start first and once; tool calls of choice 0 started with dense indexes from 0, each
 * once with a non-empty id and name, deltas only for started calls; at most one finish; at most
 * one usage, and nothing after it.
 */
export function outcomeOfStream(events: readonly ChatStreamResponse[]): Outcome {
  expect(events[0]?.event.case, "the first event is response_start").toBe("responseStart");
  const outcome: Outcome = { id: "", text: "", reasoning: "", refusal: "", toolCalls: [], finish: undefined, rawFinish: "", usage: undefined, warnings: [] };
  let finishes = 0;
  events.forEach((event, position) => {
    const e = event.event;
    if (outcome.usage) throw new Error(`event ${position} (${String(e.case)}) came after the usage event`);
    switch (e.case) {
      case "responseStart":
        expect(position, "response_start comes once, first").toBe(0);
        outcome.id = e.value.id;
        outcome.warnings = [...e.value.warnings];
        break;
      case "textDelta":
        if (e.value.choiceIndex === 0) outcome.text += e.value.text;
        break;
      case "reasoningDelta":
        if (e.value.choiceIndex === 0) outcome.reasoning += e.value.text;
        break;
      case "refusalDelta":
        if (e.value.choiceIndex === 0) outcome.refusal += e.value.text;
        break;
      case "toolCallStart":
        if (e.value.choiceIndex !== 0) break;
        expect(e.value.index, "tool-call indexes are dense, counted from 0").toBe(outcome.toolCalls.length);
        expect(e.value.id, "a tool call has an id").not.toBe("");
        expect(e.value.name, "a tool call has a name").not.toBe("");
        outcome.toolCalls.push({ index: e.value.index, id: e.value.id, name: e.value.name, arguments: "", ...(e.value.extraContent ? { extraContent: e.value.extraContent } : {}) });
        break;
      case "toolCallDelta": {
        if (e.value.choiceIndex !== 0) break;
        const call = outcome.toolCalls[e.value.index];
        if (!call) throw new Error(`tool_call_delta for index ${e.value.index} before its tool_call_start`);
        call.arguments += e.value.arguments;
        break;
      }
      case "finish":
        if (e.value.choiceIndex !== 0) break;
        finishes++;
        outcome.finish = e.value.finishReason;
        outcome.rawFinish = e.value.rawFinishReason;
        break;
      case "usage":
        outcome.usage = usageSummary(e.value);
        break;
      default:
        break;
    }
  });
  expect(finishes, "at most one finish per choice").toBeLessThanOrEqual(1);
  const ids = outcome.toolCalls.map((call) => call.id);
  expect(new Set(ids).size, "tool-call ids are unique").toBe(ids.length);
  return outcome;
}

/** Account fields a row may override (OpenAI-compatible servers). */
export type AccountOverrides = Partial<Pick<ProviderAccount, "name" | "type" | "apiKey" | "baseUrl">>;

/** What a finished outcome must be. `id: "synthetic"` means the gateway made the id up. */
export interface ExpectedOutcome {
  text: string;
  reasoning?: string | RegExp;
  refusal?: string;
  toolCalls: { id: string; name: string; arguments: Json }[];
  finish: FinishReason;
  rawFinish: string;
  usage?: UsageSummary;
  warnings?: string[];
}

/** What a failure must be. */
export interface ExpectedError {
  reason: string;
  code: number;
  upstreamStatus?: number;
  messageIncludes?: string;
  param?: string;
}

/** A request as the replay transport recorded it. */
export interface SentRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly json?: unknown;
}

/** One recorded-fixture row of the contract. */
export interface FixtureRow {
  readonly scenario: ScenarioName;
  readonly label: string;
  /** Fixture files (relative to the fixtures folder) this row replays or asserts against. */
  readonly fixtures: readonly string[];
  readonly mode: Mode;
  readonly model: string;
  readonly input: ChatInput;
  readonly answer: ReplayAnswer;
  readonly account?: AccountOverrides;
  readonly expect: { outcome: ExpectedOutcome } | { error: ExpectedError };
  /** Checks of the request the adapter sent, against the recording. */
  readonly request?: (sent: SentRequest) => void;
}

/** A provider as the contract suite sees it. */
export interface ProviderKit {
  readonly dialect: Dialect;
  readonly label: string;
  readonly apiKey: string;
  /** The upstream model hand-made rows use. */
  readonly model: string;
  /** "messages": system texts stay messages in place (OpenAI); "top-level": hoisted out of the turns. */
  readonly systemPlacement: "messages" | "top-level";
  /** How an https image URL reaches the provider. */
  readonly imageUrls: "by-reference" | "fetched-and-inlined";
  /** Whether the results answering one assistant turn share one native turn. */
  readonly toolResultsShareTurn: boolean;
  /** Whether tool-call ids are made up by the gateway (the provider sends none). */
  readonly synthesisesToolCallIds: boolean;
  /** The provider key as sent in the dialect's auth header. */
  keyOf(headers: Readonly<Record<string, string>>): string | undefined;
  /** The upstream URL for a model on the kit's default account. */
  url(model: string, mode: Mode): string;
  /** The adapter for the kit's account (with overrides) over `transport`. */
  createAdapter(transport: UpstreamTransport, account?: AccountOverrides): ProviderAdapter;
  /** Media URLs the adapter fetched (Gemini only), as "param url". */
  readonly mediaFetches: string[];
}

/** The default config with `account` as its only provider. */
function configWith(account: ProviderAccount): GatewayConfig {
  return { ...defaultTestConfig(), providers: { [account.name]: account } };
}

/** Bytes the fake media fetcher serves for any URL (a PNG signature). */
export const KIT_MEDIA_BYTES = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 7, 7, 7]);

/** OpenAI: Bearer key, system messages kept in place, image URLs by reference. */
export const openAIKit: ProviderKit = {
  dialect: "openai",
  label: "OpenAI",
  apiKey: "sk-proj-CONTRACTKEY0123456789abcdef",
  model: "gpt-4o-mini",
  systemPlacement: "messages",
  imageUrls: "by-reference",
  toolResultsShareTurn: false,
  synthesisesToolCallIds: false,
  keyOf: (headers) => headers.authorization?.replace(/^Bearer /, ""),
  url: () => "https://api.openai.com/v1/chat/completions",
  createAdapter(transport, overrides = {}) {
    const acc = testAccount("openai-main", "openai", this.apiKey, overrides);
    return createOpenAIAdapter({ account: acc, transport, config: configWith(acc) });
  },
  mediaFetches: [],
};

/** Anthropic: x-api-key, top-level system, tool results sharing one user turn. */
export const anthropicKit: ProviderKit = {
  dialect: "anthropic",
  label: "Anthropic",
  apiKey: "sk-ant-api03-CONTRACTKEY0123456789abcdef",
  model: "claude-sonnet-4-5",
  systemPlacement: "top-level",
  imageUrls: "by-reference",
  toolResultsShareTurn: true,
  synthesisesToolCallIds: false,
  keyOf: (headers) => headers["x-api-key"],
  url: () => "https://api.anthropic.com/v1/messages",
  createAdapter(transport, overrides = {}) {
    const acc = testAccount("anthropic-main", "anthropic", this.apiKey, overrides);
    return createAnthropicAdapter({ account: acc, transport, config: configWith(acc) });
  },
  mediaFetches: [],
};

const geminiFetches: string[] = [];
const fakeMediaFetcher: MediaFetcher = async ({ url, param }) => {
  geminiFetches.push(`${param} ${url}`);
  return { bytes: KIT_MEDIA_BYTES, mimeType: "image/png" };
};

/** Gemini: x-goog-api-key, image URLs fetched and inlined, tool-call ids made up by the gateway. */
export const geminiKit: ProviderKit = {
  dialect: "gemini",
  label: "Gemini",
  apiKey: "AIzaCONTRACTKEY-0123456789abcdefghij",
  model: "gemini-2.5-flash",
  systemPlacement: "top-level",
  imageUrls: "fetched-and-inlined",
  toolResultsShareTurn: true,
  synthesisesToolCallIds: true,
  keyOf: (headers) => headers["x-goog-api-key"],
  url: (model, mode) => `https://generativelanguage.googleapis.com/v1beta/models/${model}:${mode === "stream" ? "streamGenerateContent?alt=sse" : "generateContent"}`,
  createAdapter(transport, overrides = {}) {
    const acc = testAccount("internal-google", "gemini", this.apiKey, overrides);
    return createGeminiAdapter({ account: acc, transport, config: configWith(acc) }, { fetchMedia: fakeMediaFetcher });
  },
  mediaFetches: geminiFetches,
};

/** Every kit, in the order the suite runs them. */
export const KITS: readonly ProviderKit[] = [openAIKit, anthropicKit, geminiKit];

/**
 * Cuts a recorded stream before the frame that contains `needle` (the finish), keeping the bytes
 * before it untouched: a recorded stream that ends without its terminal events.
 */
export function truncateBefore(body: string, needle: string, frameStart: string): string {
  const at = body.indexOf(needle);
  if (at === -1) throw new Error(`truncateBefore: ${needle} not found`);
  const start = body.lastIndexOf(frameStart, at);
  if (start <= 0) throw new Error("truncateBefore: no frame before the needle");
  return body.slice(0, start);
}
