/**
 * A lookup that holds a slot from its start until the system answers it, whoever still waits for
 * the answer: Node's `dns.lookup` holds one of libuv's pool threads that long (libuv runs at most
 * two lookups at once), and giving up
 * on the answer does not free the thread.
 */
export type SlottedLookup<T> = (hostname: string, signal: AbortSignal) => Promise<T>;

/**
 * Runs at most `slots` calls of `lookup` at once; the others wait in order. A waiting call whose
 * signal aborts leaves the queue without ever running (it rejects with the signal's reason). A
 * running call's promise rejects at once when its signal aborts, but its slot is given back only
 * when `lookup` itself settles, so callers of this function never hold more than `slots` of the
 * resolver threads, however many host names stall.
 */
export function withLookupSlots<T>(lookup: (hostname: string) => Promise<T>, slots: number): SlottedLookup<T> {
  let running = 0;
  const queue: (() => void)[] = [];
  const release = (): void => {
    running--;
    queue.shift()?.();
  };
  return (hostname, signal) =>
    new Promise<T>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      let started = false;
      const onAbort = (): void => {
        if (!started) {
          const at = queue.indexOf(start);
          if (at !== -1) queue.splice(at, 1);
        }
        reject(signal.reason);
      };
      function start(): void {
        started = true;
        running++;
        let answer: Promise<T>;
        try {
          answer = lookup(hostname);
        } catch (error) {
          answer = Promise.reject(error);
        }
        answer.then(
          (value) => {
            signal.removeEventListener("abort", onAbort);
            release();
            resolve(value);
          },
          (error: unknown) => {
            signal.removeEventListener("abort", onAbort);
            release();
            reject(error);
          },
        );
      }
      signal.addEventListener("abort", onAbort, { once: true });
      if (running < slots) start();
      else queue.push(start);
    });
}
