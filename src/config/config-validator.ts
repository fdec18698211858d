/**
 * A small strict validator for the YAML config: every schema checks one value at a key path and
 * reports errors that name the path and what is wrong. Unknown object keys are errors.
 */

import { ownEntry } from "../core/own-entry.js";

/** A failed check: the key path (e.g. "providers.openai-main.base_url") and what is wrong. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * What a schema knows besides the value: the key paths whose text came from `${VAR}` substitution.
 * Substitution yields text, so a number or boolean key reads such text as a number or boolean
 * (`port: ${PORT:-8080}`); text written in the file stays text (`port: "8080"` is still an error).
 */
export interface SchemaContext {
  /** Key path → the variables substituted into its text (e.g. "${SWITCHYARD_PORT}"), for messages. */
  readonly substituted: ReadonlyMap<string, string>;
}

/** A schema turns an unknown YAML value into T, or records issues and returns undefined. */
export type Schema<T> = (value: unknown, path: string, issues: ConfigIssue[], context?: SchemaContext) => T | undefined;

/** Substituted text read as the number or boolean it spells (`8080`, ` 0.3 `, `true`), else undefined. */
export function readSubstituted(text: string, kind: "number" | "boolean"): number | boolean | undefined {
  const trimmed = text.trim();
  if (kind === "boolean") return trimmed === "true" ? true : trimmed === "false" ? false : undefined;
  return /^-?\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : undefined;
}

/** The value a number or boolean key reads from substituted text, or the value unchanged. */
function fromEnvironment(value: unknown, path: string, context: SchemaContext | undefined, kind: "number" | "boolean"): unknown {
  if (typeof value !== "string" || !context?.substituted.has(path)) return value;
  return readSubstituted(value, kind) ?? value;
}

/**
 * What a refused value is, for an issue message: its kind ("a string", "a number", "a list", "a
 * mapping", "true", "null"), never its text or digits, since a value in the wrong place may be a
 * secret (a key pasted where a mapping belongs, or substituted from `${VAR}`). Substituted text adds
 * " (from ${VAR})", naming the variables.
 */
export function describeValue(value: unknown, path: string, context: SchemaContext | undefined): string {
  const variables = typeof value === "string" ? context?.substituted.get(path) : undefined;
  const from = variables ? ` (from ${variables})` : "";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "boolean") return String(value);
  if (typeof value === "object") return "a mapping";
  return `a ${typeof value}${from}`;
}

/** A string, optionally non-empty or matching a pattern; a value that does not fit is never repeated in an issue. */
export function str(options: { nonEmpty?: boolean; pattern?: RegExp; patternHint?: string } = {}): Schema<string> {
  return (value, path, issues, context) => {
    if (typeof value !== "string") {
      const scalar = typeof value === "number" || typeof value === "boolean";
      issues.push({ path, message: `must be a string, got ${describeValue(value, path, context)}${scalar ? " (quote it)" : ""}` });
      return undefined;
    }
    if (options.nonEmpty && value.length === 0) {
      issues.push({ path, message: "must not be empty" });
      return undefined;
    }
    if (options.pattern && !options.pattern.test(value)) {
      issues.push({ path, message: `must be ${options.patternHint ?? `a string matching ${options.pattern}`}` });
      return undefined;
    }
    return value;
  };
}

/**
 * An absolute http:// or https:// URL that the WHATWG URL parser takes (a host, a port up to 65535,
 * valid % escapes), as the HTTP client will parse it; one that is not is never repeated in an issue
 * (it may carry a password or a key parameter).
 */
export function httpUrl(): Schema<string> {
  const hint = "an http:// or https:// URL";
  const text = str({ pattern: /^https?:\/\/[^\s]+$/, patternHint: hint });
  return (value, path, issues, context) => {
    const url = text(value, path, issues, context);
    if (url === undefined || URL.canParse(url)) return url;
    issues.push({ path, message: `must be ${hint}, and this one does not parse as a URL (check the host, the port, brackets and % escapes)` });
    return undefined;
  };
}

/** A number within [min, max]; integers only when `integer` is set. */
export function num(options: { min?: number; max?: number; integer?: boolean } = {}): Schema<number> {
  return (given, path, issues, context) => {
    const value = fromEnvironment(given, path, context, "number");
    if (typeof value !== "number" || !Number.isFinite(value)) {
      issues.push({ path, message: `must be a number, got ${describeValue(value, path, context)}` });
      return undefined;
    }
    if (options.integer && !Number.isInteger(value)) {
      issues.push({ path, message: `must be a whole number, got ${value}` });
      return undefined;
    }
    if (options.min !== undefined && value < options.min) {
      issues.push({ path, message: `must be at least ${options.min}, got ${value}` });
      return undefined;
    }
    if (options.max !== undefined && value > options.max) {
      issues.push({ path, message: `must be at most ${options.max}, got ${value}` });
      return undefined;
    }
    return value;
  };
}

