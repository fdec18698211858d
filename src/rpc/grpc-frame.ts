import { protoInt64, ScalarType, toBinary, type DescField, type DescMessage, type JsonObject, type MessageShape, type UnknownField } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { FeatureSet_FieldPresence, isWrapperDesc, StructSchema } from "@bufbuild/protobuf/wkt";

/** The gRPC message prefix: a flags byte (0: not compressed) and the big-endian message length. */
export const GRPC_PREFIX_BYTES = 5;
const PREFIX = new Uint8Array(GRPC_PREFIX_BYTES);
/** The shared writer is replaced after a frame larger than this, so it never holds more than twice as much. */
const RETAIN_UP_TO = 256 * 1024;
/** Frames up to this size are copied into Node's buffer pool (it serves allocations up to half its size). */
const COPY_BELOW = Buffer.poolSize >>> 1;

/**
 * One writer for every frame. `toBinary` starts a new writer per message, whose buffer grows from
 * 128 bytes by doubling: five or six ArrayBuffers for a chat answer and two for every streamed
 * event, each an off-heap allocation that costs microseconds on a busy process (bench/PROFILE.md,
 * tenth pass). This one keeps its grown buffer, so a frame costs the one copy `finish()` makes.
 */
let shared = new BinaryWriter();

/** A message in protobuf-es's local representation, read by field local name. */
type Local = Record<string, unknown>;
type WriteMessage = (writer: BinaryWriter, message: Local) => void;
type WriteValue = (writer: BinaryWriter, value: unknown) => void;

function wireTypeOf(type: ScalarType): WireType {
  switch (type) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return WireType.LengthDelimited;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WireType.Bit64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WireType.Bit32;
    default:
      return WireType.Varint;
  }
}

/** The writer of a bare scalar value (no tag); int64 kinds take a bigint or a decimal string. */
function scalarWriter(type: ScalarType): WriteValue {
  switch (type) {
    case ScalarType.STRING:
      return (writer, value) => writer.string(value as string);
    case ScalarType.BYTES:
      return (writer, value) => writer.bytes(value as Uint8Array);
    case ScalarType.BOOL:
      return (writer, value) => writer.bool(value as boolean);
    case ScalarType.DOUBLE:
      return (writer, value) => writer.double(value as number);
    case ScalarType.FLOAT:
      return (writer, value) => writer.float(value as number);
    case ScalarType.INT32:
      return (writer, value) => writer.int32(value as number);
    case ScalarType.UINT32:
      return (writer, value) => writer.uint32(value as number);
    case ScalarType.SINT32:
      return (writer, value) => writer.sint32(value as number);
    case ScalarType.FIXED32:
      return (writer, value) => writer.fixed32(value as number);
    case ScalarType.SFIXED32:
      return (writer, value) => writer.sfixed32(value as number);
    case ScalarType.INT64:
      return (writer, value) => writer.int64(value as bigint | string);
    case ScalarType.UINT64:
      return (writer, value) => writer.uint64(value as bigint | string);
    case ScalarType.SINT64:
      return (writer, value) => writer.sint64(value as bigint | string);
    case ScalarType.FIXED64:
      return (writer, value) => writer.fixed64(value as bigint | string);
    case ScalarType.SFIXED64:
      return (writer, value) => writer.sfixed64(value as bigint | string);
  }
}

/** A tagged scalar or enum value (enums are int32 on the wire). */
function taggedScalar(number: number, type: ScalarType): WriteValue {
  const wireType = wireTypeOf(type);
  const write = scalarWriter(type);
  return (writer, value) => {
    write(writer.tag(number, wireType), value);
  };
}

/** google.protobuf.Struct fields (but not Value.struct_value) hold a plain JSON object locally. */
function holdsJson(field: DescField & { message: DescMessage }): boolean {
  return field.message.typeName === StructSchema.typeName && field.parent.typeName !== "google.protobuf.Value";
}

