import type { AdapterFactory } from "./provider-adapter.js";
import { createOpenAIAdapter } from "./openai/openai-adapter.js";
import { createAnthropicAdapter } from "./anthropic/anthropic-adapter.js";
import { createGeminiAdapter } from "./gemini/gemini-adapter.js";

/**
 * Provider type (config `type`) -> adapter factory. The only file that lists providers; nothing
 * else in the gateway branches on a provider.
 */
export const ADAPTER_FACTORIES: Readonly<Record<string, AdapterFactory>> = {
  openai: createOpenAIAdapter,
  "openai-compatible": createOpenAIAdapter,
  anthropic: createAnthropicAdapter,
  gemini: createGeminiAdapter,
};
