import type { JsonObject } from "@bufbuild/protobuf";
import { unsupportedFeature } from "../../core/errors.js";
import { geminiGeneration } from "./gemini-generation.js";
import { ownEntry } from "../../core/own-entry.js";
import { isJsonMap, type Json, type JsonMap } from "./gemini-wire.js";

/*
 * JSON Schema -> the OpenAPI 3.0 subset Gemini accepts in FunctionDeclaration.parameters and
 * generationConfig.responseSchema. Keywords pass a whitelist; everything else is removed.
 */

const TYPES: Readonly<Record<string, string>> = {
  string: "STRING",
  number: "NUMBER",
  integer: "INTEGER",
  boolean: "BOOLEAN",
  array: "ARRAY",
  object: "OBJECT",
};

/** Keywords copied unchanged when present (after the structural ones are handled). */
const PASS_THROUGH = ["title", "description", "minItems", "maxItems", "minimum", "maximum", "minLength", "maxLength", "pattern", "default", "example", "propertyOrdering", "nullable"] as const;

/** String formats the Gemini Developer API accepts; any other string format makes the request fail. */
const STRING_FORMATS = new Set(["enum", "date-time"]);
const NUMBER_FORMATS = new Set(["float", "double", "int32", "int64"]);

/** Upper bound on schema nodes produced, so $ref fan-out cannot explode a request. */
const MAX_NODES = 10_000;

/** Keywords the conversion reads (the structural ones, and those it copies or rewrites); others are removed. */
const HANDLED = new Set<string>(["$ref", "type", "anyOf", "oneOf", "allOf", "properties", "required", "prefixItems", "items", "format", "const", "enum", ...PASS_THROUGH]);
/** Removed without a word: markers with no meaning for the model (definitions are inlined). */
const SILENT = new Set(["$schema", "$id", "$comment", "$defs", "definitions"]);
/** Keywords that describe a value without constraining it: when merged parts disagree on one, the first is kept without a word. */
const DESCRIPTIVE = new Set(["title", "description", "example", "default", "propertyOrdering"]);

interface Walk {
  readonly definitions: Readonly<Record<string, Json>>;
  readonly param: string;
  nodes: number;
  /** What the conversion removed that constrains or describes the value: keywords, and string formats Gemini refuses. */
  readonly removed: Set<string>;
  /** Whether each object node gets a `propertyOrdering` of its properties as declared (a response schema: Gemini 2.0 otherwise orders the answer's keys alphabetically). */
  readonly ordered: boolean;
}

function typeName(value: Json | undefined): string | undefined {
  return typeof value === "string" ? ownEntry(TYPES, value) : undefined;
}

function isNullSchema(value: Json): boolean {
  return isJsonMap(value) && value.type === "null" && Object.keys(value).every((key) => key === "type" || key === "description" || key === "title");
}

function resolveRef(ref: string, walk: Walk): { name: string; schema: Json } {
  const match = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(ref);
  if (ref === "#") throw unsupportedFeature(`Invalid '${walk.param}': Gemini does not accept recursive JSON Schemas ($ref "#" refers to the root schema).`, walk.param);
  const name = match?.[1]?.replace(/~1/g, "/").replace(/~0/g, "~");
  const schema = name === undefined ? undefined : ownEntry(walk.definitions, name);
  if (name === undefined || schema === undefined) {
    throw unsupportedFeature(`Invalid '${walk.param}': the $ref "${ref}" does not point into this schema's $defs; Gemini needs self-contained schemas.`, walk.param);
  }
  return { name, schema };
}

/**
 * A `const` or `enum` (named by `keyword`) as Gemini takes it. Gemini refuses an empty string as
 * an enum value ("enum[0]: cannot be empty"), so "" is left out and named in `walk.removed`, or the
 * whole keyword when "" was its only value.
 */