/** The local google.protobuf.Value of a JSON value, as protobuf-es builds it (anything else: no kind). */
function jsonValueMessage(value: unknown): Local {
  switch (typeof value) {
    case "number":
      return { kind: { case: "numberValue", value } };
    case "string":
      return { kind: { case: "stringValue", value } };
    case "boolean":
      return { kind: { case: "boolValue", value } };
    case "object":
      if (value === null) return { kind: { case: "nullValue", value: 0 } };
      if (Array.isArray(value)) return { kind: { case: "listValue", value: { values: value.map(jsonValueMessage) } } };
      return { kind: { case: "structValue", value: jsonStructMessage(value as JsonObject) } };
    default:
      return { kind: { case: undefined } };
  }
}

function jsonStructMessage(json: JsonObject): Local {
  // No prototype: a "__proto__" key is a field like any other.
  const fields = Object.create(null) as Record<string, Local>;
  for (const key of Object.keys(json)) fields[key] = jsonValueMessage(json[key]);
  return { fields };
}

/** A tagged, length-delimited message value; a Struct field's JSON object is converted first. */
function taggedMessage(number: number, field: DescField & { message: DescMessage }): WriteValue {
  const write = messageWriter(field.message);
  const json = holdsJson(field);
  return (writer, value) => {
    writer.tag(number, WireType.LengthDelimited).fork();
    write(writer, json ? jsonStructMessage(value as JsonObject) : (value as Local));
    writer.join();
  };
}

/** Turns a map key (always a string locally) back into its scalar type, as protobuf-es does. */
function mapKeyOf(type: ScalarType): (key: string) => unknown {
  switch (type) {
    case ScalarType.STRING:
      return (key) => key;
    case ScalarType.BOOL:
      return (key) => key === "true";
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return (key) => protoInt64.parse(key);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return (key) => protoInt64.uParse(key);
    default:
      return (key) => Number.parseInt(key, 10);
  }
}

/** Whether an implicit-presence value is its type's zero value, which proto3 does not write. */
function zeroTest(field: DescField & { fieldKind: "scalar" | "enum" }): (value: unknown) => boolean {
  if (field.fieldKind === "enum") {
    const zero = field.enum.values[0]?.number ?? 0;
    return (value) => value === zero;
  }
  switch (field.scalar) {
    case ScalarType.BOOL:
      return (value) => value === false;
    case ScalarType.STRING:
      return (value) => value === "";
    case ScalarType.BYTES:
      return (value) => value instanceof Uint8Array && value.byteLength === 0;
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      // -0 is not the zero value: it is written.
      return (value) => Object.is(value, 0);
    default:
      // 0, 0n and "0" (a 64-bit integer as a string).
      return (value) => value == 0;
  }
}

function fieldWriter(field: DescField): WriteMessage {
  const name = field.localName;
  const number = field.number;
  switch (field.fieldKind) {
    case "list": {
      const item = field.listKind === "message" ? taggedMessage(number, field) : undefined;
      if (item) {
        return (writer, message) => {
          for (const value of message[name] as unknown[]) item(writer, value);
        };
      }
      const type = field.listKind === "enum" ? ScalarType.INT32 : (field.scalar as ScalarType);
      if (field.packed) {
        const write = scalarWriter(type);
        return (writer, message) => {
          const values = message[name] as unknown[];
          if (values.length === 0) return;
          writer.tag(number, WireType.LengthDelimited).fork();
          for (const value of values) write(writer, value);
          writer.join();
        };
      }
      const tagged = taggedScalar(number, type);
      return (writer, message) => {
        for (const value of message[name] as unknown[]) tagged(writer, value);
      };
    }
    case "map": {
      const key = taggedScalar(1, field.mapKey);
      const keyOf = mapKeyOf(field.mapKey);
      const value = field.mapKind === "message" ? taggedMessage(2, field) : taggedScalar(2, field.mapKind === "enum" ? ScalarType.INT32 : (field.scalar as ScalarType));
      return (writer, message) => {
        const record = message[name] as Record<string, unknown>;
        for (const entry of Object.keys(record)) {
          writer.tag(number, WireType.LengthDelimited).fork();
          key(writer, keyOf(entry));
          value(writer, record[entry]);
          writer.join();
        }
      };
    }
    default: {
      const write = field.fieldKind === "message" ? taggedMessage(number, field) : taggedScalar(number, field.fieldKind === "enum" ? ScalarType.INT32 : field.scalar);
      if (field.oneof) {
        const group = field.oneof.localName;
        return (writer, message) => {
          const chosen = message[group] as { case: string | undefined; value?: unknown };
          if (chosen.case === name) write(writer, chosen.value);
        };
      }
      if (field.fieldKind === "message" || field.presence !== FeatureSet_FieldPresence.IMPLICIT) {
        return (writer, message) => {
          const value = message[name];
          if (value !== undefined && Object.hasOwn(message, name)) write(writer, value);
        };
      }
      const isZero = zeroTest(field);
      return (writer, message) => {
        const value = message[name];
        if (!isZero(value)) write(writer, value);
      };
    }
  }
}

