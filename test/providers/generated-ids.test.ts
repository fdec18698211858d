import { describe, expect, it } from "vitest";
import { distinctToolCallId, newToolCallId, randomBase62 } from "../../src/providers/generated-ids.js";

describe("newToolCallId", () => {
  it("makes short, portable, unique ids, across refills of the random pool", () => {
    // 2000 ids × 24 characters draw more than the 4 KiB pool several times over.
    const ids = new Set(Array.from({ length: 2000 }, () => newToolCallId()));
    expect(ids.size).toBe(2000);
    for (const id of ids) expect(id).toMatch(/^call_[0-9A-Za-z]{24}$/);
  });
});

describe("randomBase62", () => {
  it("uses every base62 character about equally often", () => {
    const counts = new Map<string, number>();
    const text = randomBase62(62 * 4000);
    expect(text).toHaveLength(248_000);
    for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
    expect(counts.size).toBe(62);
    // Expected 4000 each (standard deviation about 63); a modulo bias (bytes 248–255 kept) would put
    // 8 characters near 4500. The bound is 5.6 deviations: a fair source fails about once a million
    // runs (at 1,000 each and 4.8 deviations, it failed once in CI).
    for (const count of counts.values()) expect(Math.abs(count - 4000)).toBeLessThan(350);
  });
});

describe("distinctToolCallId", () => {
  it("keeps a provider's id the choice has not sent yet, and generates one for a repeated, empty or missing id", () => {
    const sent = new Set<string>();
    const ids = ["a", "a", "", undefined, 7, "b"].map((id) => distinctToolCallId(id, sent));
    expect(ids[0]).toBe("a");
    expect(ids[5]).toBe("b");
    for (const id of ids.slice(1, 5)) expect(id).toMatch(/^call_[0-9A-Za-z]{24}$/);
    expect(new Set(ids).size).toBe(6);
    expect(sent).toEqual(new Set(ids));
  });
});
