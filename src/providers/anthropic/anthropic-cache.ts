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

function breakpointOf(value: unknown): { ttl?: unknown } | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value) || !("cache_control" in value)) return undefined;
  const mark = (value as { cache_control?: unknown }).cache_control;
  return typeof mark === "object" && mark !== null ? (mark as { ttl?: unknown }) : undefined;
}

/** The breakpoints of a block list in order, the blocks inside a tool_result (breakpoints of their own) after it. */
function collect(blocks: unknown, into: { ttl?: unknown; block: object }[]): void {
  if (!Array.isArray(blocks)) return;
  for (const block of blocks) {
    const mark = breakpointOf(block);
    if (mark) into.push({ ttl: mark.ttl, block: block as object });
    if (typeof block === "object" && block !== null && "content" in block) collect((block as { content?: unknown }).content, into);
  }
}

/**
 * Checks the breakpoints of a finished body (tools, system blocks, message blocks and the blocks
 * inside tool results, provider_options.anthropic additions included), in Anthropic's order
 * (tools, then system, then messages), and throws 400 UNSUPPORTED_FEATURE, before any upstream
 * call, for more than {@link MAX_CACHE_BREAKPOINTS} or for a 1-hour breakpoint after a 5-minute
 * one (Anthropic requires longer lifetimes first). The error names the caller's breakpoint at fault
 * (`callerParams`: the request path of the caller's breakpoint on each block), else `cache_control`.
 * The gateway refuses rather than drops: which breakpoints matter is the caller's choice. Returns
 * whether any breakpoint asks for the 1-hour lifetime (see {@link EXTENDED_CACHE_TTL_BETA}).
 */
export function checkCacheBreakpoints(body: AnthropicMessagesRequest, callerParams: ReadonlyMap<object, string>): boolean {
  const marks: { ttl?: unknown; block: object }[] = [];
  collect(body.tools, marks);
  collect(body.system, marks);
  for (const message of body.messages) collect(message.content, marks);
  const paramAt = (index: number) => callerParams.get(marks[index]?.block ?? {}) || "cache_control";
  if (marks.length > MAX_CACHE_BREAKPOINTS) {
    throw unsupportedFeature(
      `Anthropic accepts at most ${MAX_CACHE_BREAKPOINTS} cache_control breakpoints in a request (tools, system and messages together); this request has ${marks.length}. Remove ${marks.length - MAX_CACHE_BREAKPOINTS}.`,
      paramAt(MAX_CACHE_BREAKPOINTS),
    );
  }
  const firstShort = marks.findIndex((mark) => mark.ttl !== "1h");
  const lateLong = firstShort < 0 ? -1 : marks.findIndex((mark, index) => index > firstShort && mark.ttl === "1h");
  if (lateLong >= 0) {
    throw unsupportedFeature(
      "Anthropic requires cache_control breakpoints with ttl '1h' to come before those with the 5-minute default (in the order tools, system, messages); this request has a '1h' one after a 5-minute one.",
      paramAt(lateLong),
    );
  }
  return marks.some((mark) => mark.ttl === "1h");
}

/**
 * The `anthropic-beta` value sent with a request that has a 1-hour breakpoint. Third-party clients
 * still document it as required for `ttl: "1h"`; Anthropic accepts a beta that has since become
 * generally available, so sending it is the safe side.
 */
export const EXTENDED_CACHE_TTL_BETA = "extended-cache-ttl-2025-04-11";
