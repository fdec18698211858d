import { feedSse, SseParser, type SseTranslator } from "./sse-decoder.js";
import type { GuardedResponse } from "./upstream-attempt.js";

/**
 * One streamed answer over SSE as a single async generator for the whole provider side (guarded
 * body -> SSE events -> the dialect's events): awaits the upstream response from `open`, lets
 * `accept` throw for a failed one (or hand back the translator), then feeds each body chunk
 * through an SseParser into the translator and yields what it produced, in order. Stops reading at
 * the translator's end marker. The response is closed when the answer ends, fails, or the consumer
 * stops early. No generator per chunk, event or layer: each layer of async generators costs ~0.6 KB
 * of garbage per event (bench/PROFILE.md).
 */
export async function* sseAnswer<T>(open: () => Promise<GuardedResponse>, accept: (response: GuardedResponse) => Promise<SseTranslator<T>>): AsyncGenerator<T> {
  const response = await open();
  try {
    const translator = await accept(response);
    const parser = new SseParser();
    const out: T[] = [];
    for await (const chunk of response.body) {
      feedSse(parser, translator, chunk, out);
      for (let i = 0; i < out.length; i++) yield out[i] as T;
      out.length = 0;
      if (translator.done) break;
    }
    if (!translator.done) feedSse(parser, translator, undefined, out);
    translator.end(out);
    for (let i = 0; i < out.length; i++) yield out[i] as T;
  } finally {
    response.close();
  }
}
