import { Role, ImageDetail, type Message, type Reasoning, type ToolCall } from "../../../gen/switchyard/v1/chat_pb.js";
import type { CatalogModel, ModelCapabilities } from "../../config/gateway-config.js";
import { invalidRequest, unsupportedFeature } from "../../core/errors.js";
import { hasInexactNumbers } from "../exact-json.js";
import { nestsDeeperThan } from "../json-nesting.js";
import { MAX_JSON_DEPTH } from "../../core/validate-input.js";
import { toGeminiMediaPart, type FetchedMediaByPath } from "./gemini-media.js";
import { signatureOrigin } from "../reasoning-signatures.js";
import { ANSWER_SIGNATURE_PREFIX, GEMINI_FAMILY, isJsonMap, type GeminiContent, type GeminiRequestPart, type Json, type JsonMap } from "./gemini-wire.js";

/**
 * The value Google documents for a replayed functionCall whose thought signature is unknown: Gemini 3
 * then skips signature validation instead of answering 400.
 * @see https://ai.google.dev/gemini-api/docs/thought-signatures
 */
export const SKIP_THOUGHT_SIGNATURE_VALIDATOR = "skip_thought_signature_validator";

/** What the contents translation needs besides the messages. */
export interface GeminiContentsContext {
  /** The account's base URL, to recognise Gemini Files API URIs. */
  readonly baseUrl: string;
  readonly catalogModel?: CatalogModel;
  /** Media the gateway fetched, by content-part path. */
  readonly fetchedMedia: FetchedMediaByPath;
  /** Signatures the gateway remembers for tool calls it emitted earlier (for clients that drop extra_content). */
  readonly thoughtSignatureFor: (callId: string) => string | undefined;
}

/** Contents, system instruction and the warnings produced while translating them. */
export interface GeminiContentsTranslation {
  readonly contents: GeminiContent[];
  readonly systemInstruction?: { role: "user"; parts: { text: string }[] };
  readonly warnings: string[];
}

const MEDIA_CAPABILITY: Readonly<Record<"image" | "audio" | "video" | "file", keyof ModelCapabilities>> = {
  image: "images",
  audio: "audio",
  video: "video",
  file: "documents",
};

/** Reads extra_content.google.thought_signature of a tool call. */
export function thoughtSignatureOf(call: ToolCall): string | undefined {
  const google = call.extraContent?.google;
  const signature = isJsonMap(google) ? google.thought_signature : undefined;
  return typeof signature === "string" && signature.length > 0 ? signature : undefined;
}

/**
 * `{output: <parsed>}` when the tool's text is JSON (an object, array, number, string, boolean or
 * null), else `{output: <text>}`; also the text when it holds a number a double would change (an id
 * beyond 2^53, 1e400), since Gemini reads JSON numbers as doubles: the model then sees the digits.
 */
export function toFunctionResponse(text: string): JsonMap {
  // Text it is, too, when it holds JSON nested deeper than a caller may send (it would be written again level by level).
  if (hasInexactNumbers(text) || nestsDeeperThan(text, MAX_JSON_DEPTH)) return { output: text };
  try {
    return { output: JSON.parse(text) as Json };
  } catch {
    // Not JSON: forward the text.
    return { output: text };
  }
}

function parseArguments(call: ToolCall, param: string): JsonMap {
  if (call.arguments.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(call.arguments);
  } catch {
    throw invalidRequest(`Invalid '${param}': the tool call arguments are not valid JSON.`, param);
  }
  if (!isJsonMap(parsed)) throw invalidRequest(`Invalid '${param}': Gemini needs tool call arguments that are a JSON object.`, param);
  return parsed;
}

interface Builder {
  readonly contents: GeminiContent[];
  readonly system: { text: string }[];
  readonly warnings: Set<string>;
  /** Tool call id -> (function name, position among all the calls so far, so merged turns keep their order). */
  readonly calls: Map<string, { name: string; position: number }>;
}

function push(builder: Builder, role: GeminiContent["role"], parts: GeminiRequestPart[]): void {
  if (parts.length === 0) return;
  const last = builder.contents[builder.contents.length - 1];
  if (last?.role === role) last.parts.push(...parts);
  else builder.contents.push({ role, parts });
}

