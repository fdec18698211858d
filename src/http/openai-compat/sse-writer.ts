import type { ServerResponse } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import type { OpenAIErrorBody } from "../../wire/openai-chat-completions.js";

/** The raw response of a hijacked Fastify reply, on HTTP/1.1 or HTTP/2. */
export type RawResponse = ServerResponse | Http2ServerResponse;

/**
 * Writes an OpenAI-style SSE stream on a raw response: framing only (`data: <json>\n\n`, the final
 * `data: [DONE]\n\n`, or a final error frame with no [DONE]). Honours back-pressure: a write that
 * fills the socket buffer waits for 'drain' (or for the connection to close).
 */
export class SseWriter {
  private ended = false;

  constructor(private readonly raw: RawResponse) {}

  /** Whether this writer ended the response itself (as opposed to the client going away). */
  get endedByServer(): boolean {
    return this.ended;
  }

  /** Sends the status line and SSE headers. */
  open(extraHeaders: Record<string, string>, http2: boolean): void {
    const headers: Record<string, string> = {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
      ...extraHeaders,
    };
    if (!http2) headers.connection = "keep-alive";
    this.raw.writeHead(200, headers);
    (this.raw as ServerResponse).flushHeaders?.();
  }

  /** Writes one `data:` frame; resolves when the frame is buffered below the high-water mark. */
  async data(json: string): Promise<void> {
    if (this.ended || this.raw.destroyed) return;
    const ok = (this.raw as ServerResponse).write(`data: ${json}\n\n`);
    if (!ok) await this.drained();
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.raw.off("drain", done);
        this.raw.off("close", done);
        resolve();
      };
      this.raw.on("drain", done);
      this.raw.on("close", done);
    });
  }

  /** Ends a successful stream with `data: [DONE]`. */
  done(): void {
    if (this.ended) return;
    this.ended = true;
    (this.raw as ServerResponse).end("data: [DONE]\n\n");
  }

  /** Ends a failed stream with a final error frame and no [DONE]. */
  error(body: OpenAIErrorBody): void {
    if (this.ended) return;
    this.ended = true;
    (this.raw as ServerResponse).end(`data: ${JSON.stringify(body)}\n\n`);
  }
}
