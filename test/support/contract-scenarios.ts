/**
 * The hand-made scenarios of the adapter contract (the answers are written per dialect by
 * dialect-answers.ts) and the upstream failures every kit must map alike.
 */
import { Code } from "@connectrpc/connect";
import { FinishReason, type ChatInput } from "../../gen/switchyard/v1/chat_pb.js";
import {
  nativeBody, nativeFinish, nativeStream, OVERLOAD_STATUS,
  type CanonicalAnswer, type CanonicalFinish, type Dialect, type ErrorKind, type WriteOptions,
} from "./dialect-answers.js";
import { assistant, developer, imageData, imageUrl, system, toolResult, user } from "./proto-builders.js";
import { chatInput, type ExpectedError, type ExpectedOutcome, type Mode, type ProviderKit, type ScenarioName } from "./provider-kits.js";
import type { ReplayAnswer } from "./replay-transport.js";

/** The get_current_weather tool the tool scenarios offer. */
export const WEATHER_TOOL = {
  name: "get_current_weather",
  description: "Get the current weather in a given location",
  parameters: { type: "object", properties: { location: { type: "string", description: "The city and state, e.g. San Francisco, CA" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } }, required: ["location"] },
};
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
const call = (id: string, location: string) => ({ id, name: WEATHER_TOOL.name, arguments: { location, unit: "celsius" } });

/** One hand-made scenario: the input, the canonical answer every dialect phrases natively, and its warnings. */
export interface Scenario {
  readonly name: ScenarioName;
  readonly input: ChatInput;
  readonly answer: Omit<CanonicalAnswer, "id" | "model">;
  readonly write?: WriteOptions;
  /** Warnings a dialect must report for this input (default none). */
  readonly warnings?: Partial<Record<Dialect, string[]>>;
}

const base = { maxTokens: 200 };
/** The hand-made scenario list, run against every kit in both modes. */
export const SCENARIOS: readonly Scenario[] = [
  { name: "plain text", input: chatInput({ ...base, messages: [user("Say hello in five words.")] }), answer: { text: "Hello there, how are you?", finish: "stop", usage: { prompt: 12, cached: 0, completion: 6, reasoning: 0 } } },
  {
    name: "system prompt",
    input: chatInput({ ...base, messages: [system("You are terse."), user("Hi"), assistant("Hello."), developer("Answer in French."), user("Again")] }),
    answer: { text: "Bonjour.", finish: "stop", usage: { prompt: 30, cached: 0, completion: 2, reasoning: 0 } },
  },
  {
    name: "images",
    input: chatInput({ ...base, messages: [user("Compare these.", imageUrl("https://media.example.com/cat.png"), imageData("image/png", PNG))] }),
    answer: { text: "Two cats.", finish: "stop", usage: { prompt: 900, cached: 0, completion: 3, reasoning: 0 } },
  },
  {
    name: "single tool call",
    input: chatInput({ ...base, messages: [user("What's the weather like in Boston?")], tools: [WEATHER_TOOL] }),
    answer: { text: "", toolCalls: [call("call_Weather0Boston", "Boston, MA")], finish: "tool_calls", usage: { prompt: 80, cached: 0, completion: 18, reasoning: 0 } },
  },
  {
    name: "parallel tool calls",
    input: chatInput({ ...base, messages: [user("What's the weather like in Boston, Tokyo and Paris?")], tools: [WEATHER_TOOL] }),
    answer: { text: "", toolCalls: [call("call_W0Boston", "Boston, MA"), call("call_W1Tokyo", "Tokyo"), call("call_W2Paris", "Paris")], finish: "tool_calls", usage: { prompt: 85, cached: 0, completion: 60, reasoning: 0 } },
  },
  {
    name: "tool-result round trip",
    input: chatInput({
      ...base,
      tools: [WEATHER_TOOL],
      messages: [
        user("What's the weather like in Boston and Tokyo?"),
        assistant("", [
          { id: "call_W0Boston", name: WEATHER_TOOL.name, arguments: '{"location":"Boston, MA","unit":"celsius"}' },
          { id: "call_W1Tokyo", name: WEATHER_TOOL.name, arguments: '{"location":"Tokyo","unit":"celsius"}' },
        ]),
        toolResult("call_W0Boston", '{"temperature":22,"unit":"celsius"}'),
        toolResult("call_W1Tokyo", "sunny, 25 degrees"),
      ],
    }),
    answer: { text: "Boston is 22°C; Tokyo is sunny at 25°C.", finish: "stop", usage: { prompt: 140, cached: 0, completion: 14, reasoning: 0 } },
    // The replayed calls carry no thought signature (they did not come from Gemini): the gateway says so.
    warnings: { gemini: ["a replayed tool call had no Gemini thought signature; sent Gemini's skip_thought_signature_validator instead"] },
  },
  {
    name: "zero-argument tool",
    input: chatInput({ ...base, messages: [user("What time is it?")], tools: [{ name: "get_time", description: "The current time." }] }),
    answer: { text: "", toolCalls: [{ id: "call_Time0", name: "get_time", arguments: {} }], finish: "tool_calls", usage: { prompt: 40, cached: 0, completion: 5, reasoning: 0 } },
  },
  { name: "length finish", input: chatInput({ maxTokens: 5, messages: [user("What is the capital of France?")] }), answer: { text: "The capital of France is", finish: "length", usage: { prompt: 14, cached: 0, completion: 5, reasoning: 0 } } },
  {
    name: "stop finish",
    input: chatInput({ ...base, stop: ["END"], messages: [user("Count to three, then say END.")] }),
    answer: { text: "one two three ", finish: "stop_sequence", usage: { prompt: 16, cached: 0, completion: 4, reasoning: 0 } },
    write: { stopSequence: "END" },
  },
  {
    name: "content filter",
    input: chatInput({ ...base, messages: [user("Something the provider refuses.")] }),
    answer: { text: "", finish: "content_filter", refusal: "This request was refused by the provider's safety system.", usage: { prompt: 10, cached: 0, completion: 0, reasoning: 0 } },
  },
  {
    name: "usage",
    input: chatInput({ ...base, messages: [user("Think, then answer briefly.")] }),
    answer: { text: "Forty-two.", reasoning: "The user wants a short answer.", reasoningSignature: "sig-usage-1", finish: "stop", usage: { prompt: 1200, cached: 1000, completion: 300, reasoning: 120 } },
  },
];

