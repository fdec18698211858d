import { create, createFileRegistry, ScalarType, toBinary, type DescField, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { WireType } from "@bufbuild/protobuf/wire";
import { DescriptorProtoSchema, FieldDescriptorProto_Label, FieldDescriptorProto_Type, file_google_protobuf_struct, FileDescriptorProtoSchema, UninterpretedOptionSchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { ChatRequestSchema, ChatResponseSchema, ChatStreamRequestSchema, ChatStreamResponseSchema } from "../../gen/switchyard/v1/chat_service_pb.js";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/error_pb.js";
import { grpcFrame } from "../../src/rpc/grpc-frame.js";
import { fuzzCases, fuzzRandom } from "../support/fuzzing.js";

const T = FieldDescriptorProto_Type;
const OPTIONAL = FieldDescriptorProto_Label.OPTIONAL;
const REPEATED = FieldDescriptorProto_Label.REPEATED;

/** Every scalar type, singular (implicit and explicit presence), repeated (packed and not), in maps, oneofs and nested messages. */
const SCALARS: [string, FieldDescriptorProto_Type][] = [
  ["d", T.DOUBLE], ["f", T.FLOAT], ["i64", T.INT64], ["u64", T.UINT64], ["i32", T.INT32], ["f64", T.FIXED64], ["f32", T.FIXED32], ["b", T.BOOL],
  ["s", T.STRING], ["by", T.BYTES], ["u32", T.UINT32], ["sf32", T.SFIXED32], ["sf64", T.SFIXED64], ["s32", T.SINT32], ["s64", T.SINT64],
];

function testSchema(): DescMessage {
  const field = (name: string, number: number, type: FieldDescriptorProto_Type, extra: Record<string, unknown> = {}) => ({ name, number, type, label: OPTIONAL, jsonName: name, ...extra });
  const fields = [
    ...SCALARS.map(([name, type], index) => field(name, index + 1, type)),
    ...SCALARS.map(([name, type], index) => field(`opt_${name}`, 20 + index, type, { proto3Optional: true, oneofIndex: 1 + index })),
    ...SCALARS.map(([name, type], index) => field(`rep_${name}`, 40 + index, type, { label: REPEATED })),
    ...SCALARS.filter(([, type]) => type !== T.STRING && type !== T.BYTES).map(([name, type], index) => field(`unpacked_${name}`, 60 + index, type, { label: REPEATED, options: { packed: false } })),
    field("color", 80, T.ENUM, { typeName: ".test.Color" }),
    field("colors", 81, T.ENUM, { typeName: ".test.Color", label: REPEATED }),
    field("child", 82, T.MESSAGE, { typeName: ".test.Everything" }),
    field("children", 83, T.MESSAGE, { typeName: ".test.Everything", label: REPEATED }),
    field("json", 84, T.MESSAGE, { typeName: ".google.protobuf.Struct" }),
    field("jsons", 85, T.MESSAGE, { typeName: ".google.protobuf.Struct", label: REPEATED }),
    field("choice_text", 86, T.STRING, { oneofIndex: 0 }),
    field("choice_number", 87, T.INT64, { oneofIndex: 0 }),
    field("choice_child", 88, T.MESSAGE, { typeName: ".test.Everything", oneofIndex: 0 }),
    field("choice_json", 89, T.MESSAGE, { typeName: ".google.protobuf.Struct", oneofIndex: 0 }),
    ...["string", "int32", "int64", "uint64", "bool", "sint32", "fixed64"].map((key, index) => field(`map_${key}`, 90 + index, T.MESSAGE, { typeName: `.test.Everything.Map${index}Entry`, label: REPEATED })),
  ];
  const keyType: Record<string, FieldDescriptorProto_Type> = { string: T.STRING, int32: T.INT32, int64: T.INT64, uint64: T.UINT64, bool: T.BOOL, sint32: T.SINT32, fixed64: T.FIXED64 };
  const valueOf: [FieldDescriptorProto_Type, string | undefined][] = [[T.MESSAGE, ".test.Everything"], [T.DOUBLE, undefined], [T.ENUM, ".test.Color"], [T.STRING, undefined], [T.MESSAGE, ".google.protobuf.Struct"], [T.BYTES, undefined], [T.SINT64, undefined]];
  const mapEntries = ["string", "int32", "int64", "uint64", "bool", "sint32", "fixed64"].map((key, index) => {
    const [type, typeName] = valueOf[index] as [FieldDescriptorProto_Type, string | undefined];
    return { name: `Map${index}Entry`, options: { mapEntry: true }, field: [field("key", 1, keyType[key] as FieldDescriptorProto_Type), field("value", 2, type, typeName ? { typeName } : {})] };
  });
  const file = create(FileDescriptorProtoSchema, {
    name: "test/everything.proto",
    package: "test",
    syntax: "proto3",
    dependency: ["google/protobuf/struct.proto"],
    enumType: [{ name: "Color", value: [{ name: "COLOR_UNSPECIFIED", number: 0 }, { name: "COLOR_RED", number: 1 }, { name: "COLOR_BLUE", number: 2 }] }],
    messageType: [
      create(DescriptorProtoSchema, {
        name: "Everything",
        field: fields,
        nestedType: mapEntries,
        oneofDecl: [{ name: "choice" }, ...SCALARS.map(([name]) => ({ name: `_opt_${name}` }))],
      }),
    ],
  });
  const registry = createFileRegistry(file, (name) => (name === "google/protobuf/struct.proto" ? file_google_protobuf_struct : undefined));
  const message = registry.getMessage("test.Everything");
  if (!message) throw new Error("test.Everything did not build");
  return message;
}

function randomScalar(type: ScalarType, random: () => number): unknown {
  const pick = <V>(values: readonly V[]): V => values[Math.floor(random() * values.length)] as V;
  const int = (bits: number) => Math.floor(random() * 2 ** bits);
  switch (type) {
    case ScalarType.DOUBLE:
      return pick([0, -0, 1.5, -2.25e300, Number.MIN_VALUE, Infinity, Number.NaN, random() * 1e6]);
    case ScalarType.FLOAT:
      return pick([0, -0, Math.fround(3.25), Math.fround(-1e30), Infinity]);
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return pick([0, 1, -1, 2 ** 31 - 1, -(2 ** 31), int(31) - 2 ** 30]);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return pick([0, 1, 127, 128, 2 ** 32 - 1, int(32)]);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return pick([0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), BigInt(int(52)) - 2n ** 51n]);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return pick([0n, 1n, 2n ** 64n - 1n, BigInt(int(52)) * 4097n]);
    case ScalarType.BOOL:
      return random() < 0.5;
    case ScalarType.STRING:
      return pick(["", "a", "héllo wörld", "日本語", "🙂 emoji", "x".repeat(int(9)), "__proto__"]);
    case ScalarType.BYTES:
      return Uint8Array.from({ length: int(8) }, () => int(8));
  }
}

function randomJson(random: () => number, depth: number): unknown {
  const roll = random();
  if (depth > 2 || roll < 0.5) return [null, 0, -0, 1.5, "text", true, false][Math.floor(random() * 7)];
  if (roll < 0.7) return Array.from({ length: Math.floor(random() * 3) }, () => randomJson(random, depth + 1));
  return randomJsonObject(random, depth + 1);
}

function randomJsonObject(random: () => number, depth: number): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (let index = Math.floor(random() * 4); index > 0; index--) object[["a", "b", "c", "ключ", "__proto__"][Math.floor(random() * 5)] as string] = randomJson(random, depth);
  return object;
}

