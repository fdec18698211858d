/**
 * The proto inputs the OpenAI get_capital recordings (openai/chat-*-tool-call-* and
 * openai/chat-stream-text-after-tool-result-*) were made with, so replays send the recorded body.
 */
import { user } from "./proto-builders.js";

const capitalParameters = { additionalProperties: false, properties: { country: { type: "string" } }, required: ["country"], type: "object" };

/** The get_capital tool, strict, with no description. */
export const getCapital = { name: "get_capital", description: "", parameters: capitalParameters, strict: true };

/** The user question that makes the model call get_capital. */
export const ukQuestion = user("What is the capital of the UK? Use the tool, then answer.");

/** The get_capital call the model answered with. */
export const ukCall = { id: "call_ZR5UUuTt3pf61kjwAJIYdVMj", name: "get_capital", arguments: '{"country":"UK"}' };
