/**
 * A real node:http server on 127.0.0.1:<ephemeral> that speaks the three upstream dialects the
 * gateway talks to, answering from what each request says rather than from a script:
 * - OpenAI chat completions: `POST /v1/chat/completions` (Bearer key);
 * - Anthropic Messages: `POST /v1/messages` (x-api-key, anthropic-version);
 * - Gemini: `POST /v1beta/models/{model}:generateContent` and `:streamGenerateContent?alt=sse`
 *   (x-goog-api-key; without alt=sse the stream is one JSON array, as Gemini does);
 * - `GET /media/{name}`: bytes registered with serveMedia (for the gateway's media fetcher).
 *
 * Answers: "Echo: <last user text>" (plus the media types it received); tool calls when tools are
 * offered and the prompt asks for the weather (one get_current_weather call per city named after
 * "in"); a report of the tool results when the last turn carries them; JSON when JSON output is
 * asked for; the max-token limit (in words) and stop sequences applied like a provider would.
 * Usage is derived from the request and answer sizes and recorded with the request. Failures on
 * demand with a marker in the last user text: [[error:400|401|404|429|500|503|overload]],
 * [[midstream-error]], [[truncate]], [[refuse]]. Each dialect also checks what its real API
 * checks (key header, Anthropic alternation, non-empty text, whitespace-only stop sequences,
 * temperature range, tool_result pairing; Gemini function-response names and Gemini 3 thought
 * signatures) and answers a native 400 when the gateway gets it wrong.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Socket } from "node:net";
import {
  nativeBody, nativeError, nativeStream, nativeStreamErrorFrame,
  type CanonicalAnswer, type CanonicalToolCall, type Dialect, type ErrorKind, type Json, type JsonMap, type NativeHttpAnswer,
} from "./dialect-answers.js";
import { flatParts, readNativeRequest, type NormalRequest } from "./dialect-requests.js";
import { onRequestBody } from "./request-body.js";

/** One request the server received. */
export interface DialectRequest {
  readonly dialect: Dialect | "media" | "unknown";
  readonly method: string;
  /** Path and query. */
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The parsed JSON body (undefined for GETs and bodies that are not JSON). */
  readonly body: unknown;
  /** The request in neutral words, when it could be read. */
  readonly view?: NormalRequest;
  /** What the server answered with: the canonical answer, or the status of an error. */
  answer?: CanonicalAnswer;
  status: number;
}

/** Settings of the server. */
export interface DialectUpstreamOptions {
  /** The provider key each dialect accepts. */
  readonly keys: Readonly<Record<Dialect, string>>;
  /** Models each dialect knows; any other model is that dialect's 404. */
  readonly models: Readonly<Record<Dialect, readonly string[]>>;
}

/** A running dialect upstream. */
export interface DialectUpstream {
  /** http://127.0.0.1:<port> */
  readonly origin: string;
  /** Every request received, media GETs included, in order. */
  readonly requests: DialectRequest[];
  /** The chat requests (media GETs excluded). */
  chatRequests(): DialectRequest[];
  /** The most recent chat request; throws when there is none. */
  lastChat(): DialectRequest;
  /** Serves `bytes` at GET /media/<name> with `contentType`; returns the URL. */
  serveMedia(name: string, bytes: Uint8Array, contentType: string): string;
  /** Forgets recorded requests. */
  reset(): void;
  close(): Promise<void>;
}

/** The signature the Gemini dialect puts on the first function call of a turn, per call name. */
export const geminiSignatureFor = (name: string): string => `sig-${name}-handmade`;
const GEMINI_SKIP_SIGNATURE = "skip_thought_signature_validator";

class NativeFailure extends Error {
  constructor(readonly answer: NativeHttpAnswer) {
    super(answer.body);
  }
}

const fail = (dialect: Dialect, kind: ErrorKind, message: string) => new NativeFailure(nativeError(dialect, kind, message));

function checkKey(dialect: Dialect, headers: http.IncomingHttpHeaders, url: string, key: string): void {
  if (dialect === "openai" && headers.authorization !== `Bearer ${key}`) throw fail(dialect, "401", "Incorrect API key provided.");
  if (dialect === "anthropic") {
    if (headers["x-api-key"] !== key) throw fail(dialect, "401", "invalid x-api-key");
    if (!headers["anthropic-version"]) throw fail(dialect, "400", "anthropic-version: header is required");
  }
  if (dialect === "gemini" && (headers["x-goog-api-key"] !== key || /[?&]key=/.test(url))) throw fail(dialect, "401", "API key not valid. Please pass a valid API key.");
}