/** The response id each dialect's hand-made answers carry. */
export const ANSWER_IDS: Record<Dialect, string> = { openai: "chatcmpl-contract", anthropic: "msg_contract", gemini: "contract-response-id" };
const FINISH: Record<CanonicalFinish, FinishReason> = { stop: FinishReason.STOP, stop_sequence: FinishReason.STOP, length: FinishReason.LENGTH, tool_calls: FinishReason.TOOL_CALLS, content_filter: FinishReason.CONTENT_FILTER };
/** Anthropic's refusal carries an explanation the gateway surfaces as refusal text; the others have none. */
const REFUSAL_EXPLAINED: Record<Dialect, boolean> = { openai: false, anthropic: true, gemini: false };

/** The scenario's canonical answer, with the kit's id and model. */
export function canonical(kit: ProviderKit, scenario: Scenario): CanonicalAnswer {
  return { ...scenario.answer, id: ANSWER_IDS[kit.dialect], model: kit.model };
}

/** The kit's native upstream answer (JSON or a whole stream) for a canonical answer. */
export function handMadeAnswer(kit: ProviderKit, answer: CanonicalAnswer, mode: Mode, write: WriteOptions = {}): ReplayAnswer {
  if (mode === "generate") return { headers: { "content-type": "application/json" }, body: JSON.stringify(nativeBody(kit.dialect, answer, write)) };
  const stream = nativeStream(kit.dialect, answer, write);
  return { headers: stream.headers, body: [...stream.content, ...stream.terminal].join("") };
}

/** The outcome a kit must produce for a canonical answer. */
export function expectedFrom(kit: ProviderKit, answer: CanonicalAnswer): ExpectedOutcome {
  const { usage: u } = answer;
  return {
    text: answer.text,
    reasoning: answer.reasoning ?? "",
    refusal: answer.finish === "content_filter" && REFUSAL_EXPLAINED[kit.dialect] ? (answer.refusal ?? "") : "",
    toolCalls: (answer.toolCalls ?? []).map((c) => ({ id: kit.synthesisesToolCallIds ? "synthetic" : c.id, name: c.name, arguments: c.arguments })),
    finish: FINISH[answer.finish],
    rawFinish: nativeFinish(kit.dialect, answer.finish),
    usage: { prompt: u.prompt, completion: u.completion, total: u.prompt + u.completion, cached: u.cached, reasoning: u.reasoning, cacheWrite: u.cacheWrite ?? 0 },
    warnings: [],
  };
}

/** One upstream failure before the first byte, and what each kit must make of it. */
export interface ErrorRow {
  readonly kind: ErrorKind;
  readonly message: string;
  readonly expect: (kit: ProviderKit) => ExpectedError & { restStatus: number; retryAfter?: string };
}

/** The upstream failures every kit must map alike. */
export const ERROR_ROWS: readonly ErrorRow[] = [
  { kind: "400", message: "messages.0.content: text content blocks must be non-empty", expect: () => ({ code: Code.InvalidArgument, reason: "UPSTREAM_INVALID_REQUEST", upstreamStatus: 400, messageIncludes: "text content blocks must be non-empty", restStatus: 400 }) },
  { kind: "401", message: "Incorrect API key provided: KEY. You can find your API key in your account.", expect: (kit) => ({ code: Code.Internal, reason: "PROVIDER_AUTH_FAILED", upstreamStatus: kit.dialect === "gemini" ? 400 : 401, restStatus: 502 }) },
  { kind: "404", message: "model: no-such-model was not found", expect: () => ({ code: Code.NotFound, reason: "MODEL_NOT_FOUND", upstreamStatus: 404, messageIncludes: "no-such-model", restStatus: 404 }) },
  { kind: "429", message: "Rate limit reached for requests", expect: () => ({ code: Code.ResourceExhausted, reason: "RATE_LIMIT_EXCEEDED", upstreamStatus: 429, restStatus: 429, retryAfter: "7" }) },
  { kind: "500", message: "The server had an error while processing your request.", expect: () => ({ code: Code.Unavailable, reason: "PROVIDER_UNAVAILABLE", upstreamStatus: 500, restStatus: 503 }) },
  { kind: "503", message: "Service temporarily unavailable.", expect: () => ({ code: Code.Unavailable, reason: "PROVIDER_UNAVAILABLE", upstreamStatus: 503, restStatus: 503 }) },
  { kind: "overload", message: "The model is overloaded. Please try again later.", expect: (kit) => ({ code: Code.Unavailable, reason: "PROVIDER_UNAVAILABLE", upstreamStatus: OVERLOAD_STATUS[kit.dialect], restStatus: 503 }) },
];

/** Both call modes, in the order rows run. */
export const MODES: readonly Mode[] = ["generate", "stream"];
