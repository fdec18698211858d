import { create, type JsonObject, type MessageInitShape } from "@bufbuild/protobuf";
import { ChatInputSchema, MessageSchema, Role, type ChatInput, type ContentPart, type Message } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ChatStreamResponse } from "../../../gen/switchyard/v1/chat_service_pb.js";
import { DEFAULT_TIMEOUTS, parseGatewayConfig, type GatewayConfig } from "../../../src/config/gateway-config.js";
import type { CallOptions } from "../../../src/providers/provider-adapter.js";

/** Builders of proto inputs for Gemini tests. */

export function text(value: string): ContentPart {
  return { $typeName: "switchyard.v1.ContentPart", part: { case: "text", value } };
}

export function system(value: string): Message {
  return create(MessageSchema, { role: Role.SYSTEM, content: [text(value)] });
}

export function user(...content: (string | ContentPart)[]): Message {
  return create(MessageSchema, { role: Role.USER, content: content.map((part) => (typeof part === "string" ? text(part) : part)) });
}

export interface ToolCallInit {
  id: string;
  name: string;
  arguments: string;
  extraContent?: JsonObject;
}

export function assistant(content: string, toolCalls: ToolCallInit[] = []): Message {
  return create(MessageSchema, { role: Role.ASSISTANT, content: content ? [text(content)] : [], toolCalls });
}

export function toolCall(id: string, name: string, args: string, extraContent?: JsonObject): ToolCallInit {
  return { id, name, arguments: args, ...(extraContent ? { extraContent } : {}) };
}

export function toolResult(toolCallId: string, content: string): Message {
  return create(MessageSchema, { role: Role.TOOL, toolCallId, content: [text(content)] });
}

export function media(kind: "image" | "audio" | "video" | "file", source: { url: string } | { data: Uint8Array }, mimeType = ""): ContentPart {
  const value = {
    $typeName: "switchyard.v1.Media" as const,
    source: "url" in source ? { case: "url" as const, value: source.url } : { case: "data" as const, value: source.data },
    mimeType,
    detail: 0,
    filename: "",
  };
  return { $typeName: "switchyard.v1.ContentPart", part: { case: kind, value } };
}

export function chatInput(init: MessageInitShape<typeof ChatInputSchema>): ChatInput {
  return create(ChatInputSchema, { model: "google/test", ...init });
}

/** A validated gateway config with one Gemini account named "google". */
export function geminiConfig(account: Record<string, unknown> = {}, media: Record<string, unknown> = {}): GatewayConfig {
  const { config, issues } = parseGatewayConfig({ providers: { google: { type: "gemini", api_key: "AIzaTestKey-0123456789abcdefghij", ...account } }, media }, { workers: 1 });
  if (!config) throw new Error(`bad test config: ${JSON.stringify(issues)}`);
  return config;
}

export function callOptions(upstreamModel: string, signal: AbortSignal = new AbortController().signal, extra: Partial<CallOptions> = {}): CallOptions {
  return { upstreamModel, signal, timeouts: DEFAULT_TIMEOUTS, ...extra };
}

/** Collects a stream's events as `{case, value}` pairs without $typeName noise. */
export async function collect(stream: AsyncIterable<ChatStreamResponse>): Promise<{ case: string | undefined; value: unknown }[]> {
  const out: { case: string | undefined; value: unknown }[] = [];
  for await (const event of stream) out.push({ case: event.event.case, value: event.event.value });
  return out;
}