/** What each real API refuses, phrased as that API would. */
function validate(view: NormalRequest, body: JsonMap): void {
  if (view.dialect === "anthropic") {
    if (typeof body.max_tokens !== "number") throw fail("anthropic", "400", "max_tokens: Field required");
    if (view.turns[0]?.role !== "user") throw fail("anthropic", "400", "messages: first message must use the \"user\" role");
    view.turns.forEach((turn, index) => {
      if (index > 0 && view.turns[index - 1]?.role === turn.role) throw fail("anthropic", "400", `messages: roles must alternate between "user" and "assistant" (messages.${index})`);
      if (turn.parts.length === 0 || turn.parts.some((part) => part.kind === "text" && part.text === "")) throw fail("anthropic", "400", `messages.${index}: text content blocks must be non-empty`);
      const uses = (view.turns[index - 1]?.parts ?? []).flatMap((part) => (part.kind === "tool-call" ? [part.id] : []));
      for (const part of turn.parts) {
        if (part.kind === "tool-result" && !uses.includes(part.id)) throw fail("anthropic", "400", `messages.${index}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${part.id ?? ""}`);
      }
    });
    for (const stop of view.params.stop ?? []) if (/^\s*$/.test(stop)) throw fail("anthropic", "400", "stop_sequences: each stop sequence must contain non-whitespace");
    if ((view.params.temperature ?? 0) > 1) throw fail("anthropic", "400", "temperature: range: 0..1");
  }
  if (view.dialect === "gemini") {
    if (view.turns.length === 0) throw fail("gemini", "400", "* GenerateContentRequest.contents: contents is not specified");
    const called = new Set<string>();
    for (const turn of view.turns) {
      const calls = turn.parts.filter((part) => part.kind === "tool-call");
      const first = calls[0];
      if (first?.kind === "tool-call" && first.signature !== GEMINI_SKIP_SIGNATURE && first.signature !== geminiSignatureFor(first.name)) {
        throw fail("gemini", "400", `Function call is missing a thought_signature in functionCall parts (${first.name}).`);
      }
      for (const part of turn.parts) {
        if (part.kind === "tool-call") called.add(part.name);
        if (part.kind === "tool-result" && !called.has(part.name ?? "")) throw fail("gemini", "400", `function response name ${part.name ?? ""} does not match any earlier function call`);
      }
    }
  }
  if (view.dialect === "openai") {
    const open = new Set<string>();
    for (const turn of view.turns) {
      for (const part of turn.parts) {
        if (part.kind === "tool-call" && part.id) open.add(part.id);
        if (part.kind === "tool-result" && !open.has(part.id ?? "")) throw fail("openai", "400", "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.");
      }
    }
  }
}

const words = (text: string) => text.split(/\s+/).filter(Boolean).length;

function sampleFromSchema(schema: Json | undefined, hint: string): Json {
  const map = typeof schema === "object" && schema !== null && !Array.isArray(schema) ? schema : {};
  const type = typeof map.type === "string" ? map.type.toLowerCase() : "object";
  if (Array.isArray(map.enum) && map.enum.length > 0) return map.enum[0] ?? null;
  if (type === "string") return hint;
  if (type === "number" || type === "integer") return 1;
  if (type === "boolean") return true;
  if (type === "array") return [sampleFromSchema(map.items, hint)];
  const properties = typeof map.properties === "object" && map.properties !== null && !Array.isArray(map.properties) ? map.properties : {};
  return Object.fromEntries(Object.entries(properties).map(([key, value]) => [key, sampleFromSchema(value, hint)]));
}

/** The cities a weather prompt names: "...weather like in Boston, Tokyo and Paris?" -> [Boston, Tokyo, Paris]. */
function citiesOf(text: string): string[] {
  const match = /weather[^?]*?\bin ([^?]+?)(?:\?|$| today| right now)/i.exec(text);
  return (match?.[1] ?? "").split(/,\s*(?:and\s+)?|\s+and\s+/).map((city) => city.trim()).filter(Boolean);
}

