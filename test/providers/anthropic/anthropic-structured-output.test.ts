import type { JsonObject } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ResponseFormatType, Role } from "../../../gen/switchyard/v1/chat_pb.js";
import { GatewayError } from "../../../src/core/errors.js";
import { toAnthropicRequest } from "../../../src/providers/anthropic/anthropic-request.js";
import { hasNativeStructuredOutputs, toNativeSchema } from "../../../src/providers/anthropic/anthropic-structured-output.js";
import { textMessage, user } from "../../support/proto-builders.js";
import { chatInput } from "./anthropic-test-setup.js";

const NATIVE = "claude-sonnet-4-5-20250929";
const OLDER = "claude-3-7-sonnet-latest";
/** A strict OpenAI schema (closed objects, every property required). */
const strictWeather = { type: "object", properties: { city: { type: "string" }, temperature: { type: "number" } }, required: ["city", "temperature"], additionalProperties: false };
const schemaFormat = (schema: JsonObject) => ({ type: ResponseFormatType.JSON_SCHEMA, jsonSchema: { name: "weather", schema, strict: true } });
const plan = (model: string, init: Parameters<typeof chatInput>[0]) => toAnthropicRequest(chatInput({ maxTokens: 100, ...init }), { upstreamModel: model, stream: false });

describe("hasNativeStructuredOutputs", () => {
  it.each([
    ["claude-sonnet-4-5", true],
    ["claude-sonnet-4-5-20250929", true],
    ["claude-haiku-4-5", true],
    ["claude-opus-4-5-20251101", true],
    ["claude-opus-4-6", true],
    ["claude-sonnet-5", true],
    ["claude-opus-4-1-20250805", false],
    ["claude-sonnet-4-20250514", false],
    ["claude-3-7-sonnet-latest", false],
    ["claude-3-5-haiku-latest", false],
    ["my-proxy-alias", false],
  ])("%s: %s", (model, expected) => {
    expect(hasNativeStructuredOutputs(model)).toBe(expected);
  });
});

describe("toNativeSchema", () => {
  it("closes every object and keeps what the grammar supports", () => {
    const schema = {
      type: "object",
      properties: {
        when: { type: "string", format: "date-time" },
        tags: { type: "array", items: { type: "object", properties: { name: { type: "string" } } }, minItems: 1 },
        either: { anyOf: [{ type: "string" }, { $ref: "#/$defs/point" }] },
      },
      $defs: { point: { type: "object", properties: { x: { type: "number" } }, required: ["x"] } },
    };
    expect(toNativeSchema(schema)).toEqual({
      schema: {
        type: "object",
        properties: {
          when: { type: "string", format: "date-time" },
          tags: { type: "array", items: { type: "object", properties: { name: { type: "string" } }, additionalProperties: false }, minItems: 1 },
          either: { anyOf: [{ type: "string" }, { $ref: "#/$defs/point" }] },
        },
        $defs: { point: { type: "object", properties: { x: { type: "number" } }, required: ["x"], additionalProperties: false } },
        additionalProperties: false,
      },
      removed: [],
    });
  });

  it("removes unsupported constraints and names them", () => {
    const schema = { type: "object", properties: { age: { type: "integer", minimum: 0, maximum: 150 }, name: { type: "string", maxLength: 20, format: "color" }, ids: { type: "array", items: { type: "string" }, minItems: 2, uniqueItems: true } }, additionalProperties: false };
    expect(toNativeSchema(schema)).toEqual({
      schema: { type: "object", properties: { age: { type: "integer" }, name: { type: "string" }, ids: { type: "array", items: { type: "string" } } }, additionalProperties: false },
      removed: ["format", "maxLength", "maximum", "minItems", "minimum", "uniqueItems"],
    });
  });

  it.each([
    ["oneOf", { oneOf: [{ type: "string" }, { type: "number" }] }],
    ["an open object", { type: "object", properties: {}, additionalProperties: true }],
    ["a map of values", { type: "object", additionalProperties: { type: "string" } }],
    ["an external $ref", { $ref: "https://example.com/schema.json" }],
    ["not", { type: "object", properties: { a: { not: { type: "string" } } } }],
    ["a boolean subschema", { type: "object", properties: { a: true } }],
    ["a tree through $defs", { $ref: "#/$defs/node", $defs: { node: { type: "object", properties: { children: { type: "array", items: { $ref: "#/$defs/node" } } } } } }],
    ["a $ref to the root", { type: "object", properties: { next: { anyOf: [{ $ref: "#" }, { type: "null" }] } } }],
    ["a $ref to an ancestor", { type: "object", properties: { a: { type: "object", properties: { again: { $ref: "#/properties/a" } } } } }],
    ["a cycle of two definitions", { type: "object", properties: { p: { $ref: "#/$defs/person" } }, $defs: { person: { type: "object", properties: { pet: { $ref: "#/$defs/pet" } } }, pet: { type: "object", properties: { owner: { $ref: "#/$defs/person" } } } } }],
    ["a cycle through a property path", { type: "object", properties: { a: { type: "object", properties: { c: { $ref: "#/$defs/A" } } } }, $defs: { A: { type: "object", properties: { back: { $ref: "#/properties/a" } } } } }],
  ])("cannot express %s", (_name, schema) => {
    expect(toNativeSchema(schema)).toBeUndefined();
  });
});

