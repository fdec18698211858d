import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { SseWriter } from "../../src/http/openai-compat/sse-writer.js";

let server: http2.Http2Server | undefined;
let session: http2.ClientHttp2Session | undefined;

afterEach(async () => {
  session?.destroy();
  if (server) await new Promise<void>((resolve) => server?.close(() => resolve()));
  server = undefined;
  session = undefined;
});

describe("SseWriter on an HTTP/2 compatibility response whose client reset the stream", () => {
  it("sees the response closed and writes nothing, instead of waiting for a 'drain' that never comes", async () => {
    const afterClose = new Promise<{ data: unknown; comment: unknown }>((resolve) => {
      server = http2.createServer((request, response) => {
        request.resume();
        const writer = new SseWriter(response);
        writer.open({});
        expect(writer.data('{"n":1}')).toBeUndefined();
        response.on("close", () => resolve({ data: writer.data('{"n":2}'), comment: writer.comment("keep-alive") }));
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    session = http2.connect(`http://127.0.0.1:${(server?.address() as AddressInfo).port}`);
    session.on("error", () => undefined);
    const stream = session.request({ ":method": "POST", ":path": "/v1/chat/completions" });
    stream.on("error", () => undefined);
    stream.end("{}");
    stream.once("data", () => stream.close(http2.constants.NGHTTP2_CANCEL));
    const seen = await afterClose;
    // A promise here would be drainedOrClosed() on a response that already emitted 'close': it never settles.
    expect(seen.data).toBeUndefined();
  });
});
