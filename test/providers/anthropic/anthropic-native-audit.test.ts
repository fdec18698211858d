/**
 * Audit of the Anthropic adapter against what current Messages API traffic holds, through the real
 * gateway (REST, fake Anthropic upstream): request fields the gateway sends, content blocks and
 * events it reads back.
 * @see https://docs.claude.com/en/api/messages
 * @see https://docs.claude.com/en/docs/build-with-claude/streaming
 */
import { describe, expect, it } from "vitest";
import { antMessage, postChat, useAnthropicRestWorld } from "./anthropic-rest-harness.js";

const world = useAnthropicRestWorld();

const getWeather = { type: "function", function: { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } } } };
const webSearch = { type: "web_search_20250305", name: "web_search", max_uses: 2 };

describe("provider_options.anthropic.tools", () => {
  it("adds server tools after the request's function tools instead of replacing them", async () => {
    world.first.setDefault(antMessage([{ type: "text", text: "ok" }]));
    const answer = await postChat(world, { tools: [getWeather], tool_choice: { type: "function", function: { name: "get_weather" } }, provider_options: { anthropic: { tools: [webSearch] } } });
    expect(answer.status).toBe(200);
    const sent = world.first.lastRequest().body as { tools: unknown[]; tool_choice: unknown };
    expect(sent.tools).toEqual([{ name: "get_weather", description: "Weather", input_schema: getWeather.function.parameters }, webSearch]);
    expect(sent.tool_choice).toEqual({ type: "tool", name: "get_weather" });
  });

  it("are the only tools when the request declares none", async () => {
    world.first.setDefault(antMessage([{ type: "text", text: "ok" }]));
    await postChat(world, { provider_options: { anthropic: { tools: [webSearch] } } });
    expect((world.first.lastRequest().body as { tools: unknown[] }).tools).toEqual([webSearch]);
  });
});
