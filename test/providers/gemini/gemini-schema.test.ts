import type { JsonObject } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { GatewayError } from "../../../src/core/errors.js";
import { toGeminiSchema } from "../../../src/providers/gemini/gemini-schema.js";

describe("toGeminiSchema", () => {
  it.each<[string, JsonObject, JsonObject | undefined]>([
    [
      "upper-cases types and keeps description/required",
      { type: "object", properties: { country: { type: "string", description: "The country name." } }, required: ["country"] },
      { type: "OBJECT", properties: { country: { type: "STRING", description: "The country name." } }, required: ["country"] },
    ],
    ["omits an empty root object", { type: "object", properties: {} }, undefined],
    ["omits an empty root object with additionalProperties:false", { type: "object", properties: {}, additionalProperties: false }, undefined],
    ["omits an empty schema", {}, undefined],
    [
      "removes keywords outside the whitelist",
      { $schema: "http://json-schema.org/draft-07/schema#", type: "object", additionalProperties: false, strict: true, examples: [{}], properties: { a: { type: "integer", exclusiveMinimum: 0, multipleOf: 2, minimum: 1 } } },
      { type: "OBJECT", properties: { a: { type: "INTEGER", minimum: 1 } } },
    ],
    [
      'turns type:[T,"null"] into nullable',
      { type: "object", properties: { a: { type: ["string", "null"] } } },
      { type: "OBJECT", properties: { a: { type: "STRING", nullable: true } } },
    ],
    [
      "turns anyOf:[X,null] into X + nullable",
      { type: "object", properties: { a: { anyOf: [{ type: "integer" }, { type: "null" }], description: "d" } } },
      { type: "OBJECT", properties: { a: { type: "INTEGER", nullable: true, description: "d" } } },
    ],
    [
      "turns oneOf into anyOf",
      { type: "object", properties: { a: { oneOf: [{ type: "integer" }, { type: "string" }] } } },
      { type: "OBJECT", properties: { a: { anyOf: [{ type: "INTEGER" }, { type: "STRING" }] } } },
    ],
    [
      "turns several non-null types into anyOf",
      { type: "object", properties: { a: { type: ["integer", "string"] } } },
      { type: "OBJECT", properties: { a: { anyOf: [{ type: "INTEGER" }, { type: "STRING" }] } } },
    ],
    [
      "turns const into a one-value string enum",
      { type: "object", properties: { kind: { const: "circle" } } },
      { type: "OBJECT", properties: { kind: { enum: ["circle"], type: "STRING" } } },
    ],
    [
      "drops empty-string enum members",
      { type: "object", properties: { unit: { type: "string", enum: ["", "c", "f"] } } },
      { type: "OBJECT", properties: { unit: { type: "STRING", enum: ["c", "f"] } } },
    ],
    [
      "states non-string enums in the description instead of changing the type",
      { type: "object", properties: { level: { type: "integer", enum: [1, 2, 3], description: "Level." } } },
      { type: "OBJECT", properties: { level: { type: "INTEGER", description: "Level. Allowed values: 1, 2, 3." } } },
    ],
    [
      "gives an untyped const or enum of numbers or booleans the type of its values (Gemini requires a type)",
      { type: "object", properties: { c: { const: 3 }, r: { enum: [1, 2.5] }, b: { const: true }, mixed: { enum: [1, "a"] } } },
      { type: "OBJECT", properties: { c: { type: "INTEGER", description: "Allowed values: 3." }, r: { type: "NUMBER", description: "Allowed values: 1, 2.5." }, b: { type: "BOOLEAN", description: "Allowed values: true." }, mixed: { description: 'Allowed values: 1, "a".' } } },
    ],
    [
      "drops string formats other than enum and date-time",
      { type: "object", properties: { id: { type: "string", format: "uuid" }, at: { type: "string", format: "date-time" }, n: { type: "number", format: "double" } } },
      { type: "OBJECT", properties: { id: { type: "STRING" }, at: { type: "STRING", format: "date-time" }, n: { type: "NUMBER", format: "double" } } },
    ],
    [
      "gives an array of items of any kind untyped items (an object without properties is refused)",
      { type: "object", properties: { tags: { type: "array", items: {} }, more: { type: "array" } } },
      { type: "OBJECT", properties: { tags: { type: "ARRAY", items: {} }, more: { type: "ARRAY", items: {} } } },
    ],
    [
      "sends a nested object without properties untyped (Gemini refuses an OBJECT whose properties are empty)",
      { type: "object", properties: { q: { type: "string" }, meta: { type: "object", description: "free-form" }, none: { type: "object", properties: {} }, maybe: { type: ["object", "null"] }, rows: { type: "array", items: { type: "object" } } }, required: ["q", "meta"] },
      { type: "OBJECT", properties: { q: { type: "STRING" }, meta: { description: "free-form" }, none: {}, maybe: { nullable: true }, rows: { type: "ARRAY", items: {} } }, required: ["q", "meta"] },
    ],
    [
      "sends a union of types with an object but no properties untyped (the object option would be refused)",
      { type: "object", properties: { tag: { type: ["object", "string"], description: "d" } } },
      { type: "OBJECT", properties: { tag: { description: "d" } } },
    ],
    [
      "drops properties and required names from a node of another type (Gemini: only allowed for OBJECT type)",
      { type: "object", properties: { data: { type: "string", properties: { a: { type: "string" } }, required: ["a"] } } },
      { type: "OBJECT", properties: { data: { type: "STRING" } } },
    ],
    [
      "inlines $ref into $defs and removes the definitions",
      {
        type: "object",
        properties: { home: { $ref: "#/$defs/Address" }, work: { $ref: "#/definitions/Address", description: "Office." } },
        $defs: { Address: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
        definitions: { Address: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } },
      },
      {
        type: "OBJECT",
        properties: {
          home: { type: "OBJECT", properties: { city: { type: "STRING" } }, required: ["city"] },
          work: { type: "OBJECT", properties: { city: { type: "STRING" } }, required: ["city"], description: "Office." },
        },
      },
    ],
    [
      "merges allOf parts",
      { type: "object", properties: { p: { allOf: [{ type: "object", properties: { a: { type: "string" } }, required: ["a"] }, { properties: { b: { type: "boolean" } } }] } } },
      { type: "OBJECT", properties: { p: { type: "OBJECT", properties: { a: { type: "STRING" }, b: { type: "BOOLEAN" } }, required: ["a"] } } },
    ],
    [
      "keeps a node's own properties and required names next to an allOf's",
      { type: "object", properties: { a: { type: "string" } }, required: ["a"], allOf: [{ properties: { b: { type: "number" } }, required: ["b"] }] },
      { type: "OBJECT", properties: { b: { type: "NUMBER" }, a: { type: "STRING" } }, required: ["b", "a"] },
    ],
    [
      "keeps a $ref's properties and required names next to the node's own",
      { type: "object", properties: { w: { $ref: "#/$defs/Base", properties: { extra: { type: "integer" } }, required: ["extra"] } }, $defs: { Base: { type: "object", properties: { id: { type: "string" } }, required: ["id"] } } },
      { type: "OBJECT", properties: { w: { type: "OBJECT", properties: { id: { type: "STRING" }, extra: { type: "INTEGER" } }, required: ["id", "extra"] } } },
    ],
    [
      "gives a node with properties but no type the OBJECT type",
      { properties: { a: { type: "string" } } },
      { type: "OBJECT", properties: { a: { type: "STRING" } } },
    ],
    [
      "keeps only required names that are declared properties",
      { type: "object", properties: { a: { type: "string" } }, required: ["a", "ghost"] },
      { type: "OBJECT", properties: { a: { type: "STRING" } }, required: ["a"] },
    ],
  ])("%s", (_name, input, expected) => {
    const before = structuredClone(input);
    expect(toGeminiSchema(input, "tools[0].function.parameters").schema).toEqual(expected);
    expect(input).toEqual(before);
  });

  it.each<[string, JsonObject]>([
    ["a self-referencing $defs entry", { type: "object", properties: { node: { $ref: "#/$defs/Node" } }, $defs: { Node: { type: "object", properties: { child: { $ref: "#/$defs/Node" } } } } }],
    ["a mutual recursion", { type: "object", properties: { a: { $ref: "#/$defs/A" } }, $defs: { A: { type: "object", properties: { b: { $ref: "#/$defs/B" } } }, B: { type: "object", properties: { a: { $ref: "#/$defs/A" } } } } }],
    ['a $ref to the root ("#")', { type: "object", properties: { self: { $ref: "#" } } }],
  ])("rejects %s with a 400 naming the parameter", (_name, input) => {
    let thrown: unknown;
    try {
      toGeminiSchema(input, "tools[2].function.parameters");
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(GatewayError);
    const error = thrown as GatewayError;
    expect(error.reason).toBe("UNSUPPORTED_FEATURE");
    expect(error.facts.param).toBe("tools[2].function.parameters");
    expect(error.message).toMatch(/recursive/);
  });

  it("rejects a $ref that points outside the schema", () => {
    expect(() => toGeminiSchema({ type: "object", properties: { a: { $ref: "https://example.com/schema.json" } } }, "p")).toThrow(/does not point into/);
  });

  it("reads names every JavaScript object inherits as unknown: a type, a $ref", () => {
    const unknownType = toGeminiSchema({ type: "object", properties: { a: { type: "toString" }, b: { type: "frobnicate" } } }, "p");
    expect(unknownType.schema?.properties).toEqual(toGeminiSchema({ type: "object", properties: { a: { type: "frobnicate" }, b: { type: "frobnicate" } } }, "p").schema?.properties);
    expect(() => toGeminiSchema({ type: "object", properties: { a: { $ref: "#/$defs/constructor" } } }, "p")).toThrow(/does not point into/);
  });

  it("expands a schema that reuses one definition many times (not recursive)", () => {
    const schema: JsonObject = {
      type: "object",
      properties: { a: { $ref: "#/$defs/P" }, b: { $ref: "#/$defs/P" }, c: { type: "array", items: { $ref: "#/$defs/P" } } },
      $defs: { P: { type: "object", properties: { x: { type: "number" } } } },
    };
    const out = toGeminiSchema(schema, "p").schema;
    expect(out?.properties).toEqual({
      a: { type: "OBJECT", properties: { x: { type: "NUMBER" } } },
      b: { type: "OBJECT", properties: { x: { type: "NUMBER" } } },
      c: { type: "ARRAY", items: { type: "OBJECT", properties: { x: { type: "NUMBER" } } } },
    });
  });
  it("names what it removed that constrains or describes values, and not the dialect markers", () => {
    const { removed } = toGeminiSchema(
      { $schema: "http://json-schema.org/draft-07/schema#", type: "object", additionalProperties: false, properties: { a: { type: "integer", exclusiveMinimum: 0, multipleOf: 2, minimum: 1 }, e: { type: "string", format: "email" }, d: { type: "string", format: "date-time" }, m: { type: "object", additionalProperties: { type: "string" } } }, $defs: {} },
      "p",
    );
    // additionalProperties: false is not named: Gemini's answers hold the declared properties only.
    expect(removed).toEqual(["additionalProperties", "exclusiveMinimum", 'format "email"', "multipleOf", 'type "object" of an object without properties']);
    expect(toGeminiSchema({ type: "object", properties: { data: { type: "string", properties: {}, required: ["a"] } } }, "p").removed).toEqual(["properties of a string", "required of a string"]);
    expect(toGeminiSchema({ type: "object", properties: { a: { type: "string", minLength: 1 } }, required: ["a"] }, "p").removed).toEqual([]);
  });

  it("names each constraint it cannot keep: required names of branches without properties, empty enum values, tuples", () => {
    const parameters: JsonObject = {
      type: "object",
      properties: {
        title: { type: "string" },
        body: { type: "string" },
        mode: { type: "string", enum: ["", "fast"] },
        only: { type: "string", enum: [""] },
        pair: { type: "array", prefixItems: [{ type: "string" }, { type: "integer" }], items: false },
      },
      anyOf: [{ required: ["title"] }, { required: ["body"] }],
    };
    expect(toGeminiSchema(parameters, "p")).toEqual({
      schema: {
        type: "OBJECT",
        properties: {
          title: { type: "STRING" },
          body: { type: "STRING" },
          mode: { type: "STRING", enum: ["fast"] },
          only: { type: "STRING" },
          pair: { type: "ARRAY", items: { anyOf: [{ type: "STRING" }, { type: "INTEGER" }] } },
        },
      },
      removed: ["enum", 'enum value ""', "prefixItems", 'required "body"', 'required "title"'],
    });
    expect(toGeminiSchema({ type: "object", properties: { a: { type: "string" } }, required: ["a", "ghost"] }, "p").removed).toEqual(['required "ghost"']);
    expect(toGeminiSchema({ type: "object", properties: { k: { const: "" } } }, "p").removed).toEqual(["const"]);
    expect(toGeminiSchema({ type: "object", properties: { t: { type: "array", items: [{ type: "string" }] } } }, "p").removed).toEqual(["items"]);
  });

  it("keeps a tuple's schema for the items after it among the options of every item", () => {
    const tuple = { type: "array", prefixItems: [{ type: "string" }], items: { type: "boolean" } };
    expect(toGeminiSchema({ type: "object", properties: { t: tuple } }, "p").schema?.properties).toEqual({ t: { type: "ARRAY", items: { anyOf: [{ type: "STRING" }, { type: "BOOLEAN" }] } } });
  });

  it("keeps the required names of an allOf part that declares no properties, and names a constraint the parts disagree on", () => {
    const opts = { allOf: [{ type: "object", properties: { p: { type: "string", maxLength: 5 } } }, { required: ["p"] }] };
    expect(toGeminiSchema({ type: "object", properties: { opts } }, "p")).toEqual({
      schema: { type: "OBJECT", properties: { opts: { type: "OBJECT", properties: { p: { type: "STRING", maxLength: 5 } }, required: ["p"] } } },
      removed: [],
    });
    const tighter = { allOf: [{ type: "string", maxLength: 5, description: "a" }, { maxLength: 3, description: "b" }] };
    expect(toGeminiSchema({ type: "object", properties: { s: tighter } }, "p")).toEqual({
      schema: { type: "OBJECT", properties: { s: { type: "STRING", maxLength: 5, description: "a" } } },
      removed: ["maxLength"],
    });
  });

  it("names a oneOf whose options may overlap (sent as anyOf), a second union beside the first, and items: false", () => {
    const overlapping = { oneOf: [{ type: "object", properties: { a: { type: "string" } } }, { type: "object", properties: { b: { type: "string" } } }] };
    expect(toGeminiSchema({ type: "object", properties: { o: overlapping } }, "p").removed).toEqual(["oneOf (sent as anyOf)"]);
    // Options of distinct single types cannot overlap: no warning.
    expect(toGeminiSchema({ type: "object", properties: { o: { oneOf: [{ type: "string" }, { type: "integer" }] } } }, "p").removed).toEqual([]);
    // null fits two nullable options.
    expect(toGeminiSchema({ type: "object", properties: { o: { oneOf: [{ type: ["string", "null"] }, { type: ["integer", "null"] }] } } }, "p").removed).toEqual(["oneOf (sent as anyOf)"]);
    // Every integer is a number: those two overlap.
    expect(toGeminiSchema({ type: "object", properties: { o: { oneOf: [{ type: "integer" }, { type: "number" }] } } }, "p").removed).toEqual(["oneOf (sent as anyOf)"]);
    const both = { anyOf: [{ type: "string" }, { type: "integer" }], oneOf: [{ type: "string", maxLength: 2 }, { type: "boolean" }] };
    const converted = toGeminiSchema({ type: "object", properties: { u: both } }, "p");
    expect(converted.schema?.properties).toEqual({ u: { anyOf: [{ type: "STRING" }, { type: "INTEGER" }] } });
    expect(converted.removed).toEqual(["oneOf"]);
    expect(toGeminiSchema({ type: "object", properties: { e: { type: "array", items: false } } }, "p").removed).toEqual(["items: false"]);
  });
});
