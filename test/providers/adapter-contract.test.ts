/**
 * The shared adapter contract: ONE scenario list, run against every provider adapter (OpenAI,
 * Anthropic, Gemini) through a per-provider kit that phrases the upstream answer in its dialect.
 * Hand-made answers come from test/support/dialect-answers.ts (marked HAND-MADE there); recorded
 * traffic comes from the fixture rows in test/support/provider-fixture-rows.ts, and every fixture
 * file must be replayed by at least one row (see the coverage test at the end).
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { FinishReason, Role, type ChatInput } from "../../gen/switchyard/v1/chat_pb.js";
import { GatewayError } from "../../src/core/errors.js";
import { SKIP_THOUGHT_SIGNATURE_VALIDATOR } from "../../src/providers/gemini/gemini-contents.js";
import { toRestError } from "../../src/http/openai-compat/error-response.js";
import type { UpstreamTransport } from "../../src/providers/upstream-http.js";
import {
  nativeBody, nativeError, nativeFinish, nativeStream, nativeStreamErrorFrame, OVERLOAD_STATUS,
  type CanonicalAnswer, type CanonicalFinish, type Dialect, type ErrorKind, type WriteOptions,
} from "../support/dialect-answers.js";
import { flatParts, parseOutput, readNativeRequest, type NormalPart, type NormalRequest } from "../support/dialect-requests.js";
import { FIXTURE_ROWS } from "../support/provider-fixture-rows.js";
import {
  assistant, callOptions, chatInput, developer, drain, imageData, imageUrl, KIT_MEDIA_BYTES, KITS, outcomeOfResponse, outcomeOfStream, system, toolResult, user,
  type ExpectedError, type ExpectedOutcome, type FixtureRow, type Mode, type Outcome, type ProviderKit, type ScenarioName, type SentRequest,
} from "../support/provider-kits.js";
import { FIXTURES_DIR, replayTransport, type ReplayAnswer, type ReplayTransport } from "../support/replay-transport.js";

// ---------- running one row ----------

interface Run {
  readonly replay: ReplayTransport;
  readonly outcome?: Outcome;
  readonly error?: unknown;
  /** Stream events that arrived before the error (stream mode). */
  readonly eventCount: number;
}

async function runRow(kit: ProviderKit, options: { mode: Mode; model: string; input: ChatInput; answer: ReplayAnswer; account?: FixtureRow["account"] }): Promise<Run> {
  const replay = replayTransport(options.answer);
  const adapter = kit.createAdapter(replay.transport, options.account);
  if (options.mode === "generate") {
    try {
      return { replay, outcome: outcomeOfResponse(await adapter.generate(options.input, callOptions(options.model))), eventCount: 0 };
    } catch (error) {
      return { replay, error, eventCount: 0 };
    }
  }
  const { events, error } = await drain(adapter.stream(options.input, callOptions(options.model)));
  return { replay, ...(events.length > 0 ? { outcome: outcomeOfStream(events) } : {}), error, eventCount: events.length };
}

function sentRequest(run: Run): SentRequest {
  expect(run.replay.requests, "exactly one upstream request").toHaveLength(1);
  const sent = run.replay.requests[0];
  if (!sent) throw new Error("no request");
  return { url: sent.url, headers: sent.headers, json: sent.json };
}

const SYNTHETIC_ID = /^call_[0-9A-Za-z]{24}$/;

