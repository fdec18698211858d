import { describe, expect, it } from "vitest";
import { SseParser, type SseEvent } from "../../src/providers/sse-decoder.js";
import { awkwardSlices, readFixture } from "../support/replay-transport.js";

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

  it("dispatches an event left unterminated at EOF", () => {
    expect((collect("data: last")).map((event) => event.data)).toEqual(["last"]);
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
});
