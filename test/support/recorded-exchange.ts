/**
 * The shapes of recorded upstream traffic in the fixtures folder: a recorded request
 * (`*.request.json`) and an exchange (`{request, response}` in one `*.json`), with their readers.
 */
import { readJsonFixture } from "./replay-transport.js";

/** A request as the recorder sent it upstream. */
export interface RecordedRequest {
  method: string;
  url: string;
  body: Record<string, unknown>;
}

/** A recorded exchange: the request (when recorded) and the upstream's status and JSON body. */
export interface RecordedExchange {
  request?: RecordedRequest;
  response: { status: number; body: unknown };
}

/** A recorded exchange whose request was recorded too. */
export type RecordedExchangeWithRequest = RecordedExchange & { request: RecordedRequest };

/** Reads a `*.request.json` fixture. */
export function readRecordedRequest(relativePath: string): RecordedRequest {
  return readJsonFixture<RecordedRequest>(relativePath);
}

/** Reads an exchange fixture. */
export function readExchange(relativePath: string): RecordedExchange {
  return readJsonFixture<RecordedExchange>(relativePath);
}

/**
 * A recorded request body as the gateway sends it: the recording clients (pydantic-ai, llm) give a
 * tool without a description `description: ""`, and the gateway sends such a tool without one (in
 * OpenAI's `tools[].function` and Anthropic's `tools[]`). Other bodies come back unchanged.
 */
export function asGatewaySendsTools(body: unknown): unknown {
  if (typeof body !== "object" || body === null) return body;
  const tools = (body as { tools?: unknown }).tools;
  if (!Array.isArray(tools)) return body;
  const withoutEmpty = (object: Record<string, unknown>): Record<string, unknown> => {
    if (object.description !== "") return object;
    const { description: _empty, ...rest } = object;
    return rest;
  };
  return {
    ...body,
    tools: (tools as Record<string, unknown>[]).map((tool) => {
      const fn = tool.function;
      return typeof fn === "object" && fn !== null ? { ...tool, function: withoutEmpty(fn as Record<string, unknown>) } : withoutEmpty(tool);
    }),
  };
}
