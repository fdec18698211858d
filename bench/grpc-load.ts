/**
 * Closed-loop load over the gateway's gRPC front door (connect-node gRPC transport, HTTP/2, one
 * session multiplexing every in-flight call, as a real gRPC client would).
 */
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Role } from "../gen/switchyard/v1/chat_pb.js";
import { ChatRequestSchema, ChatService, ChatStreamRequestSchema } from "../gen/switchyard/v1/chat_service_pb.js";

/** One gRPC call's timings (ns from the call). */
export interface GrpcRecord {
  readonly firstEventNs: number;
  readonly totalNs: number;
  readonly events: number;
}

/** Result of a gRPC closed-loop run. */
export interface GrpcLoadResult {
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  readonly records: GrpcRecord[];
  readonly firstError?: string;
}

/** Runs `connections` concurrent call loops (unary Chat or server-streaming ChatStream) for `seconds`. */
export async function runGrpcLoop(options: { baseUrl: string; model: string; prompt: string; streaming: boolean; connections: number; seconds: number }): Promise<GrpcLoadResult> {
  // No compression, like the REST lanes (connect-node accepts gzip by default and the server would
  // then gzip every answer over 1 KB, which measures zlib rather than the gateway).
  const transport = createGrpcTransport({ baseUrl: options.baseUrl, acceptCompression: [] });
  const client = createClient(ChatService, transport);
  const input = {
    model: options.model,
    maxTokens: 256,
    messages: [
      { role: Role.SYSTEM, content: [{ part: { case: "text" as const, value: "You are a terse assistant." } }] },
      { role: Role.USER, content: [{ part: { case: "text" as const, value: options.prompt } }] },
    ],
  };
  // Built once: every call sends the same request, so the client's per-call cost is serialization
  // and HTTP/2, not message construction.
  const request = create(ChatRequestSchema, { input });
  const streamRequest = create(ChatStreamRequestSchema, { input });
  const deadline = process.hrtime.bigint() + BigInt(Math.round(options.seconds * 1e9));
  const records: GrpcRecord[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const started = process.hrtime.bigint();
  const loop = async (): Promise<void> => {
    while (process.hrtime.bigint() < deadline) {
      const sent = process.hrtime.bigint();
      try {
        if (!options.streaming) {
          await client.chat(request);
          const total = Number(process.hrtime.bigint() - sent);
          records.push({ firstEventNs: total, totalNs: total, events: 1 });
        } else {
          let events = 0;
          let first = -1;
          for await (const event of client.chatStream(streamRequest)) {
            if (first < 0 && event.event.case === "textDelta") first = Number(process.hrtime.bigint() - sent);
            events++;
          }
          records.push({ firstEventNs: first, totalNs: Number(process.hrtime.bigint() - sent), events });
        }
      } catch (error) {
        errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: options.connections }, loop));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { requests: records.length, errors, seconds, records, ...(firstError !== undefined ? { firstError } : {}) };
}
