/**
 * The checks of the request an adapter sent in an adapter-contract row: URL, key, model and stream
 * flag for every row, and what each scenario's input implies (system placement, images, tool round
 * trip, tool names, max tokens, stop), read in neutral words by dialect-requests.ts.
 */
import { expect } from "vitest";
import { Role, type ChatInput } from "../../gen/switchyard/v1/chat_pb.js";
import { SKIP_THOUGHT_SIGNATURE_VALIDATOR } from "../../src/providers/gemini/gemini-contents.js";
import { flatParts, parseOutput, readNativeRequest, type NormalPart, type NormalRequest } from "./dialect-requests.js";
import { KIT_MEDIA_BYTES, type FixtureRow, type Mode, type ProviderKit, type ScenarioName, type SentRequest } from "./provider-kits.js";

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
export function checkRequest(kit: ProviderKit, scenario: ScenarioName, mode: Mode, model: string, input: ChatInput, sent: SentRequest, account?: FixtureRow["account"]): void {
  if (!account?.baseUrl) expect(sent.url).toBe(kit.url(model, mode));
  expect(kit.keyOf(sent.headers)).toBe(account?.apiKey ?? kit.apiKey);
  const view = readNativeRequest(kit.dialect, sent.json, sent.url);
  expect(view.model).toBe(model);
  expect(view.stream).toBe(mode === "stream");
  REQUEST_CHECKS[scenario]?.(view, input, kit, sent);
}
