import { ImageDetail, Role, type ContentPart, type Media, type Message, type ToolCall } from "../../../gen/switchyard/v1/chat_pb.js";
import { decodeBase64 } from "../../core/data-url.js";
import { CONTENT_PART_FIELDS, MESSAGE_FIELDS, modelledKeyIn, PART_FIELDS } from "../../core/unmodelled-fields.js";
import { invalidRequest, unsupportedFeature } from "../../core/errors.js";
import { mediaKindOf, mediaOf, mimeTypeFromUrl } from "../../core/media-types.js";
import { ownEntry } from "../../core/own-entry.js";
import { isObject, parseDataUrl, readArray, readCacheControl, readExtraFields, readJsonObject, readObject, readString, requireString, wrongType } from "./request-fields.js";

const ROLES: Readonly<Record<string, Role>> = {
  system: Role.SYSTEM,
  developer: Role.DEVELOPER,
  user: Role.USER,
  assistant: Role.ASSISTANT,
  tool: Role.TOOL,
  function: Role.TOOL,
};

const DETAILS: Readonly<Record<string, ImageDetail>> = { auto: ImageDetail.AUTO, low: ImageDetail.LOW, high: ImageDetail.HIGH };

const AUDIO_FORMATS: Readonly<Record<string, string>> = {
  wav: "audio/wav", mp3: "audio/mp3", flac: "audio/flac", ogg: "audio/ogg", aac: "audio/aac", m4a: "audio/mp4", webm: "audio/webm", pcm16: "audio/pcm", opus: "audio/opus",
};

/** The id the gateway gives a legacy function_call / function message pair (they carry no id). */
export function legacyFunctionCallId(name: string): string {
  return `call_legacy_${name}`;
}

function part(value: ContentPart["part"]): ContentPart {
  return { $typeName: "switchyard.v1.ContentPart", part: value };
}

function media(fields: { url?: string; data?: Uint8Array; mimeType: string; detail?: ImageDetail; filename?: string }): Media {
  return {
    $typeName: "switchyard.v1.Media",
    source: fields.data ? { case: "data", value: fields.data } : { case: "url", value: fields.url ?? "" },
    mimeType: fields.mimeType,
    detail: fields.detail ?? ImageDetail.UNSPECIFIED,
    filename: fields.filename ?? "",
  };
}

function mediaPart(value: Media): ContentPart {
  return part({ case: mediaKindOf(value.mimeType || "image/*"), value });
}

function imageUrlPart(raw: Record<string, unknown>, param: string): ContentPart {
  const imageUrl = readObject(raw.image_url, `${param}.image_url`);
  if (!imageUrl) throw invalidRequest(`Missing required parameter: '${param}.image_url'.`, `${param}.image_url`);
  const nested = imageUrl.url === undefined || imageUrl.url === null;
  const urlParam = nested && imageUrl.image_url !== undefined && imageUrl.image_url !== null ? `${param}.image_url.image_url` : `${param}.image_url.url`;
  const url = readString(nested ? imageUrl.image_url : imageUrl.url, urlParam);
  if (!url) throw invalidRequest(`Missing required parameter: '${urlParam}'.`, urlParam);
  const explicitType = readString(imageUrl.mime_type, `${param}.image_url.mime_type`)?.trim().toLowerCase();
  const detailName = readString(imageUrl.detail, `${param}.image_url.detail`);
  const detail = detailName === undefined ? ImageDetail.UNSPECIFIED : ownEntry(DETAILS, detailName);
  if (detail === undefined) throw invalidRequest(`Invalid value for '${param}.image_url.detail': expected one of auto, low, high.`, `${param}.image_url.detail`);
  const inline = parseDataUrl(url, urlParam);
  if (inline) return mediaPart(media({ data: inline.data, mimeType: explicitType || inline.mimeType, detail }));
  if (!/^(https?|gs):\/\//i.test(url)) {
    throw invalidRequest(`Invalid '${urlParam}': expected an http(s) URL, a gs:// URL or a base64 data URL.`, urlParam);
  }
  // The extension decides the part's kind only: a type inferred from it is not stated as the
  // caller's (a fetched URL's Content-Type, and each adapter's own reading of the URL, come first).
  const value = media({ url, mimeType: explicitType ?? "", detail });
  const kindType = explicitType || mimeTypeFromUrl(url);
  return kindType ? part({ case: mediaKindOf(kindType), value }) : part({ case: "image", value });
}

