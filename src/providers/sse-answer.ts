import { Code } from "@connectrpc/connect";
import { gatewayError, GatewayError, Reason } from "../core/errors.js";
import { feedSse, MAX_SSE_EVENT_CHARS, SseParser, type EventDecoder, type SseTranslator } from "./sse-decoder.js";
import type { GuardedResponse } from "./upstream-attempt.js";
import { scrubSecrets } from "./upstream-status.js";

/** A started upstream call: its response, and how to accept it (throw for a failed one, else the translator). */
export interface SseCall<T> {
  readonly response: Promise<GuardedResponse>;
  /** The provider account, named by the error for an answer that is not a stream. */
  readonly provider: string;
  /**
   * Media types (lower case, no parameters) the translator also reads as a streamed answer besides
   * text/event-stream, e.g. Gemini's JSON array; default none.
   */
  readonly alsoReads?: readonly string[];
  accept(response: GuardedResponse): Promise<SseTranslator<T>>;
  /** The decoder for an accepted answer's body when it is not SSE (one of `alsoReads`); undefined (the default) for an SseParser. */
  decoderFor?(response: GuardedResponse): EventDecoder | undefined;
  /** The attempt's bound on a gap between body chunks (ms): a settled answer's wait for more stays under half of it. */
  readonly idleMs?: number;
}

/** The media type of a content-type header: lower case, without parameters; "" when absent or blank. */
export function mediaTypeOf(contentType: string | undefined): string {
  if (contentType === undefined) return "";
  const semicolon = contentType.indexOf(";");
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}

/**
 * The failure of an accepted streaming answer whose content-type is neither text/event-stream nor
 * one of `alsoReads` (a server that ignored `stream: true` and sent JSON, an HTML error page, an
 * error body under 200), else undefined. It is INVALID_PROVIDER_RESPONSE, so the attempt fails over
 * at once, as a malformed non-streaming answer does, instead of being read as an empty stream and
 * retried. The message names the media type only (sanitised and scrubbed); the body is not read, so
 * none of it (nor any secret it may echo) reaches the caller. A missing or blank content-type is
 * taken as a stream: lenient on purpose, for self-hosted servers and proxies that omit the header
 * (a body that is not SSE then still fails in the dialect's translator).
 */
