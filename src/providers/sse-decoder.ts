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
 * A push decoder of server-sent events per the WHATWG rules: LF, CRLF and CR line ends (also split
 * across chunks), comment lines, multi-line data, and UTF-8 split across chunks. Provider-agnostic;
 * events with no data line are skipped. {@link push} and {@link end} return the events completed by
 * that input (usually zero or one, in a fresh array the caller owns), with no per-line or per-chunk
 * generator. Throws INVALID_PROVIDER_RESPONSE when one event or line exceeds the bound.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
export class SseParser {
  private readonly decoder = new TextDecoder("utf-8");
  private buffer = "";
  private eventType = "";
  private data: string[] = [];
  private dataChars = 0;
  private skipLeadingLf = false;

  constructor(private readonly maxEventChars = MAX_SSE_EVENT_CHARS) {}

  /** Feeds one chunk of the body; returns the events it completed. */
  push(chunk: Uint8Array): SseEvent[] {
    const out: SseEvent[] = [];
    this.buffer += this.decoder.decode(chunk, { stream: true });
    this.drain(out);
    return out;
  }

  /** Ends the body: dispatches what is left (an event unterminated at EOF). */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    this.buffer += this.decoder.decode();
    this.drain(out);
    if (this.buffer.length > 0) this.line(this.buffer, out);
    this.buffer = "";
    this.line("", out);
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line.length === 0) {
      if (this.data.length > 0) out.push({ event: this.eventType || "message", data: this.data.length === 1 ? (this.data[0] as string) : this.data.join("\n") });
      this.eventType = "";
      this.data = [];
      this.dataChars = 0;
      return;
    }
    if (line.charCodeAt(0) === 58 /* ':' */) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === "data") {
      this.data.push(value);
      this.dataChars += value.length;
      if (this.dataChars > this.maxEventChars) {
        throw gatewayError(Code.Internal, Reason.INVALID_PROVIDER_RESPONSE, "upstream sent an oversized stream event");
      }
    } else if (field === "event") {
      this.eventType = value;
    }
  }

  private drain(out: SseEvent[]): void {
    const buffer = this.buffer;
    let start = 0;
    for (;;) {
      if (this.skipLeadingLf && start < buffer.length) {
        if (buffer.charCodeAt(start) === 10) start++;
        this.skipLeadingLf = false;
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
          this.skipLeadingLf = true;
        }
      } else {
        start = end + 1;
      }
      this.line(line, out);
    }
    this.buffer = start === 0 ? buffer : buffer.slice(start);
    if (this.buffer.length > this.maxEventChars) {
      throw gatewayError(Code.Internal, Reason.INVALID_PROVIDER_RESPONSE, "upstream sent an oversized stream line");
    }
  }
}

/** A dialect's stream translator, fed one SSE event at a time; what it produces goes to `out`. */
export interface SseTranslator<T> {
  /** True once the stream's own end marker arrived: nothing more is fed. */
  readonly done: boolean;
  push(event: SseEvent, out: T[]): void;
  /** The end of the stream (marker or EOF): what is still pending, or a throw when the stream was incomplete. */
  end(out: T[]): void;
}

/**
 * Feeds one body chunk (or, with `undefined`, the end of the body) through `parser` into
 * `translator`, appending its output to `out`; stops feeding once the translator is done.
 */
export function feedSse<T>(parser: SseParser, translator: SseTranslator<T>, chunk: Uint8Array | undefined, out: T[]): void {
  for (const event of chunk === undefined ? parser.end() : parser.push(chunk)) {
    if (translator.done) return;
    translator.push(event, out);
  }
}
