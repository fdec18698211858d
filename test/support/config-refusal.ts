import { expect } from "vitest";
import { ConfigError, parseConfigText } from "../../src/config/load-config.js";

/** The ConfigError message for config text that must be refused ("" when it was taken), read as `/etc/sy.yaml` with `env`. */
export function configRefusal(text: string, env: Record<string, string> = {}): string {
  try {
    parseConfigText(text, "/etc/sy.yaml", env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  return "";
}