function applyEnum(out: JsonMap, values: Json[], keyword: "const" | "enum", walk: Walk): void {
  const nonNull = values.filter((value) => value !== null);
  if (nonNull.length < values.length) out.nullable = true;
  if (nonNull.every((value) => typeof value === "string")) {
    const strings = nonNull.filter((value) => value !== "");
    if (strings.length < nonNull.length) walk.removed.add(strings.length > 0 ? `${keyword} value ""` : keyword);
    if (strings.length > 0) {
      out.enum = strings;
      out.type ??= "STRING";
    }
    return;
  }
  // Gemini enums are string-only. Keep the declared type and state the allowed values in words
  // instead of turning numbers into strings, which would change what the caller receives.
  const allowed = `Allowed values: ${nonNull.map((value) => JSON.stringify(value)).join(", ")}.`;
  out.description = typeof out.description === "string" && out.description ? `${out.description} ${allowed}` : allowed;
  // A node Gemini is given must have a type: without one declared, the values' own kind is it.
  if (out.type === undefined) {
    const kinds = new Set(nonNull.map((value) => (typeof value === "number" ? (Number.isInteger(value) ? "INTEGER" : "NUMBER") : typeof value === "boolean" ? "BOOLEAN" : undefined)));
    if (kinds.size === 2 && kinds.has("INTEGER") && kinds.has("NUMBER")) kinds.delete("INTEGER");
    const [kind] = kinds;
    if (kinds.size === 1 && kind !== undefined) out.type = kind;
  }
}

/** Merges an allOf part (or a lone anyOf option) into `target`; a constraint on which they disagree keeps the target's and is named in `walk.removed`. */
function mergeInto(target: JsonMap, source: JsonMap, walk: Walk): void {
  for (const [key, value] of Object.entries(source)) {
    if (key === "properties" && isJsonMap(target.properties) && isJsonMap(value)) {
      target.properties = { ...target.properties, ...value };
    } else if (key === "required" && Array.isArray(target.required) && Array.isArray(value)) {
      target.required = [...new Set([...target.required, ...value])];
    } else if (!(key in target) || key === "type") {
      target[key] = value;
    } else if (!DESCRIPTIVE.has(key) && JSON.stringify(target[key]) !== JSON.stringify(value)) {
      walk.removed.add(key);
    }
  }
}

/**
 * A converted node whose `required` names only its declared properties, as Gemini wants; each
 * other name (one required by a branch that declares no properties, such as the "at least one
 * of" pattern `anyOf: [{required: [a]}, {required: [b]}]`) is named in `walk.removed`. Below the
 * root (`nested`), an object without properties, which the subset cannot say (Gemini refuses it:
 * "properties: should be non-empty for OBJECT type"), goes untyped, and that is named too.
 */
function convert(node: Json, walk: Walk, refStack: readonly string[], nested = true): JsonMap {
  const out = convertNode(node, walk, refStack);
  if (Array.isArray(out.required)) {
    const names = isJsonMap(out.properties) ? Object.keys(out.properties) : [];
    const required: string[] = [];
    for (const name of out.required) {
      if (typeof name === "string" && names.includes(name)) required.push(name);
      else walk.removed.add(`required ${JSON.stringify(name)}`);
    }
    if (required.length > 0) out.required = required;
    else delete out.required;
  }
  if (nested && out.type === "OBJECT" && !hasProperties(out)) {
    delete out.type;
    delete out.properties;
    delete out.propertyOrdering;
    walk.removed.add('type "object" of an object without properties');
  }
  return out;
}

function hasProperties(schema: JsonMap): boolean {
  return isJsonMap(schema.properties) && Object.keys(schema.properties).length > 0;
}