function userParts(message: Message, messageIndex: number, context: GeminiContentsContext, builder: Builder): GeminiRequestPart[] {
  const parts: GeminiRequestPart[] = [];
  message.content.forEach((part, partIndex) => {
    const param = `messages[${messageIndex}].content[${partIndex}]`;
    switch (part.part.case) {
      case "text":
        parts.push({ text: part.part.value });
        break;
      case "image":
      case "audio":
      case "video":
      case "file": {
        const kind = part.part.case;
        const media = part.part.value;
        if (context.catalogModel?.supports[MEDIA_CAPABILITY[kind]] === false) {
          throw unsupportedFeature(`Invalid '${param}': the model ${context.catalogModel.name} does not accept ${kind} input.`, param);
        }
        if (media.detail === ImageDetail.LOW || media.detail === ImageDetail.HIGH) builder.warnings.add("image detail is not supported by Gemini; ignored");
        parts.push(toGeminiMediaPart(kind, media, param, context.baseUrl, context.fetchedMedia));
        break;
      }
      default:
        break;
    }
  });
  return parts;
}

/**
 * A reasoning part as Gemini thought parts. A signature tagged as Gemini's goes back raw, whichever
 * Gemini account or process issued it (with its text, even empty: a signature-only thought part);
 * another provider's, or an untagged one, is left out with a warning, the text kept.
 */
function thoughtParts(reasoning: Reasoning, builder: Builder): { parts: GeminiRequestPart[]; answerSignature?: string } {
  const { text, signature } = reasoning;
  if (reasoning.redactedData) {
    builder.warnings.add("redacted reasoning (another provider's redacted_thinking) cannot be sent to Gemini; left out");
    return { parts: [] };
  }
  const origin = signatureOrigin(GEMINI_FAMILY, signature);
  if (origin.kind === "own" && origin.signature.startsWith(ANSWER_SIGNATURE_PREFIX)) {
    // Gemini gave it on the answer text: the thoughts go unsigned, the signature on the text that follows.
    return { parts: text ? [{ text, thought: true }] : [], answerSignature: origin.signature.slice(ANSWER_SIGNATURE_PREFIX.length) };
  }
  if (origin.kind === "own") return { parts: [{ text, thought: true, thoughtSignature: origin.signature }] };
  if (signature) builder.warnings.add("reasoning signatures another provider issued (or untagged ones) were left out; Gemini refuses them");
  return { parts: text ? [{ text, thought: true }] : [] };
}

function modelParts(message: Message, messageIndex: number, context: GeminiContentsContext, builder: Builder): GeminiRequestPart[] {
  if (message.audio?.id) builder.warnings.add("the audio of an assistant message (an OpenAI audio id) cannot be sent to Gemini; dropped");
  const parts: GeminiRequestPart[] = [];
  // Signatures Gemini gave on answer parts, in order, waiting for the answer text: the first goes
  // back on it (REST puts every reasoning part before the one text, so several may wait).
  const answerSignatures: string[] = [];
  for (const part of message.content) {
    if (part.part.case === "text" || part.part.case === "refusal") {
      if (!part.part.value) continue;
      const signature = answerSignatures.shift();
      parts.push(signature ? { text: part.part.value, thoughtSignature: signature } : { text: part.part.value });
    } else if (part.part.case === "reasoning") {
      const thoughts = thoughtParts(part.part.value, builder);
      parts.push(...thoughts.parts);
      if (thoughts.answerSignature) answerSignatures.push(thoughts.answerSignature);
    }
  }
  // Left without text (Gemini signed an empty part after its text): empty parts carry them, as Gemini sent them.
  for (const signature of answerSignatures) parts.push({ text: "", thoughtSignature: signature });
  message.toolCalls.forEach((call, callIndex) => {
    const args = parseArguments(call, `messages[${messageIndex}].tool_calls[${callIndex}].function.arguments`);
    const signature = thoughtSignatureOf(call) ?? context.thoughtSignatureFor(call.id);
    const functionCall = { name: call.name, args, id: call.id };
    parts.push(signature ? { functionCall, thoughtSignature: signature } : { functionCall });
    builder.calls.set(call.id, { name: call.name, position: builder.calls.size });
  });
  return parts;
}

