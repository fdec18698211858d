import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { buildApp, type BuiltApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";
import { fault, type FaultInjector } from "../support/fault-injector.js";
import { configYaml, startInjectors, userMessage } from "./resilience-harness.js";

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly target?: string;
  readonly reason?: string;
  readonly where?: string;
  readonly suppressed?: number;
  readonly similar?: string;
}

let built: BuiltApp | undefined;
let upstreams: Record<string, FaultInjector> = {};

afterEach(async () => {
  await built?.app.close();
  built = undefined;
  for (const injector of Object.values(upstreams)) await injector.close();
  upstreams = {};
});

async function start(logging: string): Promise<{ origin: string; lines: LogLine[] }> {
  upstreams = await startInjectors({ a: {} });
  const yaml = configYaml(upstreams, { a: {} }, "").replace("logging: { level: silent }", logging);
  const lines: LogLine[] = [];
  built = await buildApp({ config: parseConfigText(yaml, "sampling.yaml", {}), logStream: { write: (line) => lines.push(JSON.parse(line) as LogLine) } });
  await built.app.listen({ host: "127.0.0.1", port: 0 });
  return { origin: `http://127.0.0.1:${(built.app.server.address() as AddressInfo).port}`, lines };
}

async function failingRequests(origin: string, count: number, model: (index: number) => string = () => "a/m"): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${origin}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: model(i), messages: userMessage() }) });
    await response.arrayBuffer();
    statuses.push(response.status);
  }
  return statuses;
}

/** Every occurrence of one kind of line: the lines logged, plus what they and the summary lines say was dropped. */
function occurrences(lines: readonly LogLine[], logged: (line: LogLine) => boolean, keyPrefix: string): { logged: number; total: number } {
  const shown = lines.filter(logged);
  const carried = shown.reduce((sum, line) => sum + (line.suppressed ?? 0), 0);
  const summarized = lines.filter((line) => line.similar?.startsWith(keyPrefix)).reduce((sum, line) => sum + (line.suppressed ?? 0), 0);
  return { logged: shown.length, total: shown.length + carried + summarized };
}

const attemptLine = (line: LogLine) => line.msg.startsWith("upstream attempt failed") && line.target === "a/m";

describe("log sampling under an upstream failure storm", () => {
  it("logs at most max_similar_per_second lines of one kind a second, and accounts for every dropped one", async () => {
    const { origin, lines } = await start("logging: { level: warn, max_similar_per_second: 3 }");
    upstreams.a?.always(fault.serverError(503));
    const started = Date.now();
    const statuses = await failingRequests(origin, 20);
    const windows = Math.ceil((Date.now() - started) / 1000) + 1;
    expect(statuses.every((status) => status === 503)).toBe(true);
    // Three attempts per request (two retries), all failed upstream.
    expect(upstreams.a?.attempts).toHaveLength(60);
    await built?.app.close();
    built = undefined;

    const attempts = occurrences(lines, attemptLine, "attempt a ");
    expect(attempts.total).toBe(60);
    expect(attempts.logged).toBeLessThanOrEqual(3 * windows);
    const errors = occurrences(lines, (line) => line.where !== undefined, "error ");
    expect(errors.total).toBe(20);
    expect(errors.logged).toBeLessThanOrEqual(3 * windows);
    // The summary lines name the kind and the count.
    expect(lines.some((line) => line.similar?.startsWith("attempt a ") && (line.suppressed ?? 0) > 0 && line.msg.includes("similar log lines suppressed"))).toBe(true);
  });

  it("samples per account: a caller naming a new model in every request does not get one budget per name", async () => {
    const { origin, lines } = await start("logging: { level: warn, max_similar_per_second: 3 }");
    upstreams.a?.always(fault.serverError(503));
    const started = Date.now();
    const statuses = await failingRequests(origin, 20, (index) => `a/m${index}`);
    const windows = Math.ceil((Date.now() - started) / 1000) + 1;
    expect(statuses.every((status) => status === 503)).toBe(true);
    await built?.app.close();
    built = undefined;
    const attempts = occurrences(lines, (line) => line.msg.startsWith("upstream attempt failed"), "attempt a ");
    expect(attempts.total).toBe(60);
    expect(attempts.logged).toBeLessThanOrEqual(3 * windows);
  });

  it("logs every line with max_similar_per_second: 0", async () => {
    const { origin, lines } = await start("logging: { level: warn, max_similar_per_second: 0 }");
    upstreams.a?.always(fault.serverError(503));
    await failingRequests(origin, 5);
    expect(lines.filter(attemptLine)).toHaveLength(15);
    expect(lines.some((line) => line.suppressed !== undefined)).toBe(false);
  });

  it("samples 10 lines a second by default", async () => {
    const { origin, lines } = await start("logging: { level: warn }");
    upstreams.a?.always(fault.serverError(503));
    const started = Date.now();
    await failingRequests(origin, 12);
    const windows = Math.ceil((Date.now() - started) / 1000) + 1;
    const attempts = occurrences(lines, attemptLine, "attempt a ");
    expect(attempts.logged).toBeLessThanOrEqual(10 * windows);
    expect(attempts.logged).toBeLessThan(36);
  });
});
