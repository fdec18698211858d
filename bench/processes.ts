/**
 * Starting and stopping the benchmark's processes: the emulator, the bare proxy, Switchyard
 * (the real `src/main.ts`, with a generated config) and the load worker. Every child is a separate
 * process on loopback; the orchestrator kills exactly the children it started.
 */
import { fork, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (bench/..). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** How children run: plain node on the ahead-of-time build, or node with the tsx loader. */
export interface Runtime {
  readonly name: "node" | "tsx";
  /** Node arguments that run `file` (a path like "src/main.ts", relative to the repository). */
  args(file: string): string[];
}

/** Runs the build in `dir` (scripts/build.ts: the gateway bundled as `npm start` runs it, the bench processes transpiled). */
export function nodeRuntime(dir: string): Runtime {
  return { name: "node", args: (file) => [path.join(dir, file.replace(/\.ts$/, ".js"))] };
}

/** Runs the TypeScript sources through tsx. */
export const TSX_RUNTIME: Runtime = { name: "tsx", args: (file) => ["--import", "tsx", path.join(ROOT, file)] };

/** A started child process. */
export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Lines the child wrote on stderr (kept for error reports). */
  readonly stderr: string[];
}

function track(child: ChildProcess, name: string): Child {
  const stderr: string[] = [];
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (text: string) => {
    stderr.push(text);
    if (stderr.length > 200) stderr.shift();
  });
  if (child.pid === undefined) throw new Error(`${name} did not start`);
  return { process: child, pid: child.pid, stderr };
}

/** Starts a bench script that prints `READY <port>`; resolves with the child and port. */
export async function startScript(runtime: Runtime, file: string, args: readonly string[], name: string): Promise<Child & { port: number }> {
  const child = spawn(process.execPath, [...runtime.args(file), ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  const tracked = track(child, name);
  child.stdout.setEncoding("utf8");
  const port = await new Promise<number>((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`${name} did not report READY within 60 s: ${tracked.stderr.join("")}`)), 60_000);
    child.stdout.on("data", (chunk: string) => {
      text += chunk;
      const match = /READY (\d+)/.exec(text);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}: ${tracked.stderr.join("")}`));
    });
  });
  return { ...tracked, port };
}

/** A free loopback TCP port. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as net.AddressInfo).port;
  server.close();
  await once(server, "close");
  return port;
}

function healthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get({ host: "127.0.0.1", port, path: "/healthz", agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on("error", () => resolve(false));
    request.setTimeout(1000, () => request.destroy());
  });
}

/** Starts Switchyard (src/main.ts --config <file>) and waits for /healthz. */
export async function startGateway(runtime: Runtime, configFile: string, port: number, nodeArgs: readonly string[], name: string, env: NodeJS.ProcessEnv = {}): Promise<Child> {
  const child = spawn(process.execPath, [...nodeArgs, ...runtime.args("src/main.ts"), "--config", configFile], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...env },
  });
  const tracked = track(child, name);
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${tracked.stderr.join("")}`);
    if (await healthy(port)) return tracked;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${name} did not answer /healthz within 90 s: ${tracked.stderr.join("")}`);
}

/** Forks the load worker (IPC channel). */
export function startLoadWorker(runtime: Runtime): Child {
  const [script, ...rest] = runtime.args("bench/load-worker.ts").reverse();
  const child = fork(script ?? "", [], { cwd: ROOT, execArgv: rest.reverse(), stdio: ["ignore", "inherit", "pipe", "ipc"] });
  return track(child, "load worker");
}

/** Stops a child with SIGTERM (SIGKILL after `graceMs`) and waits for it to exit. */
export async function stop(child: Child, graceMs = 5000): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  const exited = once(child.process, "exit");
  child.process.kill("SIGTERM");
  const timer = setTimeout(() => child.process.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
