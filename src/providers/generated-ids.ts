import { randomFillSync } from "node:crypto";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** Random bytes drawn from the OS in batches: one `randomBytes` call per id cost about 5 µs. */
const pool = Buffer.alloc(4096);
let used = pool.length;

/** One uniformly random base62 character (bytes of 248 and above are redrawn: 248 = 4 × 62). */
function base62Char(): string {
  for (;;) {
    if (used === pool.length) {
      randomFillSync(pool);
      used = 0;
    }
    const byte = pool[used++] as number;
    if (byte < 248) return BASE62[byte % 62] as string;
  }
}

/** `length` uniformly random base62 characters from a cryptographic source. */
export function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) out += base62Char();
  return out;
}

/**
 * A fresh tool-call id for a call the provider sent without a usable one: `call_` + 24 random
 * base62 characters (about 143 bits; short, [A-Za-z0-9_], accepted by every provider's tool ids).
 */
export function newToolCallId(): string {
  return `call_${randomBase62(24)}`;
}

/**
 * The id a tool call goes out with, unique among the calls of its choice: the provider's `id` when
 * it is a non-empty string no earlier call of the choice went out with, else a {@link newToolCallId}
 * (servers that give parallel calls one id, or none). `sent` holds the ids the choice's calls went
 * out with so far, and gains this one. Streamed and whole answers both use it, so they agree.
 */
export function distinctToolCallId(id: unknown, sent: Set<string>): string {
  const distinct = typeof id === "string" && id !== "" && !sent.has(id) ? id : newToolCallId();
  sent.add(distinct);
  return distinct;
}
