import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import net, { type AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../scripts/build.js";
import { startBuiltGateway } from "../support/built-gateway.js";

async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

const running: ChildProcess[] = [];
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

describe("the gateway process (npm start: the build on plain node)", () => {
  it("starts from the built-in default, says what it found without secrets, serves, and exits cleanly on SIGTERM", async () => {
    // Port 0: the process takes a free port and says which; no collision with other tests' servers.
    const main = await startBuiltGateway([], { SWITCHYARD_PORT: "0", OPENAI_API_KEY: "sk-test-secret-value-123456", SWITCHYARD_CONFIG: "" });
    running.push(main.child);
    let port = 0;
    // Generous: on a busy 2-core machine (the rest of the suite runs alongside), start-up can take seconds.
    await waitFor(async () => {
      if (main.child.exitCode !== null) throw new Error(`the gateway exited with ${main.child.exitCode}: ${main.output()}`);
      port = Number(/listening (?:on|at) http:\/\/127\.0\.0\.1:(\d+)/.exec(main.output())?.[1] ?? 0);
      if (port === 0) return false;
      try {
        return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
      } catch {
        return false;
      }
    }, 50_000);
    const models = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "nosuch/model", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(models.status).toBe(404);
    // The start-up report is log lines (JSON), from the process or, with more than one CPU, the cluster's primary.
    const messages = main.output().split("\n").filter((line) => line.startsWith("{")).map((line) => (JSON.parse(line) as { msg: string }).msg);
    expect(messages.some((message) => message.includes('OPENAI_API_KEY found: account "openai"'))).toBe(true);
    expect(messages).toContain("config: none found, using the built-in default");
    expect(main.output()).not.toContain("sk-test-secret-value-123456");
    main.child.kill("SIGTERM");
    expect(await main.exited).toBe(0);
  }, 70_000);

  it("`npm start` builds, runs the build on plain node, and passes SIGTERM to it: the cluster drains and no process is left", async () => {
    // Two workers whatever the machine (the default is one per CPU): a cluster, bounded.
    const dir = mkdtempSync(join(tmpdir(), "switchyard-npm-start-"));
    const file = join(dir, "switchyard.yaml");
    writeFileSync(file, "server: { port: 0, workers: 2 }\nproviders: {}\n");
    const npm = spawn("npm", ["start", "--", "--config", file], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" }, stdio: ["ignore", "pipe", "pipe"] });
    running.push(npm);
    let output = "";
    npm.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    npm.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => npm.on("exit", (code) => resolve(code)));
    await waitFor(() => {
      if (npm.exitCode !== null) throw new Error(`npm start exited with ${npm.exitCode}: ${output}`);
      return /Switchyard listening on http:\/\/127\.0\.0\.1:\d+/.test(output);
    }, 50_000);
    // The gateway is npm's own child (the start script execs node), with its workers under it.
    const tree = execFileSync("ps", ["-e", "-o", "pid=,ppid=,args="], { encoding: "utf8" })
      .split("\n")
      .map((line) => line.trim().split(/\s+/))
      .filter(([, , ...args]) => args.join(" ").includes("dist/src/main.js"))
      .map(([pid, ppid]) => ({ pid: Number(pid), ppid: Number(ppid) }));
    const primary = tree.find((entry) => entry.ppid === npm.pid);
    expect(primary, output).toBeDefined();
    expect(execFileSync("ps", ["-o", "args=", "-p", String(primary?.pid)], { encoding: "utf8" })).not.toContain("tsx");
    const pids = tree.filter((entry) => entry === primary || entry.ppid === primary?.pid).map((entry) => entry.pid);
    npm.kill("SIGTERM");
    expect(await exited).toBe(0);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await waitFor(() => pids.every((pid) => !alive(pid)), 15_000);
    expect(output).toContain("SIGTERM: draining");
  }, 90_000);

  it("refuses to listen beyond loopback when no gateway keys are configured", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-main-"));
    const file = join(dir, "open.yaml");
    writeFileSync(file, "server: { host: 0.0.0.0, port: 0, workers: 1 }\nproviders: {}\n");
    const main = await startBuiltGateway(["--config", file], {});
    running.push(main.child);
    expect(await main.exited).toBe(2);
    expect(main.output()).toContain("refusing to listen on 0.0.0.0 with no gateway keys configured");
  }, 30_000);

  it("exits with the config errors, naming file and key path, when the config is invalid", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-main-"));
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "server: { port: 99999 }\nproviders: { main: { type: openai, colour: blue } }\n");
    const main = await startBuiltGateway(["--config", file], {});
    running.push(main.child);
    expect(await main.exited).toBe(2);
    expect(main.output()).toContain(file);
    expect(main.output()).toContain("server.port: must be at most 65535");
    expect(main.output()).toContain("providers.main.colour: is not a known key");
  }, 30_000);

  it("exits with one line, not a stack trace, when its port is taken", async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const dir = mkdtempSync(join(tmpdir(), "switchyard-main-"));
      const file = join(dir, "taken.yaml");
      writeFileSync(file, `server: { host: 127.0.0.1, port: ${port}, workers: 1 }\n`);
      const main = await startBuiltGateway(["--config", file], {});
      running.push(main.child);
      expect(await main.exited).toBe(1);
      expect(main.output()).toContain(`switchyard: cannot listen on 127.0.0.1:${port}: the port is in use (EADDRINUSE)`);
      expect(main.output()).not.toContain("    at ");
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  }, 30_000);

  it("exits with one line naming server.host, not a stack trace, when the host does not resolve", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-main-"));
    const file = join(dir, "host.yaml");
    writeFileSync(file, 'server: { host: "999.1.1.1", port: 0, workers: 1 }\nkeys: [{ name: a, key: k1 }]\n');
    const main = await startBuiltGateway(["--config", file], {});
    running.push(main.child);
    expect(await main.exited).toBe(1);
    expect(main.output()).toMatch(/switchyard: cannot listen on 999\.1\.1\.1:0: server\.host (is neither an IP address nor a name that resolves \(ENOTFOUND\)|could not be resolved now)/);
    expect(main.output()).not.toContain("    at ");
  }, 30_000);
});