function assertOutcome(run: Run, expected: ExpectedOutcome): Outcome {
  if (run.error) throw run.error;
  const outcome = run.outcome;
  if (!outcome) throw new Error("no outcome");
  expect(outcome.text).toBe(expected.text);
  if (expected.reasoning instanceof RegExp) expect(outcome.reasoning).toMatch(expected.reasoning);
  else expect(outcome.reasoning).toBe(expected.reasoning ?? "");
  expect(outcome.refusal).toBe(expected.refusal ?? "");
  expect(outcome.toolCalls.map((call) => call.name)).toEqual(expected.toolCalls.map((call) => call.name));
  outcome.toolCalls.forEach((call, index) => {
    const want = expected.toolCalls[index];
    expect(call.index).toBe(index);
    if (want?.id === "synthetic") expect(call.id).toMatch(SYNTHETIC_ID);
    else expect(call.id).toBe(want?.id);
    // Gotcha 2: arguments are never "", and a zero-argument call is exactly "{}".
    if (want && typeof want.arguments === "object" && want.arguments !== null && Object.keys(want.arguments).length === 0) expect(call.arguments).toBe("{}");
    expect(JSON.parse(call.arguments)).toEqual(want?.arguments);
  });
  if (expected.finish === FinishReason.UNSPECIFIED) {
    expect(outcome.finish, "no finish is invented for a stream that never finished").toBeUndefined();
  } else {
    expect(outcome.finish).toBe(expected.finish);
    expect(outcome.rawFinish).toBe(expected.rawFinish);
  }
  if (expected.usage) expect(outcome.usage).toEqual(expected.usage);
  if (expected.warnings) expect(outcome.warnings).toEqual(expected.warnings);
  return outcome;
}

function assertError(run: Run, expected: ExpectedError, kit: ProviderKit): GatewayError {
  expect(run.error).toBeInstanceOf(GatewayError);
  const error = run.error as GatewayError;
  expect({ code: error.code, reason: error.reason }).toEqual({ code: expected.code, reason: expected.reason });
  if (expected.upstreamStatus !== undefined) expect(error.facts.upstreamStatus).toBe(expected.upstreamStatus);
  if (expected.messageIncludes !== undefined) expect(error.rawMessage).toContain(expected.messageIncludes);
  if (expected.param !== undefined) expect(error.facts.param).toBe(expected.param);
  expect(error.message).not.toContain(kit.apiKey);
  return error;
}

// ---------- request checks every scenario derives from its input ----------

const textOf = (message: ChatInput["messages"][number]) => message.content.map((part) => (part.part.case === "text" ? part.part.value : "")).join("");

function checkSystem(view: NormalRequest, input: ChatInput, kit: ProviderKit, sent: SentRequest): void {
  const systemMessages = input.messages.filter((message) => message.role === Role.SYSTEM || message.role === Role.DEVELOPER);
  expect(view.system).toEqual(systemMessages.map(textOf));
  const turnTexts = flatParts(view).flatMap(({ part }) => (part.kind === "text" ? [part.text] : []));
  for (const text of view.system) expect(turnTexts, "system text is not repeated in the turns").not.toContain(text);
  if (kit.systemPlacement === "top-level") {
    expect(view.systemRolesInMessages).toEqual([]);
  } else {
    // OpenAI keeps system and developer messages where the caller put them.
    const roles = ((sent.json as { messages: { role: string }[] }).messages).map((message) => message.role);
    expect(roles).toEqual(input.messages.map((message) => Role[message.role].toLowerCase()));
  }
}

function checkImages(view: NormalRequest, input: ChatInput, kit: ProviderKit): void {
  const expected: NormalPart[] = input.messages.flatMap((message) =>
    message.content.flatMap((part): NormalPart[] => {
      if (part.part.case !== "image") return [];
      const media = part.part.value;
      if (media.source.case === "data") return [{ kind: "media-data", mimeType: media.mimeType, base64: Buffer.from(media.source.value).toString("base64") }];
      const url = media.source.value ?? "";
      return kit.imageUrls === "by-reference" ? [{ kind: "media-url", url }] : [{ kind: "media-data", mimeType: "image/png", base64: Buffer.from(KIT_MEDIA_BYTES).toString("base64") }];
    }),
  );
  const sent = flatParts(view).map(({ part }) => part).filter((part) => part.kind === "media-url" || part.kind === "media-data");
  expect(sent).toEqual(expected);
  expect(flatParts(view).find(({ part }) => part.kind === "text")?.part).toEqual({ kind: "text", text: "Compare these." });
}

