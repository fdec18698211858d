import { describe, expect, it } from "vitest";
import { Role } from "../../../gen/switchyard/v1/chat_pb.js";
import { Reason } from "../../../src/core/errors.js";
import { callOptions, toolResult, user } from "../../support/proto-builders.js";
import { replayTransport } from "../../support/replay-transport.js";
import { adapterFor, chatInput } from "./openai-test-setup.js";

/*
 * The reasoning of earlier assistant turns, sent back. DeepSeek (thinking mode is its V4 models'
 * default) and Moonshot refuse a tool loop whose assistant tool-call turns come back without their
 * `reasoning_content` ("Missing `reasoning_content` field in the assistant message at message
 * index 1", api-docs.deepseek.com/guides/thinking_mode#tool-calls); Mistral refuses the field
 * (422 extra_forbidden); OpenAI's own API has no reasoning input. Error bodies hand-made from the
 * ones quoted in public issue threads.
 */

const DEEPSEEK = { name: "deepseek", type: "openai-compatible", apiKey: "sk-deepseek-TESTKEY0123456789", baseUrl: "https://api.deepseek.com" } as const;
const MISTRAL = { name: "mistral", type: "openai-compatible", apiKey: "mistral-TESTKEY0123456789abcdef", baseUrl: "https://api.mistral.ai/v1" } as const;
const ANSWER = { headers: { "content-type": "application/json" }, body: JSON.stringify({ id: "c", choices: [{ index: 0, message: { role: "assistant", content: "Sunny." }, finish_reason: "stop" }] }) };

const toolLoop = chatInput({
  messages: [
    user("Weather in Paris?"),
    {
      role: Role.ASSISTANT,
      content: [{ part: { case: "reasoning", value: { text: "I should call get_weather.", signature: "", redactedData: "" } } }],
      toolCalls: [{ id: "call_0", name: "get_weather", arguments: '{"city":"Paris"}' }],
    },
    toolResult("call_0", "sunny"),
  ],
  tools: [{ name: "get_weather" }],
});

type SentMessage = { role: string; reasoning_content?: string; tool_calls?: unknown[] };
const sentMessages = (json: unknown): SentMessage[] => (json as { messages: SentMessage[] }).messages;

