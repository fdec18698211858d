import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/core/errors.js";
import { parseJsonText } from "../../src/http/openai-compat/json-body.js";

/** Every body must be larger than the size from which its nesting is checked before parsing (64 Ki characters). */
const padding = "x".repeat(70 * 1024);

describe("parseJsonText", () => {
  it("refuses a large body nested deeper than any request can be before parsing it, naming the limit", () => {
    const deep = `{"pad":"${padding}","junk":${"[".repeat(5000)}${"]".repeat(5000)}}`;
    const error = (() => {
      try {
        parseJsonText(deep);
      } catch (thrown) {
        return thrown;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).rawMessage).toBe("The request body nests JSON deeper than 100 levels.");
  });

  it("parses a large body whose nesting is within the limit (a caller's schema 100 levels deep under tools)", () => {
    const schema = `${'{"type":"object","properties":{"a":'.repeat(50)}{"type":"string"}${"}}".repeat(50)}`;
    const body = `{"pad":"${padding}","tools":[{"type":"function","function":{"name":"f","parameters":${schema}}}]}`;
    expect(parseJsonText(body)).toMatchObject({ tools: [{ function: { name: "f" } }] });
  });

  it.each([
    ["a __proto__ key", '{"a":{"__proto__":{"admin":true}}}'],
    ["a __proto__ key spelled with escapes", '{"a":[{"\\u005F\\u005Fproto__":{"admin":true}}]}'],
    ["a constructor key holding a prototype", '{"constructor":{"prototype":{"admin":true}}}'],
  ])("refuses %s (prototype poisoning) as JSON that does not parse", (_name, text) => {
    expect(() => parseJsonText(text)).toThrow(SyntaxError);
  });

  it("reads constructor and __proto__ as ordinary strings, and a constructor property without a prototype", () => {
    expect(parseJsonText('{"enum":["constructor","__proto__"],"properties":{"constructor":{"type":"string"}}}')).toEqual({ enum: ["constructor", "__proto__"], properties: { constructor: { type: "string" } } });
  });
});
