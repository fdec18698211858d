import { Code } from "@connectrpc/connect";
import { gatewayError, type GatewayError, Reason } from "../core/errors.js";

/** One server-sent event: its type (default "message") and its data lines joined with "\n". */
export interface SseEvent {
  readonly event: string;
  readonly data: string;
}

/** Longest event the decoder buffers before failing the stream (bounds memory on a bad upstream). */
export const MAX_SSE_EVENT_CHARS = 16 * 1024 * 1024;

/** How many chunk texts of one pending line are kept apart before small ones are joined into one piece. */
const PENDING_BATCH = 64;

/**
 * A push decoder of server-sent events per the WHATWG rules: LF, CRLF and CR line ends (also split
 * across chunks), comment lines, multi-line data, and UTF-8 split across chunks. Provider-agnostic;
 * events with no data line are skipped. {@link push} and {@link end} return the events completed by
 * that input (usually zero or one, in a fresh array the caller owns), with no per-line or per-chunk
 * generator. Throws INVALID_PROVIDER_RESPONSE when one event or line exceeds the bound.
 * Work is linear in the input: each chunk's text is scanned once, and a line that spans chunks is
 * kept as a list of pieces and joined once, when its line end arrives (never re-scanned or
 * re-copied per chunk, so a long line in many small chunks cannot stall the event loop).
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */
export class SseParser {
  // One streaming decoder for the whole body: UTF-8 split across chunks and the leading BOM are its job.
  private readonly decoder = new TextDecoder("utf-8");
  /** The start of the current line, from earlier chunks (its line end has not arrived yet). */
  private pending: string[] = [];
  private pendingChars = 0;
  /** Where the pieces not yet batched start in `pending`, and their length (see {@link PENDING_BATCH}). */
  private batchStart = 0;
  private batchChars = 0;
  private eventType = "";
  private data: string[] = [];
  private dataChars = 0;
  /** The last chunk ended with CR: an LF starting the next text belongs to that line end (CRLF). */
  private skipLeadingLf = false;

  /** `provider` (the account) is named in the oversized-event error, as every upstream error names it. */
  constructor(
    private readonly maxEventChars = MAX_SSE_EVENT_CHARS,
    private readonly provider?: string,
  ) {}

  private oversized(what: "event" | "line"): GatewayError {
    const facts = this.provider === undefined ? {} : { provider: this.provider, afterFirstByte: true };
    return gatewayError(Code.Internal, Reason.INVALID_PROVIDER_RESPONSE, `${this.provider === undefined ? "upstream" : `provider "${this.provider}"`} sent an oversized stream ${what}`, facts);
  }

  /** Feeds one chunk of the body; returns the events it completed. */
  push(chunk: Uint8Array): SseEvent[] {
    const out: SseEvent[] = [];
    this.scan(this.decoder.decode(chunk, { stream: true }), out);
    return out;
  }

  /**
   * Ends the body. An event whose lines all ended but whose blank line never came (a server that
   * closes right after its last line) is dispatched; an event whose last line was cut off (no line
   * end: the connection was cut mid-event) is dropped, as the SSE spec drops an incomplete event,
   * so a cut reads as the interrupted stream it is, not as an unreadable event.
   */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    this.scan(this.decoder.decode(), out);
    if (this.pendingChars > 0) {
      this.takePending("");
      this.eventType = "";
      this.data = [];
      this.dataChars = 0;
    }
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
    // llama.cpp's server sends a stream's error as an `error:` field (no data line): read as `event: error` with that data.
    if (field === "error") this.eventType = "error";
    if (field === "data" || field === "error") {
      this.data.push(value);
      this.dataChars += value.length;
      if (this.dataChars > this.maxEventChars) {
        throw this.oversized("event");
      }
    } else if (field === "event") {
      this.eventType = value;
    }
  }

  /** The pending start of the line joined with `last`, its end: the one copy of a line that spans chunks. */
  private takePending(last: string): string {
    if (this.pending.length === 0) return last;
    if (last.length > 0) this.pending.push(last);
    const line = this.pending.length === 1 ? (this.pending[0] as string) : this.pending.join("");
    this.pending = [];
    this.pendingChars = 0;
    this.batchStart = 0;
    this.batchChars = 0;
    return line;
  }

  /** Splits newly decoded text into lines (only this text is scanned); keeps an unterminated rest pending. */
  private scan(text: string, out: SseEvent[]): void {
    const length = text.length;
    let start = 0;
    if (this.skipLeadingLf && length > 0) {
      if (text.charCodeAt(0) === 10) start = 1;
      this.skipLeadingLf = false;
    }
    for (let i = start; i < length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = this.takePending(text.slice(start, i));
      if (c === 13) {
        if (i + 1 === length) this.skipLeadingLf = true;
        else if (text.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
      this.line(line, out);
    }
    if (start < length) {
      const pending = this.pending;
      pending.push(start === 0 ? text : text.slice(start));
      this.pendingChars += length - start;
      this.batchChars += length - start;
      // A slow drip of tiny chunks would cost a string and a slot per chunk: join small ones in
      // batches (each char is copied at most twice); large pieces are left as they are.
      if (pending.length - this.batchStart >= PENDING_BATCH) {
        if (this.batchChars < PENDING_BATCH * 1024) pending.push(pending.splice(this.batchStart).join(""));
        this.batchStart = pending.length;
        this.batchChars = 0;
      }
    }
    if (this.pendingChars > this.maxEventChars) {
      throw this.oversized("line");
    }
  }
}

/** What turns a streamed body's chunks into events: {@link SseParser}, or another framing of the same events (JsonArrayDecoder). */
export interface EventDecoder {
  /** Feeds one chunk of the body; returns the events it completed. */
  push(chunk: Uint8Array): SseEvent[];
  /** Ends the body: the events still pending; throws for a body that ended where it must not. */
  end(): SseEvent[];
}

/** A dialect's stream translator, fed one SSE event at a time; what it produces goes to `out`. */
export interface SseTranslator<T> {
  /** True once the stream's own end marker arrived: nothing more is fed. */
  readonly done: boolean;
  /**
   * For a dialect without an end marker (Gemini): true while the answer would be complete if the
   * body ended now. sseAnswer then waits only briefly for more, and takes a cut as the end.
   */
  readonly settled?: boolean;
  push(event: SseEvent, out: T[]): void;
  /** The end of the stream (marker or EOF): what is still pending, or a throw when the stream was incomplete. */
  end(out: T[]): void;
}

/**
 * Feeds one body chunk (or, with `undefined`, the end of the body) through `parser` into
 * `translator`, appending its output to `out`; stops feeding once the translator is done.
 */
export function feedSse<T>(parser: EventDecoder, translator: SseTranslator<T>, chunk: Uint8Array | undefined, out: T[]): void {
  for (const event of chunk === undefined ? parser.end() : parser.push(chunk)) {
    if (translator.done) return;
    translator.push(event, out);
  }
}