function randomValue(field: DescField, random: () => number, depth: number): unknown {
  const message = (desc: DescMessage) => (desc.typeName === "google.protobuf.Struct" ? randomJsonObject(random, depth) : randomInit(desc, random, depth + 1));
  const single = (kind: "scalar" | "enum" | "message", scalar: ScalarType | undefined, desc: DescMessage | undefined, values: readonly { number: number }[] | undefined) => {
    if (kind === "message" && desc) return message(desc);
    if (kind === "enum" && values) return random() < 0.1 ? 99 : (values[Math.floor(random() * values.length)]?.number ?? 0);
    return randomScalar(scalar ?? ScalarType.INT32, random);
  };
  switch (field.fieldKind) {
    case "list":
      return Array.from({ length: Math.floor(random() * 4) }, () => single(field.listKind, field.scalar, field.message, field.enum?.values));
    case "map": {
      const record: Record<string, unknown> = {};
      for (let index = Math.floor(random() * 4); index > 0; index--) {
        const key = randomScalar(field.mapKey, random);
        record[String(key)] = single(field.mapKind, field.scalar, field.message, field.enum?.values);
      }
      return record;
    }
    case "message":
      return message(field.message);
    case "enum":
      return single("enum", undefined, undefined, field.enum.values);
    case "scalar":
      return randomScalar(field.scalar, random);
  }
}

