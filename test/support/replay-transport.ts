import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import type { UpstreamRequest, UpstreamResponse, UpstreamTransport } from "../../src/providers/upstream-http.js";

/** The shared fixtures folder (../shared/fixtures/upstream beside the checkout). */
export const FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), "../../../shared/fixtures/upstream");

/** Reads a fixture file as text; a missing fixture throws (it is a test failure, never a skip). */
export function readFixture(relativePath: string): string {
  return readFileSync(join(FIXTURES_DIR, relativePath), "utf8");
}

/** Reads a JSON fixture. */
export function readJsonFixture<T = unknown>(relativePath: string): T {
  return JSON.parse(readFixture(relativePath)) as T;
}

/**
 * Rebuilds SSE bytes from a `*.chunks.txt` fixture (one data payload per line). With
 * `eventNames`, each event gets an `event: <type>` line first (Anthropic framing).
 */
export function sseFromChunks(chunksText: string, eventNames = false): string {
  return chunksText
    .split("\n")
    .filter((line) => line.trim().length > 0)
    .map((line) => {
      const type = eventNames ? (JSON.parse(line) as { type?: string }).type : undefined;
      return `${type ? `event: ${type}\n` : ""}data: ${line}\n\n`;
    })
    .join("");
}

/**
 * Splits bytes into deliberately awkward slices: sizes cycle through 1, 2, 3, 5, 7, 11, 64 bytes, so
 * lines, CRLF pairs and multi-byte UTF-8 characters are cut in the middle.
 */
export function awkwardSlices(bytes: Uint8Array, sizes: readonly number[] = [1, 2, 3, 5, 7, 11, 64]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let offset = 0;
  let index = 0;
  while (offset < bytes.length) {
    const size = sizes[index++ % sizes.length] ?? 1;
    out.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return out;
}

/** One scripted upstream answer. */
export interface ReplayAnswer {
  readonly status?: number;
  readonly headers?: Record<string, string>;
  /** The body, sent in awkward slices. */
  readonly body: string | Uint8Array;
  /** Slice sizes; default awkwardSlices' cycle. */
  readonly sliceSizes?: readonly number[];
}

/** A transport double that answers from a script and records every request it receives. */
export interface ReplayTransport {
  readonly transport: UpstreamTransport;
  /** Requests received, with the body parsed as JSON when it is JSON. */
  readonly requests: (UpstreamRequest & { json?: unknown })[];
}

/**
 * Creates a replaying transport: each call takes the next answer (the last one repeats). Body
 * slices are yielded asynchronously and stop with an AbortError when the request's signal aborts.
 */
export function replayTransport(...answers: ReplayAnswer[]): ReplayTransport {
  const requests: (UpstreamRequest & { json?: unknown })[] = [];
  let call = 0;
  const transport: UpstreamTransport = async (request) => {
    let json: unknown;
    try {
      json = request.body === undefined ? undefined : JSON.parse(request.body);
    } catch {
      json = undefined;
    }
    requests.push({ ...request, json });
    const answer = answers[Math.min(call++, answers.length - 1)];
    if (!answer) throw new Error("replayTransport: no answer scripted");
    if (request.signal.aborted) throw abortError();
    const bytes = typeof answer.body === "string" ? new TextEncoder().encode(answer.body) : answer.body;
    const slices = answer.sliceSizes ? awkwardSlices(bytes, answer.sliceSizes) : awkwardSlices(bytes);
    const headers = Object.fromEntries(Object.entries(answer.headers ?? {}).map(([key, value]) => [key.toLowerCase(), value]));
    async function* body(): AsyncGenerator<Uint8Array> {
      for (const slice of slices) {
        await new Promise((resolve) => setImmediate(resolve));
        if (request.signal.aborted) throw abortError();
        yield slice;
      }
    }
    const response: UpstreamResponse = { status: answer.status ?? 200, header: (name) => headers[name], body: body() };
    return response;
  };
  return { transport, requests };
}

function abortError(): Error {
  const error = new Error("This operation was aborted");
  error.name = "AbortError";
  return error;
}
