/**
 * `npm run bench`: starts the upstream emulator, the bare proxy and Switchyard (real src/main.ts,
 * generated config, server.workers 1; plus a workers=2 cluster for the scaling line) as separate
 * processes, drives them from a separate load process, and prints one table with same-run ratios.
 * Results go to bench/results/latest.json (filtered or non-default runs: results/partial.json).
 *
 * Knobs: BENCH_DURATION (s per measured run, default 2.5), BENCH_ROUNDS (interleaved rounds, 3; every figure is the median over them),
 * BENCH_WARMUP (s of warm-up per gateway path before measuring, 2),
 * BENCH_LANES (comma list: c1,c32,c128,stream-paced,stream-burst,cluster,leak), BENCH_VARIANTS (comma
 * list of variant labels, e.g. "bare proxy,switchyard"), BENCH_LONG=1
 * (leak lane of 100k requests instead of 20k), BENCH_LEAK_REQUESTS, BENCH_CPU_PROF=<dir> (run the
 * single-process gateway under `node --cpu-prof`), BENCH_CLUSTER=0 (skip the cluster gateway),
 * BENCH_BASELINES="label=/path/to/tree[=node flags],…" (other source trees, or flags, run side by side: same-run before/after).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { bundleGateway, transpileProject } from "../scripts/build.js";
import { buildLanes, gatewayConfigYaml, REST_AT_GRPC_RATE, type JobSpec, type Lane, type Variant } from "./lanes.js";
import type { LoadJob, LoadSummary } from "./load-worker.js";
import { memoryMb, processTree, resetPeak, sampleRss, treeCpuSeconds } from "./proc-stats.js";
import { freePort, nodeRuntime, ROOT, startGateway, startLoadWorker, startScript, stop, TSX_RUNTIME, type Child, type Runtime } from "./processes.js";
import { streamTable, targetTable, unaryTable, type TargetCheck, type VariantResult } from "./report.js";

const started = Date.now();
const env = process.env;
const SECONDS = Number(env.BENCH_DURATION ?? 2.5);
const ROUNDS = Math.max(1, Number(env.BENCH_ROUNDS ?? 3));
const WARMUP = Number(env.BENCH_WARMUP ?? 2);
/** Unmeasured seconds of a gateway variant right before each of its measured runs. */
const SETTLE_SECONDS = 0.5;
/** The bench's own processes (emulator, bare proxy, load worker) run transpiled; the gateway runs bundled, as `npm start` runs it. */
const BUILD_DIRS = ["gen", "bench"] as const;
const LANES = new Set((env.BENCH_LANES ?? "c1,c32,c128,stream-paced,stream-burst,cluster,leak").split(",").map((lane) => lane.trim()));
const LEAK_REQUESTS = Number(env.BENCH_LEAK_REQUESTS ?? (env.BENCH_LONG === "1" ? 100_000 : 20_000));
const VARIANTS = env.BENCH_VARIANTS ? new Set(env.BENCH_VARIANTS.split(",").map((label) => label.trim())) : undefined;
const CPU_PROF = env.BENCH_CPU_PROF;
const WITH_CLUSTER = env.BENCH_CLUSTER !== "0" && LANES.has("cluster");

