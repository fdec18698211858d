import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { ChatInputSchema, Role, type ChatInput } from "../../../gen/switchyard/v1/chat_pb.js";
import type { CatalogModel } from "../../../src/config/gateway-config.js";
import { DEFAULT_CIRCUIT_BREAKER, DEFAULT_RETRY, DEFAULT_TIMEOUTS } from "../../../src/config/gateway-config.js";
import type { ResolvedTarget } from "../../../src/core/model-catalog.js";
import type { ProviderAdapter } from "../../../src/providers/provider-adapter.js";

const adapter: ProviderAdapter = {
  family: "openai",
  generate: () => Promise.reject(new Error("not used")),
  stream: () => (async function* () {})(),
};

/** A resolved target for unit tests: account "<id before />", defaults everywhere, overrides on top. */
export function target(id: string, overrides: { catalogModel?: CatalogModel; weight?: number; params?: ResolvedTarget["params"] } = {}): ResolvedTarget {
  const account = id.slice(0, id.indexOf("/"));
  return {
    id,
    account: { name: account, type: "openai-compatible", headers: {}, models: [] },
    adapter,
    upstreamModel: id.slice(id.indexOf("/") + 1),
    ...(overrides.catalogModel ? { catalogModel: overrides.catalogModel } : {}),
    timeouts: DEFAULT_TIMEOUTS,
    sharedTimeouts: DEFAULT_TIMEOUTS,
    retry: DEFAULT_RETRY,
    circuitBreaker: DEFAULT_CIRCUIT_BREAKER,
    params: overrides.params ?? {},
    weight: overrides.weight ?? 1,
  };
}

/** A ChatInput with one user text message, plus fields. */
export function chatInput(text = "hello", fields: MessageInitShape<typeof ChatInputSchema> = {}): ChatInput {
  const input = create(ChatInputSchema, fields);
  if (!input.model) input.model = "a/m";
  if (input.messages.length === 0) input.messages = create(ChatInputSchema, { messages: [{ role: Role.USER, content: [{ part: { case: "text", value: text } }] }] }).messages;
  return input;
}

/** A deterministic random source cycling through `values`. */
export function sequence(...values: number[]): () => number {
  let index = 0;
  return () => values[index++ % values.length] ?? 0;
}
