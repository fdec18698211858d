import { feedSse, SseParser, type SseTranslator } from "./sse-decoder.js";
import type { GuardedResponse } from "./upstream-attempt.js";

/** A started upstream call: its response, and how to accept it (throw for a failed one, else the translator). */
export interface SseCall<T> {
  readonly response: Promise<GuardedResponse>;
  accept(response: GuardedResponse): Promise<SseTranslator<T>>;
}

/**
 * One streamed answer over SSE as a single async generator for the whole provider side (guarded
 * body -> SSE events -> the dialect's events): `start` (run on the first next(), so translation
 * errors are the stream's) sends the request; its response is accepted, then each body chunk is fed
 * through an SseParser into the translator, and what it produced is yielded in order. Stops reading at
 * the translator's end marker. The response is closed when the answer ends, fails, or the consumer
 * stops early. No generator per chunk, event or layer: each layer of async generators costs ~0.6 KB
 * of garbage per event (bench/PROFILE.md).
 */
export async function* sseAnswer<T>(start: () => SseCall<T> | Promise<SseCall<T>>): AsyncGenerator<T> {
  const call = await start();
  const response = await call.response;
  try {
    const translator = await call.accept(response);
    const parser = new SseParser();
    const out: T[] = [];
    // A translator done from the start (its answer came whole) reads no body.
    if (!translator.done) {
      for await (const chunk of response.body) {
        feedSse(parser, translator, chunk, out);
        for (let i = 0; i < out.length; i++) yield out[i] as T;
        out.length = 0;
        if (translator.done) break;
      }
    }
    if (!translator.done) feedSse(parser, translator, undefined, out);
    translator.end(out);
    for (let i = 0; i < out.length; i++) yield out[i] as T;
  } finally {
    response.close();
  }
}
