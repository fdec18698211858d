import { describe, expect, it } from "vitest";
import { JsonArrayDecoder } from "../../src/providers/json-array-decoder.js";
import { thrownGatewayError } from "../support/thrown.js";

const encode = (text: string) => new TextEncoder().encode(text);

/** Feeds `text` in slices of `size` bytes; returns the data of every event, and after which slice each came. */
function decode(text: string, size: number, max = 1_000_000): { data: string[]; slices: number[] } {
  const decoder = new JsonArrayDecoder(max, "gem");
  const bytes = encode(text);
  const data: string[] = [];
  const slices: number[] = [];
  let slice = 0;
  for (let at = 0; at < bytes.length; at += size, slice++) {
    for (const event of decoder.push(bytes.subarray(at, at + size))) {
      data.push(event.data);
      slices.push(slice);
    }
  }
  for (const event of decoder.end()) data.push(event.data);
  return { data, slices };
}

/** The message of the INVALID_PROVIDER_RESPONSE `run` throws. */
function refusal(run: () => unknown): string {
  const error = thrownGatewayError(run);
  expect(error.reason).toBe("INVALID_PROVIDER_RESPONSE");
  return error.message;
}

describe("JsonArrayDecoder", () => {
  const elements = [{ a: "x}]\"{[", b: [1, { c: "é😀" }] }, { d: "\\\\" }, {}];
  const body = `\n[${elements.map((element) => JSON.stringify(element)).join("\r\n,")}]\n`;

  it.each([1, 2, 3, 7, 64, 100_000])("gives each element's JSON, in order, in slices of %i bytes", (size) => {
    expect(decode(body, size).data.map((data) => JSON.parse(data) as unknown)).toEqual(elements);
  });

  it("gives an element as soon as it closes, before the array ends", () => {
    const { slices } = decode(body, 8);
    const total = Math.ceil(encode(body).length / 8);
    expect(slices[0]).toBeLessThan(total - 1);
    expect(slices).toEqual([...slices].sort((a, b) => a - b));
  });

  it("reads one bare object as one element, and an empty array as none", () => {
    expect(decode('{"error":{"code":500}}', 4).data).toEqual(['{"error":{"code":500}}']);
    expect(decode(" [ ] ", 1).data).toEqual([]);
  });

  it.each([
    ["an empty body", "", "empty"],
    ["a body cut inside an element", '[{"a":1},{"b":', "ended inside"],
    ["a body cut before the closing bracket", '[{"a":1}', "ended inside"],
    ["text that is not JSON", "<html>", "unexpected '<'"],
    ["an array of numbers", "[1,2]", "unexpected '1'"],
    ["something after the array", '[{"a":1}] {"b":2}', "unexpected '{'"],
  ])("refuses %s", (_name, text, words) => {
    expect(refusal(() => decode(text, 3))).toContain(words);
  });

  it("refuses an element beyond the bound", () => {
    expect(refusal(() => decode(`[{"a":"${"x".repeat(500)}"}]`, 16, 100))).toContain("oversized");
  });
});