const writers = new WeakMap<DescMessage, WriteMessage>();

/** The compiled writer of a message type: its set fields in field-number order, then its unknown fields, as `toBinary` writes them. */
function messageWriter(desc: DescMessage): WriteMessage {
  const cached = writers.get(desc);
  if (cached) return cached;
  const fields: WriteMessage[] = [];
  const write: WriteMessage = (writer, message) => {
    for (const field of fields) field(writer, message);
    const unknown = message.$unknown as UnknownField[] | undefined;
    if (unknown) for (const { no, wireType, data } of unknown) writer.tag(no, wireType).raw(data);
  };
  // Registered before its fields compile, so a recursive type (Struct, Value) finds it.
  writers.set(desc, write);
  for (const field of [...desc.fields].sort((a, b) => a.number - b.number)) fields.push(fieldWriter(field));
  return write;
}

/**
 * Whether this writer covers the message type and all it contains. Proto2 required fields,
 * groups (delimited encoding) and unwrapped wrapper types are left to `toBinary`; the
 * Switchyard protos have none of them.
 */
function covered(desc: DescMessage, seen = new Set<DescMessage>()): boolean {
  if (seen.has(desc)) return true;
  seen.add(desc);
  return desc.fields.every((field) => {
    if (field.presence === FeatureSet_FieldPresence.LEGACY_REQUIRED) return false;
    if (field.fieldKind === "list" && field.listKind !== "message") return true;
    if (field.fieldKind === "scalar" || field.fieldKind === "enum" || (field.fieldKind === "map" && field.mapKind !== "message")) return true;
    if ("delimitedEncoding" in field && field.delimitedEncoding) return false;
    if (field.fieldKind === "message" && !field.oneof && isWrapperDesc(field.message)) return false;
    return covered(field.message, seen);
  });
}

const coverage = new WeakMap<DescMessage, boolean>();

/**
 * Encodes `message` as one uncompressed gRPC frame: the 5-byte prefix, then exactly the bytes
 * `toBinary(schema, message)` gives (same field order, presence rules, map order and unknown
 * fields). A value its field cannot hold throws, as it does in `toBinary`.
 */
export function grpcFrame<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): Buffer {
  let supported = coverage.get(schema);
  if (supported === undefined) coverage.set(schema, (supported = covered(schema)));
  if (!supported) {
    const bytes = toBinary(schema, message);
    const frame = Buffer.allocUnsafe(GRPC_PREFIX_BYTES + bytes.byteLength);
    frame[0] = 0;
    frame.writeUInt32BE(bytes.byteLength, 1);
    frame.set(bytes, GRPC_PREFIX_BYTES);
    return frame;
  }
  const writer = shared;
  let bytes: Uint8Array;
  try {
    writer.raw(PREFIX);
    messageWriter(schema)(writer, message as unknown as Local);
    bytes = writer.finish();
  } catch (error) {
    // A failed write leaves the writer mid-message: the next frame starts on a fresh one.
    shared = new BinaryWriter();
    throw error;
  }
  // A rare large answer (an image, a long document) is not held for the life of the process.
  if (bytes.byteLength > RETAIN_UP_TO) shared = new BinaryWriter();
  let frame: Buffer;
  if (bytes.byteLength <= COPY_BELOW) {
    // A small result may live on the V8 heap, and reading its `.buffer` would move it off-heap
    // (an allocation and a copy); a copy into Node's buffer pool costs less.
    frame = Buffer.allocUnsafe(bytes.byteLength);
    frame.set(bytes);
  } else {
    frame = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  frame.writeUInt32BE(bytes.byteLength - GRPC_PREFIX_BYTES, 1);
  return frame;
}