/** One node converted, its `required` still holding every listed name (a part merged into its parent may name the parent's properties). */
function convertNode(node: Json, walk: Walk, refStack: readonly string[]): JsonMap {
  if (++walk.nodes > MAX_NODES) throw unsupportedFeature(`Invalid '${walk.param}': the schema is too large for Gemini once its $refs are inlined.`, walk.param);
  if (node === true) return {};
  if (!isJsonMap(node)) throw unsupportedFeature(`Invalid '${walk.param}': a schema node is not an object.`, walk.param);

  const out: JsonMap = {};
  if (typeof node.$ref === "string") {
    const { name, schema } = resolveRef(node.$ref, walk);
    if (refStack.includes(name)) {
      throw unsupportedFeature(`Invalid '${walk.param}': Gemini does not accept recursive JSON Schemas ($ref "${node.$ref}" refers to itself).`, walk.param);
    }
    Object.assign(out, convertNode(schema, walk, [...refStack, name]));
  }

  const rawType = node.type;
  if (Array.isArray(rawType)) {
    const types = rawType.map(typeName).filter((type): type is string => type !== undefined);
    if (rawType.includes("null")) out.nullable = true;
    if (types.length === 1) out.type = types[0] ?? "STRING";
    else if (types.includes("OBJECT") && !isJsonMap(node.properties)) {
      // An object option without properties is refused ("should be non-empty for OBJECT type"), and the subset has no "any object": the node goes untyped.
      walk.removed.add('type "object" of an object without properties');
    } else if (types.length > 1) out.anyOf = types.map((type) => ({ type }));
  } else if (rawType === "null") {
    out.nullable = true;
  } else {
    const type = typeName(rawType);
    if (type) out.type = type;
  }

  for (const keyword of ["anyOf", "oneOf"] as const) {
    const options = node[keyword];
    if (!Array.isArray(options)) continue;
    const nonNull = options.filter((option) => !isNullSchema(option));
    if (nonNull.length < options.length) out.nullable = true;
    if (nonNull.length === 1 && nonNull[0] !== undefined) mergeInto(out, convertNode(nonNull[0], walk, refStack), walk);
    else if (nonNull.length > 1) {
      const converted = nonNull.map((option) => convert(option, walk, refStack));
      // oneOf's "exactly one" is looser as Gemini's anyOf; a node's second union (type: [a, b], anyOf and oneOf together) cannot be kept beside the first.
      // Options of distinct single types cannot overlap (but every integer is a number, and null fits two nullable ones): there, "exactly one" is "any".
      const types = converted.map((option) => option.type);
      const nullable = converted.filter((option) => option.nullable === true).length;
      const disjoint = types.every((type) => typeof type === "string") && new Set(types).size === types.length && !(types.includes("INTEGER") && types.includes("NUMBER")) && nullable < 2;
      if (keyword === "oneOf" && !disjoint) walk.removed.add("oneOf (sent as anyOf)");
      if (out.anyOf !== undefined) walk.removed.add(keyword);
      // An option that takes any value (what is left of `{required: [a]}`) makes the whole anyOf take any value.
      else if (!converted.some((option) => Object.keys(option).length === 0)) out.anyOf = converted;
    }
  }
  if (Array.isArray(node.allOf)) {
    for (const part of node.allOf) mergeInto(out, convertNode(part, walk, refStack), walk);
  }

  // The node's own properties and required names join those a $ref or allOf brought in.
  if (isJsonMap(node.properties)) {
    const properties: JsonMap = isJsonMap(out.properties) ? { ...out.properties } : {};
    for (const [name, schema] of Object.entries(node.properties)) properties[name] = convert(schema, walk, refStack);
    out.properties = properties;
  }
  if (Array.isArray(node.required)) out.required = [...new Set([...(Array.isArray(out.required) ? out.required : []), ...node.required])];

  // A node that declares properties is an object even when it does not say so (Gemini needs the type).
  if (out.type === undefined && out.anyOf === undefined && isJsonMap(out.properties)) out.type = "OBJECT";

  const items = Array.isArray(node.prefixItems) ? [...node.prefixItems, ...(isJsonMap(node.items) && Object.keys(node.items).length > 0 ? [node.items] : [])] : node.items;
  if (Array.isArray(items)) {
    // Gemini has no tuples: each position's schema becomes one option of every item's.
    walk.removed.add(Array.isArray(node.prefixItems) ? "prefixItems" : "items");
    const converted = items.map((item) => convert(item, walk, refStack));
    out.items = converted.length === 1 && converted[0] ? converted[0] : { anyOf: converted };
  } else if (isJsonMap(items) && Object.keys(items).length > 0) {
    out.items = convert(items, walk, refStack);
  } else if (out.type === "ARRAY" || items !== undefined) {
    // Gemini wants the items of an array declared; items of any kind are an untyped schema. `items: false` (no items at all) cannot be said.
    if (items === false) walk.removed.add("items: false");
    out.items = {};
  }

  for (const keyword of PASS_THROUGH) {
    const value = node[keyword];
    if (value !== undefined && !(keyword === "nullable" && value !== true)) out[keyword] = value;
  }
  if (out.type !== undefined && out.type !== "OBJECT") {
    // Gemini refuses properties and required names on a node of another type ("only allowed for OBJECT type").
    for (const keyword of ["properties", "required"] as const) {
      if (out[keyword] === undefined) continue;
      delete out[keyword];
      walk.removed.add(`${keyword} of a ${String(out.type).toLowerCase()}`);
    }
  }
  // The node's own ordering, else all its properties as declared (one a $ref or allOf part brought in names only that part's).
  if (walk.ordered && !Array.isArray(node.propertyOrdering) && isJsonMap(out.properties) && Object.keys(out.properties).length > 1) out.propertyOrdering = Object.keys(out.properties);
  if (typeof node.format === "string") {
    const allowed = out.type === "STRING" ? STRING_FORMATS : out.type === "NUMBER" || out.type === "INTEGER" ? NUMBER_FORMATS : undefined;
    if (allowed?.has(node.format)) out.format = node.format;
    else walk.removed.add(`format "${node.format}"`);
  }
  for (const key of Object.keys(node)) {
    // additionalProperties: false loses nothing: Gemini's answers hold the declared properties only.
    if (!HANDLED.has(key) && !SILENT.has(key) && !(key === "additionalProperties" && node[key] === false)) walk.removed.add(key);
  }
  if (node.const !== undefined) applyEnum(out, [node.const], "const", walk);
  else if (Array.isArray(node.enum)) applyEnum(out, node.enum, "enum", walk);
  return out;
}

