import net, { type AddressInfo, type Socket } from "node:net";

/** One HTTP/1.1 request as the raw upstream read it off the socket. */
export interface RawRequest {
  /** 0-based arrival order over the whole server. */
  readonly index: number;
  /** 0-based order of the request on its connection (0: a fresh connection). */
  readonly onSocket: number;
  /** 0-based order of its connection. */
  readonly connection: number;
  readonly method: string;
  readonly path: string;
  /** Header names in lower case (the last value when repeated). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Plays one request's answer by writing raw bytes (or nothing, or a reset) to the socket. */
export type RawScript = (socket: Socket, request: RawRequest) => void | Promise<void>;

/**
 * An upstream on 127.0.0.1:<ephemeral> made of a bare `net` server, for transport faults that a
 * real HTTP server would refuse to produce: it parses each request (head and content-length body,
 * keep-alive included) and hands the socket to the script for the next answer, which writes
 * whatever bytes it likes.
 */
export class RawUpstream {
  readonly requests: RawRequest[] = [];
  /** Connections accepted so far. */
  connections = 0;
  private readonly sockets = new Set<Socket>();
  private queue: RawScript[] = [];

  private constructor(
    private readonly server: net.Server,
    private fallback: RawScript,
  ) {}

  /** Starts a raw upstream answering with `fallback` once the scripted answers are used up. */
  static async start(fallback: RawScript): Promise<RawUpstream> {
    const server = net.createServer();
    const upstream = new RawUpstream(server, fallback);
    server.on("connection", (socket) => upstream.serve(socket));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return upstream;
  }

  /** http://127.0.0.1:<port>/v1 */
  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  /** Connections still open. */
  get openSockets(): number {
    return this.sockets.size;
  }

  /** Queues answers for the next requests, in order. */
  script(...scripts: RawScript[]): this {
    this.queue.push(...scripts);
    return this;
  }

  /** The answer once the queue is used up. */
  always(script: RawScript): this {
    this.fallback = script;
    return this;
  }

  /** Forgets the request log and the queue. */
  reset(fallback: RawScript): void {
    this.requests.length = 0;
    this.queue = [];
    this.fallback = fallback;
  }

  /** Stops listening and destroys every open connection. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: Socket): void {
    const connection = this.connections++;
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => undefined);
    let buffered = Buffer.alloc(0);
    let onSocket = 0;
    let busy = false;
    const pump = (): void => {
      if (busy) return;
      const headEnd = buffered.indexOf("\r\n\r\n");
      if (headEnd === -1) return;
      const lines = buffered.subarray(0, headEnd).toString("latin1").split("\r\n");
      const [method = "", path = ""] = (lines[0] ?? "").split(" ");
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(":");
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers["content-length"] ?? 0);
      if (buffered.length < headEnd + 4 + length) return;
      const body = buffered.subarray(headEnd + 4, headEnd + 4 + length).toString("utf8");
      buffered = buffered.subarray(headEnd + 4 + length);
      const request: RawRequest = { index: this.requests.length, onSocket: onSocket++, connection, method, path, headers, body };
      this.requests.push(request);
      const script = this.queue.shift() ?? this.fallback;
      busy = true;
      void Promise.resolve()
        .then(() => script(socket, request))
        .catch(() => socket.destroy())
        .finally(() => {
          busy = false;
          pump();
        });
    };
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      pump();
    });
  }
}

/** Resolves after `ms`. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A complete OpenAI chat completion body saying `text`. */
export function completionJson(text = "Hello there.", model = "m"): string {
  return JSON.stringify({
    id: "chatcmpl-raw",
    object: "chat.completion",
    created: 1_700_000_000,
    model,
    choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
    usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
  });
}

/** The SSE events of a complete OpenAI stream saying `words` (one chunk each), with finish, usage and [DONE]. */
export function completionSse(words: readonly string[] = ["Hello", " there."], model = "m"): string[] {
  const chunk = (delta: unknown, finish: string | null = null, usage?: unknown) =>
    `data: ${JSON.stringify({ id: "chatcmpl-raw", object: "chat.completion.chunk", created: 1_700_000_000, model, choices: usage ? [] : [{ index: 0, delta, finish_reason: finish }], ...(usage ? { usage } : {}) })}\n\n`;
  return [
    chunk({ role: "assistant", content: "" }),
    ...words.map((word) => chunk({ content: word })),
    chunk({}, "stop"),
    chunk(undefined, null, { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 }),
    "data: [DONE]\n\n",
  ];
}

/** A keep-alive JSON answer: status line, content-type, content-length, body. */
export function jsonResponse(body: string, status = 200, extraHeaders = ""): string {
  return `HTTP/1.1 ${status} ${status === 200 ? "OK" : "Error"}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extraHeaders}\r\n${body}`;
}

/** A chunked transfer-encoding frame for `text`. */
export function chunkFrame(text: string): string {
  return `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
}

/** The head of a chunked SSE answer. */
export const SSE_HEAD = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
