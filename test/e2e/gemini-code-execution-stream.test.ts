/**
 * A Gemini stream with code execution (recorded shape: pydantic-ai's
 * test_google_model_builtin_code_execution_stream cassette, gemini-2.5-pro, texts shortened):
 * Gemini sends `finishReason: "STOP"` with the `executableCode` part, then the code's result and
 * the answer, and a second `STOP` with the final usage. The first STOP used to end the caller's
 * answer there, without the result sentence and with the intermediate usage.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listenApp, type ListeningApp } from "../support/listening-app.js";

function usage(candidates: number, total: number, toolUse: number): object {
  return { promptTokenCount: 46, candidatesTokenCount: candidates, totalTokenCount: total, toolUsePromptTokenCount: toolUse, thoughtsTokenCount: 563 };
}
function event(parts: object[], candidates: number, total: number, toolUse: number, finishReason?: string): string {
  const candidate = { content: { parts, role: "model" }, index: 0, ...(finishReason ? { finishReason } : {}) };
  return `data: ${JSON.stringify({ candidates: [candidate], usageMetadata: usage(candidates, total, toolUse), modelVersion: "gemini-2.5-pro", responseId: "bzZ8adPDEsPg8QGPveKoAg" })}\r\n\r\n`;
}
const STREAM = [
  event([{ text: "Here is the calculation performed using Python:\n" }], 147, 1232, 476),
  event([{ executableCode: { language: "PYTHON", code: "print(65465 - 6544 * 65464 - 6 + 1.02255)\n" } }], 180, 1265, 476, "STOP"),
  event([{ codeExecutionResult: { outcome: "OUTCOME_OK", output: "-428330955.97745\n" } }], 180, 1265, 476),
  event([{ text: "The result of the expression is " }], 200, 2077, 1268),
  event([{ text: "**-428,330,955.97745**." }], 235, 2112, 1268, "STOP"),
].join("");

let upstream: http.Server;
let gateway: ListeningApp;

beforeAll(async () => {
  upstream = http.createServer((request, response) => {
    request.resume();
    response.writeHead(200, { "content-type": "text/event-stream" });
    // Awkward slices: 7 bytes at a time, each in its own write.
    const bytes = Buffer.from(STREAM);
    let offset = 0;
    const next = (): void => {
      if (offset >= bytes.length) return void response.end();
      response.write(bytes.subarray(offset, offset + 7));
      offset += 7;
      setImmediate(next);
    };
    next();
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  gateway = await listenApp(`providers:\n  gem: { type: gemini, api_key: "AIzaCodeExec0123456789abcd", base_url: "${base}" }\nrouting:\n  retry: { max_retries: 0 }\nlogging: { level: silent }\n`, "gemini-code-execution.yaml");
});

afterAll(async () => {
  await gateway?.close();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

describe("a Gemini stream whose code execution part carries finishReason STOP", () => {
  it("goes on to the answer after the code's result, with the last usage", async () => {
    const client = new OpenAI({ baseURL: `${gateway.origin}/v1`, apiKey: "unused", maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: "gem/gemini-2.5-pro", messages: [{ role: "user", content: "what is 65465-6544 * 65464-6+1.02255" }], stream: true, stream_options: { include_usage: true } });
    let text = "";
    const finishes: (string | null)[] = [];
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      const finish = chunk.choices[0]?.finish_reason;
      if (finish) finishes.push(finish);
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe("Here is the calculation performed using Python:\nThe result of the expression is **-428,330,955.97745**.");
    expect(finishes).toEqual(["stop"]);
    expect(usage?.total_tokens).toBe(2112);
  });
});
