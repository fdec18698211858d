import { lookup as systemLookup, type LookupAddress, type LookupAllOptions } from "node:dns";
import type { LookupFunction } from "node:net";

/**
 * Connection attempts that may wait on one host name's lookup; past this, an attempt fails at once
 * (EAI_AGAIN) instead of queueing behind a resolver that does not answer.
 */
export const MAX_LOOKUP_WAITERS = 1024;

/** The system lookup with all its answers: `dns.lookup` with `all: true` (a seam for tests). */
export type AllAddressesLookup = (hostname: string, options: LookupAllOptions, callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

const defaultLookup: AllAddressesLookup = (hostname, options, callback) => systemLookup(hostname, options, callback);

type Waiter = (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void;

function tooManyWaiters(hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`getaddrinfo EAI_AGAIN ${hostname} (${MAX_LOOKUP_WAITERS} connection attempts already wait on this name)`), {
    code: "EAI_AGAIN",
    syscall: "getaddrinfo",
    hostname,
  });
}

/**
 * A `lookup` for outgoing connections (the `lookup` option of `net.connect`, which undici passes
 * on) under which concurrent lookups of one host name, with the same options, share one system
 * lookup. Node's `dns.lookup` runs getaddrinfo on one of libuv's four pool threads and holds it
 * until the resolver answers, and libuv runs at most two such lookups at once; with one lookup per
 * connection attempt, a resolver that stalls on one provider's name (5 s per try is glibc's
 * default) takes both, and every other provider's new connections and media lookups queue behind
 * it. Shared, a stalled name holds one. Each caller gets what `dns.lookup` would have given it: every address, in the
 * resolver's order, for `all`, else the first one. Nothing is cached: a lookup that starts after
 * the shared one ended asks the system again. The wait of each attempt stays bounded by its
 * connect timeout; at most {@link MAX_LOOKUP_WAITERS} attempts wait on one name.
 */
export function sharedLookup(system: AllAddressesLookup = defaultLookup): LookupFunction {
  const pending = new Map<string, Waiter[]>();
  return (hostname, options, callback) => {
    const all = options.all === true;
    const waiter: Waiter = (error, addresses) => {
      const first = addresses[0];
      if (error) callback(error, all ? [] : "");
      else if (all) callback(null, addresses.map((entry) => ({ ...entry })));
      else if (first) callback(null, first.address, first.family);
      else callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND", syscall: "getaddrinfo", hostname }), "");
    };
    const key = `${String(options.family ?? 0)} ${options.hints ?? 0} ${options.order ?? ""} ${String(options.verbatim ?? "")} ${hostname}`;
    const waiting = pending.get(key);
    if (waiting) {
      if (waiting.length >= MAX_LOOKUP_WAITERS) process.nextTick(waiter, tooManyWaiters(hostname), []);
      else waiting.push(waiter);
      return;
    }
    const waiters = [waiter];
    pending.set(key, waiters);
    system(hostname, { ...options, all: true }, (error, addresses) => {
      pending.delete(key);
      for (const each of waiters) each(error, error ? [] : addresses);
    });
  };
}