function decide(view: NormalRequest, id: string, requestText: string): { answer: CanonicalAnswer; stopSequence?: string } {
  const lastUser = [...view.turns].reverse().find((turn) => turn.role === "user" || turn.role === "tool");
  const userText = (lastUser?.parts ?? []).flatMap((part) => (part.kind === "text" ? [part.text] : [])).join(" ");
  const mediaTypes = flatParts(view).flatMap(({ part }) => (part.kind === "media-data" ? [part.mimeType] : part.kind === "media-url" ? [part.mimeType ?? "url"] : []));
  // The results after the last assistant turn: one user turn (Anthropic, Gemini) or several tool turns (OpenAI).
  const lastAssistant = view.turns.map((turn) => turn.role).lastIndexOf("assistant");
  const results = view.turns.slice(lastAssistant + 1).flatMap((turn) => turn.parts).flatMap((part) => (part.kind === "tool-result" ? [part] : []));
  let text = "";
  let toolCalls: CanonicalToolCall[] = [];
  const cities = citiesOf(userText);
  const weather = view.toolChoice !== "none" && view.tools.some((tool) => tool.name === "get_current_weather") && cities.length > 0;
  // A named tool_choice forces that tool; "required" forces the first tool when the prompt does not ask for the weather.
  const forced = typeof view.toolChoice === "object" ? view.toolChoice.name : view.toolChoice === "required" && !weather ? view.tools[0]?.name : undefined;
  const wantsJson = view.params.json ?? (view.system.some((line) => /valid JSON object/i.test(line)) ? "json_object" : undefined);
  if (results.length > 0) {
    text = `Tool results: ${results.map((result) => (typeof result.output === "string" ? result.output : JSON.stringify(result.output))).join(" | ")}`;
  } else if (forced && !(forced === "get_current_weather" && weather)) {
    const tool = view.tools.find((entry) => entry.name === forced);
    toolCalls = [{ id: `${id}_call0`, name: forced, arguments: sampleFromSchema(tool?.parameters, userText) as JsonMap }];
  } else if (weather) {
    const unit = /fahrenheit/i.test(userText) ? "fahrenheit" : "celsius";
    toolCalls = cities.map((city, index) => ({ id: `${id}_call${index}`, name: "get_current_weather", arguments: { location: city, unit } }));
  } else if (wantsJson !== undefined) {
    text = JSON.stringify(wantsJson === "json_object" ? { echo: userText } : sampleFromSchema(wantsJson.schema, userText));
  } else {
    text = `Echo: ${userText}${mediaTypes.length > 0 ? ` [media: ${mediaTypes.join(", ")}]` : ""}`;
  }
  let finish: CanonicalAnswer["finish"] = toolCalls.length > 0 ? "tool_calls" : "stop";
  if (/\[\[refuse\]\]/.test(userText)) {
    text = "";
    finish = "content_filter";
  }
  const limit = view.params.maxTokens;
  if (limit !== undefined && words(text) > limit) {
    text = text.split(/(?<=\s)/).slice(0, limit).join("").trimEnd();
    finish = "length";
  }
  let stopSequence: string | undefined;
  for (const stop of view.params.stop ?? []) {
    const at = text.indexOf(stop);
    if (at !== -1) {
      text = text.slice(0, at);
      finish = "stop_sequence";
      stopSequence = stop;
    }
  }
  const prompt = 10 + words(requestText) + 50 * mediaTypes.length;
  const reasoning = 2;
  const n = view.params.n ?? 1;
  const answer: CanonicalAnswer = {
    id,
    model: view.model,
    text,
    toolCalls,
    finish,
    usage: { prompt, cached: Math.floor(prompt / 4), completion: words(text) + 8 * toolCalls.length + reasoning, reasoning },
    ...(finish === "content_filter" ? { refusal: "The request was refused by the provider's safety system." } : {}),
    ...(n > 1 && !view.stream ? { extraChoices: Array.from({ length: n - 1 }, (_, index) => `${text} (choice ${index + 1})`) } : {}),
  };
  return { answer, ...(stopSequence !== undefined ? { stopSequence } : {}) };
}

