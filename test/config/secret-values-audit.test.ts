import { describe, expect, it, vi } from "vitest";
import { ConfigError, parseConfigText } from "../../src/config/load-config.js";

/*
 * A provider key or header value with a line break (a secret file or an env var ending in "\n")
 * used to pass validation; every request then failed as a 503 `provider_unreachable` ("invalid
 * authorization header") and was retried and failed over as if the provider were down. A gateway
 * key with a space or line break could never be sent by a caller (every call a 401). A key
 * written unquoted as a number was repeated in the start-up error, and so was the line holding a
 * key when the YAML around it did not parse (the parser's code frame).
 */

function issues(yaml: string, env: Record<string, string> = {}): string {
  try {
    parseConfigText(yaml, "audit.yaml", env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  return "";
}

describe("credentials in the config", () => {
  it.each([
    ["an api_key ending in a line break", `providers:\n  oa: { type: openai, api_key: "\${K}" }\n`, "providers.oa.api_key: must be printable text without line breaks"],
    ["a header value with CR LF", `providers:\n  oa: { type: openai, headers: { x-tok: "\${K}" } }\n`, "providers.oa.headers.x-tok: must be printable text without line breaks"],
    ["a gateway key ending in a line break", `keys:\n  - { name: dev, key: "\${K}" }\n`, "keys[0].key: must be printable ASCII without spaces or control characters"],
  ])("refuses %s at start-up, naming the key path without the value", (_name, yaml, expected) => {
    const message = issues(yaml, { K: "sk-SECRETVALUE-123\r\n" });
    expect(message).toContain(expected);
    expect(message).not.toContain("SECRETVALUE");
  });

  it("refuses a gateway key with a space (callers send `Bearer <key>`, which ends at the first space), once: not also as missing", () => {
    const message = issues(`keys:\n  - { name: dev, key: "two words" }\n`);
    expect(message).toContain("keys[0].key: must be printable ASCII without spaces");
    expect(message).not.toContain("keys[0].key: is required");
  });

  it.each([
    ["a gateway key beyond ASCII (a header's bytes are read as Latin-1: it could never match)", `keys:\n  - { name: dev, key: "\${K}" }\n`, "keys[0].key: must be printable ASCII"],
    ["an api_key beyond Latin-1 (undici refuses the header: every request would fail as a 503)", `providers:\n  oa: { type: openai, api_key: "\${K}" }\n`, "providers.oa.api_key: must be printable text"],
    ["a header value beyond Latin-1", `providers:\n  oa: { type: openai, headers: { x-tok: "\${K}" } }\n`, "providers.oa.headers.x-tok: must be printable text"],
  ])("refuses %s", (_name, yaml, expected) => {
    const message = issues(yaml, { K: "ключ-SECRETVALUE" });
    expect(message).toContain(expected);
    expect(message).not.toContain("SECRETVALUE");
  });

  it("refuses two gateway keys with one name, or one secret under two names, without repeating the secret", () => {
    expect(issues(`keys:\n  - { name: a, key: "sy-SECRETVALUE-1" }\n  - { name: a, key: "sy-other-2" }\n`)).toContain("keys[1].name: repeats the name of keys[0]");
    const message = issues(`keys:\n  - { name: a, key: "sy-SECRETVALUE-1" }\n  - { name: b, key: "sy-SECRETVALUE-1" }\n`);
    expect(message).toContain("keys[1].key: is the same secret as keys[0].key");
    expect(message).not.toContain("SECRETVALUE");
  });

  it("takes Latin-1 in provider header values (undici sends them)", () => {
    expect(issues(`providers:\n  oa: { type: openai, headers: { x-name: "Zoë" } }\n`)).toBe("");
  });

  it.each([
    ["api_key", `providers:\n  oa: { type: openai, api_key: 918273645501 }\n`, "providers.oa.api_key: must be a string, got a number (quote it)"],
    ["a header value", `providers:\n  oa: { type: openai, headers: { api-key: 918273645501 } }\n`, "providers.oa.headers.api-key: must be a string, got a number (quote it)"],
    ["a gateway key", `keys:\n  - { name: dev, key: 918273645501 }\n`, "keys[0].key: must be a string, got a number (quote it)"],
  ])("does not repeat %s written as a number", (_name, yaml, expected) => {
    const message = issues(yaml);
    expect(message).toContain(expected);
    expect(message).not.toContain("918273645501");
  });

  it.each([
    ["a gateway key substituted where a mapping belongs", `keys:\n  - "\${SWITCHYARD_API_KEY}"\n`, "keys[0]: must be a mapping, got a string (from ${SWITCHYARD_API_KEY})"],
    ["a provider key written as an account", `providers:\n  openai: "sk-proj-SECRETVALUE-1"\n`, "providers.openai: must be a mapping, got a string"],
    ["a header line written as headers", `providers:\n  o: { type: openai, headers: "Authorization: Bearer sk-SECRETVALUE-2" }\n`, "providers.o.headers: must be a mapping, got a string"],
    ["a provider key substituted into type", `providers:\n  o: { type: "\${OPENAI_API_KEY}" }\n`, "providers.o.type: must be one of openai, openai-compatible, anthropic, gemini, got a string (from ${OPENAI_API_KEY})"],
    ["a key written as a number where a mapping belongs", `keys: [918273645501]\n`, "keys[0]: must be a mapping, got a number"],
    ["a key substituted into a target model", `providers: { a: { type: openai } }\nmodels: { v: { targets: [{ model: "\${OPENAI_API_KEY}" }] } }\n`, 'models.v.targets[0].model: must be "<provider account>/<model>" naming a configured account (configured: a)'],
    ["a key substituted into a target param", `providers: { a: { type: openai } }\nmodels: { v: { targets: [{ model: a/m, params: { temperature: "\${OPENAI_API_KEY}" } }] } }\n`, "models.v.targets[0].params.temperature: must be a number, got a string (from ${OPENAI_API_KEY})"],
  ])("describes %s by its kind, never by its text", (_name, yaml, expected) => {
    const message = issues(yaml, { SWITCHYARD_API_KEY: "sk-gw-SECRETVALUE-3", OPENAI_API_KEY: "sk-openai-SECRETVALUE-4" });
    expect(message).toContain(expected);
    expect(message).not.toMatch(/SECRETVALUE|918273645501/);
  });

  it.each([
    ["a port above 65535", "http://bob:pw-SECRETVALUE@127.0.0.1:99999/v1?api-key=SECRETVALUE"],
    ["a bad % escape in the host", "http://%zz-SECRETVALUE:99/v1"],
    ["an unclosed IPv6 bracket", "http://[::1/SECRETVALUE"],
    ["two colons in the authority", "http://a:SECRETVALUE:c/v1"],
  ])("refuses a base_url with %s at start-up, without repeating it", (_name, url) => {
    const message = issues(`providers:\n  p: { type: openai, base_url: "${url}" }\n`);
    expect(message).toContain("providers.p.base_url: must be an http:// or https:// URL, and this one does not parse as a URL");
    expect(message).not.toContain("SECRETVALUE");
  });

  it("still takes ordinary keys, tabs in header values, and empty header values", () => {
    expect(issues(`keys:\n  - { name: dev, key: "sy-abc_DEF.123~+/=" }\nproviders:\n  oa: { type: openai, api_key: "sk-proj-abc", headers: { x-a: "v\\tw", x-b: "" } }\n`)).toBe("");
  });

  it.each([
    ["an unclosed quote", 'providers:\n  oa: { type: openai, api_key: "sk-live-SECRETVALUE }\n', /not valid YAML: a missing closing quote or bracket at line 3, column 1$/],
    ["a colon in a flow mapping", "providers:\n  oa: { type: openai, api_key: sk-live-SECRETVALUE: x }\n", /not valid YAML: .* at line 2, column 32$/],
    ["a tab indentation", "providers:\n\toa: { api_key: SECRETVALUE }\n", /not valid YAML: a tab used as indentation at line 2, column 1$/],
    ["an unknown tag", "providers:\n  oa: { type: openai, api_key: !secret sk-live-SECRETVALUE }\n", /not valid YAML: a tag the gateway does not read \(such as !secret\) at line 2, column 32$/],
    // The parser's own messages quote these; a key may begin with any of the characters.
    ["a key that reads as a tag", "keys:\n  - { name: a, key: !Pa55wordSECRETVALUE }\n", /not valid YAML: a tag the gateway does not read \(such as !secret\) at line 2, column 21$/],
    ["a key that reads as an alias", "keys:\n  - name: a\n    key: *Zx8qSECRETVALUE\n", /not valid YAML: .*$/],
    ["a key that reads as a block scalar header", "keys:\n  - name: a\n    key: |xSECRETVALUE\n", /not valid YAML: .* at line 3, column \d+$/],
  ])("says where YAML does not parse (%s) without the lines around it, and prints nothing", (_name, yaml, expected) => {
    const warned = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    const printed = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    try {
      const message = issues(yaml);
      expect(message).toMatch(expected);
      expect(message).not.toContain("SECRETVALUE");
      expect(warned).not.toHaveBeenCalled();
      expect(printed).not.toHaveBeenCalled();
    } finally {
      warned.mockRestore();
      printed.mockRestore();
    }
  });

  it("prints no parser warning for a mapping used as a key (it would quote the key)", () => {
    const warned = vi.spyOn(process, "emitWarning").mockImplementation(() => undefined);
    try {
      expect(issues("providers:\n  ? { sk-live-SECRETVALUE: 1 }\n  : { type: openai }\n")).not.toBe("");
      expect(warned).not.toHaveBeenCalled();
    } finally {
      warned.mockRestore();
    }
  });
});

/*
 * Header names in `providers.<account>.headers` were taken as written: a name that is not a token
 * ("bad name") or a transport header (content-length, transfer-encoding) passed start-up and then
 * failed every request as a retried 503; `host` sent the request to another virtual host; and
 * `Authorization` went out beside the adapter's `authorization` instead of replacing it.
 */
describe("provider header names", () => {
  it.each([
    ["a name with a space", `providers:\n  oa: { type: openai, headers: { "bad name": v } }\n`, "providers.oa.headers.bad name: is not a valid name: an HTTP header name"],
    ["a name with a colon", `providers:\n  oa: { type: openai, headers: { "x-a:b": v } }\n`, "providers.oa.headers.x-a:b: is not a valid name"],
    ["content-length", `providers:\n  oa: { type: openai, headers: { Content-Length: "5" } }\n`, "providers.oa.headers.Content-Length: is set by the gateway's HTTP client"],
    ["transfer-encoding", `providers:\n  oa: { type: openai, headers: { transfer-encoding: chunked } }\n`, "providers.oa.headers.transfer-encoding: is set by the gateway's HTTP client"],
    ["host", `providers:\n  oa: { type: openai, headers: { host: evil.example } }\n`, "providers.oa.headers.host: is set by the gateway's HTTP client"],
    ["one name twice in two cases", `providers:\n  oa: { type: openai, headers: { x-team: a, X-Team: b } }\n`, "providers.oa.headers.X-Team: names the same header as another entry"],
  ])("refuses %s at start-up", (_name, yaml, expected) => {
    expect(issues(yaml)).toContain(expected);
  });

  it("keeps names lowercase, so that a configured Authorization replaces the adapter's own", () => {
    const config = parseConfigText(`providers:\n  oa: { type: openai, api_key: k, headers: { Authorization: "Bearer override", X-Team: blue } }\n`, "audit.yaml", {});
    expect(config.providers.oa?.headers).toEqual({ authorization: "Bearer override", "x-team": "blue" });
  });
});
