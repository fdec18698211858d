import { describe, expect, it } from "vitest";
import { createGuardedMediaFetcher, MEDIA_LOOKUP_SLOTS, type HostResolver, type ResolvedAddress } from "../../src/media/guarded-media-fetch.js";
import { rejectedGatewayError } from "../support/thrown.js";

/*
 * The host name of a media URL was resolved outside the fetch's time bound and the caller's
 * signal: a name whose DNS server never answers held the request (and a worker of the DNS thread
 * pool) for as long as the resolver took, past media.timeout_ms and past a caller's cancel.
 */

const SLOW_MS = 3_000;
const slowResolver: HostResolver = () => new Promise((resolve) => setTimeout(() => resolve([{ address: "93.184.216.34", family: 4 }]), SLOW_MS).unref());

describe("DNS resolution of a media URL", () => {
  it("is bounded by media.timeout_ms", async () => {
    const fetcher = createGuardedMediaFetcher({ allowPrivateNetwork: false, maxBytes: 1024, timeoutMs: 300, resolve: slowResolver });
    const started = Date.now();
    const error = await rejectedGatewayError(fetcher({ url: "http://never-answers.example/a.png", param: "messages[0].content[1]", signal: new AbortController().signal }));
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(error.reason).toBe("INVALID_REQUEST");
    expect(error.facts.param).toBe("messages[0].content[1]");
    expect(error.rawMessage).toMatch(/did not answer within 300 ms/);
  });

  it("stops when the caller cancels", async () => {
    const fetcher = createGuardedMediaFetcher({ allowPrivateNetwork: false, maxBytes: 1024, timeoutMs: 10_000, resolve: slowResolver });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const error = await rejectedGatewayError(fetcher({ url: "http://never-answers.example/a.png", param: "p", signal: controller.signal }));
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(error.reason).toBe("CANCELED");
  });

  it(`holds at most ${MEDIA_LOOKUP_SLOTS} of the resolver's threads in the whole process, however many stalled names callers send to however many fetchers`, async () => {
    expect(MEDIA_LOOKUP_SLOTS).toBe(1);
    // Names whose DNS never answers: each system lookup holds a thread until it is answered here.
    const stalled: { hostname: string; answer: (addresses: ResolvedAddress[]) => void }[] = [];
    const resolver: HostResolver = (hostname) => new Promise((answer) => stalled.push({ hostname, answer }));
    // Two fetchers (two Gemini accounts) on the one resolver share its slot.
    const first = createGuardedMediaFetcher({ allowPrivateNetwork: false, maxBytes: 1024, timeoutMs: 200, resolve: resolver });
    const second = createGuardedMediaFetcher({ allowPrivateNetwork: false, maxBytes: 1024, timeoutMs: 200, resolve: resolver });
    const fetches = Array.from({ length: 6 }, (_, index) => rejectedGatewayError((index % 2 === 0 ? first : second)({ url: `http://stall-${index}.example/a.png`, param: `p${index}`, signal: new AbortController().signal })));
    const errors = await Promise.all(fetches);
    // Every fetch ended by its own time bound; only one lookup ever started.
    expect(errors.map((error) => error.reason)).toEqual(Array(6).fill("INVALID_REQUEST"));
    expect(stalled.map((call) => call.hostname)).toEqual(["stall-0.example"]);
    // While it stays unanswered, a new fetch's lookup waits (and times out) without starting.
    await rejectedGatewayError(second({ url: "http://fine.example/a.png", param: "p", signal: new AbortController().signal }));
    expect(stalled).toHaveLength(1);
    // Once the system answers it, the thread is free again and the next name is looked up.
    stalled[0]?.answer([{ address: "93.184.216.34", family: 4 }]);
    await new Promise((resolve) => setImmediate(resolve));
    void second({ url: "http://next.example/a.png", param: "p", signal: AbortSignal.timeout(50) }).catch(() => undefined);
    await expect.poll(() => stalled.map((call) => call.hostname)).toEqual(["stall-0.example", "next.example"]);
    stalled[1]?.answer([]);
  });
});