/** A random init object for `desc`: about half the fields set, one member per oneof, nesting bounded. */
function randomInit(desc: DescMessage, random: () => number, depth = 0): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  if (depth > 3) return init;
  for (const member of desc.members) {
    if (random() < 0.5) continue;
    if (member.kind === "oneof") {
      const field = member.fields[Math.floor(random() * member.fields.length)] as DescField;
      init[member.localName] = { case: field.localName, value: randomValue(field, random, depth) };
    } else {
      init[member.localName] = randomValue(member, random, depth);
    }
  }
  return init;
}

function expectSameBytes<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): void {
  const frame = grpcFrame(schema, message);
  const expected = toBinary(schema, message);
  expect(frame[0]).toBe(0);
  expect(frame.readUInt32BE(1)).toBe(expected.byteLength);
  expect(Buffer.from(frame.subarray(5)).equals(Buffer.from(expected))).toBe(true);
}

describe("grpcFrame", () => {
  it("writes exactly the bytes toBinary writes, for random messages of every scalar, list, map, oneof and Struct shape", () => {
    const schema = testSchema();
    const random = fuzzRandom(7);
    for (let index = 0; index < fuzzCases(400); index++) expectSameBytes(schema, create(schema, randomInit(schema, random)));
  });

  it("writes exactly the bytes toBinary writes, for random Switchyard messages", () => {
    const random = fuzzRandom(11);
    for (const schema of [ChatResponseSchema, ChatStreamResponseSchema, ChatRequestSchema, ChatStreamRequestSchema, ErrorDetailSchema]) {
      for (let index = 0; index < fuzzCases(150); index++) expectSameBytes(schema, create(schema as DescMessage, randomInit(schema, random)) as MessageShape<typeof schema>);
    }
  });

  it("keeps unknown fields, after the known ones, as toBinary does", () => {
    const message = create(ChatResponseSchema, { id: "x", model: "m" });
    message.$unknown = [
      { no: 900, wireType: WireType.Varint, data: Uint8Array.of(5) },
      { no: 901, wireType: WireType.LengthDelimited, data: Uint8Array.of(2, 104, 105) },
    ];
    expectSameBytes(ChatResponseSchema, message);
  });

  it("leaves types it does not cover (proto2 required fields) to toBinary, with the same frame", () => {
    expectSameBytes(UninterpretedOptionSchema, create(UninterpretedOptionSchema, { name: [{ namePart: "a", isExtension: false }], positiveIntValue: 5n, doubleValue: 1.5 }));
  });

  it("throws for a value its field cannot hold, and the next frame is whole", () => {
    const bad = create(ChatResponseSchema, { id: "x" });
    (bad as unknown as { created: unknown }).created = "not a number";
    expect(() => grpcFrame(ChatResponseSchema, bad)).toThrow();
    expectSameBytes(ChatResponseSchema, create(ChatResponseSchema, { id: "after", model: "m", created: 7n }));
  });

  it("returns frames that stay intact when later frames are written", () => {
    const first = grpcFrame(ChatResponseSchema, create(ChatResponseSchema, { id: "first", model: "a".repeat(3000) }));
    const copy = Buffer.from(first);
    grpcFrame(ChatResponseSchema, create(ChatResponseSchema, { id: "second", model: "b".repeat(5000) }));
    expect(first.equals(copy)).toBe(true);
  });

  it("encodes a frame larger than the writer keeps (300 KB), and the frames after it", () => {
    const large = create(ChatResponseSchema, { id: "large", model: "l".repeat(300_000) });
    const frame = grpcFrame(ChatResponseSchema, large);
    const copy = Buffer.from(frame);
    expectSameBytes(ChatResponseSchema, large);
    expectSameBytes(ChatResponseSchema, create(ChatResponseSchema, { id: "small", model: "m" }));
    expect(frame.equals(copy)).toBe(true);
  });
});
