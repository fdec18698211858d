/**
 * Audit of the Anthropic adapter against what current Messages API traffic holds, through the real
 * gateway (REST, fake Anthropic upstream): request fields the gateway sends, content blocks and
 * events it reads back.
 * @see https://docs.claude.com/en/api/messages
 * @see https://docs.claude.com/en/docs/build-with-claude/streaming
 */
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { FinishReason } from "../../../gen/switchyard/v1/chat_pb.js";
import { sseAnswer } from "../../support/fake-upstream.js";
import { callOptions, user } from "../../support/proto-builders.js";
import { replayTransport } from "../../support/replay-transport.js";
import { collect } from "../../support/stream-collectors.js";
import { antEvent, antMessage, antMessageStart, antTextStream, postChat, useAnthropicRestWorld } from "./anthropic-rest-harness.js";
import { adapterFor, chatInput, joinText, summarize } from "./anthropic-test-setup.js";

const world = useAnthropicRestWorld();

const getWeather = { type: "function", function: { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } } } };
const webSearch = { type: "web_search_20250305", name: "web_search", max_uses: 2 };

describe("provider_options.anthropic.tools", () => {
  it("adds server tools after the request's function tools instead of replacing them", async () => {
    world.first.setDefault(antMessage([{ type: "text", text: "ok" }]));
    const answer = await postChat(world, { tools: [getWeather], tool_choice: { type: "function", function: { name: "get_weather" } }, provider_options: { anthropic: { tools: [webSearch] } } });
    expect(answer.status).toBe(200);
    const sent = world.first.lastRequest().body as { tools: unknown[]; tool_choice: unknown };
    expect(sent.tools).toEqual([{ name: "get_weather", description: "Weather", input_schema: getWeather.function.parameters }, webSearch]);
    expect(sent.tool_choice).toEqual({ type: "tool", name: "get_weather" });
  });

  it("are the only tools when the request declares none", async () => {
    world.first.setDefault(antMessage([{ type: "text", text: "ok" }]));
    await postChat(world, { provider_options: { anthropic: { tools: [webSearch] } } });
    expect((world.first.lastRequest().body as { tools: unknown[] }).tools).toEqual([webSearch]);
  });
});

/** Every block type a current Messages response can hold, in the order a web-search answer has them. */
const cited = { type: "web_search_result_location", url: "https://a.example/shannon", title: "Shannon", encrypted_index: "ei", cited_text: "born 1916" };
const everyBlock = [
  { type: "thinking", thinking: "Search first.", signature: "SIG-1" },
  { type: "redacted_thinking", data: "REDACTED-1" },
  { type: "text", text: "Let me search. " },
  { type: "server_tool_use", id: "srvtoolu_1", name: "web_search", input: { query: "shannon" } },
  { type: "web_search_tool_result", tool_use_id: "srvtoolu_1", content: [{ type: "web_search_result", url: "https://a.example/shannon", title: "Shannon", encrypted_content: "enc", page_age: null }] },
  { type: "text", text: "Shannon 😀 was born in 1916.", citations: [cited] },
  { type: "server_tool_use", id: "srvtoolu_2", name: "web_fetch", input: { url: "https://b.example" } },
  { type: "web_fetch_tool_result", tool_use_id: "srvtoolu_2", content: { type: "web_fetch_result", url: "https://b.example", content: { type: "document", source: { type: "text", media_type: "text/plain", data: "doc" } } } },
  { type: "server_tool_use", id: "srvtoolu_3", name: "code_execution", input: { code: "print(1)" } },
  { type: "code_execution_tool_result", tool_use_id: "srvtoolu_3", content: { type: "code_execution_result", stdout: "1\n", stderr: "", return_code: 0, content: [] } },
  { type: "container_upload", file_id: "file_1" },
  { type: "mcp_tool_use", id: "mcptoolu_1", name: "echo", server_name: "srv", input: { a: 1 } },
  { type: "mcp_tool_result", tool_use_id: "mcptoolu_1", is_error: false, content: [{ type: "text", text: "echoed" }] },
  { type: "block_from_the_future", payload: { x: 1 } },
  { type: "text", text: " Done.", citations: [{ type: "char_location", cited_text: "x", document_index: 0, start_char_index: 0, end_char_index: 1 }] },
  { type: "tool_use", id: "toolu_1", name: "get_weather", input: {} },
];