export function streamContentTypeError(contentType: string | undefined, context: { readonly provider: string; readonly status: number; readonly alsoReads?: readonly string[] | undefined }): GatewayError | undefined {
  const mediaType = mediaTypeOf(contentType);
  if (mediaType === "" || mediaType === "text/event-stream" || context.alsoReads?.includes(mediaType)) return undefined;
  const shown = scrubSecrets(mediaType.slice(0, 100).replace(/[^a-z0-9!#$%&'*+.^_`|~/-]/g, "?"));
  return gatewayError(
    Code.Internal,
    Reason.INVALID_PROVIDER_RESPONSE,
    `provider "${context.provider}" answered a streaming request with content-type "${shown}" instead of an event stream`,
    { provider: context.provider, upstreamStatus: context.status },
  );
}

/**
 * A stream's unreadable event (INVALID_PROVIDER_RESPONSE from the translator or the SSE parser)
 * with the HTTP status of the answer it came in, as a whole answer's unreadable body has it
 * (ErrorDetail.upstream_status is "the upstream HTTP status"); anything else as it is.
 */
function withStreamStatus(thrown: unknown, status: number): unknown {
  if (!(thrown instanceof GatewayError) || thrown.reason !== Reason.INVALID_PROVIDER_RESPONSE || thrown.facts.upstreamStatus !== undefined) return thrown;
  return gatewayError(thrown.code, thrown.reason, thrown.rawMessage, { ...thrown.facts, upstreamStatus: status }, thrown.cause);
}

/** feedSse, with an unreadable event's error given the answer's HTTP status ({@link withStreamStatus}); no try block around a yield. */
function feed<T>(parser: EventDecoder, translator: SseTranslator<T>, chunk: Uint8Array | undefined, out: T[], status: number): void {
  try {
    feedSse(parser, translator, chunk, out);
  } catch (thrown) {
    throw withStreamStatus(thrown, status);
  }
}

/** Longest run of a stream's work without giving the event loop a turn, in ms. */
const SLICE_MS = 10;
/** A wait for the next body chunk at least this long (ms) means the event loop had its turns meanwhile. */
const WAITED_MS = 1;

/**
 * The shortest and longest wait for more of a settled answer ({@link SseTranslator.settled}), in ms.
 * Gemini's chunks of 2024, each with a STOP, came hundreds of milliseconds apart: a wait shorter
 * than a gap cuts the answer there and calls it complete.
 */
const SETTLE_MIN_MS = 1_000;
const SETTLE_MAX_MS = 2_000;
/** Within those, the wait is this many times the longest gap between the answer's body chunks so far. */
const SETTLE_GAPS = 4;

/** The end of a settled answer's wait: nothing more came (or a cut or a stall); what the decoder still holds is not read. */
const SETTLED: IteratorResult<Uint8Array> = { done: true, value: undefined };

/** Whether a body failure after a settled answer ends it (a cut, or a stall at the byte level) rather than failing it; a cancel does not. */
function endsSettledAnswer(thrown: unknown): boolean {
  return thrown instanceof GatewayError && (thrown.reason === Reason.PROVIDER_UNREACHABLE || thrown.reason === Reason.UPSTREAM_TIMEOUT);
}

/**
 * The next body chunk of an answer that is complete if the body ends now: the end when nothing
 * comes within `waitMs`, or when the body fails with a cut or a stall (the answer was whole; an
 * upstream that holds its connection open, or drops it, after the last chunk does not fail it).
 */
async function nextOfSettled(body: AsyncIterator<Uint8Array>, waitMs: number): Promise<IteratorResult<Uint8Array>> {
  const pending = body.next();
  // Not awaited when the wait ends first: its later failure is the closed body's, and handled here.
  pending.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<IteratorResult<Uint8Array>>((resolve) => {
    timer = setTimeout(resolve, waitMs, SETTLED);
  });
  try {
    return await Promise.race([pending, waited]);
  } catch (thrown) {
    if (endsSettledAnswer(thrown)) return SETTLED;
    throw thrown;
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves after the event loop's next turn (I/O included), with the time then. */
function nextTurn(): Promise<number> {
  return new Promise((resolve) => setImmediate(() => resolve(performance.now())));
}

/** How long a settled answer waits for more: SETTLE_GAPS times its longest gap so far, within the bounds, under half the idle bound. */
function settleWait(longestGap: number, idleMs: number | undefined): number {
  const wait = Math.min(SETTLE_MAX_MS, Math.max(SETTLE_MIN_MS, SETTLE_GAPS * longestGap));
  return idleMs === undefined ? wait : Math.max(1, Math.min(wait, Math.floor(idleMs / 2)));
}

/**
 * One streamed answer over SSE as a single async generator for the whole provider side (guarded
 * body -> SSE events -> the dialect's events): `start` (run on the first next(), so translation
 * errors are the stream's) sends the request; its response is accepted and its content-type
 * checked ({@link streamContentTypeError}: every adapter's streams get the same check), then each
 * body chunk is fed through an SseParser into the translator, and what it produced is yielded in
 * order, giving the event loop a turn at least every SLICE_MS of work (a buffered body would otherwise
 * run on microtasks alone). Stops reading at the translator's end marker; an answer the translator
 * calls settled ends when nothing more comes within {@link settleWait}, or on a cut or a stall. The response is closed when the answer ends,
 * fails, or the consumer stops early. No generator per chunk, event or layer: each layer of async
 * generators costs ~0.6 KB of garbage per event (bench/PROFILE.md).
 */
export async function* sseAnswer<T>(start: () => SseCall<T> | Promise<SseCall<T>>): AsyncGenerator<T> {
  const call = await start();
  const response = await call.response;
  try {
    // accept() throws for a failed answer: what it accepts must also be a stream.
    const translator = await call.accept(response);
    const notAStream = streamContentTypeError(response.header("content-type"), { provider: call.provider, status: response.status, alsoReads: call.alsoReads });
    if (notAStream) throw notAStream;
    const parser = call.decoderFor?.(response) ?? new SseParser(MAX_SSE_EVENT_CHARS, call.provider);
    const out: T[] = [];
    let sliceStart = performance.now();
    let workEnd = sliceStart;
    const body = response.body[Symbol.asyncIterator]();
    let lastArrival = 0;
    let longestGap = 0;
    let settledEnd = false;
    for (;;) {
      const next = translator.settled === true ? await nextOfSettled(body, settleWait(longestGap, call.idleMs)) : await body.next();
      if (next.done) {
        settledEnd = next === SETTLED;
        break;
      }
      const chunk = next.value;
      const arrived = performance.now();
      if (lastArrival !== 0 && arrived - lastArrival > longestGap) longestGap = arrived - lastArrival;
      lastArrival = arrived;
      // Waiting for this chunk gave the event loop its turns: a new slice starts.
      if (arrived - workEnd >= WAITED_MS) sliceStart = arrived;
      feed(parser, translator, chunk, out, response.status);
      for (let i = 0; i < out.length; i++) {
        yield out[i] as T;
        // A body that is all buffered (a fast upstream, one event of many parts) resumes this loop from
        // microtasks alone: give the event loop a turn every SLICE_MS, or other requests wait behind it.
        if ((i & 255) === 255 && performance.now() - sliceStart >= SLICE_MS) sliceStart = await nextTurn();
      }
      out.length = 0;
      if (translator.done) break;
      workEnd = performance.now();
      if (workEnd - sliceStart >= SLICE_MS) workEnd = sliceStart = await nextTurn();
    }
    // The body's end ends the decoder too (a JSON array must be closed); a settled answer's end leaves what it holds unread.
    if (!translator.done && !settledEnd) feed(parser, translator, undefined, out, response.status);
    try {
      translator.end(out);
    } catch (thrown) {
      throw withStreamStatus(thrown, response.status);
    }
    for (let i = 0; i < out.length; i++) yield out[i] as T;
  } finally {
    response.close();
  }
}
