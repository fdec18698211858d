/**
 * The sampling names a virtual target's `params` may override, the kind and range of value each
 * takes, the keys the gateway sets itself, and the check that a key meant as a sampling name was
 * not misspelt (it would go to the provider as a native field instead). Read by the config
 * validation and by the routing core.
 */

import { describeValue, readSubstituted, type ConfigIssue, type SchemaContext } from "./config-validator.js";
import { ownEntry } from "../core/own-entry.js";
import { SAMPLING_RANGES, type SamplingRange } from "../core/sampling-ranges.js";

type Scalar = number | string | boolean;

/** What a target param takes: its kind, and for a number the range a caller's request is held to. */
interface TargetParamRule {
  readonly kind: "number" | "integer" | "boolean" | "text";
  readonly range?: SamplingRange;
}

/** The OpenAI sampling names a virtual target's `params` override, and what each takes (`user` and `stop` take any scalar, as text). */
const TARGET_PARAMS: Readonly<Record<string, TargetParamRule>> = {
  temperature: { kind: "number", range: SAMPLING_RANGES.temperature },
  top_p: { kind: "number", range: SAMPLING_RANGES.top_p },
  max_tokens: { kind: "integer", range: SAMPLING_RANGES.max_tokens },
  max_completion_tokens: { kind: "integer", range: SAMPLING_RANGES.max_tokens },
  frequency_penalty: { kind: "number", range: SAMPLING_RANGES.frequency_penalty },
  presence_penalty: { kind: "number", range: SAMPLING_RANGES.presence_penalty },
  seed: { kind: "integer" },
  n: { kind: "integer", range: SAMPLING_RANGES.n },
  logprobs: { kind: "boolean" },
  top_logprobs: { kind: "integer", range: SAMPLING_RANGES.top_logprobs },
  parallel_tool_calls: { kind: "boolean" },
  user: { kind: "text" },
  stop: { kind: "text" },
};

/** Request fields the gateway sets itself for every provider: as a target param one would be dropped or refused on every request. */
const GATEWAY_FIELDS: ReadonlySet<string> = new Set(["model", "messages", "stream", "stream_options"]);

/**
 * What a target param's value must be when it does not fit its key ("a number", "an integer from 1
 * to 128", "true or false"), else undefined; keys that are not sampling names (native provider
 * fields) fit any scalar but a number that is not finite. A sampling number must be within the range
 * a caller's request is held to.
 */
export function targetParamProblem(key: string, value: Scalar): string | undefined {
  // JSON has no NaN or infinity (`.nan`, `.inf` in YAML): one would reach the provider as null.
  if (typeof value === "number" && !Number.isFinite(value)) return "a finite number";
  const rule = ownEntry(TARGET_PARAMS, key);
  // A request with an empty stop sequence is refused (validate-input); a target's would be sent on every request.
  if (key === "stop" && String(value) === "") return "a non-empty text";
  if (!rule || rule.kind === "text") return undefined;
  if (rule.kind === "boolean") return typeof value === "boolean" ? undefined : "true or false";
  const name = rule.kind === "integer" ? "an integer" : "a number";
  if (typeof value !== "number" || !(rule.kind === "integer" ? Number.isSafeInteger(value) : Number.isFinite(value))) return name;
  if (rule.range && (value < rule.range.min || value > rule.range.max)) return `${name} from ${rule.range.min} to ${rule.range.max}`;
  return undefined;
}

/**
 * A virtual target's `params` as the gateway will use them, with an issue at `path.<key>` for each
 * key the gateway sets itself (`model`, `messages`, `stream`, `stream_options`), each misspelt
 * sampling name, each value of the wrong kind or out of range, an empty `stop`, and a `top_logprobs`
 * without `logprobs: true` beside it. Text substituted from `${VAR}`
 * is read as the number or boolean it spells, as the same text written unquoted would be, except
 * under `user` and `stop`, which take text.
 */
export function checkTargetParams(params: Readonly<Record<string, Scalar>>, path: string, context: SchemaContext, issues: ConfigIssue[]): Record<string, Scalar> {
  const out: Record<string, Scalar> = {};
  for (const [key, given] of Object.entries(params)) {
    const keyPath = `${path}.${key}`;
    const text = typeof given === "string" && context.substituted.has(keyPath) && ownEntry(TARGET_PARAMS, key)?.kind !== "text";
    const value = text ? (readSubstituted(given, "number") ?? readSubstituted(given, "boolean") ?? given) : given;
    const problem = targetParamProblem(key, value);
    const meant = misspelledTargetParam(key);
    if (GATEWAY_FIELDS.has(key.toLowerCase().replace(/-/g, "_"))) issues.push({ path: keyPath, message: "is set by the gateway for each request and cannot be a target param" });
    else if (meant) issues.push({ path: keyPath, message: `is not a parameter name: did you mean ${meant}? (other names go to the provider as native fields)` });
    else if (problem) issues.push({ path: keyPath, message: `must be ${problem}, got ${typeof value === "number" ? value : describeValue(value, keyPath, context)}` });
    else out[key] = value;
  }
  // A provider refuses top_logprobs without logprobs (as validate-input does for a request): the target would fail every request whose caller did not ask for logprobs.
  if (out.top_logprobs !== undefined && out.logprobs !== true) issues.push({ path: `${path}.top_logprobs`, message: "needs logprobs: true in the same params" });
  return out;
}

/** Edit distance (insertions, deletions, substitutions) between two short strings. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The sampling name a target param key was probably meant to be, when it is not one itself: the
 * same name in another case or spelling (`Temperature`, `max-tokens`, `maxTokens`), or a long name
 * (8 characters or more) within two typos (`temprature`). Such a key would otherwise go to the
 * provider as a native field, which it refuses on every request. Short names are left alone, so
 * native fields such as `top_k` stay possible.
 */
export function misspelledTargetParam(key: string): string | undefined {
  if (ownEntry(TARGET_PARAMS, key)) return undefined;
  const folded = key.toLowerCase().replace(/[-_]/g, "");
  for (const name of Object.keys(TARGET_PARAMS)) {
    if (folded === name.replace(/_/g, "")) return name;
    if (name.length >= 8 && editDistance(key.toLowerCase(), name) <= 2) return name;
  }
  return undefined;
}
