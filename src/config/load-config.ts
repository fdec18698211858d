import { readFileSync, existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { parseDocument, YAMLError } from "yaml";
import { parseGatewayConfig, type GatewayConfig } from "./gateway-config.js";
import type { ConfigIssue } from "./config-validator.js";

/** Thrown when the config cannot be used; its message lists every issue with file and key path. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Where the config came from, for the start-up report. */
export interface LoadedConfig {
  readonly config: GatewayConfig;
  /** The file read, or undefined when the built-in default was used. */
  readonly file?: string;
  /** Plain-words lines saying what the built-in default found (never secrets). */
  readonly notes: readonly string[];
}

/** Providers the built-in default registers when their key is in the environment. */
const ENV_DEFAULT_ACCOUNTS = [
  { variable: "OPENAI_API_KEY", account: "openai", type: "openai" },
  { variable: "ANTHROPIC_API_KEY", account: "anthropic", type: "anthropic" },
  { variable: "GEMINI_API_KEY", account: "gemini", type: "gemini" },
] as const;

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string of a parsed YAML tree. A variable that is
 * unset or empty (and has no default) is reported as an issue at its key path, saying which. The
 * key path of each string that had a substitution is added to `substituted`, with the variables used.
 */
export function interpolateEnv(node: unknown, env: NodeJS.ProcessEnv, path: string, issues: ConfigIssue[], substituted?: Map<string, string>): unknown {
  if (typeof node === "string") {
    if (!node.includes("${")) return node;
    const variables: string[] = [];
    const text = node.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_match, name: string, fallback: string | undefined) => {
      variables.push(`\${${name}}`);
      const value = env[name];
      if (value !== undefined && value !== "") return value;
      if (fallback !== undefined) return fallback;
      issues.push({ path: path || "(top level)", message: `uses environment variable ${name}, which is ${value === "" ? "empty" : "not set"}` });
      return "";
    });
    if (variables.length > 0) substituted?.set(path, variables.join(", "));
    return text;
  }
  if (Array.isArray(node)) return node.map((entry, index) => interpolateEnv(entry, env, `${path}[${index}]`, issues, substituted));
  if (node && typeof node === "object") {
    return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, interpolateEnv(value, env, path ? `${path}.${key}` : key, issues, substituted)]));
  }
  return node;
}

function formatIssues(source: string, issues: readonly ConfigIssue[]): string {
  return `invalid config ${source}:\n${issues.map((issue) => `  - ${issue.path}: ${issue.message}`).join("\n")}`;
}

/**
 * The document without its top-level `x-` keys: a place for YAML anchors that other keys merge or
 * alias (`x-defaults: &defaults {...}`), as in Docker Compose. Nothing reads them, so they are
 * neither validated nor substituted.
 */
function withoutExtensionKeys(document: unknown): unknown {
  if (typeof document !== "object" || document === null || Array.isArray(document)) return document;
  return Object.fromEntries(Object.entries(document).filter(([key]) => !key.startsWith("x-")));
}

/**
 * The YAML text as plain values; throws the parser's first error or warning. A warning (a tag the
 * gateway does not know, such as `!secret`; an unsupported `%YAML` version) is refused like an
 * error: the tagged text would otherwise be used as written. Nothing is printed: the parser's own
 * warnings quote the line at fault, which may hold a key.
 */
function readYaml(text: string): unknown {
  // Merge keys (`<<: *defaults`) as YAML 1.1 and most tools read them; aliases stay bounded by the parser's alias limit.
  const document = parseDocument(text, { merge: true, logLevel: "error" });
  const problem = document.errors[0] ?? document.warnings[0];
  if (problem) throw problem;
  return document.toJS();
}

/** Plain words for the YAML parser's commonest error codes (the others are given as their code's words). */
const YAML_PROBLEMS: Readonly<Record<string, string>> = {
  TAG_RESOLVE_FAILED: "a tag the gateway does not read (such as !secret)",
  BAD_ALIAS: "an alias with no anchor before it",
  MISSING_CHAR: "a missing closing quote or bracket",
  TAB_AS_INDENT: "a tab used as indentation",
  BAD_INDENT: "bad indentation",
  BLOCK_AS_IMPLICIT_KEY: "a block where a key was expected",
  DUPLICATE_KEY: "a key given twice",
  UNEXPECTED_TOKEN: "an unexpected character",
};

