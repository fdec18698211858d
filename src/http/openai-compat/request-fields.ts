import type { JsonObject } from "@bufbuild/protobuf";
import type { CacheControl } from "../../../gen/switchyard/v1/chat_pb.js";
import { checkCacheControl } from "../../core/cache-control.js";
import { readDataUrl } from "../../core/data-url.js";
import { unmodelledFields } from "../../core/unmodelled-fields.js";
import { MAX_JSON_DEPTH } from "../../core/validate-input.js";
import { invalidRequest } from "../../core/errors.js";

/**
 * Typed readers for fields of the inbound OpenAI JSON body. Each reader returns the value, or
 * undefined when the field is absent or null, and throws a 400 INVALID_REQUEST naming the field
 * (OpenAI's wording) when the type is wrong.
 */

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  // JSON.parse reads a number beyond a double's range (1e400) as Infinity.
  if (typeof value === "number") return !Number.isFinite(value) ? "a number too large to represent" : Number.isInteger(value) ? "an integer" : "a decimal";
  if (typeof value === "boolean") return "a boolean";
  return `a ${typeof value}`;
}

/** Throws the OpenAI-style "Invalid type for 'param'" error. */
export function wrongType(param: string, expected: string, value: unknown): never {
  throw invalidRequest(`Invalid type for '${param}': expected ${expected}, but got ${kindOf(value)} instead.`, param);
}

/** A plain JSON object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Reads an optional string. */
export function readString(value: unknown, param: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") wrongType(param, "a string", value);
  return value;
}

/** Reads a required string. */
export function requireString(value: unknown, param: string): string {
  const out = readString(value, param);
  if (out === undefined) throw invalidRequest(`Missing required parameter: '${param}'.`, param);
  return out;
}

/** Reads an optional finite number. */
export function readNumber(value: unknown, param: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) wrongType(param, "a number", value);
  return value;
}

/** Reads an optional integer (one a double holds exactly: at most 2^53 - 1 either way). */
export function readInteger(value: unknown, param: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "number" && Number.isInteger(value) && !Number.isSafeInteger(value)) throw invalidRequest(`Invalid '${param}': ${value} is out of range.`, param);
  if (typeof value !== "number" || !Number.isSafeInteger(value)) wrongType(param, "an integer", value);
  return value;
}

/** Reads an optional int32 (a 32-bit integer). */
export function readInt32(value: unknown, param: string): number | undefined {
  const out = readInteger(value, param);
  if (out !== undefined && (out > 2 ** 31 - 1 || out < -(2 ** 31))) throw invalidRequest(`Invalid '${param}': ${out} is out of range.`, param);
  return out;
}

/** Reads an optional boolean. */
export function readBoolean(value: unknown, param: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") wrongType(param, "a boolean", value);
  return value;
}

/** Reads an optional array. */
export function readArray(value: unknown, param: string): unknown[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) wrongType(param, "an array", value);
  return value;
}

/** Reads an optional object. */
export function readObject(value: unknown, param: string): Record<string, unknown> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) wrongType(param, "an object", value);
  return value;
}


/**
 * Throws 400 when a free-form JSON value nests deeper than {@link MAX_JSON_DEPTH}. The walk stops
 * one level past the bound, so hostile input cannot overflow the stack here (at most 101 frames),
 * and bounded input cannot overflow it later (JSON.stringify and protobuf Struct conversion
 * recurse). No queue of pending nodes: about 3 times faster than a queued walk on large schemas.
 */
export function checkJsonDepth(value: unknown, param: string, maxDepth = MAX_JSON_DEPTH): void {
  if (typeof value === "object" && value !== null && !nestsWithin(value, 1, maxDepth)) {
    throw invalidRequest(`Invalid '${param}': JSON nested deeper than ${maxDepth} levels.`, param);
  }
}

function nestsWithin(node: object, depth: number, maxDepth: number): boolean {
  if (depth > maxDepth) return false;
  if (Array.isArray(node)) {
    for (const child of node) if (typeof child === "object" && child !== null && !nestsWithin(child, depth + 1, maxDepth)) return false;
    return true;
  }
  const record = node as Record<string, unknown>;
  for (const key in record) {
    const child = record[key];
    if (typeof child === "object" && child !== null && !nestsWithin(child, depth + 1, maxDepth)) return false;
  }
  return true;
}

/** Reads an optional JSON object destined for a google.protobuf.Struct (must be clean JSON, bounded depth). */
export function readJsonObject(value: unknown, param: string): JsonObject | undefined {
  const out = readObject(value, param);
  if (out === undefined) return undefined;
  checkJsonDepth(out, param);
  return out as JsonObject;
}

/**
 * The fields of `raw` the gateway does not model (see unmodelledFields), each bounded like any
 * JSON the caller sends through (MAX_JSON_DEPTH levels, a 400 naming it): they travel on to
 * OpenAI-dialect providers as they are.
 */
export function readExtraFields(raw: Readonly<Record<string, unknown>>, known: ReadonlySet<string>, param: string): JsonObject | undefined {
  const extra = unmodelledFields(raw, known);
  if (extra) for (const key of Object.keys(extra)) checkJsonDepth(extra[key], `${param}.${key}`);
  return extra;
}

/** Rejects keys of an object that are not in `known`. */
export function rejectUnknownKeys(value: Record<string, unknown>, known: ReadonlySet<string>, param: string): void {
  for (const key of Object.keys(value)) {
    if (!known.has(key)) throw invalidRequest(`Unrecognized request argument supplied: ${param}.${key}`, `${param}.${key}`);
  }
}

/**
 * Reads a data URL (`data:<mime>;base64,<data>`, or a percent-encoded payload; the scheme and
 * parameters in any case) with core's reader, which gRPC callers' URLs go through too; undefined
 * when `url` is not a data URL, 400 when malformed or without a media type.
 */
export function parseDataUrl(url: string, param: string): { mimeType: string; data: Uint8Array } | undefined {
  const read = readDataUrl(url, param);
  if (!read) return undefined;
  if (!/^[a-z]+\/[a-z0-9.+_-]+$/.test(read.mimeType)) {
    throw invalidRequest(`Invalid '${param}': expected a data URL of the form data:<mime type>;base64,<data>.`, param);
  }
  const bytes = Buffer.from(read.base64, "base64");
  return { mimeType: read.mimeType, data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

const CACHE_CONTROL_KEYS: ReadonlySet<string> = new Set(["type", "ttl"]);

/**
 * Reads a `cache_control` breakpoint (`{"type": "ephemeral", "ttl"?: "5m" | "1h"}`, as LiteLLM and
 * OpenRouter take it); absent or null is undefined. Anything else (not an object, another key, an
 * unknown type or ttl) is a 400 naming the field.
 */
export function readCacheControl(value: unknown, param: string): CacheControl | undefined {
  const raw = readObject(value, param);
  if (!raw) return undefined;
  rejectUnknownKeys(raw, CACHE_CONTROL_KEYS, param);
  const cacheControl: CacheControl = { $typeName: "switchyard.v1.CacheControl", type: requireString(raw.type, `${param}.type`), ttl: readString(raw.ttl, `${param}.ttl`) ?? "" };
  checkCacheControl(cacheControl, param);
  return cacheControl;
}