/** One content part with its `cache_control` breakpoint, when it has one, and the fields the gateway does not model. */
function contentPart(raw: unknown, param: string, role: Role): ContentPart {
  const value = contentPartValue(raw, param, role);
  const fields = raw as Record<string, unknown>;
  const cacheControl = readCacheControl(fields.cache_control, `${param}.cache_control`);
  if (cacheControl) value.cacheControl = cacheControl;
  const type = fields.type as string;
  const known = ownEntry(CONTENT_PART_FIELDS, type);
  if (!known) return value;
  const extra = readExtraFields(fields, known.part, param);
  // Another part type's field (`image_url` on a text part) is a mistake, not an extension to pass on.
  const foreign = modelledKeyIn(extra, PART_FIELDS);
  if (foreign !== undefined) throw invalidRequest(`Invalid '${param}.${foreign}': not a field of a ${type} part.`, `${param}.${foreign}`);
  if (extra) value.extra = extra;
  // The typed object's own unknown keys go with the media, whatever type the part goes out as.
  const nested = fields[type];
  const media = mediaOf(value);
  if (media && known.nested && isObject(nested)) {
    const inner = readExtraFields(nested, known.nested, `${param}.${type}`);
    if (inner) media.extra = inner;
  }
  return value;
}

function contentPartValue(raw: unknown, param: string, role: Role): ContentPart {
  if (!isObject(raw)) wrongType(param, "an object", raw);
  const type = requireString(raw.type, `${param}.type`);
  switch (type) {
    case "text":
      return part({ case: "text", value: requireString(raw.text, `${param}.text`) });
    case "refusal":
      if (role !== Role.ASSISTANT) break;
      return part({ case: "refusal", value: requireString(raw.refusal, `${param}.refusal`) });
    case "image_url":
      return imageUrlPart(raw, param);
    case "input_audio": {
      const audio = readObject(raw.input_audio, `${param}.input_audio`);
      if (!audio) throw invalidRequest(`Missing required parameter: '${param}.input_audio'.`, `${param}.input_audio`);
      const format = requireString(audio.format, `${param}.input_audio.format`).toLowerCase();
      const mimeType = ownEntry(AUDIO_FORMATS, format);
      if (!mimeType) throw invalidRequest(`Invalid value for '${param}.input_audio.format': expected one of ${Object.keys(AUDIO_FORMATS).join(", ")}.`, `${param}.input_audio.format`);
      return part({ case: "audio", value: media({ data: decodeBase64(requireString(audio.data, `${param}.input_audio.data`), `${param}.input_audio.data`), mimeType }) });
    }
    case "file": {
      const file = readObject(raw.file, `${param}.file`);
      if (!file) throw invalidRequest(`Missing required parameter: '${param}.file'.`, `${param}.file`);
      const filename = readString(file.filename, `${param}.file.filename`);
      if (readString(file.file_id, `${param}.file.file_id`) !== undefined) {
        throw unsupportedFeature("file_id references are not portable across providers; send the file inline as file_data.", `${param}.file.file_id`);
      }
      const fileData = requireString(file.file_data, `${param}.file.file_data`);
      const inline = parseDataUrl(fileData, `${param}.file.file_data`);
      const mimeType = inline?.mimeType ?? (filename ? mimeTypeFromUrl(filename) : "") ?? "";
      const data = inline?.data ?? decodeBase64(fileData, `${param}.file.file_data`);
      if (!mimeType) throw invalidRequest(`Invalid '${param}.file.file_data': send a data URL (data:<mime type>;base64,...) or a filename with a known extension.`, `${param}.file.file_data`);
      return part({ case: "file", value: media({ data, mimeType, ...(filename ? { filename } : {}) }) });
    }
    default:
      break;
  }
  throw invalidRequest(`Invalid value for '${param}.type': '${type}' is not a supported content part type for ${Role[role].toLowerCase()} messages.`, `${param}.type`);
}

function toolCall(raw: unknown, param: string): ToolCall {
  if (!isObject(raw)) wrongType(param, "an object", raw);
  const type = readString(raw.type, `${param}.type`);
  if (type === "custom") {
    // A custom tool's call: free-text input instead of JSON arguments.
    const custom = readObject(raw.custom, `${param}.custom`);
    if (!custom) throw invalidRequest(`Missing required parameter: '${param}.custom'.`, `${param}.custom`);
    return { $typeName: "switchyard.v1.ToolCall", id: requireString(raw.id, `${param}.id`), name: requireString(custom.name, `${param}.custom.name`), arguments: readString(custom.input, `${param}.custom.input`) ?? "", custom: true };
  }
  if (type !== undefined && type !== "function") throw invalidRequest(`Invalid value for '${param}.type': expected 'function' or 'custom'.`, `${param}.type`);
  const fn = readObject(raw.function, `${param}.function`);
  if (!fn) throw invalidRequest(`Missing required parameter: '${param}.function'.`, `${param}.function`);
  const extra = readJsonObject(raw.extra_content, `${param}.extra_content`);
  return {
    $typeName: "switchyard.v1.ToolCall",
    id: requireString(raw.id, `${param}.id`),
    name: requireString(fn.name, `${param}.function.name`),
    arguments: readString(fn.arguments, `${param}.function.arguments`) ?? "",
    custom: false,
    ...(extra ? { extraContent: extra } : {}),
  };
}

/**
 * An assistant message's reasoning: its `thinking_blocks` (signed, each whole) when it has some
 * with text, else its `reasoning_content` text (unsigned), before any blocks without text (redacted
 * ones, signatures alone), so text the caller sent is never dropped for blocks that do not hold it.
 */
