/**
 * Builders of the inputs of an adapter call, shared by every provider's tests and the contract
 * suite: proto message and content-part init shapes, a ChatInput builder with a provider's default
 * model, and CallOptions. Init shapes (not created messages) are returned so a test can spread or
 * extend them; `create` fills the defaults when the ChatInput is built.
 */
import { create, type JsonObject, type MessageInitShape } from "@bufbuild/protobuf";
import { ChatInputSchema, MessageSchema, Role, ToolChoiceMode, type ChatInput } from "../../gen/switchyard/v1/chat_pb.js";
import { DEFAULT_TIMEOUTS } from "../../src/config/gateway-config.js";
import type { CallOptions } from "../../src/providers/provider-adapter.js";

/** A proto Message init shape. */
export type MessageInit = MessageInitShape<typeof MessageSchema>;

/** A proto ContentPart init shape. */
export type PartInit = NonNullable<MessageInit["content"]>[number];

/** A tool call of an assistant message. */
export interface ToolCallInit {
  id: string;
  name: string;
  arguments: string;
  extraContent?: JsonObject;
}

/** A text content part. */
export const text = (value: string): PartInit => ({ part: { case: "text", value } });

/** A media content part of the given kind, by URL or by bytes. */
export function media(kind: "image" | "audio" | "video" | "file", source: { url: string } | { data: Uint8Array }, mimeType = ""): PartInit {
  const value = { source: "url" in source ? { case: "url" as const, value: source.url } : { case: "data" as const, value: source.data }, mimeType };
  return { part: { case: kind, value } };
}

/** An image part by URL. */
export const imageUrl = (url: string, mimeType = ""): PartInit => media("image", { url }, mimeType);

/** An image part carrying its bytes. */
export const imageData = (mimeType: string, bytes: Uint8Array): PartInit => media("image", { data: bytes }, mimeType);

/** A message with the given role and text parts. */
export function textMessage(role: Role, ...texts: string[]): MessageInit {
  return { role, content: texts.map(text) };
}

/** A system message. */
export const system = (value: string): MessageInit => textMessage(Role.SYSTEM, value);

/** A developer message. */
export const developer = (value: string): MessageInit => textMessage(Role.DEVELOPER, value);

/** A user message; strings become text parts. */
export const user = (...parts: (string | PartInit)[]): MessageInit => ({ role: Role.USER, content: parts.map((part) => (typeof part === "string" ? text(part) : part)) });

/** A tool call for `assistant`. */
export function toolCall(id: string, name: string, args: string, extraContent?: JsonObject): ToolCallInit {
  return { id, name, arguments: args, ...(extraContent ? { extraContent } : {}) };
}

/** An assistant message: its text (none when empty) and tool calls. */
export const assistant = (value: string, toolCalls: ToolCallInit[] = []): MessageInit => ({ role: Role.ASSISTANT, content: value ? [text(value)] : [], toolCalls });

/** A tool result message answering `toolCallId`. */
export const toolResult = (toolCallId: string, value: string): MessageInit => ({ role: Role.TOOL, toolCallId, content: [text(value)] });

/** The tool choice "auto", as a ChatInput `toolChoice` init. */
export const autoToolChoice = { choice: { case: "mode" as const, value: ToolChoiceMode.AUTO } };

/** A ChatInput builder whose model defaults to `model` (a provider's test account and model). */
export function chatInputFor(model: string): (init: MessageInitShape<typeof ChatInputSchema>) => ChatInput {
  return (init) => create(ChatInputSchema, { model, ...init });
}

/** Call options for an upstream model: default timeouts, a fresh signal unless given, then `extra`. */
export function callOptions(upstreamModel: string, signal: AbortSignal = new AbortController().signal, extra: Partial<CallOptions> = {}): CallOptions {
  return { upstreamModel, signal, timeouts: DEFAULT_TIMEOUTS, ...extra };
}