/** A boolean. */
export function bool(): Schema<boolean> {
  return (given, path, issues, context) => {
    const value = fromEnvironment(given, path, context, "boolean");
    if (typeof value !== "boolean") {
      issues.push({ path, message: `must be true or false, got ${describeValue(value, path, context)}` });
      return undefined;
    }
    return value;
  };
}

/** One of the given strings. */
export function oneOf<T extends string>(values: readonly T[]): Schema<T> {
  return (value, path, issues, context) => {
    if (typeof value !== "string" || !(values as readonly string[]).includes(value)) {
      issues.push({ path, message: `must be one of ${values.join(", ")}, got ${describeValue(value, path, context)}` });
      return undefined;
    }
    return value as T;
  };
}

/** A list whose items all match `item`. */
export function list<T>(item: Schema<T>): Schema<T[]> {
  return (value, path, issues, context) => {
    if (!Array.isArray(value)) {
      issues.push({ path, message: `must be a list, got ${describeValue(value, path, context)}` });
      return undefined;
    }
    const out: T[] = [];
    value.forEach((entry, index) => {
      const parsed = item(entry, `${path}[${index}]`, issues, context);
      if (parsed !== undefined) out.push(parsed);
    });
    return out;
  };
}

/** A mapping from any key to values matching `item`; keys may be restricted by a pattern. */
export function record<T>(item: Schema<T>, keyPattern?: RegExp, keyHint?: string): Schema<Record<string, T>> {
  return (value, path, issues, context) => {
    if (value === null || value === undefined) return {};
    if (typeof value !== "object" || Array.isArray(value)) {
      issues.push({ path, message: `must be a mapping, got ${describeValue(value, path, context)}` });
      return undefined;
    }
    const out: Record<string, T> = {};
    for (const [key, entry] of Object.entries(value)) {
      const keyPath = path ? `${path}.${key}` : key;
      if (keyPattern && !keyPattern.test(key)) {
        issues.push({ path: keyPath, message: `is not a valid name: ${keyHint ?? `names must match ${keyPattern}`}` });
        continue;
      }
      // Stored by assignment it would set the map's prototype instead of an entry: lost without a word.
      if (key === "__proto__") {
        issues.push({ path: keyPath, message: "is not a valid name" });
        continue;
      }
      const parsed = item(entry, keyPath, issues, context);
      if (parsed !== undefined) out[key] = parsed;
    }
    return out;
  };
}

type Shape = Record<string, Schema<unknown>>;
type Parsed<S extends Shape> = { [K in keyof S]?: S[K] extends Schema<infer T> ? T : never };

/** A mapping with exactly the given keys, all optional; any other key is an error. */
export function obj<S extends Shape>(shape: S): Schema<Parsed<S>> {
  return (value, path, issues, context) => {
    if (value === null || value === undefined) return {};
    if (typeof value !== "object" || Array.isArray(value)) {
      issues.push({ path: path || "(top level)", message: `must be a mapping, got ${describeValue(value, path, context)}` });
      return undefined;
    }
    const out: Record<string, unknown> = {};
    for (const [key, entry] of Object.entries(value)) {
      const keyPath = path ? `${path}.${key}` : key;
      // Own keys only: `constructor`, `toString` or `__proto__` in a config are unknown keys, not what every object inherits.
      const schema = ownEntry(shape, key);
      if (!schema) {
        issues.push({ path: keyPath, message: `is not a known key (known: ${Object.keys(shape).join(", ")})` });
        continue;
      }
      if (entry === null || entry === undefined) continue;
      const parsed = schema(entry, keyPath, issues, context);
      if (parsed !== undefined) out[key] = parsed;
    }
    return out as Parsed<S>;
  };
}

/** Either of two schemas, tried in order; issues come from the second when both fail. */
export function either<A, B>(first: Schema<A>, second: Schema<B>, isFirst: (value: unknown) => boolean): Schema<A | B> {
  return (value, path, issues, context) => (isFirst(value) ? first(value, path, issues, context) : second(value, path, issues, context));
}
