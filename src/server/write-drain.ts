/** The events {@link drainedOrClosed} listens to: an EventEmitter's, or the fast path's response's. */
export interface DrainEvents {
  on(event: "drain" | "close", listener: () => void): unknown;
  off(event: "drain" | "close", listener: () => void): unknown;
}

/**
 * Resolves when a writable response or stream that refused a write can take more ('drain'), or
 * is gone ('close'); never rejects. Its listeners are removed either way.
 */
export function drainedOrClosed(writable: DrainEvents): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      writable.off("drain", done);
      writable.off("close", done);
      resolve();
    };
    writable.on("drain", done);
    writable.on("close", done);
  });
}
