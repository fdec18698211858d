/**
 * A small closed-loop HTTP/1.1 load client on raw keep-alive sockets: precomputed request bytes, a
 * minimal response parser (Content-Length or chunked), and nanosecond timestamps per request and per
 * socket read. It gives microsecond latency percentiles (autocannon's histogram is whole
 * milliseconds) and, for SSE answers, the arrival time of every `data:` frame, so the benchmark
 * can see time to first byte, time to first token, inter-chunk gaps and whether frames arrive
 * batched (several frames in one read).
 */
import net from "node:net";

/** One request to repeat: where, and the exact bytes to send. */
export interface HttpTarget {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** What one response looked like. */
export interface ResponseRecord {
  status: number;
  /** ns from send to the first response byte. */
  firstByteNs: number;
  /** ns from send to the first read carrying a text token (SSE only; -1 when none). */
  firstTokenNs: number;
  /** ns from send to the last byte. */
  totalNs: number;
  /** SSE frames seen. */
  frames: number;
  /** ns gaps between successive frames (0 for a frame that shared a read with the previous one). */
  gapsNs: number[];
}

/** Builds the request bytes once. */
export function requestBytes(target: HttpTarget): Buffer {
  const body = Buffer.from(target.body);
  let head = `POST ${target.path} HTTP/1.1\r\nhost: ${target.host}:${target.port}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n`;
  for (const [name, value] of Object.entries(target.headers ?? {})) head += `${name}: ${value}\r\n`;
  return Buffer.concat([Buffer.from(`${head}\r\n`), body]);
}

const CRLF2 = Buffer.from("\r\n\r\n");
const DATA = Buffer.from("data:");
/** A text token in an OpenAI chunk: `"content":"` followed by something other than a quote. */
const TOKEN = /"content":"[^"]/;

const DONE = "[DONE]";

/** Whether the `data:` field at `at` is the `[DONE]` terminator (with or without the optional space). */
function isDoneFrame(buffer: Buffer, at: number): boolean {
  let value = at + DATA.length;
  if (buffer[value] === 0x20) value++;
  return buffer.toString("latin1", value, value + DONE.length) === DONE;
}

/**
 * The answer's frames in `buffer[start, end)`. The `[DONE]` terminator is not one: a gateway that
 * ends the stream as soon as the answer is complete (after the usage chunk) sends it together
 * with the last chunk, which says nothing about how chunks are forwarded.
 */
function countFrames(buffer: Buffer, start: number, end: number): number {
  let count = 0;
  let at = buffer.indexOf(DATA, start);
  while (at !== -1 && at < end) {
    if (!isDoneFrame(buffer, at)) count++;
    at = buffer.indexOf(DATA, at + DATA.length);
  }
  return count;
}

type ParseState = "head" | "length" | "chunk-size" | "chunk-data" | "chunk-crlf" | "done";