function reasoningParts(raw: Record<string, unknown>, param: string): ContentPart[] {
  const text = readString(raw.reasoning_content, `${param}.reasoning_content`);
  const unsigned = text ? [part({ case: "reasoning", value: { $typeName: "switchyard.v1.Reasoning", text, signature: "", redactedData: "" } })] : [];
  const blocks = readArray(raw.thinking_blocks, `${param}.thinking_blocks`);
  if (blocks) {
    const signed = blocks.map((block, index) => {
      const blockParam = `${param}.thinking_blocks[${index}]`;
      const value = readObject(block, blockParam) ?? {};
      return part({
        case: "reasoning",
        value: {
          $typeName: "switchyard.v1.Reasoning",
          text: readString(value.thinking, `${blockParam}.thinking`) ?? "",
          signature: readString(value.signature, `${blockParam}.signature`) ?? "",
          redactedData: readString(value.data, `${blockParam}.data`) ?? "",
        },
      });
    });
    return signed.some((block) => block.part.case === "reasoning" && block.part.value.text !== "") ? signed : [...unsigned, ...signed];
  }
  return unsigned;
}

/**
 * Translates one OpenAI message (strictly validated) into a proto Message: string-or-parts
 * content, image_url media (URL or data URL, with the `mime_type` extension deciding the media
 * kind, and the nested `image_url.image_url` form accepted as the URL), input_audio, inline files,
 * assistant tool calls, refusals and reasoning, tool results, and the legacy `function` role and
 * `function_call`, an assistant's `audio.id`, and `cache_control` breakpoints on a content part or
 * on the whole message (LiteLLM's form for string content). Throws 400 INVALID_REQUEST naming the field.
 */
export function toProtoMessage(raw: unknown, index: number): Message {
  const param = `messages[${index}]`;
  if (!isObject(raw)) wrongType(param, "an object", raw);
  const roleName = requireString(raw.role, `${param}.role`);
  const role = ownEntry(ROLES, roleName);
  if (role === undefined) {
    throw invalidRequest(`Invalid value: '${roleName}'. Supported values are: 'system', 'assistant', 'user', 'tool', 'function' and 'developer'.`, `${param}.role`);
  }
  const content: ContentPart[] = role === Role.ASSISTANT ? reasoningParts(raw, param) : [];
  const rawContent = raw.content;
  if (typeof rawContent === "string") {
    // An empty string stays an empty text part (OpenAI refuses an assistant message whose "" became null).
    content.push(part({ case: "text", value: rawContent }));
  } else if (Array.isArray(rawContent)) {
    rawContent.forEach((entry, partIndex) => content.push(contentPart(entry, `${param}.content[${partIndex}]`, role)));
  } else if (rawContent !== null && rawContent !== undefined) {
    wrongType(`${param}.content`, "a string or an array of content parts", rawContent);
  } else if (role !== Role.ASSISTANT) {
    throw invalidRequest(`Missing required parameter: '${param}.content'.`, `${param}.content`);
  }
  if (role === Role.ASSISTANT) {
    const refusal = readString(raw.refusal, `${param}.refusal`);
    if (refusal) content.push(part({ case: "refusal", value: refusal }));
  }
  const toolCalls = (readArray(raw.tool_calls, `${param}.tool_calls`) ?? []).map((call, callIndex) => toolCall(call, `${param}.tool_calls[${callIndex}]`));
  const functionCall = readObject(raw.function_call, `${param}.function_call`);
  if (functionCall) {
    const name = requireString(functionCall.name, `${param}.function_call.name`);
    toolCalls.push({ $typeName: "switchyard.v1.ToolCall", id: legacyFunctionCallId(name), name, arguments: readString(functionCall.arguments, `${param}.function_call.arguments`) ?? "", custom: false });
  }
  if (toolCalls.length > 0 && role !== Role.ASSISTANT) throw invalidRequest(`Invalid '${param}.tool_calls': only assistant messages carry tool calls.`, `${param}.tool_calls`);
  const name = readString(raw.name, `${param}.name`) ?? "";
  let toolCallId = readString(raw.tool_call_id, `${param}.tool_call_id`) ?? "";
  if (roleName === "function") {
    if (!name) throw invalidRequest(`Missing required parameter: '${param}.name'.`, `${param}.name`);
    toolCallId = legacyFunctionCallId(name);
  }
  const audio = readObject(raw.audio, `${param}.audio`);
  const message: Message = { $typeName: "switchyard.v1.Message", role, content, toolCalls, toolCallId, name: roleName === "function" ? "" : name, annotations: [] };
  const cacheControl = readCacheControl(raw.cache_control, `${param}.cache_control`);
  if (cacheControl) message.cacheControl = cacheControl;
  const extra = readExtraFields(raw, MESSAGE_FIELDS, param);
  if (extra) message.extra = extra;
  // An earlier spoken answer, referred to by its id (OpenAI audio models).
  if (audio) message.audio = { $typeName: "switchyard.v1.AudioOutput", id: requireString(audio.id, `${param}.audio.id`), data: "", transcript: "", expiresAt: 0n };
  return message;
}
