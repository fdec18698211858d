/**
 * The load generator process. `bench/run.ts` forks it once and sends it jobs over IPC; it runs each
 * job (raw HTTP/1.1 closed loops, SSE streams, or gRPC calls) and answers with a summary. Keeping
 * the load in its own process means the gateway's CPU figures from /proc are its own.
 */
import { runGrpcLoop } from "./grpc-load.js";
import { runClosedLoop, type HttpTarget } from "./http-load.js";

/** A job the orchestrator sends. */
export type LoadJob =
  | { readonly id: number; readonly kind: "http"; readonly target: HttpTarget; readonly connections: number; readonly seconds: number; readonly amount?: number; readonly rate?: number; readonly sse: boolean }
  | { readonly id: number; readonly kind: "grpc"; readonly baseUrl: string; readonly model: string; readonly prompt: string; readonly streaming: boolean; readonly connections: number; readonly seconds: number };

/** Percentiles in microseconds. */
export interface Percentiles {
  readonly p50: number;
  readonly p99: number;
}

/** What the worker answers for one job. */
export interface LoadSummary {
  readonly id: number;
  readonly requests: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly seconds: number;
  readonly rps: number;
  /** Whole-request latency. */
  readonly latency: Percentiles;
  /** Time to first response byte (HTTP) or first event (gRPC). */
  readonly firstByte: Percentiles;
  /** Time to the first text token (streams). */
  readonly firstToken: Percentiles;
  /** Gaps between successive SSE frames as received (streams). */
  readonly gap: Percentiles;
  /** SSE frames (or gRPC events) received in total. */
  readonly frames: number;
  /** Frames that arrived in the same socket read as the frame before them. */
  readonly batchedFrames: number;
  readonly firstError?: string;
}

function percentiles(values: number[]): Percentiles {
  if (values.length === 0) return { p50: -1, p99: -1 };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) / 1000;
  return { p50: at(0.5), p99: at(0.99) };
}

async function run(job: LoadJob): Promise<LoadSummary> {
  if (job.kind === "grpc") {
    const result = await runGrpcLoop(job);
    return {
      id: job.id,
      requests: result.requests,
      errors: result.errors,
      non2xx: 0,
      seconds: result.seconds,
      rps: result.requests / result.seconds,
      latency: percentiles(result.records.map((record) => record.totalNs)),
      firstByte: percentiles(result.records.map((record) => record.firstEventNs)),
      firstToken: percentiles(result.records.filter((record) => record.firstEventNs >= 0).map((record) => record.firstEventNs)),
      gap: { p50: -1, p99: -1 },
      frames: result.records.reduce((sum, record) => sum + record.events, 0),
      batchedFrames: 0,
      ...(result.firstError !== undefined ? { firstError: result.firstError } : {}),
    };
  }
  const result = await runClosedLoop(job.target, { connections: job.connections, seconds: job.seconds, ...(job.amount !== undefined ? { amount: job.amount } : {}), ...(job.rate !== undefined ? { rate: job.rate } : {}), sse: job.sse, keepRecords: true });
  const gaps: number[] = [];
  let frames = 0;
  let batched = 0;
  for (const record of result.records) {
    frames += record.frames;
    for (const gap of record.gapsNs) {
      gaps.push(gap);
      if (gap === 0) batched++;
    }
  }
  return {
    id: job.id,
    requests: result.requests,
    errors: result.errors,
    non2xx: result.non2xx,
    seconds: result.seconds,
    rps: result.requests / result.seconds,
    latency: percentiles(result.records.map((record) => record.totalNs)),
    firstByte: percentiles(result.records.map((record) => record.firstByteNs)),
    firstToken: percentiles(result.records.filter((record) => record.firstTokenNs >= 0).map((record) => record.firstTokenNs)),
    gap: percentiles(gaps),
    frames,
    batchedFrames: batched,
  };
}

process.on("message", (job: LoadJob) => {
  run(job).then(
    (summary) => process.send?.(summary),
    (error: unknown) => process.send?.({ id: job.id, fatal: error instanceof Error ? error.message : String(error) }),
  );
});
process.on("disconnect", () => process.exit(0));
