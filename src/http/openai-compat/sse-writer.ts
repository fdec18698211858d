import type { ServerResponse } from "node:http";
import { constants as http2Constants, type Http2ServerResponse } from "node:http2";
import type { FastResponse } from "../../server/fast-h1.js";
import { DrainWaiter } from "../../server/write-drain.js";
import type { OpenAIErrorBody } from "../../wire/openai-chat-completions.js";

/** The raw response of a hijacked Fastify reply, on HTTP/1.1 or HTTP/2. */
export type RawResponse = ServerResponse | Http2ServerResponse;

/**
 * Whether the response can no longer be written: the connection or HTTP/2 stream is gone (also for
 * the HTTP/1.1 fast path's response). (Node's
 * Http2ServerResponse has no `destroyed`; its stream does.)
 */
export function responseClosed(raw: RawResponse | FastResponse): boolean {
  return "stream" in raw ? raw.stream?.destroyed !== false : raw.destroyed;
}

/**
 * Writes an OpenAI-style SSE stream on a raw response: framing only (`data: <json>\n\n`, the final
 * `data: [DONE]\n\n`, or a final error frame with no [DONE]). Honours back-pressure: a write that
 * fills the socket buffer waits for 'drain' (or for the connection to close), for at most
 * CLIENT_STALL_MS or until the caller's deadline, after which the client is given up. On the
 * HTTP/1.1 fast path the response is a FastResponse, which has the ServerResponse methods used
 * here (`writeHead`, `flushHeaders`, `write`, `end`, `destroy`, 'drain' and 'close').
 */
export class SseWriter {
  private ended = false;
  /** Whether a frame (or the end) was handed to the response. */
  private written = false;

  /** Waits for 'drain' under back-pressure; created at the first one. */
  private drain: DrainWaiter | undefined;

  /** `deadlineAt`: the caller's deadline (epoch ms); a client that reads nothing until then (or for CLIENT_STALL_MS) is given up. */
  constructor(
    private readonly raw: RawResponse | FastResponse,
    private readonly deadlineAt = Number.POSITIVE_INFINITY,
  ) {}

  /** Whether this writer ended the response itself (as opposed to the client going away). */
  get endedByServer(): boolean {
    return this.ended;
  }

  /**
   * Sets the status line and SSE headers. They are not flushed on their own: Node sends them with
   * the first frame, in the same write (one segment, one syscall fewer before the first token). If
   * no frame follows within this turn of the event loop, they are flushed alone.
   */
  open(extraHeaders: Record<string, string>): void {
    const headers: Record<string, string> = {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
      ...extraHeaders,
    };
    // No Connection header of ours: Node (and the fast path, as Node) writes keep-alive, or close for a `Connection: close` request, and closes after.
    (this.raw as ServerResponse).writeHead(200, headers);
    setImmediate(this.flushIdle);
  }

  private readonly flushIdle = (): void => {
    if (this.written || this.ended || responseClosed(this.raw)) return;
    (this.raw as ServerResponse).flushHeaders?.();
  };

  /**
   * Writes one `data:` frame. Returns nothing when the frame is buffered below the high-water mark
   * (the caller goes on without a microtask hop), or a promise that resolves on 'drain' (or close).
   */
  data(json: string): Promise<void> | undefined {
    if (this.ended || responseClosed(this.raw)) return undefined;
    this.written = true;
    const ok = (this.raw as ServerResponse).write(`data: ${json}\n\n`);
    if (ok) return undefined;
    this.drain ??= new DrainWaiter(this.raw, this.abandon, this.deadlineAt);
    return this.drain.wait();
  }

  /** Gives up a client that stopped reading: the HTTP/2 stream reset, or the connection destroyed (the unread frames go with it). */
  private readonly abandon = (): void => {
    this.drain?.dispose();
    if ("stream" in this.raw) this.raw.stream?.close(http2Constants.NGHTTP2_CANCEL);
    else this.raw.destroy();
  };

  /** Writes an SSE comment line (`: <text>`), which clients ignore; a keep-alive. */
  comment(text: string): void {
    if (this.ended || responseClosed(this.raw)) return;
    this.written = true;
    (this.raw as ServerResponse).write(`: ${text}\n\n`);
  }

  /** Stops the drain timer, if back-pressure ever armed one: call it when the stream is over, however it ended. */
  dispose(): void {
    this.drain?.dispose();
  }

  /** Ends a successful stream with `data: [DONE]`. */
  done(): void {
    if (this.ended) return;
    this.ended = true;
    this.written = true;
    (this.raw as ServerResponse).end("data: [DONE]\n\n");
  }

  /** Ends a failed stream with a final error frame and no [DONE]. */
  error(body: OpenAIErrorBody): void {
    if (this.ended) return;
    this.ended = true;
    this.written = true;
    (this.raw as ServerResponse).end(`data: ${JSON.stringify(body)}\n\n`);
  }
}
