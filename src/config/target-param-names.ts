/**
 * The sampling names a virtual target's `params` may override, the kind of value each takes, and
 * the check that a key meant as one of them was not misspelt (it would go to the provider as a
 * native field instead). Read by the config validation and by the routing core.
 */

/** The OpenAI sampling names a virtual target's `params` override, and the kind of value each takes (`user` and `stop` take any scalar, as text). */
const TARGET_PARAM_KINDS: Readonly<Record<string, "number" | "integer" | "boolean" | "text">> = {
  temperature: "number",
  top_p: "number",
  max_tokens: "integer",
  max_completion_tokens: "integer",
  frequency_penalty: "number",
  presence_penalty: "number",
  seed: "integer",
  n: "integer",
  logprobs: "boolean",
  top_logprobs: "integer",
  parallel_tool_calls: "boolean",
  user: "text",
  stop: "text",
};

/**
 * What a target param's value must be when it does not fit its key ("a number", "an integer",
 * "true or false"), else undefined; keys that are not sampling names (native provider fields) fit
 * any scalar.
 */
export function targetParamProblem(key: string, value: number | string | boolean): string | undefined {
  switch (TARGET_PARAM_KINDS[key]) {
    case "number":
      return typeof value === "number" ? undefined : "a number";
    case "integer":
      return typeof value === "number" && Number.isSafeInteger(value) ? undefined : "an integer";
    case "boolean":
      return typeof value === "boolean" ? undefined : "true or false";
    default:
      return undefined;
  }
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
  if (TARGET_PARAM_KINDS[key]) return undefined;
  const folded = key.toLowerCase().replace(/[-_]/g, "");
  for (const name of Object.keys(TARGET_PARAM_KINDS)) {
    if (folded === name.replace(/_/g, "")) return name;
    if (name.length >= 8 && editDistance(key.toLowerCase(), name) <= 2) return name;
  }
  return undefined;
}
