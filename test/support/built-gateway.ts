import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { bundleGateway, REPO_ROOT } from "../../scripts/build.js";

/** A gateway process started from the build, with its combined stdout and stderr. */
export interface GatewayProcess {
  readonly child: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr interleaved). */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
}

let built: Promise<string> | undefined;

/**
 * The path of `main.js` in a fresh build of the repository (`npm run build`'s bundle, into a
 * temporary directory with no `node_modules` above it): what `npm start` runs. Built once per test
 * file.
 */
export function builtMain(): Promise<string> {
  built ??= (async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "switchyard-build-"));
    await bundleGateway(REPO_ROOT, dir);
    return path.join(dir, "src", "main.js");
  })();
  return built;
}

/**
 * Starts the built gateway as `npm start` does (plain `node` on the build), with `args` and only
 * PATH, HOME and `env` in its environment.
 */
export async function startBuiltGateway(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<GatewayProcess> {
  const main = await builtMain();
  const child = spawn(process.execPath, [main, ...args], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}
