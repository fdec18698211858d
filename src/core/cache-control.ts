import type { CacheControl, ChatInput } from "../../gen/switchyard/v1/chat_pb.js";
import { invalidRequest } from "./errors.js";

/** The cache types a breakpoint may name (Anthropic's, which LiteLLM and OpenRouter pass on). */
export const CACHE_TYPES: readonly string[] = ["ephemeral"];

/** The cache lifetimes a breakpoint may ask for; none means the provider default (5 minutes). */
export const CACHE_TTLS: readonly string[] = ["5m", "1h"];

/**
 * Throws 400 INVALID_REQUEST naming `param.type` / `param.ttl` when a breakpoint names a cache type
 * other than {@link CACHE_TYPES} or a lifetime other than {@link CACHE_TTLS}. Both front doors call it.
 */
export function checkCacheControl(value: CacheControl, param: string): void {
  if (!CACHE_TYPES.includes(value.type)) {
    throw invalidRequest(`Invalid value for '${param}.type': ${JSON.stringify(value.type)} is not a cache type; use 'ephemeral'.`, `${param}.type`);
  }
  if (value.ttl !== "" && !CACHE_TTLS.includes(value.ttl)) {
    throw invalidRequest(`Invalid value for '${param}.ttl': ${JSON.stringify(value.ttl)} is not one of '5m', '1h'.`, `${param}.ttl`);
  }
}

/** Checks every breakpoint of a request (messages, their content parts, tools), OpenAI-style paths. */
export function checkCacheControls(input: ChatInput): void {
  input.messages.forEach((message, index) => {
    if (message.cacheControl) checkCacheControl(message.cacheControl, `messages[${index}].cache_control`);
    message.content.forEach((part, partIndex) => {
      if (part.cacheControl) checkCacheControl(part.cacheControl, `messages[${index}].content[${partIndex}].cache_control`);
    });
  });
  input.tools.forEach((tool, index) => {
    if (tool.cacheControl) checkCacheControl(tool.cacheControl, `tools[${index}].cache_control`);
  });
}

/** Whether any message, content part or tool of the request carries a caching breakpoint. */
export function hasCacheControl(input: ChatInput): boolean {
  return input.tools.some((tool) => tool.cacheControl !== undefined)
    || input.messages.some((message) => message.cacheControl !== undefined || message.content.some((part) => part.cacheControl !== undefined));
}