describe("toNativeSchema and $ref", () => {
  it("keeps a definition used twice, a $ref to a sibling and an escaped name: no recursion", () => {
    const schema = {
      type: "object",
      properties: { from: { $ref: "#/$defs/place" }, to: { $ref: "#/$defs/place" }, copy: { $ref: "#/properties/from" }, odd: { $ref: "#/$defs/a~1b" } },
      $defs: { place: { type: "object", properties: { city: { type: "string" } } }, "a/b": { type: "string" } },
    };
    expect(toNativeSchema(schema)?.schema.properties).toEqual(schema.properties);
  });

  it.each(["#/$defs/%E0%A4%A", "#/$defs/constructor", "#/properties/toString"])("leaves a $ref it cannot resolve (%s: a malformed escape, a name objects inherit) to Anthropic rather than failing", (ref) => {
    const schema = { type: "object", properties: { a: { $ref: ref } }, additionalProperties: false };
    expect(toNativeSchema(schema)).toEqual({ schema, removed: [] });
  });
});

describe("toAnthropicRequest with native structured outputs", () => {
  it("sends response_format json_schema as output_config.format, with no tool and no warning", () => {
    const result = plan(NATIVE, { messages: [user("Paris")], responseFormat: schemaFormat(strictWeather) });
    expect(result.body).toEqual({
      model: NATIVE,
      max_tokens: 100,
      stream: false,
      messages: [{ role: "user", content: [{ type: "text", text: "Paris" }] }],
      output_config: { format: { type: "json_schema", schema: strictWeather } },
    });
    expect(result.jsonToolName).toBeUndefined();
    expect(result.warnings).toEqual([]);
  });

  it("warns about the constraints it removed from the schema", () => {
    const result = plan(NATIVE, { messages: [user("x")], responseFormat: schemaFormat({ type: "object", properties: { n: { type: "integer", minimum: 1 } } }) });
    expect(result.body.output_config).toEqual({ format: { type: "json_schema", schema: { type: "object", properties: { n: { type: "integer" } }, additionalProperties: false } } });
    expect(result.warnings).toEqual(["response_format json_schema: Anthropic structured outputs do not support minimum; the gateway removed them from the schema, so they are not enforced."]);
  });

  it("combines json_schema with the caller's tools, keeping strict tools strict", () => {
    const result = plan(NATIVE, { messages: [user("x")], responseFormat: schemaFormat(strictWeather), tools: [{ name: "lookup", description: "d", parameters: strictWeather, strict: true }, { name: "now" }] });
    expect(result.body.tools).toEqual([
      { name: "lookup", description: "d", input_schema: strictWeather, strict: true },
      { name: "now", input_schema: { type: "object", properties: {} } },
    ]);
    expect(result.body.output_config).toEqual({ format: { type: "json_schema", schema: strictWeather } });
    expect(result.body.tool_choice).toBeUndefined();
    expect(result.warnings).toEqual([]);
  });

  it("drops strict, with a warning, when the tool's schema cannot be expressed", () => {
    const open = { type: "object", properties: {}, additionalProperties: true };
    const result = plan(NATIVE, { messages: [user("x")], tools: [{ name: "f", parameters: open, strict: true }] });
    expect(result.body.tools).toEqual([{ name: "f", input_schema: open }]);
    expect(result.warnings).toEqual(["tools[0].function.strict was dropped: its parameters use JSON Schema keywords or recursion Anthropic's strict mode cannot enforce."]);
  });

  it("emulates with the forced tool when the schema cannot be expressed, or after a prefill", () => {
    const inexpressible = plan(NATIVE, { messages: [user("x")], responseFormat: schemaFormat({ type: "object", properties: { a: { oneOf: [{ type: "string" }, { type: "number" }] } } }) });
    expect(inexpressible.body.output_config).toBeUndefined();
    expect(inexpressible.jsonToolName).toBe("json");
    expect(inexpressible.body.tool_choice).toEqual({ type: "tool", name: "json", disable_parallel_tool_use: true });
    const prefilled = plan(NATIVE, { messages: [user("x"), textMessage(Role.ASSISTANT, '{"city":')], responseFormat: schemaFormat(strictWeather) });
    expect(prefilled.body.output_config).toBeUndefined();
    expect(prefilled.jsonToolName).toBe("json");
  });

  it("keeps the emulation and drops strict on older models", () => {
    const result = plan(OLDER, { messages: [user("x")], responseFormat: schemaFormat(strictWeather) });
    expect(result.body.output_config).toBeUndefined();
    expect(result.body.tools).toEqual([{ name: "json", description: "Respond with a JSON object.", input_schema: strictWeather }]);
    const strictTool = plan(OLDER, { messages: [user("x")], tools: [{ name: "f", parameters: strictWeather, strict: true }] });
    expect(strictTool.body.tools).toEqual([{ name: "f", input_schema: strictWeather }]);
    expect(strictTool.warnings).toEqual(["tools[0].function.strict is not enforced by Anthropic for this model and was dropped."]);
  });

  it("adds provider_options.anthropic.output_config to the format instead of replacing it", () => {
    const result = plan(NATIVE, { messages: [user("x")], responseFormat: schemaFormat(strictWeather), providerOptions: { anthropic: { output_config: { effort: "low" } } } });
    expect(result.body.output_config).toEqual({ format: { type: "json_schema", schema: strictWeather }, effort: "low" });
    const alone = plan(NATIVE, { messages: [user("x")], providerOptions: { anthropic: { output_config: { effort: "low" } } } });
    expect(alone.body.output_config).toEqual({ effort: "low" });
  });
});

