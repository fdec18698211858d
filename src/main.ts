import cluster from "node:cluster";
import { isIP } from "node:net";
import { pino, type Logger } from "pino";
import { buildApp } from "./app.js";
import { ConfigError, loadConfig, type LoadedConfig } from "./config/load-config.js";
import { displayUrl } from "./providers/upstream-status.js";

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || (isIP(host) === 4 && host.startsWith("127."));
}

function describeStart(loaded: LoadedConfig): string[] {
  const { config } = loaded;
  const lines = [loaded.file ? `config: ${loaded.file}` : "config: none found, using the built-in default", ...loaded.notes];
  const accounts = Object.values(config.providers).map((account) => `${account.name} (${account.type}${account.baseUrl ? `, ${displayUrl(account.baseUrl)}` : ""})`);
  lines.push(`provider accounts: ${accounts.length > 0 ? accounts.join(", ") : "none (every chat request will answer 404 model_not_found)"}`);
  lines.push(`gateway keys: ${config.keys.length > 0 ? config.keys.map((key) => key.name).join(", ") : "none: auth is off"}`);
  return lines;
}

/**
 * A second SIGTERM or SIGINT at least this long after the first ends the drain at once. A sooner
 * one is the same signal delivered twice: a terminal's Ctrl-C reaches both npm and the gateway,
 * and npm passes it on (a cluster's primary passes each signal to its workers too).
 */
const FORCE_AFTER_MS = 1000;

/** Why listening failed, by error code, for the errors a config or the host causes (others are bugs: their stack trace is kept). */
const LISTEN_FAILURES: Readonly<Record<string, string>> = {
  EADDRINUSE: "the port is in use",
  EADDRNOTAVAIL: "the address is not available on this host",
  EACCES: "permission denied",
  ENOTFOUND: "server.host is neither an IP address nor a name that resolves",
  EAI_AGAIN: "server.host could not be resolved now (DNS did not answer)",
};

async function runServer(loaded: LoadedConfig, announce: boolean): Promise<void> {
  const { config } = loaded;
  const built = await buildApp({ config });
  if (announce) for (const line of describeStart(loaded)) built.app.log.info(line);
  let stoppedAt: number | undefined;
  const stop = (signal: string) => {
    if (stoppedAt !== undefined) {
      if (Date.now() - stoppedAt < FORCE_AFTER_MS) return;
      built.app.log.warn(`${signal} again: closing every connection without waiting for the drain`);
      built.app.server.closeAllConnections();
      process.exit(1);
    }
    stoppedAt = Date.now();
    built.startDraining();
    built.app.log.info(`${signal}: draining for up to ${config.server.shutdownGraceMs} ms`);
    const force = setTimeout(() => {
      built.app.server.closeAllConnections();
      process.exit(0);
    }, config.server.shutdownGraceMs);
    force.unref();
    built.app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  let address: string;
  try {
    address = await built.app.listen({ host: config.server.host, port: config.server.port });
  } catch (error) {
    // The port taken, an address this host does not have, a host name that does not resolve: one line, not a stack trace.
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === undefined ? undefined : LISTEN_FAILURES[code];
    if (!why) throw error;
    process.stderr.write(`switchyard: cannot listen on ${config.server.host}:${config.server.port}: ${why} (${code})\n`);
    process.exit(1);
  }
  if (announce) built.app.log.info(`Switchyard listening on ${address} (REST /v1/chat/completions, gRPC, Connect, gRPC-Web)`);
}

async function main(): Promise<void> {
  let loaded: LoadedConfig;
  try {
    loaded = loadConfig(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`switchyard: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const { config } = loaded;
  if (config.keys.length === 0 && !isLoopback(config.server.host)) {
    process.stderr.write(`switchyard: refusing to listen on ${config.server.host} with no gateway keys configured (auth is off); add keys or listen on 127.0.0.1\n`);
    process.exit(2);
  }
  const workers = config.server.workers;
  if (workers > 1 && cluster.isPrimary) {
    // The primary's lines are JSON as the workers' are (pino, at `logging.level`); written synchronously, before any exit.
    const log = pino({ level: config.logging.level });
    for (const line of describeStart(loaded)) log.info(line);
    log.info(`starting ${workers} worker processes on ${config.server.host}:${config.server.port}`);
    superviseWorkers(workers, log);
    return;
  }
  await runServer(loaded, workers <= 1);
}

/**
 * The cluster primary: forks `workers` processes sharing the port, says once when all of them
 * listen, and starts another when one dies (both lines on `log`). A worker that exits before it
 * ever listened (the port is taken, the address does not exist) would fail the same way again:
 * the primary then says so on stderr, as a single process says it cannot listen, stops the
 * others and exits with 1 instead of forking forever. SIGTERM / SIGINT go to every
 * worker, each drains as a single process does, and the primary exits when the last one has.
 */
function superviseWorkers(workers: number, log: Logger): void {
  const listened = new Set<number>();
  let stopping = false;
  let exitCode = 0;
  const stopAll = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  };
  process.on("SIGTERM", () => stopAll("SIGTERM"));
  process.on("SIGINT", () => stopAll("SIGINT"));
  cluster.on("listening", (worker, address) => {
    listened.add(worker.id);
    if (listened.size === workers) log.info(`Switchyard listening on http://${address.address ?? "127.0.0.1"}:${address.port} with ${workers} workers`);
  });
  cluster.on("exit", (worker, code, signal) => {
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (!stopping && !listened.has(worker.id)) {
      process.stderr.write(`switchyard: worker ${worker.process.pid} exited with ${how} before it listened; stopping\n`);
      exitCode = 1;
      stopAll("SIGTERM");
    } else if (!stopping) {
      log.warn(`worker ${worker.process.pid} exited with ${how}; starting another`);
      cluster.fork();
    }
    // A worker that had to be forced (a second signal during the drain) exits with 1: so does the primary.
    if (stopping && typeof code === "number" && code !== 0) exitCode = 1;
    if (stopping && Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode);
  });
  for (let index = 0; index < workers; index++) cluster.fork();
}

await main();
