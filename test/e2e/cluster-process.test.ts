import { execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startBuiltGateway, type GatewayProcess } from "../support/built-gateway.js";
import { jsonAnswer, startFakeUpstream, type FakeUpstream } from "../support/fake-upstream.js";

/** Starts the built gateway as `npm start` does, with a config file holding `configText`. */
async function startMain(configText: string): Promise<GatewayProcess> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-cluster-"));
  const file = join(dir, "switchyard.yaml");
  writeFileSync(file, configText);
  const main = await startBuiltGateway(["--config", file]);
  running.push(main.child);
  return main;
}

async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

/** The pids of a process's cluster workers: its children that run the built main.js. */
function childPids(pid: number): number[] {
  try {
    return execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(pid)], { encoding: "utf8" })
      .split("\n")
      .filter((line) => line.includes("src/main.js"))
      .map((line) => Number.parseInt(line.trim(), 10))
      .filter((value) => value > 0);
  } catch {
    return [];
  }
}

const running: ChildProcess[] = [];
const upstreams: FakeUpstream[] = [];
const servers: net.Server[] = [];
afterEach(async () => {
  for (const child of running.splice(0)) {
    if (child.pid === undefined || child.exitCode !== null) continue;
    for (const pid of childPids(child.pid)) process.kill(pid, "SIGKILL");
    child.kill("SIGKILL");
  }
  for (const upstream of upstreams.splice(0)) await upstream.close();
  for (const server of servers.splice(0)) server.close();
});

function chat(port: number, model: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
  });
}

const ANSWER = { id: "c1", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "hello" }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } };

describe("server.workers (cluster mode)", () => {
  it("says when every worker listens, serves, starts another worker when one dies, and drains in-flight requests on SIGTERM; the primary's lines are JSON, as the workers' are", async () => {
    const upstream = await startFakeUpstream();
    upstreams.push(upstream);
    upstream.setDefault((request) => ((request.body as { model?: string }).model === "slow" ? { ...jsonAnswer(ANSWER), chunks: ["", JSON.stringify(ANSWER)], chunkDelayMs: 1500 } : jsonAnswer(ANSWER)));
    const main = await startMain(`server: { port: 0, workers: 2, shutdown_grace_ms: 10000 }\nlogging: { level: info }\nproviders:\n  up: { type: openai-compatible, base_url: "${upstream.baseUrl}" }\n`);
    const port = await waitFor(() => {
      if (main.child.exitCode !== null) throw new Error(`exited: ${main.output()}`);
      const match = /Switchyard listening on http:\/\/127\.0\.0\.1:(\d+) with 2 workers/.exec(main.output());
      return match ? Number(match[1]) : undefined;
    }, 60_000, "listening line");
    expect((await chat(port, "up/m")).status).toBe(200);

    const [victim] = childPids(main.child.pid ?? 0);
    expect(victim).toBeDefined();
    process.kill(victim ?? 0, "SIGKILL");
    await waitFor(() => (/exited with signal SIGKILL; starting another/.test(main.output()) ? true : undefined), 10_000, "restart notice");
    await waitFor(() => (childPids(main.child.pid ?? 0).length === 2 ? true : undefined), 30_000, "a second worker again");
    const primaryLines = main.output().split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as { level: number; pid: number; msg: string });
    for (const [message, level] of [[/^config: /, 30], [/^gateway keys: none: auth is off$/, 30], [/^starting 2 worker processes on /, 30], [/^Switchyard listening on .* with 2 workers$/, 30], [/exited with signal SIGKILL; starting another$/, 40]] as const) {
      expect(primaryLines.find((line) => message.test(line.msg)), String(message)).toMatchObject({ level, pid: main.child.pid, hostname: expect.any(String), time: expect.any(Number) });
    }
    for (let index = 0; index < 4; index++) expect((await chat(port, "up/m")).status).toBe(200);

    const inFlight = chat(port, "up/slow");
    await waitFor(() => (upstream.requests.some((request) => (request.body as { model?: string }).model === "slow") ? true : undefined), 10_000, "slow request upstream");
    main.child.kill("SIGTERM");
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(await main.exited).toBe(0);
  }, 120_000);

  it("a second SIGTERM a second or more after the first ends the drain at once (exit 1); one right after the first is the same signal", async () => {
    const upstream = await startFakeUpstream();
    upstreams.push(upstream);
    // A request that would keep the drain waiting for 8 s.
    upstream.setDefault(() => ({ ...jsonAnswer(ANSWER), chunks: ["", JSON.stringify(ANSWER)], chunkDelayMs: 8000 }));
    const slowRequestUpstream = async (): Promise<void> => {
      const seen = upstream.requests.length;
      await waitFor(() => (upstream.requests.length > seen ? true : undefined), 10_000, "slow request upstream");
    };
    const start = async (workers: number) => {
      const main = await startMain(`server: { port: 0, workers: ${workers}, shutdown_grace_ms: 20000 }\nlogging: { level: info }\nproviders:\n  up: { type: openai-compatible, base_url: "${upstream.baseUrl}" }\n`);
      const port = await waitFor(() => {
        if (main.child.exitCode !== null) throw new Error(`exited: ${main.output()}`);
        return Number(/listening (?:on|at) http:\/\/127\.0\.0\.1:(\d+)/.exec(main.output())?.[1] ?? 0) || undefined;
      }, 60_000, "listening line");
      return { main, port };
    };

    // Cluster: SIGTERM, then SIGTERM again 1.2 s later: every worker closes its connections and the primary exits with 1.
    const cluster = await start(2);
    await waitFor(() => (/with 2 workers/.test(cluster.main.output()) ? true : undefined), 30_000, "both workers");
    const cut = chat(cluster.port, "up/slow").then((response) => response.status, () => "cut");
    await slowRequestUpstream();
    cluster.main.child.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const forcedAt = Date.now();
    cluster.main.child.kill("SIGTERM");
    expect(await cluster.main.exited).toBe(1);
    expect(Date.now() - forcedAt).toBeLessThan(4000);
    expect(await cut).toBe("cut");
    expect(cluster.main.output()).toContain("SIGTERM again: closing every connection");

    // One process: two SIGTERMs back to back are one, and the drain still waits for the answer.
    upstream.setDefault(() => ({ ...jsonAnswer(ANSWER), chunks: ["", JSON.stringify(ANSWER)], chunkDelayMs: 2500 }));
    const single = await start(1);
    const answered = chat(single.port, "up/slow").then((response) => response.status);
    await slowRequestUpstream();
    single.main.child.kill("SIGTERM");
    single.main.child.kill("SIGTERM");
    expect(await answered).toBe(200);
    expect(await single.main.exited).toBe(0);
  }, 120_000);

  it("exits with 1, instead of starting workers forever, when the workers cannot listen", async () => {
    const busy = net.createServer();
    servers.push(busy);
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const port = (busy.address() as net.AddressInfo).port;
    const main = await startMain(`server: { port: ${port}, workers: 2 }\nlogging: { level: warn }\n`);
    expect(await main.exited).toBe(1);
    expect(main.output()).toContain("before it listened; stopping");
    expect(main.output()).not.toContain("starting another");
  }, 60_000);
});
