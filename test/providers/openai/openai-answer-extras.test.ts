import { describe, expect, it } from "vitest";
import { postChat, sseFrames, testApp } from "../../http/rest-test-setup.js";
import { callOptions, user } from "../../support/proto-builders.js";
import { replayTransport } from "../../support/replay-transport.js";
import { collect } from "../../support/stream-collectors.js";
import { adapterFor, chatInput, sse } from "./openai-test-setup.js";

/*
 * Fields of an OpenAI-compatible server's answer that the gateway does not model come back where
 * the server put them. The bodies are hand-made from the servers' API references: Perplexity
 * (`citations`, `search_results`), OpenRouter (usage `cost`, `cost_details`, message
 * `reasoning_details`), Azure OpenAI (`prompt_filter_results`, choice `content_filter_results`).
 */

const CITATIONS = ["https://example.com/a", "https://example.com/b"];
const SEARCH_RESULTS = [{ title: "A", url: "https://example.com/a", date: "2025-01-01" }];
const COST = { cost: 0.00042, is_byok: false, cost_details: { upstream_inference_cost: null } };
const REASONING_DETAILS = [{ type: "reasoning.encrypted", data: "enc-123", format: "openai-responses-v1" }];
const FILTER = { hate: { filtered: false, severity: "safe" } };

const whole = {
  id: "cmpl-x",
  object: "chat.completion",
  created: 1_750_000_000,
  model: "sonar",
  citations: CITATIONS,
  search_results: SEARCH_RESULTS,
  choices: [{ index: 0, message: { role: "assistant", content: "Answer [1].", reasoning_details: REASONING_DETAILS }, finish_reason: "stop", content_filter_results: FILTER }],
  usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8, ...COST },
};

