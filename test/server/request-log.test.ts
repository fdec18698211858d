/**
 * The per-request log lines (src/server/request-log.ts) as a listening gateway writes them: what
 * they say about the request, and the secrets a caller may send that they never carry.
 */
import http2 from "node:http2";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { listenApp, type ListeningApp } from "../support/listening-app.js";

interface LogLine {
  readonly msg: string;
  readonly where?: string;
  readonly reason?: string;
}

const RED_KEY = "key-red-123";
const GOOGLE_KEY = "AIzaSyD-CALLER-SECRET";
const CONFIG = `keys: [ { name: team-red, key: ${RED_KEY} }, { name: team-blue, key: key-blue-456 } ]
providers:
  oa: { type: openai-compatible, base_url: "http://127.0.0.1:9/v1" }
logging: { level: info, max_similar_per_second: 0 }
`;

let gateway: ListeningApp;
const written: string[] = [];

beforeAll(async () => {
  gateway = await listenApp(CONFIG, "request-log.yaml", { write: (line) => written.push(line) });
});

afterAll(async () => {
  await gateway.close();
});

beforeEach(() => {
  written.length = 0;
});

/** The error lines written so far (each line is one JSON object). */
function errorLines(): LogLine[] {
  return written.map((line) => JSON.parse(line) as LogLine).filter((line) => line.where !== undefined);
}

/** One gRPC call over HTTP/2 to `path`; resolves when the stream closes. */
async function grpcCall(path: string): Promise<void> {
  const session = http2.connect(gateway.origin);
  try {
    await new Promise<void>((resolve, reject) => {
      const request = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" });
      request.on("error", reject);
      request.on("close", resolve);
      request.resume();
      request.end();
    });
  } finally {
    session.close();
  }
}

describe("the request log", () => {
  it.each([
    ["GET", `/v1/models?key=${RED_KEY}`, "/v1/models"],
    ["POST", `/v1beta/models/gemini-pro:generateContent?key=${GOOGLE_KEY}`, "/v1beta/models/gemini-pro:generateContent"],
    ["POST", `/v1/chat/completions?key=${RED_KEY}&alt=sse`, "/v1/chat/completions"],
  ])("logs the path of a REST request, never its query string, where a caller may put a key (%s %s)", async (method, url, path) => {
    const response = await fetch(`${gateway.origin}${url}`, { method, ...(method === "POST" ? { headers: { "content-type": "application/json" }, body: "{}" } : {}) });
    await response.arrayBuffer();
    expect(response.status).toBe(401);
    expect(errorLines().map((line) => line.where)).toEqual([path]);
    expect(written.join("")).not.toContain(RED_KEY);
    expect(written.join("")).not.toContain(GOOGLE_KEY);
  });

  it("logs a gRPC call of a method nobody serves by its path, never its query string, in the line's fields or its message", async () => {
    await grpcCall(`/google.ai.Generative/Generate?key=${GOOGLE_KEY}`);
    const lines = errorLines();
    expect(lines.map((line) => [line.where, line.msg])).toEqual([["/google.ai.Generative/Generate", "unknown method /google.ai.Generative/Generate"]]);
    expect(written.join("")).not.toContain(GOOGLE_KEY);
  });
});