function isEmptyObject(schema: JsonMap): boolean {
  return !hasProperties(schema) && (schema.type === "OBJECT" || Object.keys(schema).length === 0) && schema.anyOf === undefined;
}

/**
 * Whether `model` (a Gemini model id, or undefined when not known) takes a JSON Schema as written
 * (`responseJsonSchema`) and the VALIDATED function-calling mode: 2.5 and later. Older or unknown
 * models get the OpenAPI subset of {@link toGeminiSchema}, which every model takes.
 * @see https://ai.google.dev/gemini-api/docs/structured-output
 */
export function takesJsonSchema(model: string | undefined): boolean {
  return geminiGeneration(model) !== "older";
}

/**
 * Converts a caller's JSON Schema into the OpenAPI subset Gemini accepts. Guarantees: `$ref`s into
 * `$defs`/`definitions` are inlined and the definitions removed; a recursive `$ref` (or one that
 * points outside the schema) is a 400 UNSUPPORTED_FEATURE naming `param`; only whitelisted keywords
 * survive (type format title description nullable enum items minItems maxItems properties required
 * propertyOrdering anyOf minimum maximum minLength maxLength pattern example default); types are
 * Gemini's upper-case enum names; `type:[T,"null"]` and `anyOf:[X,{type:"null"}]` become
 * `nullable`; `oneOf` becomes `anyOf`; `const` becomes a one-value enum; non-string enums become a
 * sentence in the description; string formats other than enum/date-time are dropped; `required`
 * lists only declared properties (an allOf part's names count the properties of the whole); an
 * enum loses its "" value, which Gemini refuses; a tuple (`prefixItems`) becomes one item schema
 * whose options are the positions' schemas; below the root, an object without properties (a
 * free-form object or map, which the subset cannot say and Gemini refuses as an empty OBJECT) is
 * untyped, and `properties`/`required` on a node of another type are removed; with
 * `options.ordered` (a response schema), every object of two or more properties gets
 * `propertyOrdering` as declared unless it gives its own. Returns undefined for a root that is an empty object
 * schema (no properties), which Gemini wants omitted. The input is never modified. `removed` names
 * every constraint the result no longer holds, for the caller's warning: removed keywords (such as
 * `additionalProperties` or `exclusiveMinimum`), refused string formats (`format "email"`), required
 * names of undeclared properties (`required "title"`, as in `anyOf: [{required: [title]}, …]`), an
 * enum's "" (`enum value ""`, or `enum` when it was the only one), tuples (`prefixItems`), and a
 * constraint allOf parts disagree on (the first part's is kept).
 * @see https://ai.google.dev/api/caching#Schema
 */
export function toGeminiSchema(schema: JsonObject, param: string, options: { ordered?: boolean } = {}): { schema: JsonMap | undefined; removed: string[] } {
  const root = schema as JsonMap;
  const definitions: Record<string, Json> = {};
  for (const key of ["definitions", "$defs"] as const) {
    const entries = root[key];
    if (isJsonMap(entries)) Object.assign(definitions, entries);
  }
  const walk: Walk = { definitions, param, nodes: 0, removed: new Set(), ordered: options.ordered === true };
  const converted = convert(root, walk, [], false);
  return { schema: isEmptyObject(converted) ? undefined : converted, removed: [...walk.removed].sort() };
}

