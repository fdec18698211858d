import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/core/errors.js";
import { nonPublicAddressKind } from "../../src/media/address-policy.js";
import { createGuardedMediaFetcher } from "../../src/media/guarded-media-fetch.js";

/*
 * IPv6 outside the global unicast space (2000::/3) was judged public unless a rule named it: the
 * SIIT "IPv4-translated" form ::ffff:0:a.b.c.d of 127.0.0.1 or 10.x passed, and the media fetcher
 * tried to connect to it (a stateless translator would carry it to the private IPv4 address).
 */
describe("IPv6 addresses outside 2000::/3 and special ranges inside it", () => {
  it.each<[string, RegExp]>([
    ["::ffff:0:127.0.0.1", /^reserved \(outside 2000::\/3\)/],
    ["::ffff:0:a00:1", /^reserved/],
    ["::ffff:0:a9fe:a9fe", /^reserved/],
    ["5f00::1", /^reserved/],
    ["400::1", /^reserved/],
    ["8000::1", /^reserved/],
    ["2001:2::1", /^benchmarking/],
    ["2001:10::1", /^ORCHID/],
    ["2001:1f::1", /^ORCHID/],
    ["3fff:123::1", /^documentation \(3fff/],
  ])("refuses %s", (address, kind) => {
    expect(nonPublicAddressKind(address)).toMatch(kind);
  });

  it.each(["::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "2606:4700:4700::1111", "2a03:2880::1", "3fff:1000::1", "2001:3::1"])("still allows public %s", (address) => {
    expect(nonPublicAddressKind(address)).toBeUndefined();
  });

  it("refuses such a URL before connecting", async () => {
    const fetcher = createGuardedMediaFetcher({ allowPrivateNetwork: false, maxBytes: 1024, timeoutMs: 2_000 });
    const started = Date.now();
    let error: unknown;
    try {
      await fetcher({ url: "http://[::ffff:0:127.0.0.1]:8080/a.png", param: "messages[0].content[0]", signal: new AbortController().signal });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).rawMessage).toMatch(/resolves to a reserved \(outside 2000::\/3\) address/);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("says the same of an internal host name and of one that does not resolve (a caller cannot map internal DNS names)", async () => {
    const resolve = async (name: string) => {
      if (name === "intranet.example") return [{ address: "10.1.2.3", family: 4 as const }];
      if (name === "empty.example") return [];
      throw new Error("ENOTFOUND");
    };
    const fetcher = createGuardedMediaFetcher({ allowPrivateNetwork: false, maxBytes: 1024, timeoutMs: 2_000, resolve });
    const messageOf = async (url: string) => {
      try {
        await fetcher({ url, param: "messages[0].content[0]", signal: new AbortController().signal });
      } catch (thrown) {
        return (thrown as GatewayError).rawMessage;
      }
      return "fetched";
    };
    const internal = await messageOf("http://intranet.example/a.png");
    expect(internal).toMatch(/does not resolve to a public address/);
    expect(await messageOf("http://nowhere.example/a.png")).toBe(internal);
    expect(await messageOf("http://empty.example/a.png")).toBe(internal);
    // An address written in the URL is named by its kind: the caller knows it already.
    expect(await messageOf("http://10.1.2.3/a.png")).toMatch(/resolves to a private/);
  });
});