/** One keep-alive connection that runs one request at a time. */
export class RawConnection {
  private socket: net.Socket | undefined;
  private state: ParseState = "done";
  private pending: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private sentAt = 0n;
  private record: ResponseRecord | undefined;
  private lastFrameAt = 0n;
  private resolve: ((record: ResponseRecord) => void) | undefined;
  private reject: ((error: Error) => void) | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly sse: boolean,
  ) {}

  private connect(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: this.host, port: this.port, noDelay: true });
      socket.once("connect", () => resolve(socket));
      socket.once("error", reject);
      socket.on("data", (data: Buffer) => this.onData(data));
      socket.on("close", () => {
        this.socket = undefined;
        if (this.state !== "done") this.fail(new Error("connection closed mid-response"));
      });
      socket.on("error", (error) => this.fail(error));
    });
  }

  private fail(error: Error): void {
    this.state = "done";
    const reject = this.reject;
    this.resolve = undefined;
    this.reject = undefined;
    reject?.(error);
  }

  /** Sends `bytes` and resolves with the response's record once its last byte arrived. */
  async send(bytes: Buffer): Promise<ResponseRecord> {
    if (!this.socket || this.socket.destroyed) this.socket = await this.connect();
    this.state = "head";
    this.pending = Buffer.alloc(0);
    this.record = { status: 0, firstByteNs: -1, firstTokenNs: -1, totalNs: 0, frames: 0, gapsNs: [] };
    return new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      this.sentAt = process.hrtime.bigint();
      this.socket?.write(bytes);
    });
  }

  close(): void {
    this.socket?.destroy();
  }

  private onBody(buffer: Buffer, start: number, end: number, now: bigint): void {
    if (!this.sse || end <= start) return;
    const record = this.record as ResponseRecord;
    const frames = countFrames(buffer, start, end);
    if (frames > 0) {
      if (record.frames > 0) record.gapsNs.push(Number(now - this.lastFrameAt));
      for (let i = 1; i < frames; i++) record.gapsNs.push(0);
      record.frames += frames;
      this.lastFrameAt = now;
    }
    if (record.firstTokenNs < 0 && TOKEN.test(buffer.toString("latin1", start, end))) record.firstTokenNs = Number(now - this.sentAt);
  }

  private onData(data: Buffer): void {
    const record = this.record;
    if (!record || this.state === "done") return;
    const now = process.hrtime.bigint();
    if (record.firstByteNs < 0) record.firstByteNs = Number(now - this.sentAt);
    const buffer = this.pending.length > 0 ? Buffer.concat([this.pending, data]) : data;
    this.pending = Buffer.alloc(0);
    let at = 0;
    while (at < buffer.length && this.state !== "done") {
      if (this.state === "head") {
        const end = buffer.indexOf(CRLF2, at);
        if (end === -1) break;
        const head = buffer.toString("latin1", at, end);
        record.status = Number(head.slice(9, 12));
        const lower = head.toLowerCase();
        const lengthMatch = /\r\ncontent-length:\s*(\d+)/.exec(lower);
        at = end + 4;
        if (/\r\ntransfer-encoding:\s*chunked/.test(lower)) this.state = "chunk-size";
        else {
          this.remaining = lengthMatch ? Number(lengthMatch[1]) : 0;
          this.state = "length";
          if (this.remaining === 0) this.state = "done";
        }
      } else if (this.state === "length") {
        const take = Math.min(this.remaining, buffer.length - at);
        this.onBody(buffer, at, at + take, now);
        this.remaining -= take;
        at += take;
        if (this.remaining === 0) this.state = "done";
      } else if (this.state === "chunk-size") {
        const end = buffer.indexOf("\r\n", at);
        if (end === -1) break;
        this.remaining = parseInt(buffer.toString("latin1", at, end), 16);
        at = end + 2;
        this.state = this.remaining === 0 ? "chunk-crlf" : "chunk-data";
        if (this.remaining === 0) this.remaining = -1;
      } else if (this.state === "chunk-data") {
        const take = Math.min(this.remaining, buffer.length - at);
        this.onBody(buffer, at, at + take, now);
        this.remaining -= take;
        at += take;
        if (this.remaining === 0) this.state = "chunk-crlf";
      } else if (this.state === "chunk-crlf") {
        if (buffer.length - at < 2) break;
        at += 2;
        if (this.remaining === -1) this.state = "done";
        else this.state = "chunk-size";
      }
    }
    if (this.state === "done") {
      record.totalNs = Number(now - this.sentAt);
      const resolve = this.resolve;
      this.resolve = undefined;
      this.reject = undefined;
      resolve?.(record);
      return;
    }
    if (at < buffer.length) this.pending = buffer.subarray(at);
  }
}

/** Result of a closed-loop run. */
export interface LoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly seconds: number;
  /** Per completed request. */
  readonly records: ResponseRecord[];
}

/**
 * Runs `connections` closed loops against `target` until `seconds` pass or `amount` requests were
 * sent (whichever comes first; amount 0 = no cap). Keeps every record when `keepRecords`. With
 * `rate` (requests/s over all connections), each loop sends on its own schedule, staggered across
 * loops, and never sooner than its previous answer: at most `rate`, fewer when answers are slower.
 */
export async function runClosedLoop(target: HttpTarget, options: { connections: number; seconds: number; amount?: number; rate?: number; sse: boolean; keepRecords: boolean }): Promise<LoadResult> {
  const bytes = requestBytes(target);
  const deadline = process.hrtime.bigint() + BigInt(Math.round(options.seconds * 1e9));
  const amount = options.amount ?? 0;
  let sent = 0;
  let errors = 0;
  let non2xx = 0;
  let done = 0;
  const records: ResponseRecord[] = [];
  const started = process.hrtime.bigint();
  // Paced: one loop's interval between sends, in ns; each loop starts at its own offset.
  const intervalNs = options.rate && options.rate > 0 ? BigInt(Math.round((options.connections * 1e9) / options.rate)) : 0n;
  const loop = async (_: unknown, index: number): Promise<void> => {
    const connection = new RawConnection(target.host, target.port, options.sse);
    let due = process.hrtime.bigint() + (intervalNs * BigInt(index)) / BigInt(options.connections);
    try {
      while (process.hrtime.bigint() < deadline && (amount === 0 || sent < amount)) {
        if (intervalNs > 0n) {
          const wait = due - process.hrtime.bigint();
          if (wait > 0n) await new Promise((resolve) => setTimeout(resolve, Number(wait / 1_000_000n)));
          const now = process.hrtime.bigint();
          if (now >= deadline) break;
          // A late answer delays the schedule rather than causing a burst to catch up.
          due = (due > now ? due : now) + intervalNs;
        }
        sent++;
        try {
          const record = await connection.send(bytes);
          done++;
          if (record.status < 200 || record.status >= 300) non2xx++;
          if (options.keepRecords) records.push(record);
        } catch {
          errors++;
          connection.close();
        }
      }
    } finally {
      connection.close();
    }
  };
  await Promise.all(Array.from({ length: options.connections }, loop));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { requests: done, errors, non2xx, seconds, records };
}
