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
