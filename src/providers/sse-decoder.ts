import { Code } from "@connectrpc/connect";
import { gatewayError, Reason } from "../core/errors.js";

/** One server-sent event: its type (default "message") and its data lines joined with "\n". */
export interface SseEvent {
  readonly event: string;
  readonly data: string;
}

/** Longest event the decoder buffers before failing the stream (bounds memory on a bad upstream). */
export const MAX_SSE_EVENT_CHARS = 16 * 1024 * 1024;

/**
 * Decodes a byte stream into server-sent events per the WHATWG rules: LF, CRLF and CR line ends
 * (also split across chunks), comment lines, multi-line data, and UTF-8 split across chunks.
 * Provider-agnostic; events with no data line are skipped. Throws INVALID_PROVIDER_RESPONSE when one
 * event exceeds {@link MAX_SSE_EVENT_CHARS}. Events still unterminated at EOF are dispatched.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
export async function* decodeSse(body: AsyncIterable<Uint8Array>, maxEventChars = MAX_SSE_EVENT_CHARS): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder("utf-8");
  let buffer = "";
  let eventType = "";
  let data: string[] = [];
  let dataChars = 0;
  let skipLeadingLf = false;

  function* processLine(line: string): Generator<SseEvent> {
    if (line.length === 0) {
      if (data.length > 0) yield { event: eventType || "message", data: data.join("\n") };
      eventType = "";
      data = [];
      dataChars = 0;
      return;
    }
    if (line.charCodeAt(0) === 58 /* ':' */) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === "data") {
      data.push(value);
      dataChars += value.length;
      if (dataChars > maxEventChars) {
        throw gatewayError(Code.Internal, Reason.INVALID_PROVIDER_RESPONSE, "upstream sent an oversized stream event");
      }
    } else if (field === "event") {
      eventType = value;
    }
  }

  function* drain(final: boolean): Generator<SseEvent> {
    let start = 0;
    for (;;) {
      if (skipLeadingLf && start < buffer.length) {
        if (buffer.charCodeAt(start) === 10) start++;
        skipLeadingLf = false;
      }
      let end = -1;
      for (let i = start; i < buffer.length; i++) {
        const c = buffer.charCodeAt(i);
        if (c === 10 || c === 13) {
          end = i;
          break;
        }
      }
      if (end === -1) break;
      const line = buffer.slice(start, end);
      if (buffer.charCodeAt(end) === 13) {
        if (end + 1 < buffer.length) {
          start = buffer.charCodeAt(end + 1) === 10 ? end + 2 : end + 1;
        } else {
          start = end + 1;
          skipLeadingLf = true;
        }
      } else {
        start = end + 1;
      }
      yield* processLine(line);
    }
    buffer = buffer.slice(start);
    if (buffer.length > maxEventChars) {
      throw gatewayError(Code.Internal, Reason.INVALID_PROVIDER_RESPONSE, "upstream sent an oversized stream line");
    }
    if (final) {
      if (buffer.length > 0) yield* processLine(buffer);
      buffer = "";
      yield* processLine("");
    }
  }

  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    yield* drain(false);
  }
  buffer += decoder.decode();
  yield* drain(true);
}
