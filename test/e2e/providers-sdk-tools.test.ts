/**
 * The providers SDK suite (see providers-sdk.test.ts), tools: the weather tool non-streaming,
 * streamed in parallel, and in multi-turn loops that send the results back natively.
 */
import type OpenAI from "openai";
import { describe, expect, it } from "vitest";
import type { Json } from "../support/dialect-answers.js";
import { geminiSignatureFor } from "../support/dialect-upstream.js";
import { providerCalls, PROVIDERS, useProvidersSdkWorld } from "./providers-sdk-harness.js";
import { WEATHER_TOOL } from "./providers-sdk-setup.js";

const sdk = useProvidersSdkWorld();

describe.each(PROVIDERS)("OpenAI SDK -> gateway -> $label", ({ dialect, model }) => {
  const { upstream, view, raw, create } = providerCalls(sdk, dialect, model);

  describe("the weather tool", () => {
    it("non-streaming: one get_current_weather call with location and unit", async () => {
      const { data } = await create({ messages: [{ role: "user", content: "What's the weather like in Boston today?" }], tools: [WEATHER_TOOL] });
      const choice = data.choices[0];
      expect(choice?.finish_reason).toBe("tool_calls");
      expect(choice?.message.content ?? null).toBeNull();
      const calls = choice?.message.tool_calls ?? [];
      expect(calls).toHaveLength(1);
      const call = calls[0];
      if (call?.type !== "function") throw new Error("expected a function call");
      expect(call.id).toMatch(/^[A-Za-z0-9_-]{1,40}$/);
      expect(call.function.name).toBe("get_current_weather");
      expect(JSON.parse(call.function.arguments)).toEqual({ location: "Boston", unit: "celsius" });
      expect(view().tools.map((tool) => tool.name)).toEqual(["get_current_weather"]);
    });

    it("legacy functions: the answer is a function_call (JSON and stream), as a legacy client reads it", async () => {
      if (WEATHER_TOOL.type !== "function") throw new Error("expected a function tool");
      const legacy = { functions: [WEATHER_TOOL.function], function_call: "auto" } as const;
      const { data } = await create({ messages: [{ role: "user", content: "What's the weather like in Boston today?" }], ...legacy } as unknown as Parameters<typeof create>[0]);
      const choice = data.choices[0];
      expect(choice?.finish_reason).toBe("function_call");
      expect(choice?.message.tool_calls).toBeUndefined();
      expect(choice?.message.function_call?.name).toBe("get_current_weather");
      expect(JSON.parse(choice?.message.function_call?.arguments ?? "")).toEqual({ location: "Boston", unit: "celsius" });

      const stream = await sdk.client.chat.completions.create({ model, stream: true, messages: [{ role: "user", content: "What's the weather like in Boston, Tokyo and Paris?" }], ...legacy } as unknown as OpenAI.Chat.ChatCompletionCreateParamsStreaming);
      let name = "";
      let args = "";
      let finish: string | null | undefined;
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta;
        expect(delta?.tool_calls).toBeUndefined();
        name += delta?.function_call?.name ?? "";
        args += delta?.function_call?.arguments ?? "";
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      // The format has no parallel calls: the first one reaches the client, whole.
      expect(name).toBe("get_current_weather");
      expect(JSON.parse(args)).toMatchObject({ location: "Boston" });
      expect(finish).toBe("function_call");
    });

    it("streaming: parallel calls assemble like a real client (dense indexes, id and name once)", async () => {
      const stream = await sdk.client.chat.completions.create({ model, stream: true, messages: [{ role: "user", content: "What's the weather like in Boston, Tokyo and Paris?" }], tools: [WEATHER_TOOL] });
      const calls: { id: string; name: string; arguments: string; idSeen: number; nameSeen: number }[] = [];
      const indexes: number[] = [];
      let firstRole: string | undefined;
      let chunks = 0;
      let finish: string | null | undefined;
      for await (const chunk of stream) {
        const choice = chunk.choices[0];
        if (chunks++ === 0) firstRole = choice?.delta.role;
        for (const delta of choice?.delta.tool_calls ?? []) {
          indexes.push(delta.index);
          const call = (calls[delta.index] ??= { id: "", name: "", arguments: "", idSeen: 0, nameSeen: 0 });
          if (delta.id) { call.id = delta.id; call.idSeen++; }
          if (delta.function?.name) { call.name = delta.function.name; call.nameSeen++; }
          call.arguments += delta.function?.arguments ?? "";
        }
        if (choice?.finish_reason) finish = choice.finish_reason;
      }
      expect(firstRole).toBe("assistant");
      expect(finish).toBe("tool_calls");
      expect([...new Set(indexes)]).toEqual([0, 1, 2]);
      expect(calls.map((call) => ({ idSeen: call.idSeen, nameSeen: call.nameSeen, name: call.name }))).toEqual([0, 1, 2].map(() => ({ idSeen: 1, nameSeen: 1, name: "get_current_weather" })));
      expect(new Set(calls.map((call) => call.id)).size).toBe(3);
      expect(calls.map((call) => JSON.parse(call.arguments))).toEqual(["Boston", "Tokyo", "Paris"].map((location) => ({ location, unit: "celsius" })));
      expect(view().stream).toBe(true);
    });

    it("multi-turn loop: the results go back in the provider's native tool-result shape", async () => {
      const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: "user", content: "What's the weather like in Boston and Tokyo?" }];
      const first = await sdk.client.chat.completions.create({ model, messages, tools: [WEATHER_TOOL] });
      const assistantMessage = first.choices[0]?.message;
      if (!assistantMessage) throw new Error("no message");
      const calls = (assistantMessage.tool_calls ?? []).flatMap((call) => (call.type === "function" ? [call] : []));
      expect(calls.map((call) => JSON.parse(call.function.arguments).location)).toEqual(["Boston", "Tokyo"]);
      // Send the assistant message back as the SDK returned it (Gemini's extra_content included), then one result per call.
      messages.push(assistantMessage as OpenAI.Chat.ChatCompletionMessageParam);
      calls.forEach((call, index) => messages.push({ role: "tool", tool_call_id: call.id, content: JSON.stringify({ temperature: 20 + index, unit: "celsius" }) }));
      upstream().reset();

      const stream = await sdk.client.chat.completions.create({ model, messages, tools: [WEATHER_TOOL], stream: true });
      let text = "";
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
      expect(text).toBe('Tool results: {"temperature":20,"unit":"celsius"} | {"temperature":21,"unit":"celsius"}');

      const body = raw();
      const ids = calls.map((call) => call.id);
      const output = (index: number) => ({ temperature: 20 + index, unit: "celsius" });
      if (dialect === "openai") {
        const sent = body.messages as Record<string, Json>[];
        expect(sent.map((message) => message.role)).toEqual(["user", "assistant", "tool", "tool"]);
        expect((sent[1]?.tool_calls as { id: string }[]).map((call) => call.id)).toEqual(ids);
        expect(sent.slice(2).map((message) => message.tool_call_id)).toEqual(ids);
      }
      if (dialect === "anthropic") {
        const sent = body.messages as { role: string; content: Record<string, Json>[] }[];
        expect(sent.map((message) => message.role)).toEqual(["user", "assistant", "user"]);
        expect(sent[1]?.content.map((block) => [block.type, block.id])).toEqual(ids.map((id) => ["tool_use", id]));
        expect(sent[2]?.content).toEqual(ids.map((id, index) => ({ type: "tool_result", tool_use_id: id, content: JSON.stringify(output(index)) })));
      }
      if (dialect === "gemini") {
        const sent = body.contents as { role: string; parts: Record<string, Json>[] }[];
        expect(sent.map((content) => content.role)).toEqual(["user", "model", "user"]);
        // The thought signature Gemini put on the first call came back through extra_content.
        expect(sent[1]?.parts[0]?.thoughtSignature).toBe(geminiSignatureFor("get_current_weather"));
        expect(sent[1]?.parts.map((part) => (part.functionCall as { id: string }).id)).toEqual(ids);
        expect(sent[2]?.parts).toEqual(ids.map((id, index) => ({ functionResponse: { name: "get_current_weather", response: { output: output(index) }, id } })));
      }
    });

    it("multi-turn loop from a streamed first turn whose client kept only id, name and arguments", async () => {
      // Many clients rebuild the assistant message from stream deltas and drop extra_content; Gemini 3 still needs its signature.
      const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: "user", content: "What's the weather like in Paris?" }];
      const stream = await sdk.client.chat.completions.create({ model, messages, tools: [WEATHER_TOOL], stream: true });
      const calls: { id: string; name: string; arguments: string }[] = [];
      for await (const chunk of stream) {
        for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
          const call = (calls[delta.index] ??= { id: "", name: "", arguments: "" });
          call.id ||= delta.id ?? "";
          call.name ||= delta.function?.name ?? "";
          call.arguments += delta.function?.arguments ?? "";
        }
      }
      expect(calls).toHaveLength(1);
      messages.push({ role: "assistant", content: null, tool_calls: calls.map((call) => ({ id: call.id, type: "function", function: { name: call.name, arguments: call.arguments } })) });
      messages.push({ role: "tool", tool_call_id: calls[0]?.id ?? "", content: "rainy" });
      upstream().reset();
      const { data } = await create({ messages, tools: [WEATHER_TOOL] });
      expect(data.choices[0]?.message.content).toBe("Tool results: rainy");
      if (dialect === "gemini") {
        const sent = raw().contents as { parts: Record<string, Json>[] }[];
        expect(sent[1]?.parts[0]?.thoughtSignature).toBe(geminiSignatureFor("get_current_weather"));
      }
    });
  });
});
