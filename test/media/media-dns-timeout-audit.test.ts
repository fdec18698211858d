import { describe, expect, it } from "vitest";
import { createGuardedMediaFetcher, type HostResolver } from "../../src/media/guarded-media-fetch.js";
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
});
