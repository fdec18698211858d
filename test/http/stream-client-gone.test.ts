import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it, vi } from "vitest";
import type { ChatStreamResponse } from "../../gen/switchyard/v1/chat_service_pb.js";
import { responseStartEvent, textDeltaEvent } from "../../src/core/stream-events.js";
import type { Gateway } from "../../src/core/gateway.js";
import { answerChatCompletion } from "../../src/http/openai-compat/chat-completions.js";

describe("a REST stream whose client leaves", () => {
  it("stops pulling events and closes the answer's chain, rather than encoding what is already buffered for nobody", async () => {
    let pulled = 0;
    let closed = false;
    // A stream that never ends on its own, as a fast upstream's buffered events look to the edge (a turn every 100 events).
    async function* events(): AsyncGenerator<ChatStreamResponse> {
      try {
        yield responseStartEvent("chatcmpl-gone", "m/m", 1n);
        for (;;) {
          pulled++;
          if (pulled % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
          yield textDeltaEvent(0, "a");
        }
      } finally {
        closed = true;
      }
    }
    const gateway = { chatStream: () => events() } as unknown as Gateway;
    const server = http.createServer((request, response) => {
      void answerChatCompletion({ gateway, onError: () => undefined }, { model: "m/m", messages: [{ role: "user", content: "hi" }], stream: true }, request.headers, response, "/v1/chat/completions", undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const controller = new AbortController();
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`, { method: "POST", body: "{}", signal: controller.signal });
      const reader = response.body?.getReader();
      await reader?.read();
      controller.abort();
      await vi.waitFor(() => expect(closed).toBe(true), { timeout: 3000, interval: 20 });
      const after = pulled;
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(pulled).toBe(after);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
