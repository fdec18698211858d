import { describe, expect, it } from "vitest";
import { decodeSse } from "../../src/providers/sse-decoder.js";
import { awkwardSlices, readFixture } from "../support/replay-transport.js";

async function collect(text: string, sizes?: number[]) {
  const bytes = new TextEncoder().encode(text);
  async function* source() {
    for (const slice of sizes ? awkwardSlices(bytes, sizes) : [bytes]) yield slice;
  }
  const events = [];
  for await (const event of decodeSse(source())) events.push(event);
  return events;
}

describe("decodeSse", () => {
  it("splits events on LF, CRLF and CR line ends, also across chunk boundaries", async () => {
    const text = "data: a\n\ndata: b\r\n\r\ndata: c\r\rdata: d\n\n";
    for (const sizes of [[1], [2], [3, 1], [64]]) {
      expect((await collect(text, sizes)).map((event) => event.data)).toEqual(["a", "b", "c", "d"]);
    }
  });

  it("keeps event names, joins multi-line data and skips comments and empty events", async () => {
    const events = await collect(": keep-alive\n\nevent: ping\ndata: {\"x\":1}\ndata: 2\n\nevent: empty\n\n");
    expect(events).toEqual([{ event: "ping", data: '{"x":1}\n2' }]);
  });

  it("decodes multi-byte UTF-8 split between chunks", async () => {
    const events = await collect('data: {"t":"héllo 🌍"}\n\n', [1]);
    expect(JSON.parse(events[0]!.data)).toEqual({ t: "héllo 🌍" });
  });

  it("dispatches an event left unterminated at EOF", async () => {
    expect((await collect("data: last")).map((event) => event.data)).toEqual(["last"]);
  });

  it("decodes the recorded Gemini CRLF stream into its JSON events", async () => {
    const events = await collect(readFixture("gemini/stream-text-usage-every-chunk.sse.txt"), [7, 3, 1, 13]);
    expect(events.length).toBeGreaterThan(1);
    for (const event of events) expect(() => JSON.parse(event.data)).not.toThrow();
  });

  it("fails on an event larger than the bound instead of buffering it", async () => {
    const source = async function* () {
      yield new TextEncoder().encode(`data: ${"x".repeat(100)}`);
    };
    await expect(async () => {
      for await (const _event of decodeSse(source(), 50)) void _event;
    }).rejects.toMatchObject({ reason: "INVALID_PROVIDER_RESPONSE" });
  });
});