describe("reasoning in the history, to OpenAI-dialect servers", () => {
  it("a compatible server gets an assistant turn's reasoning back as reasoning_content (DeepSeek's tool loops need it), without a warning", async () => {
    const replay = replayTransport(ANSWER);
    const response = await adapterFor(replay, DEEPSEEK).generate(toolLoop, callOptions("deepseek-v4-flash"));
    expect(sentMessages(replay.requests[0]?.json)[1]).toMatchObject({ role: "assistant", reasoning_content: "I should call get_weather.", tool_calls: [{ id: "call_0" }] });
    expect(response.warnings).toEqual([]);
  });

  it("OpenAI itself gets none, with a warning", async () => {
    const replay = replayTransport(ANSWER);
    const response = await adapterFor(replay).generate(toolLoop, callOptions("gpt-4o"));
    expect(sentMessages(replay.requests[0]?.json)[1]).not.toHaveProperty("reasoning_content");
    expect(response.warnings).toContain("reasoning parts in the conversation history were not sent: OpenAI-dialect providers take no reasoning input");
  });

  it("a server that refuses the field (Mistral's 422 extra_forbidden) is sent the request again without it, with the warning, and from then on", async () => {
    const refusal = { object: "error", message: { detail: [{ type: "extra_forbidden", loc: ["body", "messages", 1, "assistant", "reasoning_content"], msg: "Extra inputs are not permitted", input: "I should call get_weather." }] }, type: "invalid_request_error", param: null, code: null };
    const replay = replayTransport({ status: 422, body: JSON.stringify(refusal) }, ANSWER, ANSWER);
    const adapter = adapterFor(replay, MISTRAL);
    const first = await adapter.generate(toolLoop, callOptions("magistral-medium-latest"));
    expect(sentMessages(replay.requests[0]?.json)[1]).toHaveProperty("reasoning_content");
    expect(sentMessages(replay.requests[1]?.json)[1]).not.toHaveProperty("reasoning_content");
    expect(first.warnings).toContain("reasoning parts in the conversation history were not sent: OpenAI-dialect providers take no reasoning input");
    await adapter.generate(toolLoop, callOptions("magistral-medium-latest"));
    expect(replay.requests).toHaveLength(3);
    expect(sentMessages(replay.requests[2]?.json)[1]).not.toHaveProperty("reasoning_content");
  });

  it("reads a refusal by what it says of the field, not by the model's own words it echoes (reasoning that says \"missing\"), and learns it for that model only (one account may front several servers)", async () => {
    const worded = chatInput({
      messages: [
        user("Weather?"),
        { role: Role.ASSISTANT, content: [{ part: { case: "reasoning", value: { text: "The city is missing, so the field is required.", signature: "", redactedData: "" } } }], toolCalls: [{ id: "call_0", name: "get_weather", arguments: "{}" }] },
        toolResult("call_0", "sunny"),
      ],
      tools: [{ name: "get_weather" }],
    });
    const refusal = { object: "error", message: { detail: [{ type: "extra_forbidden", loc: ["body", "messages", 1, "assistant", "reasoning_content"], msg: "Extra inputs are not permitted", input: "The city is missing, so the field is required." }] }, type: "invalid_request_error", param: null, code: null };
    const replay = replayTransport({ status: 422, body: JSON.stringify(refusal) }, ANSWER, ANSWER);
    const adapter = adapterFor(replay, MISTRAL);
    await adapter.generate(worded, callOptions("magistral-medium-latest"));
    expect(sentMessages(replay.requests[1]?.json)[1]).not.toHaveProperty("reasoning_content");
    await adapter.generate(worded, callOptions("deepseek-v4-flash"));
    expect(replay.requests).toHaveLength(3);
    expect(sentMessages(replay.requests[2]?.json)[1]).toHaveProperty("reasoning_content");
  });

  it.each([
    ["DeepSeek-R1's", "The reasoning_content is an intermediate result for display purposes only and will not be included in the context for inference. Please remove the reasoning_content from your message to reduce network traffic."],
    ["a 'not supported' wording", "Invalid request: 'reasoning_content' is not supported in assistant messages"],
    ["Groq's", "property 'reasoning_content' is unsupported"],
    ["Google's (Gemini's OpenAI-compatible endpoint)", 'Invalid JSON payload received. Unknown name "reasoning_content" at \'messages[1]\': Cannot find field.'],
  ])("reads %s refusal as one: the request goes again without the field", async (_name, text) => {
    const replay = replayTransport({ status: 400, body: JSON.stringify({ error: { message: text, type: "invalid_request_error", param: null, code: "invalid_request_error" } }) }, ANSWER);
    await adapterFor(replay, DEEPSEEK).generate(toolLoop, callOptions("deepseek-reasoner"));
    expect(replay.requests).toHaveLength(2);
    expect(sentMessages(replay.requests[1]?.json)[1]).not.toHaveProperty("reasoning_content");
  });

  it("a tool call's extra_content (Gemini's thought signature) goes to compatible servers (Gemini's own OpenAI endpoint wants it back), not to OpenAI, which refuses it: there with a warning", async () => {
    const signed = chatInput({
      messages: [
        user("Weather?"),
        { role: Role.ASSISTANT, toolCalls: [{ id: "call_0", name: "get_weather", arguments: "{}", extraContent: { google: { thought_signature: "gemini:CiQB" } } }] },
        toolResult("call_0", "sunny"),
      ],
      tools: [{ name: "get_weather" }],
    });
    const toOpenAI = replayTransport(ANSWER);
    const openai = await adapterFor(toOpenAI).generate(signed, callOptions("gpt-4o"));
    expect(JSON.stringify(toOpenAI.requests[0]?.json)).not.toContain("extra_content");
    expect(openai.warnings).toContain("tool_calls[].extra_content in the conversation history was not sent: OpenAI takes none (it carries another provider's thought signatures)");
    const toCompatible = replayTransport(ANSWER);
    const compatible = await adapterFor(toCompatible, DEEPSEEK).generate(signed, callOptions("gemini-2.5-flash"));
    expect(sentMessages(toCompatible.requests[0]?.json)[1]?.tool_calls).toEqual([{ id: "call_0", type: "function", function: { name: "get_weather", arguments: "{}" }, extra_content: { google: { thought_signature: "gemini:CiQB" } } }]);
    expect(compatible.warnings).toEqual([]);
  });

  it("DeepSeek's 400 asking for reasoning_content the caller left out is returned, not read as a refusal of the field", async () => {
    const missing = { error: { message: "Missing `reasoning_content` field in the assistant message at message index 3. For more information, please refer to https://api-docs.deepseek.com/guides/thinking_mode#tool-calls", type: "invalid_request_error", param: null, code: "invalid_request_error" } };
    const replay = replayTransport({ status: 400, body: JSON.stringify(missing) });
    const error = await adapterFor(replay, DEEPSEEK).generate(toolLoop, callOptions("deepseek-v4-flash")).catch((thrown: unknown) => thrown);
    expect(error).toMatchObject({ reason: Reason.UPSTREAM_INVALID_REQUEST });
    expect(replay.requests).toHaveLength(1);
  });
});
