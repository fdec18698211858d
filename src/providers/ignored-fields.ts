import type { JsonObject } from "@bufbuild/protobuf";
import type { ChatInput } from "../../gen/switchyard/v1/chat_pb.js";
import { mediaOf } from "../core/media-types.js";

/**
 * The warning for provider_options meant for other provider families (REST callers' top-level
 * OpenAI fields such as `store` or `modalities` arrive as provider_options.openai): it names every
 * key left out, `provider_options.<family>.<key>` (or the family alone when it is empty), so the
 * caller can tell what was not sent. Undefined when there are none.
 */
export function ignoredProviderOptionsWarning(options: Readonly<Record<string, JsonObject>>, ownFamily: string, providerName: string): string | undefined {
  const ignored: string[] = [];
  for (const [family, fields] of Object.entries(options).sort(([a], [b]) => a.localeCompare(b))) {
    if (family === ownFamily) continue;
    const keys = Object.keys(fields);
    if (keys.length === 0) ignored.push(`provider_options.${family}`);
    for (const key of keys) ignored.push(`provider_options.${family}.${key}`);
  }
  return ignoredWarning(ignored, providerName);
}

/**
 * The warning for fields of messages and function definitions the gateway does not model
 * (Message.extra, ContentPart.extra, Media.extra, Tool.extra: a provider's own extensions, which
 * only OpenAI-dialect providers are sent): `messages[<i>].<key>`, `messages[<i>].content[<j>].<key>`,
 * `messages[<i>].content[<j>].image_url.<key>` (or `input_audio`, `file`: the part's typed object),
 * `tools[<i>].function.<key>`. Undefined when there are none.
 */
export function ignoredExtrasWarning(input: ChatInput, providerName: string): string | undefined {
  const ignored: string[] = [];
  input.messages.forEach((message, index) => {
    for (const key of Object.keys(message.extra ?? {})) ignored.push(`messages[${index}].${key}`);
    message.content.forEach((part, partIndex) => {
      const path = `messages[${index}].content[${partIndex}]`;
      for (const key of Object.keys(part.extra ?? {})) ignored.push(`${path}.${key}`);
      const media = mediaOf(part);
      if (!media?.extra) return;
      // The typed object by the name a REST caller gives it for this kind of media.
      const typed = part.part.case === "file" ? "file" : part.part.case === "audio" && media.source.case === "data" ? "input_audio" : "image_url";
      for (const key of Object.keys(media.extra)) ignored.push(`${path}.${typed}.${key}`);
    });
  });
  input.tools.forEach((tool, index) => {
    for (const key of Object.keys(tool.extra ?? {})) ignored.push(`tools[${index}].function.${key}`);
  });
  return ignoredWarning(ignored, providerName);
}

/** One warning naming every ignored field, or undefined when there is none. */
function ignoredWarning(ignored: readonly string[], providerName: string): string | undefined {
  return ignored.length > 0 ? `ignored ${ignored.join(", ")} (not for ${providerName}).` : undefined;
}
