/**
 * Stop sequences Anthropic refuses and the gateway therefore enforces itself. Anthropic rejects
 * stop sequences made only of whitespace (for example "\n"), so they are cut out of the request
 * and applied to the answer text instead, streaming included.
 */

/** Whether Anthropic would reject this stop sequence (it is all whitespace). */
export function isWhitespaceOnlyStop(stop: string): boolean {
  return /^\s+$/.test(stop);
}

/** Splits the caller's stop sequences into those sent upstream and those the gateway enforces. */
export function partitionStopSequences(stops: readonly string[]): { upstream: string[]; local: string[] } {
  return { upstream: stops.filter((stop) => !isWhitespaceOnlyStop(stop)), local: stops.filter(isWhitespaceOnlyStop) };
}

/** The position of the earliest occurrence of any stop sequence in `text`, or -1 when none occurs. */
export function findEarliestStop(text: string, stops: readonly string[]): number {
  let earliest = -1;
  for (const stop of stops) {
    const at = text.indexOf(stop);
    if (at !== -1 && (earliest === -1 || at < earliest)) earliest = at;
  }
  return earliest;
}

/**
 * How much trailing text a stream must hold back so that a stop sequence split across deltas is
 * still found: the longest stop's length minus one.
 */
export function holdBackLength(stops: readonly string[]): number {
  return stops.reduce((longest, stop) => Math.max(longest, stop.length - 1), 0);
}

/**
 * Splits text into the part safe to emit now and the tail to hold back (at most `hold` UTF-16
 * units), never separating a surrogate pair.
 */
export function splitHeldTail(text: string, hold: number): { emit: string; held: string } {
  let cut = Math.max(0, text.length - hold);
  const before = text.charCodeAt(cut - 1);
  if (cut > 0 && before >= 0xd800 && before <= 0xdbff) cut--;
  return { emit: text.slice(0, cut), held: text.slice(cut) };
}
