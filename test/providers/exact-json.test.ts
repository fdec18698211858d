import { describe, expect, it } from "vitest";
import { Role } from "../../gen/switchyard/v1/chat_pb.js";
import { hasInexactNumbers, memberSources, stringifyWithSources } from "../../src/providers/exact-json.js";
import { toFunctionResponse } from "../../src/providers/gemini/gemini-contents.js";
import { callOptions, toolCall, toolResult, user } from "../support/proto-builders.js";
import { replayTransport } from "../support/replay-transport.js";
import { adapterFor, chatInput } from "./anthropic/anthropic-test-setup.js";

/*
 * JSON.parse reads numbers as doubles, so a tool argument such as an order id beyond 2^53 came back
 * from Anthropic with other digits when the non-streamed input was written again as arguments text
 * (the streamed one was exact), went to Anthropic changed in history, and reached Gemini as a
 * rounded tool result; 1e400 became null.
 */

describe("hasInexactNumbers", () => {
  it.each([
    ['{"id":12345678901234567890}', true],
    ['{"big":1e400}', true],
    ['{"tiny":1e-400}', true],
    ['[0.1000000000000000055511151231257827]', true],
    ['{"max":9007199254740993}', true],
    ['{"safe":9007199254740991,"price":1.10,"e":1.5e300,"neg":-0,"z":0.0}', false],
    ['{"id":"12345678901234567890","note":"1e400 in a string \\" 12345678901234567890"}', false],
    ["12345678901234567890", true],
    ['{"a":[1,2,3]}', false],
    ['{"a":12345678.9012345678}', true],
    ['{"a":123456789.123456789}', true],
    ['{"a":1234567.123456789012}', true],
    ['{"a":1234567.12345678}', false],
  ])("%s: %s", (text, expected) => {
    expect(hasInexactNumbers(text)).toBe(expected);
  });
});

describe("memberSources", () => {
  it("finds each element's member as written, past strings holding brackets and quotes", () => {
    const text = ' { "id" : "m\\"}{", "content" : [ {"type":"text","text":"a ] } \\" ["} , { "type" : "tool_use", "input" : { "n" : 12345678901234567890 , "s":"}" } }, 7, {"input":[1e400]} ], "tail": {"input": 1} }';
    expect(memberSources(text, "content", "input")).toEqual([undefined, '{ "n" : 12345678901234567890 , "s":"}" }', undefined, "[1e400]"]);
    expect(memberSources('{"content":[]}', "content", "input")).toEqual([]);
    // A repeated key: JSON.parse keeps the last value, and so do the sources.
    expect(memberSources('{"content":[{"input":1},{"input":2}],"content":[{"input":3}]}', "content", "input")).toEqual(["3"]);
    expect(memberSources("[1]", "content", "input")).toEqual([]);
  });
});

describe("stringifyWithSources", () => {
  it("writes the marked objects as their source text and everything else as JSON.stringify does", () => {
    const input = JSON.parse('{"id":12345678901234567890}') as object;
    const body = { messages: [{ content: [{ type: "tool_use", input }] }], other: { id: 1 } };
    const text = stringifyWithSources(body, new Map([[input, '{"id":12345678901234567890}']]));
    expect(text).toBe('{"messages":[{"content":[{"type":"tool_use","input":{"id":12345678901234567890}}]}],"other":{"id":1}}');
  });
});

describe("numbers a double would change, through the adapters", () => {
  it("Anthropic: a non-streamed tool input keeps its digits as arguments, as the streamed one does", async () => {
    const body = '{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"tool_use","id":"toolu_1","name":"get_order","input":{"order_id":12345678901234567890,"price":1.10,"big":1e400}}],"stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":2}}';
    const response = await adapterFor(replayTransport({ body })).generate(chatInput({ messages: [user("order?")], tools: [{ name: "get_order" }] }), callOptions("claude-sonnet-4-5"));
    expect(response.choices[0]?.message?.toolCalls[0]?.arguments).toBe('{"order_id":12345678901234567890,"price":1.10,"big":1e400}');
  });

  it("Anthropic: history arguments go out with their digits", async () => {
    const replay = replayTransport({ body: '{"id":"msg_2","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"done"}],"stop_reason":"end_turn","usage":{"input_tokens":1,"output_tokens":1}}' });
    const args = '{"order_id": 12345678901234567890}';
    await adapterFor(replay).generate(
      chatInput({ messages: [user("order?"), { role: Role.ASSISTANT, toolCalls: [toolCall("toolu_1", "get_order", args), toolCall("toolu_2", "get_order", '{"order_id":7}')] }, toolResult("toolu_1", "shipped"), toolResult("toolu_2", "lost")], tools: [{ name: "get_order" }] }),
      callOptions("claude-sonnet-4-5"),
    );
    const sent = String(replay.requests[0]?.body);
    expect(sent).toContain(`"input":${args}`);
    expect(sent).toContain('"input":{"order_id":7}');
    expect(JSON.parse(sent)).toMatchObject({ messages: [{ role: "user" }, { role: "assistant" }, { role: "user" }] });
  });

  it("Gemini: a tool result holding such a number goes as text, so the model sees the digits", () => {
    expect(toFunctionResponse("12345678901234567890")).toEqual({ output: "12345678901234567890" });
    expect(toFunctionResponse('{"balance": 1e400}')).toEqual({ output: '{"balance": 1e400}' });
    expect(toFunctionResponse('{"balance": 10.50}')).toEqual({ output: { balance: 10.5 } });
    // JSON nested deeper than a caller may send goes as text too (writing it again would recurse level by level).
    const deep = `${"[".repeat(5000)}${"]".repeat(5000)}`;
    expect(toFunctionResponse(deep)).toEqual({ output: deep });
  });
});
