/**
 * Readers of async iterables (adapter streams, mostly) for assertions: everything, or everything
 * up to the error the iterable ended with.
 */
import { GatewayError } from "../../src/core/errors.js";

/** Reads a whole async iterable. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Reads a whole async iterable, calling `onItem` for each; returns the items and the error it ended with, if any. */
export async function drain<T>(iterable: AsyncIterable<T>, onItem?: (item: T) => void): Promise<{ events: T[]; error: unknown }> {
  const events: T[] = [];
  try {
    for await (const item of iterable) {
      events.push(item);
      onItem?.(item);
    }
  } catch (error) {
    return { events, error };
  }
  return { events, error: undefined };
}

/** Reads an async iterable that must end with a GatewayError; returns what came before and the error. */
export async function collectUntilError<T>(iterable: AsyncIterable<T>): Promise<{ items: T[]; error: GatewayError }> {
  const items: T[] = [];
  try {
    for await (const item of iterable) items.push(item);
  } catch (error) {
    if (!(error instanceof GatewayError)) throw error;
    return { items, error };
  }
  throw new Error("expected the iterable to throw");
}
