import type { ChatInput } from "../../gen/switchyard/v1/chat_pb.js";
import { unsupportedFeature } from "../core/errors.js";

/**
 * Refuses a request that declares a custom tool (OpenAI `type: "custom"`, called with free text)
 * or replays a call of one, for a provider that has only JSON-argument tools: a 400
 * UNSUPPORTED_FEATURE naming the first such field and `provider`. Requests without them pass.
 */
export function rejectCustomTools(input: ChatInput, provider: string): void {
  const toolIndex = input.tools.findIndex((tool) => tool.custom !== undefined);
  if (toolIndex !== -1) {
    const param = `tools[${toolIndex}]`;
    throw unsupportedFeature(`Invalid '${param}': ${provider} has no custom (free-text) tools; declare a function tool.`, param);
  }
  input.messages.forEach((message, messageIndex) => {
    const callIndex = message.toolCalls.findIndex((call) => call.custom);
    if (callIndex !== -1) {
      const param = `messages[${messageIndex}].tool_calls[${callIndex}]`;
      throw unsupportedFeature(`Invalid '${param}': a custom tool's call cannot be sent to ${provider}, which has no custom tools.`, param);
    }
  });
}
