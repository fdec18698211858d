import type { LookupAddress, LookupAllOptions } from "node:dns";
import http from "node:http";
import type { AddressInfo, LookupFunction } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_LOOKUP_WAITERS, sharedLookup, type AllAddressesLookup } from "../../src/net/shared-lookup.js";
import { createUndiciTransport } from "../../src/providers/upstream-http.js";

type Answer = (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void;

/** A system lookup that answers only when the test says so; it records every call. */
function heldResolver() {
  const calls: { hostname: string; options: LookupAllOptions; answer: Answer }[] = [];
  const system: AllAddressesLookup = (hostname, options, answer) => {
    calls.push({ hostname, options, answer });
  };
  return { calls, system };
}

type Outcome = { error: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number };

function ask(lookup: LookupFunction, hostname: string, options: Parameters<LookupFunction>[1]): Promise<Outcome> {
  return new Promise((resolve) => lookup(hostname, options, (error, address, family) => resolve({ error, address, ...(family === undefined ? {} : { family }) })));
}

const ANSWER: LookupAddress[] = [
  { address: "2001:db8::7", family: 6 },
  { address: "192.0.2.7", family: 4 },
];

describe("sharedLookup", () => {
  it("gives concurrent lookups of one name one system lookup, and each caller the shape it asked for", async () => {
    const { calls, system } = heldResolver();
    const lookup = sharedLookup(system);
    const waits = [ask(lookup, "api.example.test", { all: true }), ask(lookup, "api.example.test", { all: true }), ask(lookup, "api.example.test", {})];
    expect(calls).toHaveLength(1);
    expect(calls[0]?.options.all).toBe(true);
    calls[0]?.answer(null, ANSWER);
    const [first, second, single] = await Promise.all(waits);
    expect(first).toEqual({ error: null, address: ANSWER });
    expect(second).toEqual({ error: null, address: ANSWER });
    // dns.lookup without `all` answers the first address in the resolver's order.
    expect(single).toEqual({ error: null, address: "2001:db8::7", family: 6 });
    // Callers get their own copies: one cannot change what another sees.
    expect(first?.address).not.toBe(second?.address);
  });

  it("keeps names, and lookups with other options, apart", async () => {
    const { calls, system } = heldResolver();
    const lookup = sharedLookup(system);
    const waits = [ask(lookup, "a.test", { all: true }), ask(lookup, "b.test", { all: true }), ask(lookup, "a.test", { all: true, family: 4 }), ask(lookup, "a.test", { all: true, hints: 1024 })];
    expect(calls.map((call) => [call.hostname, call.options.family ?? 0, call.options.hints ?? 0])).toEqual([
      ["a.test", 0, 0],
      ["b.test", 0, 0],
      ["a.test", 4, 0],
      ["a.test", 0, 1024],
    ]);
    for (const call of calls) call.answer(null, [{ address: `192.0.2.${calls.indexOf(call) + 1}`, family: 4 }]);
    expect((await Promise.all(waits)).map((outcome) => (outcome.address as LookupAddress[])[0]?.address)).toEqual(["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"]);
  });

  it("caches nothing: a lookup after the shared one ended asks the system again", async () => {
    const { calls, system } = heldResolver();
    const lookup = sharedLookup(system);
    const before = ask(lookup, "api.example.test", {});
    calls[0]?.answer(null, ANSWER);
    await before;
    const after = ask(lookup, "api.example.test", {});
    expect(calls).toHaveLength(2);
    calls[1]?.answer(null, [{ address: "192.0.2.99", family: 4 }]);
    expect(await after).toEqual({ error: null, address: "192.0.2.99", family: 4 });
  });

  it("hands the system's error to every waiting caller", async () => {
    const { calls, system } = heldResolver();
    const lookup = sharedLookup(system);
    const waits = [ask(lookup, "gone.test", {}), ask(lookup, "gone.test", { all: true })];
    const error = Object.assign(new Error("getaddrinfo ENOTFOUND gone.test"), { code: "ENOTFOUND" });
    calls[0]?.answer(error, []);
    const [single, all] = await Promise.all(waits);
    expect(single?.error).toBe(error);
    expect(all?.error).toBe(error);
    expect(all?.address).toEqual([]);
  });

  it("answers ENOTFOUND when the system finds no address, rather than an empty address", async () => {
    const { calls, system } = heldResolver();
    const lookup = sharedLookup(system);
    const wait = ask(lookup, "empty.test", {});
    calls[0]?.answer(null, []);
    expect((await wait).error?.code).toBe("ENOTFOUND");
  });

  it(`refuses at once, with EAI_AGAIN, a lookup past ${MAX_LOOKUP_WAITERS} waiting on one stalled name`, async () => {
    const { calls, system } = heldResolver();
    const lookup = sharedLookup(system);
    const waiting = Array.from({ length: MAX_LOOKUP_WAITERS }, () => ask(lookup, "stalled.test", {}));
    const refused = await ask(lookup, "stalled.test", {});
    expect(refused.error?.code).toBe("EAI_AGAIN");
    expect(refused.error?.message).toContain("stalled.test");
    expect(calls).toHaveLength(1);
    // Another name is not held up by the stalled one.
    const other = ask(lookup, "fine.test", {});
    expect(calls).toHaveLength(2);
    calls[1]?.answer(null, [{ address: "192.0.2.5", family: 4 }]);
    expect((await other).address).toBe("192.0.2.5");
    calls[0]?.answer(null, [{ address: "192.0.2.6", family: 4 }]);
    expect(new Set((await Promise.all(waiting)).map((outcome) => outcome.address))).toEqual(new Set(["192.0.2.6"]));
  });
});

describe("the production transport's lookup", () => {
  let server: http.Server;
  let port: number;
  let connections = 0;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      setTimeout(() => res.end(`answered ${req.url ?? ""}`), 20);
    });
    server.on("connection", () => connections++);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  async function text(body: AsyncIterable<Uint8Array>): Promise<string> {
    let out = "";
    for await (const chunk of body) out += Buffer.from(chunk).toString("utf8");
    return out;
  }

  it("opens many connections to one host name on a single DNS lookup", async () => {
    const { calls, system } = heldResolver();
    const transport = createUndiciTransport(sharedLookup(system));
    const before = connections;
    const responses = Array.from({ length: 8 }, (_, index) =>
      transport({ url: `http://provider.example.test:${port}/v1/call-${index}`, method: "POST", headers: { "content-type": "application/json" }, body: "{}", signal: new AbortController().signal, connectTimeoutMs: 5_000 }),
    );
    // Every request needs its own connection (each answer takes 20 ms), and every connection a lookup.
    await expect.poll(() => calls.length).toBe(1);
    calls[0]?.answer(null, [{ address: "127.0.0.1", family: 4 }]);
    const answers = await Promise.all(responses.map(async (pending) => text((await pending).body)));
    expect(answers).toEqual(Array.from({ length: 8 }, (_, index) => `answered /v1/call-${index}`));
    expect(calls).toHaveLength(1);
    expect(calls[0]?.hostname).toBe("provider.example.test");
    expect(connections - before).toBeGreaterThan(1);
  });

  it("fails a connection attempt by its connect timeout while the name's lookup stalls", async () => {
    const { calls, system } = heldResolver();
    const transport = createUndiciTransport(sharedLookup(system));
    const started = Date.now();
    const attempt = transport({ url: `http://stalled.example.test:${port}/v1/x`, method: "POST", headers: {}, body: "{}", signal: new AbortController().signal, connectTimeoutMs: 150 });
    await expect(attempt).rejects.toMatchObject({ code: "UND_ERR_CONNECT_TIMEOUT" });
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(calls).toHaveLength(1);
  });
});
