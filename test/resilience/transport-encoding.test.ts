import zlib from "node:zlib";
import type { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { completionJson, completionSse, pause, type RawScript } from "../support/raw-upstream.js";
import { sseText, useRawGateway } from "./raw-gateway.js";

// Content codings from an upstream (RFC 9110 §8.4): the gateway asks for identity, and decodes
// gzip, deflate and br when a server compresses anyway; anything else is an unreadable answer.

const rig = useRawGateway();

const ENCODERS: Record<string, (input: Buffer) => Buffer> = { gzip: zlib.gzipSync, deflate: zlib.deflateSync, br: zlib.brotliCompressSync };

/** A keep-alive answer whose body is `body` in `coding` (raw bytes, as given, when `coding` has no encoder). */
function encoded(coding: string, body: string | Buffer, status = 200, type = "application/json"): RawScript {
  return (socket: Socket) => {
    const encoder = ENCODERS[coding];
    const bytes = encoder ? encoder(Buffer.from(body)) : Buffer.from(body);
    socket.write(`HTTP/1.1 ${status} X\r\ncontent-type: ${type}\r\ncontent-encoding: ${coding}\r\ncontent-length: ${bytes.length}\r\n\r\n`);
    socket.write(bytes);
  };
}

describe("content codings", () => {
  it("every upstream request asks for identity", async () => {
    await rig().ask();
    expect(rig().raw.requests[0]?.headers["accept-encoding"]).toBe("identity");
  });

  it.each(["gzip", "deflate", "br"])("a %s answer is decoded", async (coding) => {
    rig().raw.always(encoded(coding, completionJson()));
    const answer = await rig().ask();
    expect(answer.status).toBe(200);
    expect((JSON.parse(answer.text) as { choices: { message: { content: string } }[] }).choices[0]?.message.content).toBe("Hello there.");
    expect(rig().raw.requests).toHaveLength(1);
  });

  it("a deflate answer without the zlib wrapper (raw deflate, as some servers send) is decoded too", async () => {
    const bytes = zlib.deflateRawSync(Buffer.from(completionJson()));
    rig().raw.always((socket: Socket) => {
      socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: deflate\r\ncontent-length: ${bytes.length}\r\n\r\n`);
      socket.write(bytes);
    });
    const answer = await rig().ask();
    expect(answer.status).toBe(200);
    expect((JSON.parse(answer.text) as { choices: { message: { content: string } }[] }).choices[0]?.message.content).toBe("Hello there.");
  });

  it("a JSON answer that starts with a byte order mark is read", async () => {
    rig().raw.always(encoded("identity", `\uFEFF${completionJson()}`));
    const answer = await rig().ask();
    expect(answer.status).toBe(200);
    expect((JSON.parse(answer.text) as { choices: { message: { content: string } }[] }).choices[0]?.message.content).toBe("Hello there.");
  });

  it("a gzip event stream is decoded as it arrives, not at its end", async () => {
    const pieces = await gzipPieces(completionSse(["one", " two", " three"]), true);
    rig().raw.always(async (socket) => {
      socket.write("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n");
      for (const piece of pieces) {
        socket.write(Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from("\r\n")]));
        await pause(80);
      }
      socket.write("0\r\n\r\n");
    });
    const started = Date.now();
    const stream = await rig().gateway.openai.chat.completions.create({ model: "raw/m", messages: [{ role: "user", content: "hi" }], stream: true });
    let text = "";
    let firstTextAt = 0;
    for await (const chunk of stream) {
      const content = chunk.choices[0]?.delta.content ?? "";
      if (content && !firstTextAt) firstTextAt = Date.now() - started;
      text += content;
    }
    const endedAt = Date.now() - started;
    expect(text).toBe("one two three");
    expect(endedAt - firstTextAt).toBeGreaterThan(200);
  });

  it("a gzip error body is read: the caller gets the provider's message and param, not compressed bytes", async () => {
    const error = { error: { message: "Invalid value for 'temperature'.", type: "invalid_request_error", code: "invalid_value", param: "temperature" } };
    rig().raw.always(encoded("gzip", JSON.stringify(error), 400));
    const answer = await rig().ask();
    expect(answer.status).toBe(400);
    expect(answer.error).toMatchObject({ code: "upstream_invalid_request", param: "temperature" });
    expect(answer.error?.message).toContain("Invalid value for 'temperature'.");
  });

  it.each(["zstd", "constructor", "gzip, br"])("a 200 in content-encoding %j (which the gateway cannot decode) is invalid_provider_response and fails over", async (coding) => {
    rig().raw.always(encoded(coding, completionJson()));
    const single = await rig().ask();
    expect(single.status).toBe(502);
    expect(single.error?.code).toBe("invalid_provider_response");
    expect(single.error?.message).toContain("content-encoding");
    expect(rig().raw.requests).toHaveLength(1);
    const withFallback = await rig().ask({ fallback: true });
    expect(withFallback.headers.get("x-switchyard-model")).toBe("good/m");
  });

  it("an error status in a coding the gateway cannot decode still maps by its status", async () => {
    rig().raw.script(encoded("zstd", "(compressed)", 429));
    const answer = await rig().ask();
    expect(answer.status).toBe(200);
    expect(answer.headers.get("x-switchyard-failed")).toBe("raw/m rate_limit_exceeded");
    expect(rig().raw.requests).toHaveLength(2);
  });

  it.each([
    ["corrupt", Buffer.from("this is not gzip")],
    ["truncated", zlib.gzipSync(completionJson()).subarray(0, 30)],
  ])("a %s gzip body is invalid_provider_response, not retried", async (_name, bytes) => {
    rig().raw.always((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\ncontent-length: ${bytes.length}\r\n\r\n`);
      socket.write(bytes);
    });
    const answer = await rig().ask();
    expect(answer.status).toBe(502);
    expect(answer.error?.code).toBe("invalid_provider_response");
    expect(rig().raw.requests).toHaveLength(1);
  });

  it("a decompression bomb is refused before it fills memory", async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(24 * 1024 * 1024, 0x20));
    rig().raw.always((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\ncontent-length: ${bomb.length}\r\n\r\n`);
      socket.write(bomb);
    });
    const answer = await rig().ask();
    expect(answer.status).toBe(502);
    expect(answer.error?.code).toBe("invalid_provider_response");
    expect(answer.error?.message).toContain("expands");
  });

  it("a gzip stream that turns corrupt after content ends with an in-band error, never [DONE]", async () => {
    const pieces = await gzipPieces(completionSse(["one", " two"]).slice(0, 2));
    rig().raw.always(async (socket) => {
      socket.write("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n");
      for (const piece of pieces) socket.write(Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from("\r\n")]));
      await pause(20);
      socket.write(`20\r\n${"\xff".repeat(32)}\r\n`, "latin1");
    });
    const answer = await rig().ask({ stream: true });
    expect(answer.status).toBe(200);
    expect(sseText(answer.text)).toEqual({ text: "one", done: false, errorCode: "stream_interrupted" });
    expect(answer.text).toContain("INVALID_PROVIDER_RESPONSE");
  });
});

/** `events` gzip-compressed with a sync flush after each: one piece of compressed bytes per event (and the gzip trailer as the last piece when `end`). */
async function gzipPieces(events: readonly string[], end = false): Promise<Buffer[]> {
  const gzip = zlib.createGzip();
  const pieces: Buffer[] = [];
  let current: Buffer[] = [];
  gzip.on("data", (chunk: Buffer) => current.push(chunk));
  for (const event of events) {
    gzip.write(event);
    await new Promise<void>((resolve) => gzip.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
    pieces.push(Buffer.concat(current));
    current = [];
  }
  if (end) {
    await new Promise<void>((resolve) => {
      gzip.once("end", resolve);
      gzip.end();
    });
    pieces.push(Buffer.concat(current));
  }
  gzip.destroy();
  return pieces;
}