describe("every response content block type", () => {
  const visible = "Let me search. Shannon 😀 was born in 1916. Done.";
  // "Let me search. " is 15 characters; the cited block is 27 (the emoji is one character).
  const annotation = { type: "url_citation", url_citation: { url: cited.url, title: cited.title, start_index: 15, end_index: 42 } };

  it("non-streaming: the visible answer, the tool call, signed reasoning and the web citation survive; the rest is skipped", async () => {
    world.first.setDefault(antMessage(everyBlock, { stop_reason: "tool_use", usage: { input_tokens: 5, output_tokens: 30, server_tool_use: { web_search_requests: 1, web_fetch_requests: 1 } } }));
    const answer = await postChat(world, { tools: [getWeather], provider_options: { anthropic: { tools: [webSearch] } } });
    expect(answer.status).toBe(200);
    const choice = (answer.json().choices as Record<string, unknown>[])[0];
    expect(choice).toMatchObject({ finish_reason: "tool_calls" });
    expect(choice?.message).toMatchObject({
      content: visible,
      reasoning_content: "Search first.",
      thinking_blocks: [{ type: "thinking", thinking: "Search first.", signature: "SIG-1" }, { type: "redacted_thinking", data: "REDACTED-1" }],
      tool_calls: [{ id: "toolu_1", type: "function", function: { name: "get_weather", arguments: "{}" } }],
      annotations: [annotation],
    });
  });
});

describe("every stop_reason", () => {
  const table = [
    ["end_turn", "stop", FinishReason.STOP],
    ["max_tokens", "length", FinishReason.LENGTH],
    ["stop_sequence", "stop", FinishReason.STOP],
    ["tool_use", "tool_calls", FinishReason.TOOL_CALLS],
    ["pause_turn", "stop", FinishReason.STOP],
    ["refusal", "content_filter", FinishReason.CONTENT_FILTER],
    ["model_context_window_exceeded", "length", FinishReason.LENGTH],
    ["reason_from_the_future", "stop", FinishReason.STOP],
  ] as const;
  const withTool = [{ type: "text", text: "x" }, { type: "tool_use", id: "toolu_9", name: "get_weather", input: { city: "Oslo" } }];

  it.each(table)("%s → finish_reason %s, streamed or not, raw value kept in the proto", async (reason, openai, proto) => {
    const stopSequence = reason === "stop_sequence" ? "END" : null;
    world.first.setDefault(antMessage(withTool, { stop_reason: reason, stop_sequence: stopSequence }));
    const unary = await postChat(world, { tools: [getWeather] });
    expect((unary.json().choices as { finish_reason: string }[])[0]?.finish_reason).toBe(openai);

    const stream = antTextStream("x").chunks.map((event) => String(event).replace('"stop_reason":"end_turn","stop_sequence":null', `"stop_reason":"${reason}","stop_sequence":${JSON.stringify(stopSequence)}`));
    world.first.setDefault(sseAnswer(stream));
    const streamed = await postChat(world, { stream: true });
    expect(streamed.text).toContain(`"finish_reason":"${openai}"`);
    expect(streamed.text.trimEnd().endsWith("data: [DONE]")).toBe(true);

    const replay = replayTransport({ headers: { "content-type": "text/event-stream" }, body: stream.join("") });
    const events = summarize(await collect(adapterFor(replay).stream(chatInput({ maxTokens: 100, messages: [user("hi")] }), callOptions("claude-sonnet-4-5"))));
    expect(events).toContainEqual(["finish", proto, reason]);
  });
});