describe("toAnthropicRequest with the json_schema emulation tool", () => {
  const order = { type: "object", properties: { id: { type: "string" } }, required: ["id"], additionalProperties: false };

  it("adds type object to a schema that names none, as for a declared tool (a root $ref from zod-to-json-schema)", () => {
    const named = { $ref: "#/definitions/Order", definitions: { Order: order } };
    for (const model of [OLDER, "claude-sonnet-4-20250514"]) {
      const result = plan(model, { messages: [user("x")], responseFormat: schemaFormat(named) });
      expect(result.body.tools).toEqual([{ name: "json", description: "Respond with a JSON object.", input_schema: { type: "object", ...named } }]);
      expect(plan(model, { messages: [user("x")], tools: [{ name: "f", parameters: named }] }).body.tools?.[0]).toEqual(expect.objectContaining({ input_schema: { type: "object", ...named } }));
    }
  });

  it.each([
    ["a root array", OLDER, { type: "array", items: { type: "string" } }, 'has type "array"'],
    ["a root string", OLDER, { type: "string" }, 'has type "string"'],
    ["a root oneOf (emulated even on Claude 4.5)", NATIVE, { oneOf: [{ type: "object", properties: { a: { type: "string" } } }, { type: "object", properties: { b: { type: "integer" } } }] }, "uses oneOf"],
    ["a root anyOf", OLDER, { anyOf: [order, { type: "object", properties: { b: { type: "integer" } } }] }, "uses anyOf"],
    ["a root allOf", OLDER, { type: "object", allOf: [order] }, "uses allOf"],
    ["a root $ref to an array", OLDER, { $ref: "#/definitions/List", definitions: { List: { type: "array", items: order } } }, 'has type "array"'],
    ["a root $ref to a $ref to a number", OLDER, { $ref: "#/$defs/a", $defs: { a: { $ref: "#/$defs/b" }, b: { type: ["number", "null"] } } }, 'has type ["number","null"]'],
  ])("refuses %s with a 400 naming response_format.json_schema.schema", (_name, model, schema, what) => {
    let thrown: unknown;
    try {
      plan(model, { messages: [user("x")], responseFormat: schemaFormat(schema) });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(GatewayError);
    const error = thrown as GatewayError;
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.reason).toBe("UNSUPPORTED_FEATURE");
    expect(error.facts.param).toBe("response_format.json_schema.schema");
    expect(error.rawMessage).toContain(`the schema's root ${what}`);
  });

  it("keeps an object root, and one whose $ref cycles back to the root", () => {
    const selfish = { type: "object", properties: { next: { $ref: "#" } }, $ref: "#" };
    expect(plan(OLDER, { messages: [user("x")], responseFormat: schemaFormat(selfish) }).body.tools?.[0]).toEqual(expect.objectContaining({ input_schema: selfish }));
    const nullable = { type: ["object", "null"], properties: {} };
    expect(plan(OLDER, { messages: [user("x")], responseFormat: schemaFormat(nullable) }).body.tools?.[0]).toEqual(expect.objectContaining({ input_schema: nullable }));
  });
});