describe("an OpenAI-compatible answer's fields the gateway does not model", () => {
  it("keeps a field named __proto__ as the data it is, at the top, in the message and nested", async () => {
    const body = '{"id":"c","object":"chat.completion","created":1,"model":"m","__proto__":{"z":1},"choices":[{"index":0,"message":{"role":"assistant","content":"ok","vendor_x":{"a":1,"__proto__":{"b":2}}},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}';
    const { app } = await testApp({ headers: { "content-type": "application/json" }, body });
    try {
      const text = (await postChat(app, { model: "groq/m", messages: [{ role: "user", content: "Q" }] })).body;
      expect(text).toContain('"__proto__":{"z":1}');
      expect(text).toContain('"vendor_x":{"a":1,"__proto__":{"b":2}}');
    } finally {
      await app.close();
    }
  });

  it("hand-made: come back in a whole answer at the level the server put them", async () => {
    const { app } = await testApp({ headers: { "content-type": "application/json" }, body: JSON.stringify(whole) });
    try {
      const answer = (await postChat(app, { model: "groq/sonar", messages: [{ role: "user", content: "Q" }] })).json();
      expect(answer).toMatchObject({
        id: "cmpl-x",
        citations: CITATIONS,
        search_results: SEARCH_RESULTS,
        choices: [{ message: { content: "Answer [1].", reasoning_details: REASONING_DETAILS }, finish_reason: "stop", content_filter_results: FILTER }],
        usage: { prompt_tokens: 5, total_tokens: 8, ...COST },
      });
      // The modelled fields are the gateway's own, never overwritten by an extra.
      expect(answer.object).toBe("chat.completion");
      expect(answer.model).toBe("groq/sonar");
    } finally {
      await app.close();
    }
  });

  it("hand-made: come back in a stream: the top-level ones in every chunk, the usage ones in the usage chunk", async () => {
    const chunk = (delta: object, extra: object = {}) => ({ id: "cmpl-s", object: "chat.completion.chunk", created: 1, model: "sonar", citations: CITATIONS, choices: [{ index: 0, delta, finish_reason: null }], ...extra });
    const body = sse([chunk({ role: "assistant", content: "Answer" }), chunk({ content: " [1]." }), { ...chunk({}), choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }, { ...chunk({}), choices: [], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8, ...COST } }]);
    const { app } = await testApp({ headers: { "content-type": "text/event-stream" }, body });
    try {
      const response = await postChat(app, { model: "groq/sonar", messages: [{ role: "user", content: "Q" }], stream: true, stream_options: { include_usage: true } });
      const chunks = sseFrames(response.body).slice(0, -1).map((frame) => JSON.parse(frame) as Record<string, unknown>);
      expect(chunks.length).toBeGreaterThan(2);
      for (const each of chunks) expect(each.citations).toEqual(CITATIONS);
      expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { total_tokens: 8, ...COST } });
    } finally {
      await app.close();
    }
  });

  it("OpenRouter's usage (its usage-accounting reference): cache_write_tokens is the proto's cache writes, the details objects' unmodelled keys come back inside them (JSON, stream, Connect)", async () => {
    const usage = { completion_tokens: 2, completion_tokens_details: { reasoning_tokens: 0, image_tokens: 0 }, cost: 0.95, cost_details: { upstream_inference_cost: 19 }, prompt_tokens: 194, prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 100, audio_tokens: 0 }, total_tokens: 196 };
    const answer = { id: "gen-1", object: "chat.completion", created: 1748488520, model: "anthropic/claude-sonnet-4", choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: "Hi" } }], usage };
    const stream = sse([
      { id: "gen-1", object: "chat.completion.chunk", created: 1748488520, model: "anthropic/claude-sonnet-4", choices: [{ index: 0, delta: { role: "assistant", content: "Hi" }, finish_reason: null }] },
      { id: "gen-1", object: "chat.completion.chunk", created: 1748488520, model: "anthropic/claude-sonnet-4", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] },
      { id: "gen-1", object: "chat.completion.chunk", created: 1748488520, model: "anthropic/claude-sonnet-4", choices: [], usage },
    ]);
    const json = { headers: { "content-type": "application/json" }, body: JSON.stringify(answer) };
    const { app } = await testApp(json, { headers: { "content-type": "text/event-stream" }, body: stream }, json);
    const expected = {
      prompt_tokens: 194,
      completion_tokens: 2,
      total_tokens: 196,
      cost: 0.95,
      cost_details: { upstream_inference_cost: 19 },
      prompt_tokens_details: { cached_tokens: 0, cache_write_tokens: 100 },
      completion_tokens_details: { reasoning_tokens: 0, image_tokens: 0 },
    };
    try {
      const request = { model: "groq/anthropic/claude-sonnet-4", messages: [{ role: "user", content: "Q" }] };
      expect((await postChat(app, request)).json().usage).toEqual(expected);
      const streamed = await postChat(app, { ...request, stream: true, stream_options: { include_usage: true } });
      expect((JSON.parse(sseFrames(streamed.body).at(-2) ?? "{}") as { usage?: unknown }).usage).toEqual(expected);
      const connect = await app.inject({
        method: "POST",
        url: "/switchyard.v1.ChatService/Chat",
        headers: { "content-type": "application/json", authorization: `Bearer sy-test-gateway-key-0123456789` },
        payload: JSON.stringify({ input: { model: request.model, messages: [{ role: "ROLE_USER", content: [{ text: "Q" }] }] } }),
      });
      expect(connect.json().usage).toMatchObject({ promptTokens: 194, cacheWritePromptTokens: 100 });
      expect(connect.json().usage.extra).toEqual({ cost: 0.95, cost_details: { upstream_inference_cost: 19 }, completion_tokens_details: { image_tokens: 0 } });
    } finally {
      await app.close();
    }
  });

  it("annotations the gateway does not model come back whole, and a url_citation's own extra keys inside it (JSON, stream, Connect)", async () => {
    const annotations = [
      { type: "url_citation", url_citation: { url: "https://a.example/", title: "A", content: "snippet text", start_index: 0, end_index: 2 } },
      { type: "file", file: { hash: "abc", name: "doc.pdf", content: [{ type: "text", text: "page 1" }] } },
      { type: "file_citation", file_citation: { file_id: "file-1", quote: "q" }, start_index: 1, end_index: 2 },
    ];
    const answer = { id: "gen-2", object: "chat.completion", created: 1, model: "openai/gpt-4o", choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: "Hi", annotations } }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } };
    const stream = sse([
      { id: "gen-2", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { role: "assistant", content: "Hi" }, finish_reason: null }] },
      { id: "gen-2", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { annotations }, finish_reason: null }] },
      { id: "gen-2", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] },
      { id: "gen-2", object: "chat.completion.chunk", created: 1, model: "m", choices: [], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } },
    ]);
    const json = { headers: { "content-type": "application/json" }, body: JSON.stringify(answer) };
    const { app } = await testApp(json, { headers: { "content-type": "text/event-stream" }, body: stream }, json);
    try {
      const request = { model: "groq/openai/gpt-4o", messages: [{ role: "user", content: "Q" }] };
      expect((await postChat(app, request)).json().choices[0].message.annotations).toEqual(annotations);
      const streamed = await postChat(app, { ...request, stream: true });
      const deltas = sseFrames(streamed.body).slice(0, -1).flatMap((frame) => (JSON.parse(frame) as { choices: { delta: { annotations?: unknown[] } }[] }).choices);
      expect(deltas.flatMap((choice) => choice.delta.annotations ?? [])).toEqual(annotations);
      const connect = await app.inject({
        method: "POST",
        url: "/switchyard.v1.ChatService/Chat",
        headers: { "content-type": "application/json", authorization: `Bearer sy-test-gateway-key-0123456789` },
        payload: JSON.stringify({ input: { model: request.model, messages: [{ role: "ROLE_USER", content: [{ text: "Q" }] }] } }),
      });
      expect(connect.json().choices[0].message.annotations).toEqual([
        { type: "url_citation", urlCitation: { url: "https://a.example/", title: "A", endIndex: 2 }, extra: { url_citation: { content: "snippet text" } } },
        { type: "file", extra: { file: annotations[1]?.file } },
        { type: "file_citation", extra: { file_citation: { file_id: "file-1", quote: "q" }, start_index: 1, end_index: 2 } },
      ]);
    } finally {
      await app.close();
    }
  });

  it("hand-made: a message key a request models (an upstream LiteLLM's thinking_blocks, a name) is not an extra, so the message can be sent back as history", async () => {
    const answer = { ...whole, choices: [{ index: 0, message: { role: "assistant", content: "Hi", name: "bot", thinking_blocks: [{ type: "thinking", thinking: "t", signature: "sig" }], reasoning_details: REASONING_DETAILS }, finish_reason: "stop" }] };
    const { app } = await testApp({ headers: { "content-type": "application/json" }, body: JSON.stringify(answer) }, { headers: { "content-type": "application/json" }, body: JSON.stringify(whole) });
    try {
      const headers = { "content-type": "application/json", authorization: "Bearer sy-test-gateway-key-0123456789" };
      const first = await app.inject({ method: "POST", url: "/switchyard.v1.ChatService/Chat", headers, payload: JSON.stringify({ input: { model: "groq/sonar", messages: [{ role: "ROLE_USER", content: [{ text: "Q" }] }] } }) });
      const message = first.json().choices[0].message;
      expect(message.extra).toEqual({ reasoning_details: REASONING_DETAILS });
      const second = await app.inject({ method: "POST", url: "/switchyard.v1.ChatService/Chat", headers, payload: JSON.stringify({ input: { model: "groq/sonar", messages: [{ role: "ROLE_USER", content: [{ text: "Q" }] }, message, { role: "ROLE_USER", content: [{ text: "More" }] }] } }) });
      expect(second.statusCode, second.body).toBe(200);
    } finally {
      await app.close();
    }
  });

  it("hand-made: Azure's prompt_filter_results, in a chunk before the one that starts the answer, are kept for response_start", async () => {
    const body = sse([
      { id: "", object: "", created: 0, model: "", choices: [], prompt_filter_results: [{ prompt_index: 0, content_filter_results: FILTER }] },
      { id: "chatcmpl-az", object: "chat.completion.chunk", created: 1, model: "gpt-4o", choices: [{ index: 0, delta: { role: "assistant", content: "Hi" }, finish_reason: "stop" }] },
    ]);
    const events = await collect(adapterFor(replayTransport({ body }), { type: "openai-compatible", baseUrl: "https://az.example/openai" }).stream(chatInput({ messages: [user("hi")] }), callOptions("gpt-4o")));
    const start = events.find((event) => event.event.case === "responseStart");
    expect(start?.event.case === "responseStart" ? start.event.value.extra : undefined).toEqual({ prompt_filter_results: [{ prompt_index: 0, content_filter_results: FILTER }] });
  });

  it("hand-made: a number JSON cannot hold (1e400) becomes null, so a Connect JSON answer still encodes", async () => {
    const { app } = await testApp({ headers: { "content-type": "application/json" }, body: JSON.stringify(whole).replace('"cost":0.00042', '"cost":1e400') });
    try {
      const rest = (await postChat(app, { model: "groq/sonar", messages: [{ role: "user", content: "Q" }] })).json();
      expect(rest.usage.cost).toBeNull();
      const connect = await app.inject({
        method: "POST",
        url: "/switchyard.v1.ChatService/Chat",
        headers: { "content-type": "application/json", authorization: `Bearer sy-test-gateway-key-0123456789` },
        payload: JSON.stringify({ input: { model: "groq/sonar", messages: [{ role: "ROLE_USER", content: [{ text: "Q" }] }] } }),
      });
      expect(connect.statusCode, connect.body).toBe(200);
      expect(connect.json()).toMatchObject({ extra: { citations: CITATIONS }, usage: { extra: { cost: null, is_byok: false } } });
    } finally {
      await app.close();
    }
  });
});
