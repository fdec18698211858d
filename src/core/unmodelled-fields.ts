import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { setOwnEntry } from "./own-entry.js";

/**
 * Fields of an OpenAI-style message or function definition that the gateway does not model (a
 * provider's own extension, such as DeepSeek's and Mistral's `prefix: true`): carried in
 * Message.extra and Tool.extra, sent as they are to OpenAI-dialect providers, and reported as
 * ignored by the others, so that no field of a request disappears without a word.
 */

/**
 * The keys of a message the gateway reads into Message's own fields. The output-only
 * `annotations` and `reasoning_signature` (the gateway's own stream field, whose signature is in
 * `thinking_blocks` too), and the SDK helpers' `parsed`, are known and dropped.
 */
export const MESSAGE_FIELDS: ReadonlySet<string> = new Set([
  "role", "content", "name", "tool_calls", "function_call", "tool_call_id", "refusal", "audio", "cache_control", "annotations", "reasoning_content", "thinking_blocks", "reasoning_signature",
  // The OpenAI SDK helpers' parse of `content` (`parsed`), on a message sent back as they returned it: the content goes, this does not.
  "parsed",
]);

/** The keys of a function definition (`tools[].function`, or a legacy `functions[]` entry) the gateway reads into Tool's own fields. */
export const FUNCTION_FIELDS: ReadonlySet<string> = new Set(["name", "description", "parameters", "strict"]);

/**
 * The keys of an OpenAI content part the gateway reads, by part type, and of the typed object the
 * part nests under its type's name (`image_url`, `input_audio`, `file`): the rest is
 * ContentPart.extra (the part's) and Media.extra (the typed object's).
 */
export const CONTENT_PART_FIELDS: Readonly<Record<string, { readonly part: ReadonlySet<string>; readonly nested?: ReadonlySet<string> }>> = {
  text: { part: new Set(["type", "text", "cache_control"]) },
  refusal: { part: new Set(["type", "refusal", "cache_control"]) },
  image_url: { part: new Set(["type", "image_url", "cache_control"]), nested: new Set(["url", "image_url", "detail", "mime_type"]) },
  input_audio: { part: new Set(["type", "input_audio", "cache_control"]), nested: new Set(["data", "format"]) },
  file: { part: new Set(["type", "file", "cache_control"]), nested: new Set(["file_data", "file_id", "filename"]) },
};

/** Every key some content part models: none may be a ContentPart.extra key (a gRPC caller sets those through their own fields). */
export const PART_FIELDS: ReadonlySet<string> = new Set(Object.values(CONTENT_PART_FIELDS).flatMap((fields) => [...fields.part]));
/**
 * The keys a media part's typed object models, by the part's kind (the object it goes to
 * OpenAI-dialect providers as: images and video `image_url`, audio `input_audio`, files `file`):
 * none may be a Media.extra key, where it would fill a modelled field the caller left unset.
 */
export const MEDIA_FIELDS: Readonly<Record<"image" | "audio" | "video" | "file", ReadonlySet<string>>> = {
  image: CONTENT_PART_FIELDS.image_url?.nested ?? new Set(),
  video: CONTENT_PART_FIELDS.image_url?.nested ?? new Set(),
  audio: CONTENT_PART_FIELDS.input_audio?.nested ?? new Set(),
  file: CONTENT_PART_FIELDS.file?.nested ?? new Set(),
};

/** The entries of a parsed JSON object whose keys are not in `known`; undefined when there are none. */
export function unmodelledFields(raw: Readonly<Record<string, unknown>>, known: ReadonlySet<string>): JsonObject | undefined {
  let extra: JsonObject | undefined;
  for (const key in raw) {
    if (known.has(key) || !Object.hasOwn(raw, key)) continue;
    extra ??= {};
    setOwnEntry(extra, key, raw[key] as JsonValue);
  }
  return extra;
}

/** The first key of `extra` the gateway models itself (a caller must set those through their own fields), else undefined. */
export function modelledKeyIn(extra: JsonObject | undefined, known: ReadonlySet<string>): string | undefined {
  if (!extra) return undefined;
  return Object.keys(extra).find((key) => known.has(key));
}