describe("citations and a gateway-enforced stop sequence", () => {
  it("a citation of text the stop cut away is dropped, one it cut into ends at the cut", async () => {
    const source = (url: string) => ({ type: "web_search_result_location", url, title: url, encrypted_index: "e", cited_text: "c" });
    world.first.setDefault(antMessage([
      { type: "text", text: "Intro " },
      { type: "text", text: "fact one\nfact two", citations: [source("https://one.example")] },
      { type: "text", text: "later", citations: [source("https://two.example")] },
    ]));
    const answer = await postChat(world, { stop: ["\n"] });
    const message = (answer.json().choices as { message: Record<string, unknown> }[])[0]?.message;
    expect(message?.content).toBe("Intro fact one");
    expect(message?.annotations).toEqual([{ type: "url_citation", url_citation: { url: "https://one.example", title: "https://one.example", start_index: 6, end_index: 14 } }]);
  });

  const cutStream = (end: string[]) => [
    antMessageStart({ input_tokens: 1200, cache_read_input_tokens: 800, output_tokens: 1 }),
    antEvent({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
    antEvent({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Intro " } }),
    antEvent({ type: "content_block_stop", index: 0 }),
    antEvent({ type: "content_block_start", index: 1, content_block: { type: "text", text: "", citations: [] } }),
    antEvent({ type: "content_block_delta", index: 1, delta: { type: "citations_delta", citation: { type: "web_search_result_location", url: "https://one.example", title: "One", encrypted_index: "e", cited_text: "c" } } }),
    antEvent({ type: "content_block_delta", index: 1, delta: { type: "text_delta", text: "fact one\nfact two" } }),
    antEvent({ type: "content_block_delta", index: 1, delta: { type: "text_delta", text: " and more" } }),
    antEvent({ type: "content_block_stop", index: 1 }),
    ...end,
  ];

  it("streamed: the citation the stop cut into ends at the cut, and the usage is the delivered text's estimate, marked, not message_start's placeholder", async () => {
    world.first.setDefault(sseAnswer(cutStream([
      antEvent({ type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { input_tokens: 2400, cache_read_input_tokens: 800, output_tokens: 57 } }),
      antEvent({ type: "message_stop" }),
    ])));
    const answer = await postChat(world, { stop: ["\n"], stream: true, stream_options: { include_usage: true } });
    const chunks = chunksOf(answer.text);
    const deltas = chunks.flatMap((chunk) => (chunk.choices as { delta: Record<string, unknown> }[]).map((choice) => choice.delta));
    expect(deltas.map((delta) => delta.content ?? "").join("")).toBe("Intro fact one");
    expect(deltas.flatMap((delta) => (delta.annotations as unknown[] | undefined) ?? [])).toEqual([{ type: "url_citation", url_citation: { url: "https://one.example", title: "One", start_index: 6, end_index: 14 } }]);
    expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 2000, completion_tokens: Math.ceil("Intro fact one".length / 4), prompt_tokens_details: { cached_tokens: 800 }, estimated: true });
  });

  it("streamed: an upstream held open after the cut does not hold the caller's stream, which ends at once with the estimate", async () => {
    world.first.setDefault(sseAnswer(cutStream([]), { holdOpen: true }));
    const started = Date.now();
    const answer = await postChat(world, { stop: ["\n"], stream: true, stream_options: { include_usage: true } });
    expect(Date.now() - started).toBeLessThan(1500);
    expect(answer.text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    expect(chunksOf(answer.text).at(-1)?.usage).toMatchObject({ completion_tokens: Math.ceil("Intro fact one".length / 4), estimated: true });
  });
});

/** The stream Anthropic sends for {@link everyBlock}: text one character per delta, tool input split at every character. */
function everyBlockStream(citationFirst: boolean): string[] {
  const events = [antMessageStart({ input_tokens: 5, output_tokens: 1 })];
  everyBlock.forEach((block, index) => {
    const at = { index };
    if (block.type === "text") {
      const citations = "citations" in block ? block.citations : [];
      events.push(antEvent({ type: "content_block_start", ...at, content_block: { type: "text", text: "", ...(citations.length ? { citations: [] } : {}) } }));
      const deltas = Array.from(String(block.text)).map((character) => antEvent({ type: "content_block_delta", ...at, delta: { type: "text_delta", text: character } }));
      const cites = citations.map((citation) => antEvent({ type: "content_block_delta", ...at, delta: { type: "citations_delta", citation } }));
      events.push(...(citationFirst ? [...cites, ...deltas] : [...deltas, ...cites]));
    } else if (block.type === "thinking") {
      events.push(antEvent({ type: "content_block_start", ...at, content_block: { type: "thinking", thinking: "", signature: "" } }));
      events.push(antEvent({ type: "content_block_delta", ...at, delta: { type: "thinking_delta", thinking: block.thinking } }));
      events.push(antEvent({ type: "content_block_delta", ...at, delta: { type: "signature_delta", signature: block.signature } }));
    } else if (block.type === "server_tool_use" || block.type === "tool_use") {
      events.push(antEvent({ type: "content_block_start", ...at, content_block: { ...block, input: {} } }));
      events.push(antEvent({ type: "content_block_delta", ...at, delta: { type: "input_json_delta", partial_json: "" } }));
      for (const character of JSON.stringify(block.input === undefined ? {} : block.input).replace(/^\{\}$/, "")) {
        events.push(antEvent({ type: "content_block_delta", ...at, delta: { type: "input_json_delta", partial_json: character } }));
      }
    } else {
      events.push(antEvent({ type: "content_block_start", ...at, content_block: block }));
    }
    events.push(antEvent({ type: "content_block_stop", ...at }));
    if (index === 4) events.push(antEvent({ type: "ping" }), antEvent({ type: "event_from_the_future", x: 1 }));
  });
  events.push(antEvent({ type: "message_delta", delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { input_tokens: 5, output_tokens: 30, server_tool_use: { web_search_requests: 1 } } }));
  events.push(antEvent({ type: "message_stop" }));
  return events;
}

/** The `data:` payloads of a REST SSE body, parsed, without [DONE]. */
function chunksOf(text: string): Record<string, unknown>[] {
  return text.split("\n").filter((line) => line.startsWith("data: {")).map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>);
}

describe("every content block type, streamed", () => {
  it.each([false, true])("through REST (citation before the text: %s): the same answer as without streaming, the citation as delta.annotations", async (citationFirst) => {
    world.first.setDefault(sseAnswer(everyBlockStream(citationFirst)));
    const answer = await postChat(world, { stream: true, stream_options: { include_usage: true }, tools: [getWeather], provider_options: { anthropic: { tools: [webSearch] } } });
    expect(answer.status).toBe(200);
    expect(answer.text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    const deltas = chunksOf(answer.text).flatMap((chunk) => (chunk.choices as { delta: Record<string, unknown>; finish_reason: string | null }[]).map((choice): Record<string, unknown> => ({ ...choice.delta, finish: choice.finish_reason })));
    expect(deltas.map((delta) => delta.content ?? "").join("")).toBe("Let me search. Shannon 😀 was born in 1916. Done.");
    expect(deltas.flatMap((delta) => (delta.annotations as unknown[] | undefined) ?? [])).toEqual([{ type: "url_citation", url_citation: { url: cited.url, title: cited.title, start_index: 15, end_index: 42 } }]);
    expect(deltas.flatMap((delta) => (delta.thinking_blocks as unknown[] | undefined) ?? [])).toEqual([{ type: "thinking", thinking: "Search first.", signature: "SIG-1" }, { type: "redacted_thinking", data: "REDACTED-1" }]);
    const calls = deltas.flatMap((delta) => (delta.tool_calls as { function: { arguments: string }; id?: string }[] | undefined) ?? []);
    expect(calls[0]).toMatchObject({ id: "toolu_1", function: { name: "get_weather" } });
    expect(calls.map((call) => call.function.arguments).join("")).toBe("{}");
    expect(deltas.at(-1)?.finish).toBe("tool_calls");
  });

  it("through the OpenAI SDK's stream helper: finalChatCompletion keeps every thinking block, to send back on the next turn", async () => {
    world.first.setDefault(sseAnswer(everyBlockStream(false)));
    const client = new OpenAI({ baseURL: `${world.origin}/v1`, apiKey: "unused", maxRetries: 0 });
    const stream = client.chat.completions.stream({ model: "ant/claude-sonnet-4-5", max_tokens: 100, messages: [{ role: "user", content: "hi" }], tools: [getWeather] } as Parameters<typeof client.chat.completions.stream>[0]);
    const message = (await stream.finalChatCompletion()).choices[0]?.message as { thinking_blocks?: unknown[]; tool_calls?: unknown[] } | undefined;
    expect(message?.thinking_blocks).toEqual([{ type: "thinking", thinking: "Search first.", signature: "SIG-1" }, { type: "redacted_thinking", data: "REDACTED-1" }]);
    expect(message?.tool_calls).toHaveLength(1);
  });

  it("through the adapter in one-byte slices: the same events, srvtoolu inputs never become tool calls", async () => {
    const replay = replayTransport({ headers: { "content-type": "text/event-stream" }, body: everyBlockStream(false).join(""), sliceSizes: [1] });
    const events = joinText(summarize(await collect(adapterFor(replay).stream(chatInput({ maxTokens: 100, messages: [user("hi")] }), callOptions("claude-sonnet-4-5")))));
    const kinds = events.map((event) => event[0]);
    expect(kinds.filter((kind) => kind === "tool_start")).toHaveLength(1);
    expect(events).toContainEqual(["tool_start", 0, "toolu_1", "get_weather"]);
    expect(events).toContainEqual(["other", "annotationDelta"]);
    expect(kinds.at(-2)).toBe("finish");
  });
});

describe("tool_use input shapes, streamed", () => {
  const toolStream = (input: Record<string, unknown>, deltas: string[]) => [
    antMessageStart(),
    antEvent({ type: "content_block_start", index: 0, content_block: { type: "tool_use", id: "toolu_w", name: "get_weather", input } }),
    ...deltas.map((partial_json) => antEvent({ type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json } })),
    antEvent({ type: "content_block_stop", index: 0 }),
    antEvent({ type: "message_delta", delta: { stop_reason: "tool_use" }, usage: { output_tokens: 5 } }),
    antEvent({ type: "message_stop" }),
  ];
  it.each([
    ["input whole in content_block_start", toolStream({ city: "Oslo" }, []), '{"city":"Oslo"}'],
    ["no arguments: only an empty input_json_delta", toolStream({}, [""]), "{}"],
    ["no deltas at all", toolStream({}, []), "{}"],
    ["arguments split at every character, non-ASCII included", toolStream({}, Array.from('{"city":"Zürich 🏔"}')), '{"city":"Zürich 🏔"}'],
  ])("%s → the caller's arguments are exactly %s", async (_label, events, args) => {
    world.first.setDefault(sseAnswer(events));
    const answer = await postChat(world, { stream: true, tools: [getWeather] });
    const calls = chunksOf(answer.text).flatMap((chunk) => (chunk.choices as { delta: { tool_calls?: { function: { arguments: string } }[] } }[]).flatMap((choice) => choice.delta.tool_calls ?? []));
    expect(calls.map((call) => call.function.arguments).join("")).toBe(args);
    expect(answer.text).toContain('"finish_reason":"tool_calls"');
  });
});
