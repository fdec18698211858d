import type { JsonObject, JsonValue } from "@bufbuild/protobuf";

/**
 * Claude models with native structured outputs (`output_config.format` and strict tools): the 4.5
 * generation and later (Opus, Sonnet, Haiku; every Fable and Mythos model), with or without a date suffix. Older models (and
 * Opus 4.1, which had it only as a beta) get the forced-tool emulation.
 * @see https://docs.claude.com/en/docs/build-with-claude/structured-outputs
 */
const NATIVE_MODELS = /^claude-(?:(?:opus|sonnet|haiku)-(?:4-[5-9]|[5-9])(?![0-9])|(?:fable|mythos)-)/;

/** Whether `model` (an Anthropic API model id) takes `output_config.format` and `strict` tools. */
export function hasNativeStructuredOutputs(model: string): boolean {
  return NATIVE_MODELS.test(model);
}

/** Constraints structured outputs do not support: removed from the schema, and named in a warning. */
const UNSUPPORTED_CONSTRAINTS = new Set([
  "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
  "minLength", "maxLength", "maxItems", "uniqueItems", "minProperties", "maxProperties",
  "contains", "minContains", "maxContains",
]);

/** Keywords whose meaning the native grammar cannot keep: a schema with one of them is emulated instead. */
const INEXPRESSIBLE = new Set([
  "oneOf", "not", "if", "then", "else", "prefixItems", "patternProperties", "propertyNames",
  "dependentSchemas", "dependentRequired", "unevaluatedProperties", "unevaluatedItems",
]);

/** String formats structured outputs accept; other formats are removed. */
const FORMATS = new Set(["date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"]);

/** Keywords whose value is a map of subschemas. */
const SCHEMA_MAPS = new Set(["properties", "$defs", "definitions"]);
/** Keywords whose value is a list of subschemas. */
const SCHEMA_LISTS = new Set(["anyOf", "allOf"]);

class Inexpressible extends Error {}

/** Whether a JSON value is an object (not an array or null). */
export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describesObject(node: JsonObject): boolean {
  const type = node.type;
  return type === "object" || (Array.isArray(type) && type.includes("object")) || isJsonObject(node.properties);
}

function convert(node: JsonValue, removed: Set<string>): JsonObject {
  if (!isJsonObject(node)) throw new Inexpressible();
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (INEXPRESSIBLE.has(key)) throw new Inexpressible();
    if (UNSUPPORTED_CONSTRAINTS.has(key) || (key === "minItems" && value !== 0 && value !== 1) || (key === "format" && !(typeof value === "string" && FORMATS.has(value)))) {
      removed.add(key);
      continue;
    }
    if (key === "$ref" && !(typeof value === "string" && value.startsWith("#"))) throw new Inexpressible();
    if (key === "additionalProperties" && value !== false) throw new Inexpressible();
    if (SCHEMA_MAPS.has(key) && isJsonObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, convert(sub, removed)]));
    } else if (SCHEMA_LISTS.has(key) && Array.isArray(value)) {
      out[key] = value.map((sub) => convert(sub, removed));
    } else if (key === "items" && value !== undefined) {
      out[key] = convert(value, removed);
    } else {
      out[key] = value;
    }
  }
  if (describesObject(out) && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

/** The value at a local JSON Pointer (`/$defs/node`, `` for the root), or undefined when nothing is there or the pointer is malformed. */
export function resolvePointer(root: JsonValue, pointer: string): JsonValue | undefined {
  if (pointer === "") return root;
  let node: JsonValue | undefined = root;
  for (const raw of pointer.slice(1).split("/")) {
    let key: string;
    try {
      key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    } catch {
      return undefined;
    }
    if (isJsonObject(node)) node = Object.hasOwn(node, key) ? node[key] : undefined;
    else if (Array.isArray(node)) node = node[Number(key)];
    else return undefined;
  }
  return node;
}

/**
 * Whether a schema refers to itself: a local `$ref` to the root or to an ancestor of where it
 * stands, or a cycle of `$ref`s through `$defs` (a tree, a linked list). Anthropic's structured
 * outputs reject recursive schemas; the non-strict forced tool of the emulation takes them.
 */
function isRecursive(root: JsonValue): boolean {
  const following = new Set<string>();
  const cleared = new Set<string>();
  const visit = (node: JsonValue, at: string): boolean => {
    if (Array.isArray(node)) return node.some((item, index) => visit(item, `${at}/${index}`));
    if (!isJsonObject(node)) return false;
    const ref = node.$ref;
    if (typeof ref === "string" && ref.startsWith("#")) {
      const target = ref.slice(1);
      if (at === target || at.startsWith(`${target}/`) || following.has(target)) return true;
      if (!cleared.has(target)) {
        following.add(target);
        const resolved = resolvePointer(root, target);
        if (resolved !== undefined && visit(resolved, target)) return true;
        following.delete(target);
        cleared.add(target);
      }
    }
    return Object.entries(node).some(([key, value]) => key !== "$ref" && visit(value, `${at}/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`));
  };
  return visit(root, "");
}

/**
 * A JSON Schema as Anthropic's structured outputs take it (pure): every object closed with
 * `additionalProperties: false` (which strict OpenAI schemas already say), and the constraints the
 * grammar does not support (numeric and length bounds, `minItems` above 1, unknown string formats)
 * removed; `removed` names them, for a warning. Undefined when the schema cannot be expressed
 * without changing what it accepts (`oneOf`, `not`, conditionals, open objects, external `$ref`)
 * or refers to itself: the caller then falls back to the forced-tool emulation.
 */
export function toNativeSchema(schema: JsonValue): { schema: JsonObject; removed: string[] } | undefined {
  if (isRecursive(schema)) return undefined;
  const removed = new Set<string>();
  try {
    return { schema: convert(schema, removed), removed: [...removed].sort() };
  } catch (error) {
    if (error instanceof Inexpressible) return undefined;
    throw error;
  }
}
