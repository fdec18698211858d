/**
 * What the benchmark sends: request bodies, the gateway config it generates, and the lanes (one
 * load shape each, run against several variants: the emulator directly, the bare proxy, Switchyard
 * and its translation and gRPC paths).
 */
import type { HttpTarget } from "./http-load.js";
import type { LoadJob } from "./load-worker.js";

/** Stream shapes: paced (latency figures) and burst (throughput and CPU per chunk). */
export const PACED = { chunks: 30, gapMs: 2, firstByteMs: 5 } as const;
export const BURST = { chunks: 100, gapMs: 0, firstByteMs: 0 } as const;

const PROMPT =
  "Summarise, in about two hundred tokens, why a gateway that sits on every model call should cost close to nothing: cover CPU per request, added latency, time to first token for streams, memory under load, and what happens when an upstream fails mid-stream.";

/** The OpenAI chat-completions body every HTTP lane sends (only `model` and streaming differ). */
export function openAIBody(model: string, stream: boolean): string {
  return JSON.stringify({
    model,
    messages: [
      { role: "system", content: "You are a terse assistant." },
      { role: "user", content: PROMPT },
    ],
    max_tokens: 256,
    temperature: 0.7,
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
}

/** The c32 variant that runs REST at the gRPC unary variant's rate. */
export const REST_AT_GRPC_RATE = "sy REST at gRPC rate";

/** The prompt the gRPC lanes send. */
export const GRPC_PROMPT = PROMPT;

function shapePrefix(shape: { chunks: number; gapMs: number; firstByteMs: number }): string {
  return `/p/${shape.chunks}/${shape.gapMs}/${shape.firstByteMs}`;
}

/** Provider accounts of the generated config; translation accounts only when their adapter exists. */
export function gatewayConfigYaml(options: { port: number; workers: number; emulatorPort: number; adapters: ReadonlySet<string> }): string {
  const base = `http://127.0.0.1:${options.emulatorPort}`;
  const accounts: string[] = [
    `  emu: { type: openai-compatible, api_key: bench, base_url: "${base}/v1" }`,
    `  emup: { type: openai-compatible, api_key: bench, base_url: "${base}${shapePrefix(PACED)}/v1" }`,
    `  emub: { type: openai-compatible, api_key: bench, base_url: "${base}${shapePrefix(BURST)}/v1" }`,
  ];
  if (options.adapters.has("anthropic")) {
    accounts.push(`  anth: { type: anthropic, api_key: bench, base_url: "${base}" }`);
    accounts.push(`  anthb: { type: anthropic, api_key: bench, base_url: "${base}${shapePrefix(BURST)}" }`);
  }
  if (options.adapters.has("gemini")) {
    accounts.push(`  gem: { type: gemini, api_key: bench, base_url: "${base}" }`);
    accounts.push(`  gemb: { type: gemini, api_key: bench, base_url: "${base}${shapePrefix(BURST)}" }`);
  }
  return [`server: { host: 127.0.0.1, port: ${options.port}, workers: ${options.workers} }`, "providers:", ...accounts, ""].join("\n");
}

/** A job without its id (the orchestrator numbers them). */
export type JobSpec = LoadJob extends infer J ? (J extends LoadJob ? Omit<J, "id"> : never) : never;

/** Who a variant measures. */
export type Role = "direct" | "bare" | "gateway";

/** One thing a lane's load runs against. */
export interface Variant {
  readonly label: string;
  readonly role: Role;
  /** The job, or why this variant cannot run in this checkout. */
  readonly job: JobSpec | { readonly unavailable: string };
  /** Which process's CPU and memory count ("gateway" = the single-process Switchyard). */
  readonly measure: "none" | "proxy" | "gateway" | "cluster" | `baseline:${number}`;
  /**
   * Paced at the req/s the named variant of the same lane reached in its latest run (an HTTP job
   * only): CPU per request depends on the load, so two paths are compared at the same rate.
   */
  readonly paceAs?: string;
}

/** One load shape run against several variants, interleaved over rounds. */
export interface Lane {
  readonly name: string;
  readonly title: string;
  readonly streaming: boolean;
  readonly variants: readonly Variant[];
  /** Track the gateway's peak RSS during this lane. */
  readonly peak?: boolean;
}

/** Ports of the running services. */
export interface Ports {
  readonly emulator: number;
  readonly bare: number;
  readonly gateway: number;
  readonly cluster?: number;
  /** Extra single-process gateways built from other source trees (BENCH_BASELINES), by label. */
  readonly baselines?: readonly { readonly label: string; readonly port: number }[];
}

function http(port: number, pathName: string, model: string, stream: boolean): HttpTarget {
  return { host: "127.0.0.1", port, path: pathName, body: openAIBody(model, stream), headers: stream ? { accept: "text/event-stream" } : {} };
}

/** Builds the lanes for a run. */
export function buildLanes(ports: Ports, adapters: ReadonlySet<string>, seconds: number): Lane[] {
  const job = (target: HttpTarget, connections: number, sse: boolean): JobSpec => ({ kind: "http", target, connections, seconds, sse });
  const grpc = (model: string, streaming: boolean, connections: number, port = ports.gateway): JobSpec => ({
    kind: "grpc", baseUrl: `http://127.0.0.1:${port}`, model, prompt: GRPC_PROMPT, streaming, connections, seconds,
  });
  /** Where a gateway variant runs: the measured gateway, or a BENCH_BASELINES tree (label suffix " [name]"). */
  type GatewayTarget = { readonly port: number; readonly measure: Variant["measure"]; readonly suffix: string };
  const main: GatewayTarget = { port: ports.gateway, measure: "gateway", suffix: "" };
  const baselineTargets: GatewayTarget[] = (ports.baselines ?? []).map((baseline, index) => ({ port: baseline.port, measure: `baseline:${index}`, suffix: ` [${baseline.label}]` }));
  const translated = (family: string, account: string, stream: boolean, connections: number, label: string, target: GatewayTarget = main): Variant => ({
    label: `${label}${target.suffix}`,
    role: "gateway",
    measure: target.measure,
    job: adapters.has(family) ? job(http(target.port, "/v1/chat/completions", `${account}/${family}-bench`, stream), connections, stream) : { unavailable: `no "${family}" adapter in src/providers/registry.ts` },
  });
  const unary = (connections: number): Variant[] => [
    { label: "direct", role: "direct", measure: "none", job: job(http(ports.emulator, "/v1/chat/completions", "gpt-bench", false), connections, false) },
    { label: "bare proxy", role: "bare", measure: "proxy", job: job(http(ports.bare, "/v1/chat/completions", "gpt-bench", false), connections, false) },
    { label: "switchyard", role: "gateway", measure: "gateway", job: job(http(ports.gateway, "/v1/chat/completions", "emu/gpt-bench", false), connections, false) },
  ];
  const stream = (shape: typeof PACED | typeof BURST, account: string, connections: number): Variant[] => [
    { label: "direct", role: "direct", measure: "none", job: job(http(ports.emulator, `${shapePrefix(shape)}/v1/chat/completions`, "gpt-bench", true), connections, true) },
    { label: "bare proxy", role: "bare", measure: "proxy", job: job(http(ports.bare, `${shapePrefix(shape)}/v1/chat/completions`, "gpt-bench", true), connections, true) },
    { label: "switchyard", role: "gateway", measure: "gateway", job: job(http(ports.gateway, "/v1/chat/completions", `${account}/gpt-bench`, true), connections, true) },
  ];
  const baselines = (path: string, model: string, connections: number, sse: boolean): Variant[] =>
    (ports.baselines ?? []).map((baseline, index) => ({ label: `switchyard [${baseline.label}]`, role: "gateway", measure: `baseline:${index}`, job: job(http(baseline.port, path, model, sse), connections, sse) }));
  const lanes: Lane[] = [
    { name: "c1", title: "1 connection (added latency)", streaming: false, variants: [...unary(1), ...baselines("/v1/chat/completions", "emu/gpt-bench", 1, false)] },
    {
      name: "c32",
      title: "32 connections, JSON (+ translation, gRPC)",
      streaming: false,
      variants: [
        ...unary(32),
        ...baselines("/v1/chat/completions", "emu/gpt-bench", 32, false),
        ...[main, ...baselineTargets].flatMap((target) => [translated("anthropic", "anth", false, 32, "sy → anthropic", target), translated("gemini", "gem", false, 32, "sy → gemini", target)]),
        { label: "sy gRPC unary", role: "gateway", measure: "gateway", job: grpc("emu/gpt-bench", false, 32) },
        // The connect-node client saturates first (~2,000 calls/s here), so the gRPC variant runs
        // the gateway half idle; REST at that same rate is what its CPU per call compares with.
        { label: REST_AT_GRPC_RATE, role: "gateway", measure: "gateway", job: job(http(ports.gateway, "/v1/chat/completions", "emu/gpt-bench", false), 32, false), paceAs: "sy gRPC unary" },
        ...(ports.baselines ?? []).map((baseline, index): Variant => ({ label: `sy gRPC unary [${baseline.label}]`, role: "gateway", measure: `baseline:${index}`, job: grpc("emu/gpt-bench", false, 32, baseline.port) })),
      ],
    },
    { name: "c128", title: "128 connections, JSON", streaming: false, variants: [...unary(128), ...baselines("/v1/chat/completions", "emu/gpt-bench", 128, false)], peak: true },
    { name: "stream-paced", title: `SSE ${PACED.chunks} chunks, ${PACED.gapMs} ms gap, ${PACED.firstByteMs} ms first byte, 8 streams`, streaming: true, variants: [...stream(PACED, "emup", 8), ...baselines("/v1/chat/completions", "emup/gpt-bench", 8, true)] },
    {
      name: "stream-burst",
      title: `SSE ${BURST.chunks} chunks back to back, 32 streams (+ translation, gRPC)`,
      streaming: true,
      variants: [
        ...stream(BURST, "emub", 32),
        ...baselines("/v1/chat/completions", "emub/gpt-bench", 32, true),
        ...[main, ...baselineTargets].flatMap((target) => [translated("anthropic", "anthb", true, 32, "sy → anthropic", target), translated("gemini", "gemb", true, 32, "sy → gemini", target)]),
        { label: "sy gRPC stream", role: "gateway", measure: "gateway", job: grpc("emub/gpt-bench", true, 32) },
        ...(ports.baselines ?? []).map((baseline, index): Variant => ({ label: `sy gRPC stream [${baseline.label}]`, role: "gateway", measure: `baseline:${index}`, job: grpc("emub/gpt-bench", true, 32, baseline.port) })),
      ],
    },
  ];
  if (ports.cluster !== undefined) {
    lanes.push({
      name: "cluster",
      title: "32 connections, JSON: server.workers 1 vs 2",
      streaming: false,
      variants: [
        unary(32)[1] as Variant,
        unary(32)[2] as Variant,
        { label: "switchyard ×2 workers", role: "gateway", measure: "cluster", job: job(http(ports.cluster, "/v1/chat/completions", "emu/gpt-bench", false), 32, false) },
      ],
    });
  }
  return lanes;
}