function toolParts(message: Message, messageIndex: number, context: GeminiContentsContext, builder: Builder): GeminiRequestPart[] {
  const call = builder.calls.get(message.toolCallId);
  if (!call) {
    const param = `messages[${messageIndex}].tool_call_id`;
    throw invalidRequest(`Invalid '${param}': no earlier assistant message has a tool call with id '${message.toolCallId}', and Gemini needs the function name of every tool result.`, param);
  }
  const text = message.content.map((part) => (part.part.case === "text" ? part.part.value : "")).join("");
  const media = userParts({ ...message, content: message.content.filter((part) => part.part.case !== "text") }, messageIndex, context, builder);
  return [{ functionResponse: { name: call.name, response: toFunctionResponse(text), id: message.toolCallId } }, ...media];
}

/** Marks the first functionCall of every model turn that has no signature with the documented sentinel. */
function addSignatureSentinels(contents: GeminiContent[], warnings: Set<string>): void {
  for (const content of contents) {
    if (content.role !== "model") continue;
    const index = content.parts.findIndex((part) => "functionCall" in part);
    const first = content.parts[index];
    if (!first || !("functionCall" in first) || first.thoughtSignature) continue;
    content.parts[index] = { ...first, thoughtSignature: SKIP_THOUGHT_SIGNATURE_VALIDATOR };
    warnings.add("a replayed tool call had no Gemini thought signature; sent Gemini's skip_thought_signature_validator instead");
  }
}

/**
 * For models without a system instruction (Gemma): the system texts become one text part at the
 * start of the first user turn (a user turn is added when the conversation starts with the
 * model), as Gemma's own prompt format does. Returns new contents; the input is not modified.
 */
export function systemInstructionInline(contents: readonly GeminiContent[], system: { role: "user"; parts: { text: string }[] }): GeminiContent[] {
  const part: GeminiRequestPart = { text: `${system.parts.map((entry) => entry.text).join("\n\n")}\n\n` };
  const [first, ...rest] = contents;
  if (first?.role === "user") return [{ role: "user", parts: [part, ...first.parts] }, ...rest];
  return [{ role: "user", parts: [part] }, ...contents];
}

/**
 * Translates the conversation into Gemini `contents` and `systemInstruction`. Guarantees: system and
 * developer text becomes systemInstruction parts, in order (hoisted from any position); roles are
 * user and model; consecutive turns of one role are merged; each run of tool messages becomes
 * functionResponse parts of one user turn, ordered like the calls they answer, named by looking the
 * tool_call_id up among earlier assistant tool calls (unknown id: 400); assistant tool calls become
 * functionCall parts with their id and thought signature (extra_content, else the signature cache,
 * else the sentinel on the turn's first call); reasoning becomes thought parts, signed only with
 * signatures tagged as Gemini's; empty turns are dropped; a conversation with no turn
 * left gets one empty user turn (Gemini requires contents). Pure.
 * @see https://ai.google.dev/api/generate-content#v1beta.models.generateContent
 */
export function toGeminiContents(messages: readonly Message[], context: GeminiContentsContext): GeminiContentsTranslation {
  const builder: Builder = { contents: [], system: [], warnings: new Set(), calls: new Map() };
  for (let index = 0; index < messages.length; index++) {
    const message = messages[index];
    if (!message) continue;
    switch (message.role) {
      case Role.SYSTEM:
      case Role.DEVELOPER:
        for (const part of message.content) if (part.part.case === "text" && part.part.value) builder.system.push({ text: part.part.value });
        break;
      case Role.USER:
        push(builder, "user", userParts(message, index, context, builder));
        break;
      case Role.ASSISTANT:
        push(builder, "model", modelParts(message, index, context, builder));
        break;
      case Role.TOOL: {
        const run: { message: Message; index: number }[] = [];
        while (messages[index]?.role === Role.TOOL) {
          const next = messages[index];
          if (next) run.push({ message: next, index });
          index++;
        }
        index--;
        const position = (entry: { message: Message }) => builder.calls.get(entry.message.toolCallId)?.position ?? Number.MAX_SAFE_INTEGER;
        run.sort((a, b) => position(a) - position(b));
        for (const entry of run) push(builder, "user", toolParts(entry.message, entry.index, context, builder));
        break;
      }
      default:
        throw invalidRequest(`Invalid 'messages[${index}].role': a role is required.`, `messages[${index}].role`);
    }
  }
  if (builder.contents.length === 0) builder.contents.push({ role: "user", parts: [{ text: "" }] });
  addSignatureSentinels(builder.contents, builder.warnings);
  return {
    contents: builder.contents,
    ...(builder.system.length > 0 ? { systemInstruction: { role: "user" as const, parts: builder.system } } : {}),
    warnings: [...builder.warnings],
  };
}
