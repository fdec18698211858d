import { ResponseFormatType, Role, type ChatInput } from "../../../gen/switchyard/v1/chat_pb.js";
import type { ModelCapabilities } from "../../config/gateway-config.js";
import type { ResolvedTarget } from "../model-catalog.js";
import { estimatePromptTokens } from "../usage-estimate.js";
import { applyTargetParams } from "./target-params.js";

/** The capabilities a request needs, by catalogue key. */
export function requiredCapabilities(input: ChatInput): (keyof ModelCapabilities)[] {
  const needs = new Set<keyof ModelCapabilities>();
  for (const message of input.messages) {
    for (const part of message.content) {
      switch (part.part.case) {
        case "image": needs.add("images"); break;
        case "audio": needs.add("audio"); break;
        case "video": needs.add("video"); break;
        case "file": needs.add("documents"); break;
        default: break;
      }
    }
    if (message.toolCalls.length > 0 || message.role === Role.TOOL) needs.add("tools");
  }
  if (input.tools.length > 0) needs.add("tools");
  if (input.responseFormat?.type === ResponseFormatType.JSON_SCHEMA) needs.add("jsonSchema");
  return [...needs];
}

const CAPABILITY_NAMES: Readonly<Record<keyof ModelCapabilities, string>> = {
  images: "images", audio: "audio", video: "video", documents: "documents", tools: "tools",
  jsonSchema: "json_schema", prefill: "prefill", penalties: "penalties", logprobs: "logprobs",
};

/**
 * What the catalogue says `target` cannot take in this request, in plain words (e.g. "images",
 * "context window (~130000 tokens > 128000)"), or undefined when it can. The request is judged as
 * it would be sent to `target`, with the target's `params` applied (they win over the caller's
 * values: a target's own max_tokens is what its context window must hold). Capabilities the
 * catalogue leaves unset count as supported; a target without a catalogue entry takes anything.
 */
export function unmetRequirement(input: ChatInput, target: ResolvedTarget): string | undefined {
  const model = target.catalogModel;
  if (!model) return undefined;
  // The input itself when the target has no params: no copy on the hot path.
  const sent = applyTargetParams(input, target);
  for (const need of requiredCapabilities(sent)) {
    if (model.supports[need] === false) return CAPABILITY_NAMES[need];
  }
  if (model.contextWindow !== undefined) {
    const needed = estimatePromptTokens(sent) + (sent.maxTokens ?? 0);
    if (needed > model.contextWindow) return `context window (~${needed} tokens > ${model.contextWindow})`;
  }
  return undefined;
}
