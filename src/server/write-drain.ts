import type { EventEmitter } from "node:events";

/**
 * Resolves when a writable response or stream that refused a write can take more ('drain'), or
 * is gone ('close'); never rejects. Its listeners are removed either way.
 */
export function drainedOrClosed(writable: Pick<EventEmitter, "on" | "off">): Promise<void> {
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
