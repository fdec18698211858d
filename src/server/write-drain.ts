/** The events {@link drainedOrClosed} listens to: an EventEmitter's, or the fast path's response's. */
export interface DrainEvents {
  on(event: "drain" | "close", listener: () => void): unknown;
  off(event: "drain" | "close", listener: () => void): unknown;
}

/**
 * How long a client may leave a streamed answer unread (its socket buffer or HTTP/2 window full)
 * before the gateway gives the answer up: the same bound as for a request body that stops coming.
 */
export const CLIENT_STALL_MS = 120_000;

/**
 * Resolves when a writable response or stream that refused a write can take more ('drain'), or
 * is gone ('close'); never rejects. Its listeners are removed either way. A client that takes
 * nothing for {@link CLIENT_STALL_MS}, or until the call's deadline (`deadlineAt`, epoch ms) has
 * passed, is given up: `abandon` is called (it must close the writable: a reset, or the
 * connection destroyed, since an error can no longer overtake the unread data) and the promise
 * resolves.
 */
export function drainedOrClosed(writable: DrainEvents, abandon: () => void, deadlineAt = Number.POSITIVE_INFINITY): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      writable.off("drain", done);
      writable.off("close", done);
      resolve();
    };
    const timer = setTimeout(() => {
      done();
      abandon();
    }, Math.max(0, Math.min(CLIENT_STALL_MS, deadlineAt - Date.now())));
    writable.on("drain", done);
    writable.on("close", done);
  });
}
