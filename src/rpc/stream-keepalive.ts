import { create } from "@bufbuild/protobuf";
import { ChatStreamResponseSchema, type ChatStreamRequest, type ChatStreamResponse } from "../../gen/switchyard/v1/chat_service_pb.js";
import { invalidRequest } from "../core/errors.js";

/** Bounds of ChatStreamRequest.keepalive_ms (0 turns keep-alives off). */
const MIN_KEEPALIVE_MS = 100;
const MAX_KEEPALIVE_MS = 300_000;

/** The keep-alive message: a ChatStreamResponse with no event set. */
const KEEPALIVE: ChatStreamResponse = create(ChatStreamResponseSchema);

const TICK = Symbol("keep-alive tick");

/**
 * The request's keep-alive interval in ms, or undefined for none (0 or absent). A value outside
 * 100..300000 is the caller's mistake (INVALID_ARGUMENT naming `keepalive_ms`).
 */
export function keepaliveMsOf(request: ChatStreamRequest): number | undefined {
  const ms = request.keepaliveMs;
  if (ms === 0) return undefined;
  if (ms < MIN_KEEPALIVE_MS || ms > MAX_KEEPALIVE_MS) {
    throw invalidRequest(`Invalid 'keepalive_ms': ${ms} is not 0 (off) or between ${MIN_KEEPALIVE_MS} and ${MAX_KEEPALIVE_MS}.`, "keepalive_ms");
  }
  return ms;
}

async function* withKeepAlive(events: AsyncIterable<ChatStreamResponse>, everyMs: number): AsyncGenerator<ChatStreamResponse> {
  const iterator = events[Symbol.asyncIterator]();
  try {
    // Until the first event: race it against a timer, and send a keep-alive each time the timer wins.
    const first = iterator.next();
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const tick = new Promise<typeof TICK>((resolve) => {
        timer = setTimeout(resolve, everyMs, TICK);
      });
      const result = await Promise.race([first, tick]).finally(() => clearTimeout(timer));
      if (result === TICK) {
        yield KEEPALIVE;
        continue;
      }
      if (result.done) return;
      yield result.value;
      break;
    }
    for (;;) {
      const result = await iterator.next();
      if (result.done) return;
      yield result.value;
    }
  } finally {
    await iterator.return?.();
  }
}

/**
 * `events` with keep-alives (event-less ChatStreamResponse messages) every `everyMs` while the
 * first event is not there; after it, the events unchanged. Without an interval, `events` itself
 * (no extra layer per event). Ending or abandoning the result ends `events`.
 */
export function keptAlive(events: AsyncIterable<ChatStreamResponse>, everyMs: number | undefined): AsyncIterable<ChatStreamResponse> {
  return everyMs === undefined ? events : withKeepAlive(events, everyMs);
}
