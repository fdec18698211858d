import type { CacheControl } from "../../../gen/switchyard/v1/chat_pb.js";
import { unsupportedFeature } from "../../core/errors.js";
import type { AnthropicCacheControl, AnthropicMessagesRequest } from "./anthropic-wire.js";

/** The most `cache_control` breakpoints Anthropic takes in one request (tools, system and messages together). */
export const MAX_CACHE_BREAKPOINTS = 4;

/** A caller's breakpoint in Anthropic's shape (the type and ttl were validated at the front door). */
export function toAnthropicCacheControl(value: CacheControl): AnthropicCacheControl {
  const { ttl } = value;
  return ttl === "5m" || ttl === "1h" ? { type: "ephemeral", ttl } : { type: "ephemeral" };
}

/** Sets the breakpoint on `block` when there is one, and returns the block. */
export function withCacheControl<T extends { cache_control?: AnthropicCacheControl }>(block: T, value: CacheControl | undefined): T {
  if (value) block.cache_control = toAnthropicCacheControl(value);
  return block;
}

function marked(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && "cache_control" in value && (value as { cache_control?: unknown }).cache_control != null;
}

function countIn(blocks: unknown): number {
  if (!Array.isArray(blocks)) return 0;
  let count = 0;
  for (const block of blocks) {
    if (marked(block)) count++;
    // Blocks inside a tool_result are breakpoints of their own.
    if (typeof block === "object" && block !== null && "content" in block) count += countIn((block as { content?: unknown }).content);
  }
  return count;
}

/**
 * Counts the breakpoints of a finished body (tools, system blocks, message blocks and the blocks
 * inside tool results, provider_options.anthropic additions included) and throws 400
 * UNSUPPORTED_FEATURE above {@link MAX_CACHE_BREAKPOINTS}, naming the first breakpoint over the
 * limit in Anthropic's order (tools, then system, then messages) when it is one of the caller's.
 * The gateway refuses rather than drops: which breakpoints matter is the caller's choice.
 */
export function checkCacheBreakpoints(body: AnthropicMessagesRequest, callerParams: readonly string[]): void {
  const count = countIn(body.tools) + countIn(body.system) + body.messages.reduce((sum, message) => sum + countIn(message.content), 0);
  if (count <= MAX_CACHE_BREAKPOINTS) return;
  const param = callerParams[MAX_CACHE_BREAKPOINTS] ?? "cache_control";
  throw unsupportedFeature(
    `Anthropic accepts at most ${MAX_CACHE_BREAKPOINTS} cache_control breakpoints in a request (tools, system and messages together); this request has ${count}. Remove ${count - MAX_CACHE_BREAKPOINTS}.`,
    param,
  );
}
