import { describe, expect, it } from "vitest";
import { callOptions, user } from "../support/proto-builders.js";
import { replayTransport } from "../support/replay-transport.js";
import { adapterFor, chatInput, chunk, sse } from "./openai/openai-test-setup.js";

describe("a stream whose body is all buffered", () => {
  it("gives the event loop turns while it is translated, instead of running to its end on microtasks", async () => {
    // 100,000 events in one body chunk: translating them takes far more than one 10 ms slice.
    const body = sse([chunk({ role: "assistant", content: "" }), ...Array.from({ length: 100_000 }, () => chunk({ content: "a" })), chunk({}, { finish: "stop" })]);
    let turned = false;
    let turnedBeforeEnd = false;
    let texts = 0;
    for await (const event of adapterFor(replayTransport({ body, sliceSizes: [body.length] })).stream(chatInput({ messages: [user("hi")] }), callOptions("gpt-4o-mini"))) {
      // Armed once the body has arrived (its one slice comes after a turn of its own).
      if (event.event.case === "responseStart") {
        setImmediate(() => {
          turned = true;
        });
      }
      if (event.event.case === "textDelta") texts++;
      if (event.event.case === "finish") turnedBeforeEnd = turned;
    }
    expect(texts).toBe(100_000);
    expect(turnedBeforeEnd).toBe(true);
  });
});
