import { afterEach, describe, expect, it, vi } from "vitest";
import { ArgumentsClosure } from "../../../src/providers/openai/arguments-closure.js";

function closure(...fragments: string[]): ArgumentsClosure {
  const arguments_ = new ArgumentsClosure();
  for (const fragment of fragments) arguments_.append(fragment);
  return arguments_;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("ArgumentsClosure", () => {
  it.each([
    ['{"x":1}', true],
    [' { "a" : [1, {"b": "}"}] } \n', true],
    ['{"q":"say \\"}\\" and \\\\"}', true],
    ["[1,2]", true],
    ['"text"', true],
    ["{}", true],
    ["", false],
    ["   ", false],
    ['{"x":', false],
    ['{"x":"}"', false],
    ['{"x":1}}', false],
    ['{"x":1} {"y":2}', false],
    ["{a}", false],
    ["5", false],
    ["true", false],
  ])("%j is whole: %s", (text, whole) => {
    expect(closure(text).complete()).toBe(whole);
    // The same verdict whatever the fragments.
    expect(closure(...text.split("")).complete()).toBe(whole);
  });

  it("parses a long call's text at most once, however many fragments it came in", () => {
    const parse = vi.spyOn(JSON, "parse");
    const arguments_ = new ArgumentsClosure();
    arguments_.append('{"content":"');
    for (let index = 0; index < 20_000; index++) {
      arguments_.append("abcd");
      expect(arguments_.complete()).toBe(false);
    }
    arguments_.append('"}');
    for (let index = 0; index < 100; index++) expect(arguments_.complete()).toBe(true);
    expect(parse).toHaveBeenCalledTimes(1);
  });
});
