import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { setOwnEntry } from "../../core/own-entry.js";
import { MESSAGE_FIELDS, unmodelledFields } from "../../core/unmodelled-fields.js";

/*
 * The fields of an OpenAI-dialect answer the gateway does not model (an OpenAI-compatible server's
 * own extensions: Perplexity's `citations`, OpenRouter's usage `cost`, Azure's
 * `content_filter_results`), carried in the proto's `extra` Structs so the REST edge can give them
 * back where the server put them.
 */

/** Keys of a chat.completion or chunk the gateway models, or drops on purpose (OpenAI's `obfuscation` padding, Groq's `x_groq`, whose usage it reads). */
export const COMPLETION_KEYS: ReadonlySet<string> = new Set(["id", "object", "created", "model", "choices", "usage", "system_fingerprint", "service_tier", "obfuscation", "x_groq", "error"]);
/** Keys of a choice the gateway models. */
export const CHOICE_KEYS: ReadonlySet<string> = new Set(["index", "message", "delta", "logprobs", "finish_reason"]);
/**
 * Keys of an answer's message the gateway models, or leaves out: every key a request's message
 * models too (MESSAGE_FIELDS: an answer's message sent back as history must not carry one in its
 * `extra`, which a request refuses), and OpenRouter's `reasoning` text, read as reasoning.
 */
export const MESSAGE_KEYS: ReadonlySet<string> = new Set([...MESSAGE_FIELDS, "reasoning"]);
/**
 * Keys of a streamed choice's `delta` the gateway models, or leaves out: those of an answer's
 * message, so that a stream keeps a field of the delta exactly when a whole answer keeps it in the
 * message.
 */
export const DELTA_KEYS: ReadonlySet<string> = MESSAGE_KEYS;
/** Keys of a usage object the gateway models (its two details objects are read key by key: {@link usageExtras}). */
export const USAGE_KEYS: ReadonlySet<string> = new Set(["prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details", "completion_tokens_details"]);
/** Keys of usage.prompt_tokens_details the gateway models (OpenRouter's `cache_write_tokens` included). */
const PROMPT_DETAILS_KEYS: ReadonlySet<string> = new Set(["cached_tokens", "audio_tokens", "cache_write_tokens"]);
/** Keys of usage.completion_tokens_details the gateway models. */
const COMPLETION_DETAILS_KEYS: ReadonlySet<string> = new Set(["reasoning_tokens", "audio_tokens", "accepted_prediction_tokens", "rejected_prediction_tokens"]);

/** The objects of a usage, and of an annotation, whose own keys are read one by one (built once: usage can ride on every chunk). */
const USAGE_INSIDE = [["prompt_tokens_details", PROMPT_DETAILS_KEYS], ["completion_tokens_details", COMPLETION_DETAILS_KEYS]] as const;

/** Deepest value kept in an extra; a deeper one (no real server sends it) is left out. */
const MAX_EXTRA_DEPTH = 32;

/** How {@link structValue} treats what it copies: the deepest nesting kept, strings rewritten, keys left out. */
export interface StructCopy {
  readonly maxDepth: number;
  readonly text?: (text: string) => string;
  readonly skipKeys?: ReadonlySet<string>;
}

const ANSWER_COPY: StructCopy = { maxDepth: MAX_EXTRA_DEPTH };

/**
 * A parsed JSON value as a Struct can hold it: a number JSON.parse made infinite (`1e400`) becomes
 * null, strings go through `copy.text`, keys in `copy.skipKeys` are left out; undefined when nested
 * deeper than `copy.maxDepth` (at `depth`, counting from 1).
 */
export function structValue(value: unknown, depth: number, copy: StructCopy = ANSWER_COPY): JsonValue | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "string") return copy.text ? copy.text(value) : value;
  if (value === null || typeof value !== "object") return value as JsonValue;
  if (depth >= copy.maxDepth) return undefined;
  if (Array.isArray(value)) {
    const out: JsonValue[] = [];
    for (const item of value) {
      const kept = structValue(item, depth + 1, copy);
      if (kept === undefined) return undefined;
      out.push(kept);
    }
    return out;
  }
  const out: JsonObject = {};
  for (const key of Object.keys(value)) {
    if (copy.skipKeys?.has(key)) continue;
    const kept = structValue((value as Record<string, unknown>)[key], depth + 1, copy);
    if (kept === undefined) return undefined;
    setOwnEntry(out, key, kept);
  }
  return out;
}

/**
 * The entries of `raw` (parsed upstream JSON) whose keys are not in `known`, as a Struct can hold
 * them; undefined when there are none (the common case costs one pass over the keys).
 */
export function answerExtras(raw: Readonly<Record<string, unknown>>, known: ReadonlySet<string>): JsonObject | undefined {
  const found = unmodelledFields(raw, known);
  if (!found) return undefined;
  let extra: JsonObject | undefined;
  for (const key of Object.keys(found)) {
    const kept = structValue(found[key], 1);
    if (kept !== undefined) setOwnEntry((extra ??= {}), key, kept);
  }
  return extra;
}

/**
 * The entries of `raw` whose keys are not in `known` ({@link answerExtras}), and, for each
 * `[key, knownInside]` of `inside` whose value in `raw` is an object the gateway reads, that
 * object's own unmodelled entries under the same key (holding only those); undefined when there are
 * none.
 */
function extrasWithin(raw: Readonly<Record<string, unknown>>, known: ReadonlySet<string>, inside: readonly (readonly [string, ReadonlySet<string>])[]): JsonObject | undefined {
  let extra = answerExtras(raw, known);
  for (const [key, knownInside] of inside) {
    const value = raw[key];
    if (typeof value !== "object" || value === null || Array.isArray(value)) continue;
    const found = answerExtras(value as Record<string, unknown>, knownInside);
    if (found) (extra ??= {})[key] = found;
  }
  return extra;
}

/**
 * The fields of a usage object the gateway does not model, for Usage.extra: its own unmodelled keys
 * (OpenRouter's `cost`), and those of `prompt_tokens_details` and `completion_tokens_details`
 * (OpenRouter's `image_tokens`) under the same details key, holding only those keys; undefined
 * when there are none.
 */
export function usageExtras(usage: Readonly<Record<string, unknown>>): JsonObject | undefined {
  return extrasWithin(usage, USAGE_KEYS, USAGE_INSIDE);
}

/** Keys of an annotation the gateway models: its type, and a url_citation's object. */
const ANNOTATION_KEYS: ReadonlySet<string> = new Set(["type", "url_citation"]);
/** Keys of a `url_citation` object the gateway models. */
const URL_CITATION_KEYS: ReadonlySet<string> = new Set(["url", "title", "start_index", "end_index"]);
const ANNOTATION_INSIDE = [["url_citation", URL_CITATION_KEYS]] as const;

/**
 * The fields of an annotation the gateway does not model, for Annotation.extra: every key but `type`
 * of a type the gateway does not read (OpenRouter's `file`, OpenAI's `file_citation` with its
 * offsets), and a url_citation's own unmodelled keys (OpenRouter's `content` snippet) under
 * `url_citation`; undefined when there are none.
 */
export function annotationExtras(annotation: Readonly<Record<string, unknown>>): JsonObject | undefined {
  return extrasWithin(annotation, ANNOTATION_KEYS, ANNOTATION_INSIDE);
}