const log = (line: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(3)}s] ${line}\n`);

async function availableAdapters(): Promise<Set<string>> {
  try {
    const registry = (await import("../src/providers/registry.js")) as { ADAPTER_FACTORIES: Record<string, unknown> };
    return new Set(Object.keys(registry.ADAPTER_FACTORIES));
  } catch (error) {
    log(`could not load the provider registry (${error instanceof Error ? error.message : String(error)}); translation lanes unavailable`);
    return new Set(["openai", "openai-compatible"]);
  }
}

const children: Child[] = [];
let worker: Child;
let nextJobId = 1;

function runJob(spec: JobSpec): Promise<LoadSummary> {
  const id = nextJobId++;
  const job = { ...spec, id } as LoadJob;
  return new Promise((resolve, reject) => {
    const onMessage = (message: LoadSummary | { id: number; fatal: string }) => {
      if (message.id !== id) return;
      worker.process.off("message", onMessage);
      if ("fatal" in message) reject(new Error(message.fatal));
      else resolve(message);
    };
    worker.process.on("message", onMessage);
    worker.process.send(job);
  });
}

const pause = (msValue: number) => new Promise((resolve) => setTimeout(resolve, msValue));

interface Processes {
  readonly proxy: number;
  readonly gateway: number;
  readonly cluster: readonly number[];
  readonly baselines: readonly number[];
}

function measuredPids(variant: Variant, processes: Processes): number[] {
  if (variant.measure === "proxy") return [processes.proxy];
  if (variant.measure === "gateway") return [processes.gateway];
  if (variant.measure === "cluster") return [...processes.cluster];
  if (variant.measure.startsWith("baseline:")) {
    const pid = processes.baselines[Number(variant.measure.slice("baseline:".length))];
    return pid === undefined ? [] : [pid];
  }
  return [];
}

/**
 * BENCH_BASELINES="label=/path/to/tree,…": other source trees (src/, gen/) run side by side for
 * same-run before/after ratios. An entry may end in `=<node flags>` (space-separated), e.g.
 * `semi8=.=--max-semi-space-size=8`, to compare Node or V8 flags on the same tree.
 */
function baselineTrees(): { label: string; root: string; nodeArgs: string[] }[] {
  return (env.BENCH_BASELINES ?? "").split(",").filter(Boolean).map((entry) => {
    const [label = "", root = "", ...flags] = entry.split("=");
    return { label, root: path.resolve(root), nodeArgs: flags.join("=").split(" ").filter(Boolean) };
  });
}

interface RoundFigures {
  summary: LoadSummary;
  cpu: number;
  peak?: number;
}

async function runVariant(variant: Variant, job: JobSpec, processes: Processes, peak: boolean): Promise<RoundFigures> {
  const pids = measuredPids(variant, processes);
  const sampler = peak && pids.length > 0 && !pids.every(resetPeak) ? sampleRss(pids) : undefined;
  const before = treeCpuSeconds(pids);
  const summary = await runJob(job);
  const cpu = treeCpuSeconds(pids) - before;
  const peakMb = peak && pids.length > 0 ? (sampler ? sampler.stop() : pids.reduce((sum, pid) => sum + memoryMb(pid).hwm, 0)) : undefined;
  await pause(150);
  return { summary, cpu, ...(peakMb !== undefined ? { peak: peakMb } : {}) };
}

/**
 * The median of the usable (non-negative) values; -1 when none. The figures of a variant are
 * medians over its rounds: the machine is shared, and one slot disturbed by the host (the
 * per-round log lines show such slots, with the direct and bare variants dipping too) would move a
 * mean. With two rounds it is their mean.
 */
function median(values: readonly number[]): number {
  const usable = values.filter((value) => value >= 0).sort((a, b) => a - b);
  if (usable.length === 0) return -1;
  const middle = Math.floor(usable.length / 2);
  return usable.length % 2 === 1 ? (usable[middle] as number) : ((usable[middle - 1] as number) + (usable[middle] as number)) / 2;
}

function aggregate(lane: Lane, variant: Variant, rounds: readonly RoundFigures[]): Omit<VariantResult, "rpsVsBare" | "cpuVsBare"> {
  const base = { lane: lane.name, label: variant.label, role: variant.role };
  if ("unavailable" in variant.job || rounds.length === 0) {
    return { ...base, unavailable: "unavailable" in variant.job ? variant.job.unavailable : "not run", requests: 0, errors: 0, non2xx: 0, rps: -1, latencyP50: -1, latencyP99: -1, firstByteP50: -1, firstTokenP50: -1, gapP50: -1, gapP99: -1, frames: 0, batchedPct: -1, cpuPerRequest: -1, cpuPerFrame: -1 };
  }
  const summaries = rounds.map((round) => round.summary);
  const requests = summaries.reduce((sum, item) => sum + item.requests, 0);
  const frames = summaries.reduce((sum, item) => sum + item.frames, 0);
  const batched = summaries.reduce((sum, item) => sum + item.batchedFrames, 0);
  const measured = variant.measure !== "none";
  const firstError = summaries.find((item) => item.firstError)?.firstError;
  const peaks = rounds.flatMap((round) => (round.peak !== undefined ? [round.peak] : []));
  return {
    ...base,
    requests,
    errors: summaries.reduce((sum, item) => sum + item.errors, 0),
    non2xx: summaries.reduce((sum, item) => sum + item.non2xx, 0),
    rps: median(summaries.map((item) => (item.seconds > 0 ? item.requests / item.seconds : -1))),
    latencyP50: median(summaries.map((item) => item.latency.p50)),
    latencyP99: median(summaries.map((item) => item.latency.p99)),
    firstByteP50: median(summaries.map((item) => item.firstByte.p50)),
    firstTokenP50: median(summaries.map((item) => item.firstToken.p50)),
    gapP50: median(summaries.map((item) => item.gap.p50)),
    gapP99: median(summaries.map((item) => item.gap.p99)),
    frames,
    batchedPct: frames > requests ? (100 * batched) / Math.max(1, frames - requests) : -1,
    cpuPerRequest: measured ? median(rounds.map((round) => (round.summary.requests > 0 ? (round.cpu * 1e6) / round.summary.requests : -1))) : -1,
    cpuPerFrame: measured && lane.streaming ? median(rounds.map((round) => (round.summary.frames > 0 ? (round.cpu * 1e6) / round.summary.frames : -1))) : -1,
    ...(peaks.length > 0 ? { peakRssMb: Math.max(...peaks) } : {}),
    ...(firstError !== undefined ? { firstError } : {}),
  };
}

/**
 * The job a variant runs now: its own, or (`paceAs`) its HTTP job paced at the req/s the named
 * variant reached in its latest run, warm-up included; undefined when it cannot run.
 */
function jobNow(variant: Variant, lastRps: ReadonlyMap<string, number>): JobSpec | undefined {
  if ("unavailable" in variant.job) return undefined;
  if (variant.paceAs === undefined) return variant.job;
  const rate = lastRps.get(variant.paceAs);
  return variant.job.kind === "http" && rate !== undefined && rate > 0 ? { ...variant.job, rate } : undefined;
}

/** Runs one lane: every variant once per round, in a rotated order each round. */
async function runLane(lane: Lane, processes: Processes): Promise<VariantResult[]> {
  log(`lane ${lane.name}: ${lane.title}`);
  const lastRps = await warmUp(lane);
  const figures = new Map<Variant, RoundFigures[]>(lane.variants.map((variant) => [variant, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let index = 0; index < lane.variants.length; index++) {
      const variant = lane.variants[(index + round) % lane.variants.length] as Variant;
      const job = jobNow(variant, lastRps);
      if (!job) continue;
      // A short unmeasured run of the same path first: otherwise a gateway variant is charged for
      // the GC and teardown left by the previous one (after the gRPC variant, +50 % on the next).
      if (variant.role === "gateway") await runJob({ ...job, seconds: SETTLE_SECONDS } as JobSpec);
      const result = await runVariant(variant, job, processes, lane.peak === true && variant.role !== "direct");
      figures.get(variant)?.push(result);
      lastRps.set(variant.label, result.summary.rps);
      const cpu = variant.measure !== "none" && result.summary.requests > 0 ? ` ${((result.cpu * 1e6) / result.summary.requests).toFixed(0)} µs/req` : "";
      log(`  round ${round + 1} ${variant.label}: ${(result.summary.requests / result.summary.seconds).toFixed(0)} req/s${cpu}`);
    }
  }
  const aggregated = lane.variants.map((variant) => aggregate(lane, variant, figures.get(variant) ?? []));
  const bare = aggregated.find((result) => result.role === "bare");
  return aggregated.map((result) => ({
    ...result,
    rpsVsBare: bare && result.rps > 0 && bare.rps > 0 ? result.rps / bare.rps : -1,
    cpuVsBare: bare && result.cpuPerRequest > 0 && bare.cpuPerRequest > 0 ? result.cpuPerRequest / bare.cpuPerRequest : -1,
  }));
}

/** Warm-up seconds per variant: the gateway's JIT needs a few seconds of each path (a cluster: per worker). */
function warmUpSeconds(variant: Variant): number {
  // Each worker compiles its own hot paths on half the traffic.
  if (variant.measure === "cluster") return 4 * WARMUP;
  return variant.measure === "none" || variant.measure === "proxy" ? Math.min(0.5, WARMUP) : WARMUP;
}

/**
 * Warms one lane's variants right before the lane runs: a process that sat idle for minutes (the
 * cluster, while the other lanes ran) measures its re-warming otherwise, not its steady state.
 * Returns each variant's req/s, for the variants paced by another's.
 */
async function warmUp(lane: Lane): Promise<Map<string, number>> {
  const rps = new Map<string, number>();
  for (const variant of lane.variants) {
    const job = jobNow(variant, rps);
    if (!job) continue;
    rps.set(variant.label, (await runJob({ ...job, seconds: warmUpSeconds(variant) } as JobSpec)).rps);
  }
  return rps;
}

interface LeakResult {
  readonly requests: number;
  readonly rssBeforeMb: number;
  readonly rssAfterMb: number;
  readonly growthPct: number;
  readonly errors: number;
}

async function leakLane(port: number, pid: number): Promise<LeakResult> {
  log(`lane leak: ${LEAK_REQUESTS} requests at 32 connections`);
  const job = (amount: number): JobSpec => ({
    kind: "http", connections: 32, seconds: 3600, amount, sse: false,
    target: { host: "127.0.0.1", port, path: "/v1/chat/completions", body: JSON.stringify({ model: "emu/gpt-bench", messages: [{ role: "user", content: "leak check" }], max_tokens: 256 }) },
  });
  await runJob(job(Math.min(5000, LEAK_REQUESTS)));
  await pause(1000);
  const before = memoryMb(pid).rss;
  const summary = await runJob(job(LEAK_REQUESTS));
  await pause(1000);
  const after = memoryMb(pid).rss;
  return { requests: summary.requests, rssBeforeMb: before, rssAfterMb: after, growthPct: (100 * (after - before)) / before, errors: summary.errors + summary.non2xx };
}

function find(results: readonly VariantResult[], lane: string, label: string): VariantResult | undefined {
  return results.find((result) => result.lane === lane && result.label === label);
}

function checks(results: readonly VariantResult[], memory: { idleMb: number; peak128Mb: number }, leak: LeakResult | undefined): TargetCheck[] {
  const out: TargetCheck[] = [];
  // Figures of -1 mean "not measured"; differences and growth may legitimately be negative.
  const usable = (...values: (number | undefined)[]) => values.every((value) => value !== undefined && value >= 0);
  const add = (target: string, value: number | undefined, measured: (v: number) => string, ok: (v: number) => boolean | "n/a") =>
    out.push(value === undefined || Number.isNaN(value) ? { target, measured: "not measured", met: "n/a" } : { target, measured: measured(value), met: ok(value) });
  const info = () => "n/a" as const;
  const sy1 = find(results, "c1", "switchyard");
  const bare1 = find(results, "c1", "bare proxy");
  const direct1 = find(results, "c1", "direct");
  if (sy1 && direct1 && bare1 && !sy1.unavailable) {
    const added = (result: VariantResult, key: "latencyP50" | "latencyP99") => ((result[key] - direct1[key]) / 1000).toFixed(2);
    out.push({ target: "added latency at 1 connection (info)", measured: `switchyard +${added(sy1, "latencyP50")} ms p50 / +${added(sy1, "latencyP99")} ms p99; bare +${added(bare1, "latencyP50")} / +${added(bare1, "latencyP99")}`, met: "n/a" });
  }
  const sy32 = find(results, "c32", "switchyard");
  const measuredValue = (value: number | undefined) => (usable(value) ? value : undefined);
  add("non-streaming CPU ≤ 150 µs/req (c32)", measuredValue(sy32?.cpuPerRequest), (v) => `${v.toFixed(0)} µs`, (v) => v <= 150);
  add("non-streaming ≥ 0.9× bare req/s (c32)", measuredValue(sy32?.rpsVsBare), (v) => `${v.toFixed(2)}×`, (v) => v >= 0.9);
  for (const label of ["sy → anthropic", "sy → gemini"]) {
    const result = find(results, "c32", label);
    if (result?.unavailable) out.push({ target: `${label}: CPU ≤ 200 µs/req`, measured: "unavailable (no adapter)", met: "n/a" });
    else add(`${label}: CPU ≤ 200 µs/req`, measuredValue(result?.cpuPerRequest), (v) => `${v.toFixed(0)} µs`, (v) => v <= 200);
  }
  const paced = find(results, "stream-paced", "switchyard");
  const direct = find(results, "stream-paced", "direct");
  add("stream TTFB p50 ≤ direct + 1 ms", paced && direct && usable(paced.firstByteP50, direct.firstByteP50) ? paced.firstByteP50 - direct.firstByteP50 : undefined, (v) => `${v >= 0 ? "+" : ""}${(v / 1000).toFixed(2)} ms`, (v) => v <= 1000);
  add("stream TTFT p50 ≤ direct + 1 ms (info)", paced && direct && usable(paced.firstTokenP50, direct.firstTokenP50) ? paced.firstTokenP50 - direct.firstTokenP50 : undefined, (v) => `${v >= 0 ? "+" : ""}${(v / 1000).toFixed(2)} ms`, (v) => v <= 1000);
  add("stream: no chunk batching (paced)", measuredValue(paced?.batchedPct), (v) => `${v.toFixed(1)}% batched (direct ${direct?.batchedPct.toFixed(1) ?? "-"}%)`, (v) => v <= Math.max(1, (direct?.batchedPct ?? 0) + 1));
  add("stream CPU ≤ 20 µs/chunk (burst)", measuredValue(find(results, "stream-burst", "switchyard")?.cpuPerFrame), (v) => `${v.toFixed(1)} µs`, (v) => v <= 20);
  const grpc = find(results, "c32", "sy gRPC unary");
  const restAtRate = find(results, "c32", REST_AT_GRPC_RATE);
  add("gRPC unary CPU ≤ REST CPU at the same req/s", grpc && restAtRate && usable(grpc.cpuPerRequest, restAtRate.cpuPerRequest) ? grpc.cpuPerRequest / restAtRate.cpuPerRequest : undefined, (v) => `${v.toFixed(2)}× REST at ${restAtRate?.rps.toFixed(0)} req/s`, (v) => v <= 1);
  add("gRPC unary CPU vs saturated REST (info)", grpc && sy32 && usable(grpc.cpuPerRequest, sy32.cpuPerRequest) ? grpc.cpuPerRequest / sy32.cpuPerRequest : undefined, (v) => `${v.toFixed(2)}× REST at ${sy32?.rps.toFixed(0)} req/s`, info);
  add("RSS idle ≤ 80 MB", measuredValue(memory.idleMb), (v) => `${v.toFixed(0)} MB`, (v) => v <= 80);
  add("RSS peak ≤ 150 MB (c128)", measuredValue(memory.peak128Mb), (v) => `${v.toFixed(0)} MB`, (v) => v <= 150);
  add(`RSS flat within 10% over ${leak?.requests ?? 0} requests`, leak?.growthPct, (v) => `${v >= 0 ? "+" : ""}${v.toFixed(1)}%`, (v) => v <= 10);
  const scaling = find(results, "cluster", "switchyard ×2 workers");
  const single = find(results, "cluster", "switchyard");
  add("cluster: workers=2 req/s vs 1 (info)", scaling && single && usable(scaling.rps) && single.rps > 0 ? scaling.rps / single.rps : undefined, (v) => `${v.toFixed(2)}×`, info);
  return out;
}

async function main(): Promise<void> {
  const adapters = await availableAdapters();
  const dir = mkdtempSync(path.join(os.tmpdir(), "switchyard-bench-"));
  try {
    let runtime: Runtime = TSX_RUNTIME;
    if (env.BENCH_RUNNER !== "tsx") {
      const buildDir = path.join(dir, "build");
      await Promise.all([transpileProject(ROOT, buildDir, BUILD_DIRS), bundleGateway(ROOT, buildDir)]);
      runtime = nodeRuntime(buildDir);
    }
    log(`runtime: ${runtime.name}`);
    const emulator = await startScript(runtime, "bench/upstream-emulator.ts", [], "emulator");
    children.push(emulator);
    const gatewayPort = await freePort();
    const config = path.join(dir, "switchyard.yaml");
    writeFileSync(config, gatewayConfigYaml({ port: gatewayPort, workers: 1, emulatorPort: emulator.port, adapters }));
    if (CPU_PROF) mkdirSync(CPU_PROF, { recursive: true });
    const clusterPort = WITH_CLUSTER ? await freePort() : undefined;
    const clusterConfig = path.join(dir, "switchyard-cluster.yaml");
    if (clusterPort !== undefined) writeFileSync(clusterConfig, gatewayConfigYaml({ port: clusterPort, workers: 2, emulatorPort: emulator.port, adapters }));
    const [bare, gateway, cluster] = await Promise.all([
      startScript(runtime, "bench/bare-proxy.ts", [`http://127.0.0.1:${emulator.port}`], "bare proxy"),
      startGateway(runtime, config, gatewayPort, CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${CPU_PROF}`] : [], "switchyard"),
      clusterPort !== undefined ? startGateway(runtime, clusterConfig, clusterPort, [], "switchyard cluster") : undefined,
    ]);
    children.push(bare, gateway, ...(cluster ? [cluster] : []));
    const clusterPids = cluster ? processTree(cluster.pid) : [];
    const baselines: { label: string; port: number; pid: number }[] = [];
    for (const [index, tree] of baselineTrees().entries()) {
      const buildDir = path.join(dir, `baseline-${index}`);
      await Promise.all([transpileProject(tree.root, buildDir, BUILD_DIRS), bundleGateway(tree.root, buildDir)]);
      const port = await freePort();
      const baselineConfig = path.join(dir, `switchyard-baseline-${index}.yaml`);
      writeFileSync(baselineConfig, gatewayConfigYaml({ port, workers: 1, emulatorPort: emulator.port, adapters }));
      const child = await startGateway(nodeRuntime(buildDir), baselineConfig, port, tree.nodeArgs, `baseline ${tree.label}`);
      children.push(child);
      baselines.push({ label: tree.label, port, pid: child.pid });
      log(`baseline "${tree.label}" from ${tree.root}: pid ${child.pid}`);
    }
    worker = startLoadWorker(runtime);
    children.push(worker);
    await pause(500);
    const idleMb = memoryMb(gateway.pid).rss;
    log(`switchyard pid ${gateway.pid} idle RSS ${idleMb.toFixed(0)} MB; adapters: ${[...adapters].join(", ")}`);
    const lanes = buildLanes({ emulator: emulator.port, bare: bare.port, gateway: gatewayPort, ...(clusterPort !== undefined ? { cluster: clusterPort } : {}), baselines }, adapters, SECONDS)
      .filter((lane) => LANES.has(lane.name))
      .map((lane) => (VARIANTS ? { ...lane, variants: lane.variants.filter((variant) => VARIANTS.has(variant.label)) } : lane));
    const processes: Processes = { proxy: bare.pid, gateway: gateway.pid, cluster: clusterPids, baselines: baselines.map((baseline) => baseline.pid) };
    const results: VariantResult[] = [];
    for (const lane of lanes) results.push(...(await runLane(lane, processes)));
    const leak = LANES.has("leak") ? await leakLane(gatewayPort, gateway.pid) : undefined;
    await pause(500);
    const memory = {
      idleMb,
      idleAfterMb: memoryMb(gateway.pid).rss,
      peakMb: memoryMb(gateway.pid).hwm,
      peak128Mb: find(results, "c128", "switchyard")?.peakRssMb ?? -1,
      bareIdleMb: memoryMb(bare.pid).rss,
    };
    const targetChecks = checks(results, memory, leak);
    const unary = results.filter((result) => !lanes.find((lane) => lane.name === result.lane)?.streaming);
    const streams = results.filter((result) => lanes.find((lane) => lane.name === result.lane)?.streaming);
    const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "unknown", memoryGb: Math.round(os.totalmem() / 2 ** 30), kernel: os.release(), node: process.version };
    const lines = [
      "",
      `Switchyard benchmark — ${new Date().toISOString()} — ${machine.cpus}× ${machine.cpuModel}, ${machine.memoryGb} GB, Linux ${machine.kernel}, Node ${machine.node}`,
      `${ROUNDS} interleaved rounds × ${SECONDS} s per variant, medians over rounds; processes run on ${runtime.name === "node" ? "plain node (the npm run build bundle, as npm start runs)" : "node --import tsx"}; latencies in ms; CPU = utime+stime of the gateway (or bare proxy) process from /proc`,
      "",
      unaryTable(unary),
      "",
      streamTable(streams),
      "",
      `memory (switchyard, 1 process): idle ${memory.idleMb.toFixed(0)} MB at start, ${memory.idleAfterMb.toFixed(0)} MB after the run, peak ${memory.peakMb.toFixed(0)} MB (c128 lane peak ${memory.peak128Mb.toFixed(0)} MB); bare proxy ${memory.bareIdleMb.toFixed(0)} MB`,
      leak ? `leak check: ${leak.requests} requests, RSS ${leak.rssBeforeMb.toFixed(0)} → ${leak.rssAfterMb.toFixed(0)} MB (${leak.growthPct >= 0 ? "+" : ""}${leak.growthPct.toFixed(1)}%), ${leak.errors} errors` : "leak check: skipped",
      "",
      targetTable(targetChecks),
      "",
      `total ${((Date.now() - started) / 1000).toFixed(0)} s`,
    ];
    process.stdout.write(`${lines.join("\n")}\n`);
    mkdirSync(path.join(ROOT, "bench/results"), { recursive: true });
    const output = { date: new Date().toISOString(), machine, settings: { runtime: runtime.name, seconds: SECONDS, rounds: ROUNDS, lanes: [...LANES], leakRequests: LEAK_REQUESTS, adapters: [...adapters] }, results, memory, leak, targets: targetChecks, table: lines.join("\n") };
    // Filtered or non-default runs must not overwrite the record of a full run.
    const partial = Boolean(env.BENCH_LANES || env.BENCH_VARIANTS || env.BENCH_BASELINES || env.BENCH_CPU_PROF || env.BENCH_RUNNER === "tsx");
    const file = path.join(ROOT, "bench/results", partial ? "partial.json" : "latest.json");
    writeFileSync(file, `${JSON.stringify(output, null, 2)}\n`);
    log(`wrote ${path.relative(ROOT, file)}`);
  } finally {
    for (const child of children.reverse()) await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    for (const child of children) child.process.kill("SIGKILL");
    process.exit(1);
  },
);
