/**
 * Turning lane results into the stdout table and the target checks of issue 5.
 */

/** Aggregated figures of one variant in one lane (all rounds). */
export interface VariantResult {
  readonly lane: string;
  readonly label: string;
  readonly role: "direct" | "bare" | "gateway";
  readonly unavailable?: string;
  readonly requests: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly rps: number;
  /** Microseconds; means over rounds of each round's percentile. */
  readonly latencyP50: number;
  readonly latencyP99: number;
  readonly firstByteP50: number;
  readonly firstTokenP50: number;
  readonly gapP50: number;
  readonly gapP99: number;
  readonly frames: number;
  readonly batchedPct: number;
  /** Gateway (or proxy) CPU, µs per request and per delivered chunk; -1 when not measured. */
  readonly cpuPerRequest: number;
  readonly cpuPerFrame: number;
  /** Same-lane ratios against the bare proxy (-1 when not applicable). */
  readonly rpsVsBare: number;
  readonly cpuVsBare: number;
  /** Peak RSS (MB) of the measured process during this lane, when tracked. */
  readonly peakRssMb?: number;
  readonly firstError?: string;
}

function fixed(value: number, digits: number): string {
  return value < 0 || !Number.isFinite(value) ? "-" : value.toFixed(digits);
}

function ms(us: number): string {
  return us < 0 ? "-" : (us / 1000).toFixed(us < 10_000 ? 2 : 1);
}

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, index) => Math.max(header.length, ...rows.map((row) => (row[index] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((cell, index) => (index < 2 ? cell.padEnd(widths[index] ?? 0) : cell.padStart(widths[index] ?? 0))).join("  ");
  return [line(headers), widths.map((width) => "-".repeat(width)).join("  "), ...rows.map(line)].join("\n");
}

function problems(result: VariantResult): string {
  if (result.unavailable) return `unavailable: ${result.unavailable}`;
  const parts: string[] = [];
  if (result.errors > 0) parts.push(`${result.errors} errors`);
  if (result.non2xx > 0) parts.push(`${result.non2xx} non-2xx`);
  if (result.firstError) parts.push(result.firstError.slice(0, 60));
  return parts.join(", ");
}

/** The table for request/response lanes. */
export function unaryTable(results: readonly VariantResult[]): string {
  const rows = results.map((result) => [
    result.lane,
    result.label,
    result.unavailable ? "-" : fixed(result.rps, 0),
    fixed(result.rpsVsBare, 2),
    ms(result.latencyP50),
    ms(result.latencyP99),
    fixed(result.cpuPerRequest, 0),
    fixed(result.cpuVsBare, 2),
    result.peakRssMb !== undefined ? fixed(result.peakRssMb, 0) : "",
    problems(result),
  ]);
  return table(["lane", "variant", "req/s", "×bare", "p50 ms", "p99 ms", "CPU µs/req", "×bare", "peak MB", "notes"], rows);
}

/** The table for streaming lanes. */
export function streamTable(results: readonly VariantResult[]): string {
  const rows = results.map((result) => [
    result.lane,
    result.label,
    result.unavailable ? "-" : fixed(result.rps, 0),
    ms(result.firstByteP50),
    ms(result.firstTokenP50),
    ms(result.gapP50),
    ms(result.gapP99),
    fixed(result.batchedPct, 1),
    fixed(result.cpuPerFrame, 1),
    fixed(result.cpuPerRequest, 0),
    problems(result),
  ]);
  return table(["lane", "variant", "streams/s", "TTFB p50 ms", "TTFT p50 ms", "gap p50 ms", "gap p99 ms", "batched %", "CPU µs/chunk", "CPU µs/stream", "notes"], rows);
}

/** One target of issue 5 and whether this run met it. */
export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean | "n/a";
}

/** Formats the target checks. */
export function targetTable(checks: readonly TargetCheck[]): string {
  return table(
    ["target", "measured", "met"],
    checks.map((check) => [check.target, check.measured, check.met === "n/a" ? "n/a" : check.met ? "yes" : "NO"]),
  );
}