function checkToolRoundTrip(view: NormalRequest, input: ChatInput, kit: ProviderKit): void {
  const calls = input.messages.flatMap((message) => message.toolCalls);
  const results = input.messages.filter((message) => message.role === Role.TOOL);
  const flat = flatParts(view);
  const callParts = flat.filter(({ part }) => part.kind === "tool-call");
  expect(callParts.every(({ role }) => role === "assistant")).toBe(true);
  expect(callParts.map(({ part }) => part.kind === "tool-call" && { id: part.id, name: part.name, args: part.args })).toEqual(calls.map((call) => ({ id: call.id, name: call.name, args: JSON.parse(call.arguments || "{}") })));
  const resultParts = flat.filter(({ part }) => part.kind === "tool-result");
  expect(resultParts.map(({ part }) => part.kind === "tool-result" && part.id)).toEqual(results.map((result) => result.toolCallId));
  expect(resultParts.map(({ part }) => part.kind === "tool-result" && part.output)).toEqual(results.map((result) => parseOutput(textOf(result))));
  if (kit.dialect === "gemini") {
    // Gemini matches results by name: looked up from the earlier call with the same id.
    expect(resultParts.map(({ part }) => part.kind === "tool-result" && part.name)).toEqual(results.map((result) => calls.find((call) => call.id === result.toolCallId)?.name));
    // Gemini 3 needs each replayed call's thought signature; without one, the first call of the turn gets the documented sentinel.
    const expectedSignatures = input.messages.flatMap((message) => message.toolCalls.map((c, index) => {
      const google = c.extraContent?.google as { thought_signature?: string } | undefined;
      return google?.thought_signature ?? (index === 0 ? SKIP_THOUGHT_SIGNATURE_VALIDATOR : undefined);
    }));
    expect(callParts.map(({ part }) => (part.kind === "tool-call" ? part.signature : undefined))).toEqual(expectedSignatures);
  }
  const callTurn = callParts[0]?.turn ?? -1;
  const resultTurns = [...new Set(resultParts.map(({ turn }) => turn))];
  if (kit.toolResultsShareTurn) {
    expect(resultTurns, "all results answering one assistant turn share the next user turn").toEqual([callTurn + 1]);
    expect(view.turns[callTurn + 1]?.role).toBe("user");
  } else {
    expect(resultTurns).toEqual(results.map((_, index) => callTurn + 1 + index));
    expect(resultTurns.map((turn) => view.turns[turn]?.role)).toEqual(results.map(() => "tool"));
  }
  // Gotcha 8: an assistant turn that is only tool calls carries no empty text.
  expect(flat.filter(({ part }) => part.kind === "text" && part.text === "")).toEqual([]);
}

const toolNames = (view: NormalRequest, input: ChatInput) => expect(view.tools.map((tool) => tool.name)).toEqual(input.tools.map((tool) => tool.name));

const REQUEST_CHECKS: Partial<Record<ScenarioName, (view: NormalRequest, input: ChatInput, kit: ProviderKit, sent: SentRequest) => void>> = {
  "system prompt": checkSystem,
  images: checkImages,
  "tool-result round trip": checkToolRoundTrip,
  "single tool call": toolNames,
  "parallel tool calls": toolNames,
  "zero-argument tool": toolNames,
  "length finish": (view, input) => expect(view.params.maxTokens).toBe(input.maxTokens),
  "stop finish": (view, input) => expect(view.params.stop).toEqual(input.stop),
};

/** Checks every request: URL, key header, model and stream flag, then the scenario's own check. */
function checkRequest(kit: ProviderKit, scenario: ScenarioName, mode: Mode, model: string, input: ChatInput, sent: SentRequest, account?: FixtureRow["account"]): void {
  if (!account?.baseUrl) expect(sent.url).toBe(kit.url(model, mode));
  expect(kit.keyOf(sent.headers)).toBe(account?.apiKey ?? kit.apiKey);
  const view = readNativeRequest(kit.dialect, sent.json, sent.url);
  expect(view.model).toBe(model);
  expect(view.stream).toBe(mode === "stream");
  REQUEST_CHECKS[scenario]?.(view, input, kit, sent);
}

// ---------- the hand-made scenario list ----------

const WEATHER_TOOL = {
  name: "get_current_weather",
  description: "Get the current weather in a given location",
  parameters: { type: "object", properties: { location: { type: "string", description: "The city and state, e.g. San Francisco, CA" }, unit: { type: "string", enum: ["celsius", "fahrenheit"] } }, required: ["location"] },
};
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
const call = (id: string, location: string) => ({ id, name: WEATHER_TOOL.name, arguments: { location, unit: "celsius" } });