/**
 * What is wrong with a YAML document, by the parser's error code and position only: its messages
 * quote the offending text (an unresolved tag or alias, a block scalar header, the lines around),
 * which may be a key written in the file.
 */
function yamlProblem(error: unknown): string {
  if (error instanceof YAMLError) {
    const what = YAML_PROBLEMS[error.code] ?? error.code.toLowerCase().replace(/_/g, " ");
    const at = error.linePos?.[0];
    return at ? `${what} at line ${at.line}, column ${at.col}` : what;
  }
  // Raised while building the values (toJS): an alias bomb says so without quoting the document.
  return error instanceof Error && /^Excessive alias count/.test(error.message) ? error.message : "the document could not be read";
}

/** Parses config text (YAML) from `source`; throws ConfigError naming the file and every key path at fault. */
export function parseConfigText(text: string, source: string, env: NodeJS.ProcessEnv): GatewayConfig {
  let document: unknown;
  try {
    document = withoutExtensionKeys(readYaml(text));
  } catch (error) {
    throw new ConfigError(`invalid config ${source}: not valid YAML: ${yamlProblem(error)}`);
  }
  const issues: ConfigIssue[] = [];
  const substituted = new Map<string, string>();
  const interpolated = interpolateEnv(document, env, "", issues, substituted);
  const result = parseGatewayConfig(interpolated, { workers: availableParallelism(), substituted });
  const all = [...issues, ...result.issues];
  if (all.length > 0 || !result.config) throw new ConfigError(formatIssues(source, all));
  return result.config;
}

/** The config used when no file exists: accounts for provider keys found in the environment. */
export function builtInConfig(env: NodeJS.ProcessEnv): LoadedConfig {
  const notes: string[] = [];
  const providers: Record<string, unknown> = {};
  for (const entry of ENV_DEFAULT_ACCOUNTS) {
    if (env[entry.variable]) {
      providers[entry.account] = { type: entry.type, api_key: `\${${entry.variable}}` };
      notes.push(`${entry.variable} found: account "${entry.account}" (type ${entry.type}) registered`);
    } else {
      notes.push(`${entry.variable} not set: no "${entry.account}" account`);
    }
  }
  const keys = env.SWITCHYARD_API_KEY ? [{ name: "env", key: "${SWITCHYARD_API_KEY}" }] : [];
  notes.push(keys.length > 0 ? "SWITCHYARD_API_KEY found: gateway key auth is on" : "SWITCHYARD_API_KEY not set: auth is off (loopback only)");
  // Empty variables count as unset, as in `${VAR}` substitution; a bad value is refused naming the variable.
  const portVariable = ["SWITCHYARD_PORT", "PORT"].find((name) => env[name]);
  const document = {
    server: { host: env.SWITCHYARD_HOST || "127.0.0.1", port: portVariable ? `\${${portVariable}}` : 8080 },
    keys,
    providers,
  };
  const issues: ConfigIssue[] = [];
  const substituted = new Map<string, string>();
  const interpolated = interpolateEnv(document, env, "", issues, substituted);
  const result = parseGatewayConfig(interpolated, { workers: availableParallelism(), substituted });
  if (!result.config) throw new ConfigError(formatIssues("(built-in default)", [...issues, ...result.issues]));
  return { config: result.config, notes };
}

/**
 * Loads the config: `--config FILE`, else SWITCHYARD_CONFIG, else ./switchyard.yaml when it exists,
 * else the built-in default. A file named explicitly must exist; an empty SWITCHYARD_CONFIG counts
 * as unset, as every variable the gateway reads does.
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): LoadedConfig {
  const flagIndex = argv.indexOf("--config");
  const flagValue = flagIndex >= 0 ? argv[flagIndex + 1] : argv.find((arg) => arg.startsWith("--config="))?.slice("--config=".length);
  if ((flagIndex >= 0 || flagValue !== undefined) && !flagValue) throw new ConfigError("--config needs a file name");
  const explicit = flagValue ?? (env.SWITCHYARD_CONFIG || undefined);
  const file = explicit ?? "switchyard.yaml";
  if (!existsSync(file)) {
    if (explicit) throw new ConfigError(`config file ${file} does not exist`);
    return builtInConfig(env);
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    // A directory, a file without read permission: say so, naming the file, like any other config problem.
    throw new ConfigError(`config file ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return { config: parseConfigText(text, file, env), file, notes: [] };
}
