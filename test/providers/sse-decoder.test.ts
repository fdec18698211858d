import { describe, expect, it } from "vitest";
import { SseParser, type SseEvent } from "../../src/providers/sse-decoder.js";
import { awkwardSlices, readFixture } from "../support/replay-transport.js";
import { thrownGatewayError } from "../support/thrown.js";

function collect(text: string, sizes?: number[], maxEventChars?: number): SseEvent[] {
  const bytes = new TextEncoder().encode(text);
  const parser = new SseParser(maxEventChars);
  const events: SseEvent[] = [];
  for (const slice of sizes ? awkwardSlices(bytes, sizes) : [bytes]) events.push(...parser.push(slice));
  events.push(...parser.end());
  return events;
}

describe("SseParser", () => {
  it("splits events on LF, CRLF and CR line ends, also across chunk boundaries", () => {
    const text = "data: a\n\ndata: b\r\n\r\ndata: c\r\rdata: d\n\n";
    for (const sizes of [[1], [2], [3, 1], [64]]) {
      expect((collect(text, sizes)).map((event) => event.data)).toEqual(["a", "b", "c", "d"]);
    }
  });

  it("keeps event names, joins multi-line data and skips comments and empty events", () => {
    const events = collect(": keep-alive\n\nevent: ping\ndata: {\"x\":1}\ndata: 2\n\nevent: empty\n\n");
    expect(events).toEqual([{ event: "ping", data: '{"x":1}\n2' }]);
  });

  it("decodes multi-byte UTF-8 split between chunks", () => {
    const events = collect('data: {"t":"héllo 🌍"}\n\n', [1]);
    expect(JSON.parse(events[0]!.data)).toEqual({ t: "héllo 🌍" });
  });

  it("dispatches an event whose lines ended at EOF without the blank line (a server that closes after its last line)", () => {
    expect(collect("data: last\n").map((event) => event.data)).toEqual(["last"]);
    expect(collect("data: one\r\ndata: two\r\n").map((event) => event.data)).toEqual(["one\ntwo"]);
  });

  it("drops an event whose last line was cut off at EOF (a connection cut mid-event), as the SSE spec drops an incomplete event", () => {
    expect(collect('data: {"a":1}\n\ndata: {"choices":[{"delta":{"content":"Hel').map((event) => event.data)).toEqual(['{"a":1}']);
    expect(collect("data: first line\ndata: sec")).toEqual([]);
  });

  it("decodes the recorded Gemini CRLF stream into its JSON events", () => {
    const events = collect(readFixture("gemini/stream-text-usage-every-chunk.sse.txt"), [7, 3, 1, 13]);
    expect(events.length).toBeGreaterThan(1);
    for (const event of events) expect(() => JSON.parse(event.data)).not.toThrow();
  });

  it("fails on an event larger than the bound instead of buffering it", () => {
    expect(() => collect(`data: ${"x".repeat(100)}`, undefined, 50)).toThrow(expect.objectContaining({ reason: "INVALID_PROVIDER_RESPONSE" }));
    expect(() => collect(`data: ${"x".repeat(30)}\ndata: ${"y".repeat(30)}\n`, [10], 50)).toThrow(/oversized stream event/);
  });

  it("gives the same events however the body is cut, also between CR and LF and inside UTF-8 characters", () => {
    const text = "\uFEFFdata: a\r\r\ndata: é🌍\r: c\rdata:b\n\nevent: x\rdata: y\r\n\r\n\r\ndata: \uFEFFz\r";
    const whole = collect(text);
    expect(whole).toEqual([{ event: "message", data: "a" }, { event: "message", data: "é🌍\nb" }, { event: "x", data: "y" }, { event: "message", data: "\uFEFFz" }]);
    const bytes = new TextEncoder().encode(text);
    for (let first = 1; first < bytes.length; first++) {
      for (let second = first; second < bytes.length; second++) {
        const parser = new SseParser();
        const events = [...parser.push(bytes.subarray(0, first)), ...parser.push(bytes.subarray(first, second)), ...parser.push(bytes.subarray(second)), ...parser.end()];
        expect(events, `cut at ${first} and ${second}`).toEqual(whole);
      }
    }
  });

  it("reassembles a long line from many small or large chunks", () => {
    const cases = [
      { long: "é🌍x".repeat(5_000), sizes: [[1], [7, 3, 1, 13]] },
      { long: "y".repeat(100_000), sizes: [[1500], [4096, 1], [65_536]] },
    ];
    for (const { long, sizes: sizeList } of cases) {
      const text = `event: big\r\ndata: ${long}\r\ndata: tail\r\n\r\ndata: next\n\n`;
      const expected = [{ event: "big", data: `${long}\ntail` }, { event: "message", data: "next" }];
      for (const sizes of sizeList) expect(collect(text, sizes), `sizes ${sizes.join(",")}`).toEqual(expected);
    }
  });

  it("fails on a line larger than the bound as soon as it is buffered, before its end arrives", () => {
    const parser = new SseParser(50);
    const piece = new TextEncoder().encode("x".repeat(10));
    parser.push(new TextEncoder().encode("data: "));
    for (let i = 0; i < 4; i++) parser.push(piece);
    expect(() => parser.push(piece)).toThrow(/oversized stream line/);
  });

  it("names the provider account in the error when it knows it", () => {
    const parser = new SseParser(20, "acct");
    const error = thrownGatewayError(() => parser.push(new TextEncoder().encode(`data: ${"x".repeat(30)}`)));
    expect(error.rawMessage).toBe('provider "acct" sent an oversized stream line');
    expect(error.facts).toMatchObject({ provider: "acct", afterFirstByte: true });
  });

  it("scans only the new text of each chunk: a long line fed in small pieces costs linear work, not quadratic", () => {
    // Counts the characters the parser inspects (it scans with charCodeAt). Before the fix each push
    // re-scanned the whole pending line: a 128 KB line in 1 KB pieces cost ~8.4 million reads.
    const piece = new TextEncoder().encode("x".repeat(1024));
    const parser = new SseParser();
    parser.push(new TextEncoder().encode("data: "));
    const perPush: number[] = [];
    for (let i = 0; i < 128; i++) perPush.push(charReadsDuring(() => parser.push(piece)));
    let events: SseEvent[] = [];
    const last = charReadsDuring(() => {
      events = parser.push(new TextEncoder().encode("\n\n"));
    });
    expect(events).toEqual([{ event: "message", data: "x".repeat(128 * 1024) }]);
    expect(Math.max(...perPush), "characters read by one push of a 1 KB piece").toBeLessThanOrEqual(piece.length + 8);
    expect(last, "characters read by the push that ends the line").toBeLessThanOrEqual(16);
  });
});

/** How many times `run` read a character of a string with String.prototype.charCodeAt. */
function charReadsDuring(run: () => void): number {
  const original = String.prototype.charCodeAt;
  let reads = 0;
  String.prototype.charCodeAt = function (this: string, index: number): number {
    reads++;
    return original.call(this, index);
  };
  try {
    run();
  } finally {
    String.prototype.charCodeAt = original;
  }
  return reads;
}
