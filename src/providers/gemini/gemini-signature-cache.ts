/**
 * A short-lived memory of tool call id -> Gemini thought signature, for clients that drop the
 * `extra_content` the gateway attaches to tool calls. Gemini 3 rejects a replayed functionCall
 * without its signature, so the adapter records every signature it emits and looks it up on replay.
 * (Reasoning signatures need no memory: they come back tagged, see reasoning-signatures.ts.)
 * @see https://ai.google.dev/gemini-api/docs/thought-signatures
 */
export interface ThoughtSignatureCache {
  /** Remembers the signature of a call the gateway emitted. */
  remember(callId: string, signature: string): void;
  /** The signature of a call emitted within the TTL, or undefined. */
  recall(callId: string): string | undefined;
}

/** Settings of {@link createThoughtSignatureCache}. */
export interface ThoughtSignatureCacheSettings {
  /** How long an entry lives, in ms; default one hour. */
  readonly ttlMs?: number;
  /** Most entries kept; the oldest are evicted first. Default 10,000. */
  readonly maxEntries?: number;
  /** Clock, for tests. */
  readonly now?: () => number;
}

/**
 * Creates a bounded in-memory cache. Entries expire after `ttlMs`; beyond `maxEntries` the oldest
 * are evicted, so memory stays bounded however many calls pass through. Per process: a client that
 * strips extra_content and lands on another gateway instance gets the sentinel fallback instead.
 */
export function createThoughtSignatureCache(settings: ThoughtSignatureCacheSettings = {}): ThoughtSignatureCache {
  const ttlMs = settings.ttlMs ?? 60 * 60 * 1000;
  const maxEntries = settings.maxEntries ?? 10_000;
  const now = settings.now ?? Date.now;
  const entries = new Map<string, { signature: string; expiresAt: number }>();
  return {
    remember(callId, signature) {
      entries.delete(callId);
      entries.set(callId, { signature, expiresAt: now() + ttlMs });
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next();
        if (oldest.done) break;
        entries.delete(oldest.value);
      }
    },
    recall(callId) {
      const entry = entries.get(callId);
      if (!entry) return undefined;
      if (entry.expiresAt <= now()) {
        entries.delete(callId);
        return undefined;
      }
      return entry.signature;
    },
  };
}
