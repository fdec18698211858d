import { describe, expect, it } from "vitest";
import { FinishReason } from "../../../gen/switchyard/v1/chat_pb.js";
import { TWO_TOOL_RESULTS_TEXT } from "../../support/provider-fixture-rows.js";
import { readFixture } from "../../support/replay-transport.js";
import { callOptions, user } from "../../support/proto-builders.js";
import { collect } from "../../support/stream-collectors.js";
import { usage } from "../../support/usage-summary.js";
import { adapterFor, chatInput, fixtureBody, joinText, sse, summarize, twoToolResultsInput, type EventSummary } from "./anthropic-test-setup.js";

describe("gateway-enforced stop sequences while streaming", () => {
  it("cuts at a whitespace-only stop (after-two-tool-results fixture, stop \"\\n\"), finishes stop with the usage (completion estimated from the delivered text) and aborts the upstream", async () => {
    const replay = sse(readFixture("anthropic/messages-stream-after-two-tool-results.sse.txt"));
    const events = summarize(await collect(adapterFor(replay).stream(twoToolResultsInput(["\n"]), callOptions("claude-3-5-haiku-latest"))));
    // Not message_start's placeholder (output_tokens 2): the delivered text's estimate, 44 characters.
    expect(joinText(events).slice(1)).toEqual<EventSummary[]>([
      ["text", "Here are two fun names for your pet pelican:"],
      ["finish", FinishReason.STOP, "stop_sequence"],
      ["usage", usage({ prompt: 465, completion: 11 })],
    ]);
    expect(replay.requests[0]?.signal.aborted).toBe(true);
    // "\n" is never sent upstream, so the body still equals the recorded one.
    expect(replay.requests[0]?.json).toEqual(fixtureBody("messages-stream-after-two-tool-results"));
  });

  it("holds back a tail but loses no text when the stop never occurs (stop \"\\n\\n\\n\")", async () => {
    const replay = sse(readFixture("anthropic/messages-stream-after-two-tool-results.sse.txt"));
    const events = joinText(summarize(await collect(adapterFor(replay).stream(twoToolResultsInput(["\n\n\n"]), callOptions("claude-3-5-haiku-latest")))));
    expect(events.slice(1)).toEqual<EventSummary[]>([
      ["text", TWO_TOOL_RESULTS_TEXT],
      ["finish", FinishReason.STOP, "end_turn"],
      ["usage", usage({ prompt: 465, completion: 95 })],
    ]);
  });

  it("finds a stop split across two deltas and never emits its first half (hand-made stream)", async () => {
    const body = [
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_h","model":"m","usage":{"input_tokens":4,"output_tokens":1}}}\n\n',
      'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"para one\\n"}}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\\npara two"}}\n\n',
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}}\n\n',
      'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    ].join("");
    const replay = sse(body);
    const events = summarize(await collect(adapterFor(replay).stream(chatInput({ maxTokens: 10, stop: ["\n\n"], messages: [user("hi")] }), callOptions("claude-sonnet-4-5"))));
    expect(events.slice(1)).toEqual<EventSummary[]>([
      ["text", "para one"],
      ["finish", FinishReason.STOP, "stop_sequence"],
      ["usage", usage({ prompt: 4, completion: 2 })],
    ]);
  });

  const frame = (data: object) => `event: ${(data as { type: string }).type}\ndata: ${JSON.stringify(data)}\n\n`;

  it("at a cut, the completion tokens are the delivered text's estimate, marked estimated, and the prompt side is message_start's", async () => {
    const body = [
      frame({ type: "message_start", message: { id: "msg_p", model: "m", usage: { input_tokens: 1200, cache_read_input_tokens: 800, output_tokens: 1 } } }),
      frame({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
      frame({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Line one\nLine two" } }),
      frame({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: " and more" } }),
      frame({ type: "content_block_stop", index: 0 }),
      frame({ type: "message_stop" }),
    ].join("");
    const collected = await collect(adapterFor(sse(body)).stream(chatInput({ maxTokens: 10, stop: ["\n"], messages: [user("hi")] }), callOptions("claude-sonnet-4-5")));
    expect(summarize(collected).slice(1)).toEqual<EventSummary[]>([
      ["text", "Line one"],
      ["finish", FinishReason.STOP, "stop_sequence"],
      ["usage", usage({ prompt: 2000, completion: 2, cached: 800 })],
    ]);
    const last = collected.at(-1)?.event;
    expect(last?.case === "usage" && last.value.estimated).toBe(true);
  });

  it("at a cut after thinking, the estimate counts the thinking delivered too (Anthropic counts it as output)", async () => {
    const body = [
      frame({ type: "message_start", message: { id: "msg_t", model: "m", usage: { input_tokens: 10, output_tokens: 1 } } }),
      frame({ type: "content_block_start", index: 0, content_block: { type: "thinking", thinking: "" } }),
      frame({ type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "Let me think about it." } }),
      frame({ type: "content_block_delta", index: 0, delta: { type: "signature_delta", signature: "c2ln" } }),
      frame({ type: "content_block_stop", index: 0 }),
      frame({ type: "content_block_start", index: 1, content_block: { type: "text", text: "" } }),
      frame({ type: "content_block_delta", index: 1, delta: { type: "text_delta", text: "Line one\nLine two" } }),
      frame({ type: "content_block_stop", index: 1 }),
      frame({ type: "message_stop" }),
    ].join("");
    const collected = await collect(adapterFor(sse(body)).stream(chatInput({ maxTokens: 2000, stop: ["\n"], messages: [user("hi")] }), callOptions("claude-sonnet-4-5")));
    // 22 characters of thinking and 8 of text: 30 / 4, rounded up.
    expect(summarize(collected).at(-1)).toEqual(["usage", usage({ prompt: 10, completion: 8 })]);
  });

  it("keeps a cited block's url_citation clipped to a cut inside it, as the non-streaming answer does", async () => {
    const source = { type: "web_search_result_location", cited_text: "x", url: "https://a.example/", title: "A", encrypted_index: "E" };
    const body = [
      frame({ type: "message_start", message: { id: "msg_c", model: "m", usage: { input_tokens: 5, output_tokens: 1 } } }),
      frame({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
      frame({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Intro. " } }),
      frame({ type: "content_block_stop", index: 0 }),
      frame({ type: "content_block_start", index: 1, content_block: { type: "text", text: "", citations: [] } }),
      frame({ type: "content_block_delta", index: 1, delta: { type: "citations_delta", citation: source } }),
      frame({ type: "content_block_delta", index: 1, delta: { type: "text_delta", text: "Alpha\nBeta" } }),
      frame({ type: "content_block_stop", index: 1 }),
      frame({ type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 5 } }),
      frame({ type: "message_stop" }),
    ].join("");
    const events = await collect(adapterFor(sse(body)).stream(chatInput({ maxTokens: 50, stop: ["\n"], messages: [user("hi")] }), callOptions("claude-sonnet-4-5")));
    const annotations = events.flatMap((event) => (event.event.case === "annotationDelta" ? event.event.value.annotations : []));
    expect(annotations.map((note) => ({ type: note.type, url: note.urlCitation?.url, start: note.urlCitation?.startIndex, end: note.urlCitation?.endIndex }))).toEqual([
      { type: "url_citation", url: "https://a.example/", start: 7, end: 12 },
    ]);
    expect(joinText(summarize(events)).slice(1)).toEqual<EventSummary[]>([
      ["text", "Intro. Alpha"],
      ["other", "annotationDelta"],
      ["finish", FinishReason.STOP, "stop_sequence"],
      ["usage", usage({ prompt: 5, completion: 3 })],
    ]);
  });
});