/** Starts the server on 127.0.0.1 with an ephemeral port. */
export async function startDialectUpstream(options: DialectUpstreamOptions): Promise<DialectUpstream> {
  const requests: DialectRequest[] = [];
  const media = new Map<string, { bytes: Uint8Array; contentType: string }>();
  const sockets = new Set<Socket>();
  let counter = 0;

  function route(method: string, url: string): { dialect: Dialect | "media" | "unknown" } {
    const path = url.split("?")[0] ?? "";
    if (method === "GET" && path.startsWith("/media/")) return { dialect: "media" };
    if (method === "POST" && path === "/v1/chat/completions") return { dialect: "openai" };
    if (method === "POST" && path === "/v1/messages") return { dialect: "anthropic" };
    if (method === "POST" && /^\/v1beta\/models\/[^/:]+:(generateContent|streamGenerateContent)$/.test(path)) return { dialect: "gemini" };
    return { dialect: "unknown" };
  }

  async function writeFrames(response: http.ServerResponse, headers: Record<string, string>, frames: string[], end: boolean): Promise<void> {
    response.writeHead(200, { ...headers, "cache-control": "no-cache" });
    response.flushHeaders();
    for (const frame of frames) {
      await new Promise((resolve) => setImmediate(resolve));
      if (response.destroyed) return;
      response.write(frame);
    }
    if (end) response.end();
    else response.destroy();
  }

  async function answerChat(dialect: Dialect, record: DialectRequest, response: http.ServerResponse): Promise<void> {
    checkKey(dialect, record.headers, record.url, options.keys[dialect]);
    if (!record.view) throw fail(dialect, "400", "the request body could not be read");
    const view = record.view;
    validate(view, record.body as JsonMap);
    const lastText = flatParts(view).flatMap(({ part }) => (part.kind === "text" ? [part.text] : [])).pop() ?? "";
    const marker = /\[\[error:(400|401|404|429|500|503|overload)\]\]/.exec(lastText)?.[1] as ErrorKind | undefined;
    if (marker) throw fail(dialect, marker, marker === "401" ? `Incorrect API key provided: ${options.keys[dialect]}` : `upstream ${marker} on demand`);
    if (!options.models[dialect].includes(view.model)) throw fail(dialect, "404", `model: ${view.model} was not found`);
    const requestText = flatParts(view).flatMap(({ part }) => (part.kind === "text" ? [part.text] : [])).concat(view.system).join(" ");
    const { answer, stopSequence } = decide(view, `${dialect}-answer-${++counter}`, requestText);
    record.answer = answer;
    record.status = 200;
    // The Gemini dialect signs the first function call of a turn, as Gemini 3 does.
    const firstCall = answer.toolCalls?.[0];
    const clean: CanonicalAnswer = dialect === "gemini" && firstCall ? { ...answer, reasoningSignature: geminiSignatureFor(firstCall.name) } : answer;
    const streamOptions = (record.body as { stream_options?: { include_usage?: unknown } }).stream_options;
    const write = { includeUsage: streamOptions?.include_usage === true, ...(stopSequence !== undefined ? { stopSequence } : {}) };
    if (!view.stream) {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify(nativeBody(dialect, clean, write)));
      return;
    }
    const stream = nativeStream(dialect, clean, write);
    if (/\[\[midstream-error\]\]/.test(lastText)) return writeFrames(response, stream.headers, [...stream.content, nativeStreamErrorFrame(dialect, "The provider failed mid-stream.")], true);
    if (/\[\[truncate\]\]/.test(lastText)) return writeFrames(response, stream.headers, stream.content, false);
    if (dialect === "gemini" && !record.url.includes("alt=sse")) {
      const chunks = [...stream.content, ...stream.terminal].map((frame) => frame.replace(/^data: /, "").trim());
      response.writeHead(200, { "content-type": "application/json; charset=UTF-8" });
      response.end(`[${chunks.join(",\n")}]`);
      return;
    }
    return writeFrames(response, stream.headers, [...stream.content, ...stream.terminal], true);
  }

  const server = http.createServer((request, response) => {
    onRequestBody(request, (_text, body) => {
      const method = request.method ?? "";
      const url = request.url ?? "";
      const { dialect } = route(method, url);
      let view: NormalRequest | undefined;
      let readError: unknown;
      if (dialect !== "media" && dialect !== "unknown") {
        try {
          view = readNativeRequest(dialect, body, url);
        } catch (error) {
          readError = error;
        }
      }
      const record: DialectRequest = { dialect, method, url, headers: request.headers, body, ...(view ? { view } : {}), status: 0 };
      requests.push(record);
      if (dialect === "media") {
        const entry = media.get(decodeURIComponent(url.split("?")[0]?.slice("/media/".length) ?? ""));
        record.status = entry ? 200 : 404;
        response.writeHead(record.status, { "content-type": entry?.contentType ?? "text/plain" });
        response.end(entry ? Buffer.from(entry.bytes) : "not found");
        return;
      }
      if (dialect === "unknown") {
        record.status = 404;
        response.writeHead(404, { "content-type": "text/plain" });
        response.end(`no route for ${method} ${url}`);
        return;
      }
      const native = dialect;
      (async () => {
        if (readError) throw fail(native, "400", readError instanceof Error ? readError.message : String(readError));
        await answerChat(native, record, response);
      })().catch((error: unknown) => {
        const answer = error instanceof NativeFailure ? error.answer : nativeError(native, "500", String(error));
        record.status = answer.status;
        if (response.headersSent) {
          response.destroy();
          return;
        }
        response.writeHead(answer.status, answer.headers);
        response.end(answer.body);
      });
    });
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const chatRequests = () => requests.filter((entry) => entry.dialect !== "media" && entry.dialect !== "unknown");
  let closed = false;
  return {
    origin,
    requests,
    chatRequests,
    lastChat() {
      const last = chatRequests().at(-1);
      if (!last) throw new Error("dialect upstream: no chat request received");
      return last;
    },
    serveMedia(name, bytes, contentType) {
      media.set(name, { bytes, contentType });
      return `${origin}/media/${encodeURIComponent(name)}`;
    },
    reset() {
      requests.length = 0;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