interface Scenario {
  readonly name: ScenarioName;
  readonly input: ChatInput;
  readonly answer: Omit<CanonicalAnswer, "id" | "model">;
  readonly write?: WriteOptions;
  /** Warnings a dialect must report for this input (default none). */
  readonly warnings?: Partial<Record<Dialect, string[]>>;
}

const base = { maxTokens: 200 };
const SCENARIOS: readonly Scenario[] = [
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

const ANSWER_IDS: Record<Dialect, string> = { openai: "chatcmpl-contract", anthropic: "msg_contract", gemini: "contract-response-id" };
const FINISH: Record<CanonicalFinish, FinishReason> = { stop: FinishReason.STOP, stop_sequence: FinishReason.STOP, length: FinishReason.LENGTH, tool_calls: FinishReason.TOOL_CALLS, content_filter: FinishReason.CONTENT_FILTER };
/** Anthropic's refusal carries an explanation the gateway surfaces as refusal text; the others have none. */
const REFUSAL_EXPLAINED: Record<Dialect, boolean> = { openai: false, anthropic: true, gemini: false };

function canonical(kit: ProviderKit, scenario: Scenario): CanonicalAnswer {
  return { ...scenario.answer, id: ANSWER_IDS[kit.dialect], model: kit.model };
}

function handMadeAnswer(kit: ProviderKit, answer: CanonicalAnswer, mode: Mode, write: WriteOptions = {}): ReplayAnswer {
  if (mode === "generate") return { headers: { "content-type": "application/json" }, body: JSON.stringify(nativeBody(kit.dialect, answer, write)) };
  const stream = nativeStream(kit.dialect, answer, write);
  return { headers: stream.headers, body: [...stream.content, ...stream.terminal].join("") };
}

function expectedFrom(kit: ProviderKit, answer: CanonicalAnswer): ExpectedOutcome {
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

// ---------- upstream failures ----------

interface ErrorRow {
  readonly kind: ErrorKind;
  readonly message: string;
  readonly expect: (kit: ProviderKit) => ExpectedError & { restStatus: number; retryAfter?: string };
}

const ERROR_ROWS: readonly ErrorRow[] = [
  { kind: "400", message: "messages.0.content: text content blocks must be non-empty", expect: () => ({ code: Code.InvalidArgument, reason: "UPSTREAM_INVALID_REQUEST", upstreamStatus: 400, messageIncludes: "text content blocks must be non-empty", restStatus: 400 }) },
  { kind: "401", message: "Incorrect API key provided: KEY. You can find your API key in your account.", expect: (kit) => ({ code: Code.Internal, reason: "PROVIDER_AUTH_FAILED", upstreamStatus: kit.dialect === "gemini" ? 400 : 401, restStatus: 502 }) },
  { kind: "404", message: "model: no-such-model was not found", expect: () => ({ code: Code.NotFound, reason: "MODEL_NOT_FOUND", upstreamStatus: 404, messageIncludes: "no-such-model", restStatus: 404 }) },
  { kind: "429", message: "Rate limit reached for requests", expect: () => ({ code: Code.ResourceExhausted, reason: "RATE_LIMIT_EXCEEDED", upstreamStatus: 429, restStatus: 429, retryAfter: "7" }) },
  { kind: "500", message: "The server had an error while processing your request.", expect: () => ({ code: Code.Unavailable, reason: "PROVIDER_UNAVAILABLE", upstreamStatus: 500, restStatus: 503 }) },
  { kind: "503", message: "Service temporarily unavailable.", expect: () => ({ code: Code.Unavailable, reason: "PROVIDER_UNAVAILABLE", upstreamStatus: 503, restStatus: 503 }) },
  { kind: "overload", message: "The model is overloaded. Please try again later.", expect: (kit) => ({ code: Code.Unavailable, reason: "PROVIDER_UNAVAILABLE", upstreamStatus: OVERLOAD_STATUS[kit.dialect], restStatus: 503 }) },
];

const MODES: readonly Mode[] = ["generate", "stream"];

// ---------- the suite ----------

describe.each(KITS)("$label adapter contract", (kit) => {
  describe("hand-made scenarios (bodies written by dialect-answers.ts)", () => {
    const rows = SCENARIOS.flatMap((scenario) => MODES.map((mode) => ({ scenario, mode })));
    it.each(rows)("$scenario.name ($mode)", async ({ scenario, mode }) => {
      const answer = canonical(kit, scenario);
      const run = await runRow(kit, { mode, model: kit.model, input: scenario.input, answer: handMadeAnswer(kit, answer, mode, scenario.write) });
      const outcome = assertOutcome(run, { ...expectedFrom(kit, answer), warnings: scenario.warnings?.[kit.dialect] ?? [] });
      expect(outcome.id).toBe(answer.id);
      checkRequest(kit, scenario.name, mode, kit.model, scenario.input, sentRequest(run));
    });

    it("fetches an https image URL itself only when the provider cannot take it by reference", async () => {
      kit.mediaFetches.length = 0;
      const scenario = SCENARIOS.find((entry) => entry.name === "images");
      if (!scenario) throw new Error("no images scenario");
      await runRow(kit, { mode: "generate", model: kit.model, input: scenario.input, answer: handMadeAnswer(kit, canonical(kit, scenario), "generate") });
      expect(kit.mediaFetches).toEqual(kit.imageUrls === "fetched-and-inlined" ? ["messages[0].content[1] https://media.example.com/cat.png"] : []);
    });
  });

  describe("upstream errors before the first byte", () => {
    const rows = ERROR_ROWS.flatMap((row) => MODES.map((mode) => ({ row, mode })));
    it.each(rows)("$row.kind ($mode)", async ({ row, mode }) => {
      const native = nativeError(kit.dialect, row.kind, row.message.replace("KEY", kit.apiKey));
      const run = await runRow(kit, { mode, model: kit.model, input: SCENARIOS[0]?.input ?? chatInput({}), answer: { status: native.status, headers: native.headers, body: native.body } });
      const want = row.expect(kit);
      const error = assertError(run, want, kit);
      expect(run.eventCount, "nothing is emitted before an upstream error").toBe(0);
      expect(error.message).not.toContain("Incorrect API key");
      const rest = toRestError(error);
      expect(rest.status).toBe(want.restStatus);
      if (want.retryAfter) {
        expect(error.facts.retryAfterMs).toBe(7000);
        expect(rest.headers["retry-after"]).toBe(want.retryAfter);
      }
      sentRequest(run);
    });
  });

  describe("streams that fail or stop", () => {
    const longAnswer = (): CanonicalAnswer => ({ id: ANSWER_IDS[kit.dialect], model: kit.model, text: Array.from({ length: 60 }, (_, i) => `word${i}`).join(" "), finish: "stop", usage: { prompt: 5, cached: 0, completion: 60, reasoning: 0 } });

    it("mid-stream error: the text so far arrives, then a PROVIDER_UNAVAILABLE error marked after-first-byte, and no finish", async () => {
      const answer = { ...longAnswer(), text: "partial answer here" };
      const stream = nativeStream(kit.dialect, answer);
      const body = [...stream.content, nativeStreamErrorFrame(kit.dialect, "Overloaded")].join("");
      const run = await runRow(kit, { mode: "stream", model: kit.model, input: SCENARIOS[0]?.input ?? chatInput({}), answer: { headers: stream.headers, body } });
      expect(run.outcome?.text).toBe("partial answer here");
      expect(run.outcome?.finish).toBeUndefined();
      const error = assertError(run, { code: Code.Unavailable, reason: "PROVIDER_UNAVAILABLE", messageIncludes: "Overloaded" }, kit);
      expect(error.facts.afterFirstByte).toBe(true);
    });

    it("truncated stream (hand-made): content without terminal events ends with no finish", async () => {
      const stream = nativeStream(kit.dialect, longAnswer());
      const run = await runRow(kit, { mode: "stream", model: kit.model, input: SCENARIOS[0]?.input ?? chatInput({}), answer: { headers: stream.headers, body: stream.content.join("") } });
      expect(run.error).toBeUndefined();
      expect(run.outcome?.text).toBe(longAnswer().text);
      expect(run.outcome?.finish).toBeUndefined();
    });

    it("abort while streaming: CANCELED, and the upstream request is aborted", async () => {
      const stream = nativeStream(kit.dialect, longAnswer());
      const replay = replayTransport({ headers: stream.headers, body: [...stream.content, ...stream.terminal].join(""), sliceSizes: [24] });
      const controller = new AbortController();
      const { events, error } = await drain(kit.createAdapter(replay.transport).stream(SCENARIOS[0]?.input ?? chatInput({}), callOptions(kit.model, controller.signal)), (event) => {
        if (event.event.case === "textDelta") controller.abort();
      });
      expect(error).toBeInstanceOf(GatewayError);
      expect((error as GatewayError).reason).toBe("CANCELED");
      expect(events.filter((event) => event.event.case === "textDelta")).toHaveLength(1);
      expect(events.some((event) => event.event.case === "finish")).toBe(false);
      expect(replay.requests[0]?.signal.aborted).toBe(true);
    });

    it("abort while a non-streaming answer is being read: CANCELED, and the upstream request is aborted", async () => {
      // A transport that sends the first bytes of the answer, then holds the rest until the request is aborted.
      const body = new TextEncoder().encode(JSON.stringify(nativeBody(kit.dialect, longAnswer())));
      let requestSignal: AbortSignal | undefined;
      let firstBytesSent: () => void = () => undefined;
      const sentFirstBytes = new Promise<void>((resolve) => { firstBytesSent = resolve; });
      const transport: UpstreamTransport = async (request) => {
        requestSignal = request.signal;
        async function* chunks(): AsyncGenerator<Uint8Array> {
          yield body.subarray(0, 16);
          firstBytesSent();
          await new Promise((resolve) => request.signal.addEventListener("abort", resolve, { once: true }));
          const error = new Error("This operation was aborted");
          error.name = "AbortError";
          throw error;
        }
        return { status: 200, header: (name) => (name === "content-type" ? "application/json" : undefined), body: chunks() };
      };
      const controller = new AbortController();
      const pending = kit.createAdapter(transport).generate(SCENARIOS[0]?.input ?? chatInput({}), callOptions(kit.model, controller.signal)).then(() => undefined, (thrown: unknown) => thrown);
      await sentFirstBytes;
      controller.abort();
      const error = await pending;
      expect(error).toBeInstanceOf(GatewayError);
      expect((error as GatewayError).reason).toBe("CANCELED");
      expect(requestSignal?.aborted).toBe(true);
    });
  });

  describe("recorded fixtures", () => {
    it.each(FIXTURE_ROWS[kit.dialect].map((row) => ({ ...row, title: `${row.scenario} (${row.mode}): ${row.label}` })))("$title", async (row) => {
      const run = await runRow(kit, row);
      if ("outcome" in row.expect) {
        assertOutcome(run, row.expect.outcome);
      } else {
        assertError(run, row.expect.error, kit);
        expect(run.eventCount).toBe(0);
      }
      const sent = sentRequest(run);
      checkRequest(kit, row.scenario, row.mode, row.model, row.input, sent, row.account);
      row.request?.(sent);
    });
  });
});

describe("fixture coverage", () => {
  it("every recorded fixture file is replayed by at least one contract row", () => {
    const onDisk = readdirSync(FIXTURES_DIR, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .flatMap((folder) => readdirSync(join(FIXTURES_DIR, folder.name)).map((file) => `${folder.name}/${file}`))
      .sort();
    const covered = [...new Set(Object.values(FIXTURE_ROWS).flatMap((rows) => rows.flatMap((row) => row.fixtures)))].sort();
    expect(onDisk.length).toBeGreaterThan(0);
    expect(covered).toEqual(onDisk);
  });

  it("every contract scenario has hand-made rows for every kit, and recorded rows name a known scenario", () => {
    const handMade = new Set<string>(SCENARIOS.map((scenario) => scenario.name));
    const known = new Set<string>([...handMade, "upstream 400", "truncated stream"]);
    for (const rows of Object.values(FIXTURE_ROWS)) for (const row of rows) expect(known.has(row.scenario), row.label).toBe(true);
    expect(KITS.map((kit) => kit.dialect)).toEqual(["openai", "anthropic", "gemini"]);
  });
});
