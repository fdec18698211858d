import type { Media } from "../../../gen/switchyard/v1/chat_pb.js";
import { readDataUrl } from "../../core/data-url.js";
import { invalidRequest, unsupportedFeature } from "../../core/errors.js";
import { canonicalMediaType, mimeTypeFromUrl } from "../../core/media-types.js";
import type { AnthropicDocumentBlock, AnthropicImageBlock } from "./anthropic-wire.js";

/** The content-part kinds that carry media. */
export type MediaPartKind = "image" | "audio" | "video" | "file";

/** Image types Anthropic accepts as base64 data. */
const BASE64_IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);

interface MediaBytes {
  readonly mimeType: string;
  /** Base64 of the bytes when the media is given by value (data or a data: URL). */
  readonly base64?: string;
  /** The http(s) or other URL when the media is given by reference. */
  readonly url?: string;
}

function readMedia(media: Media, param: string): MediaBytes {
  const explicit = media.mimeType ? canonicalMediaType(media.mimeType) : "";
  if (media.source.case === "data") {
    return { mimeType: explicit, base64: Buffer.from(media.source.value).toString("base64") };
  }
  if (media.source.case !== "url") throw invalidRequest(`Invalid '${param}': media needs a url or data.`, param);
  const url = media.source.value;
  const inline = readDataUrl(url, param);
  if (inline) return { mimeType: explicit || canonicalMediaType(inline.mimeType), base64: inline.base64 };
  return { mimeType: explicit || canonicalMediaType(mimeTypeFromUrl(url)), url };
}

function httpUrl(bytes: MediaBytes, param: string, what: string): string {
  const url = bytes.url ?? "";
  if (!/^https?:\/\//i.test(url)) {
    throw unsupportedFeature(`Anthropic fetches ${what} only from http(s) URLs; send the ${what} as data instead.`, param);
  }
  return url;
}

/**
 * Converts one media part to an Anthropic image or document block. Guarantees: images by http(s)
 * URL become url sources and by value base64 sources (jpeg, png, gif or webp only); PDFs become
 * document blocks (base64 or url); text/plain data becomes a text document. Audio, video and
 * every other type throw UNSUPPORTED_FEATURE naming `param`, so nothing reaches the upstream.
 * An explicit mime_type beats the part kind and anything inferred from the URL.
 * @see https://docs.claude.com/en/docs/build-with-claude/vision
 * @see https://docs.claude.com/en/docs/build-with-claude/pdf-support
 */
export function toAnthropicMediaBlock(kind: MediaPartKind, media: Media, param: string): AnthropicImageBlock | AnthropicDocumentBlock {
  const bytes = readMedia(media, param);
  const mime = bytes.mimeType;
  if (kind === "audio" || mime.startsWith("audio/")) throw unsupportedFeature("Anthropic models do not accept audio input.", param);
  if (kind === "video" || mime.startsWith("video/")) throw unsupportedFeature("Anthropic models do not accept video input.", param);
  const title = media.filename ? { title: media.filename } : {};
  if (mime === "application/pdf") {
    if (bytes.base64 !== undefined) return { type: "document", source: { type: "base64", media_type: mime, data: bytes.base64 }, ...title };
    return { type: "document", source: { type: "url", url: httpUrl(bytes, param, "PDFs") }, ...title };
  }
  if (mime === "text/plain") {
    if (bytes.base64 === undefined) throw unsupportedFeature("Anthropic takes plain-text documents only as data, not by URL.", param);
    const text = Buffer.from(bytes.base64, "base64").toString("utf8");
    return { type: "document", source: { type: "text", media_type: mime, data: text }, ...title };
  }
  if (mime.startsWith("image/") || (mime === "" && kind === "image")) {
    if (bytes.base64 !== undefined) {
      if (!BASE64_IMAGE_TYPES.has(mime)) {
        throw unsupportedFeature(`Anthropic accepts images of type image/jpeg, image/png, image/gif and image/webp; got '${mime || "unknown"}'.`, param);
      }
      return { type: "image", source: { type: "base64", media_type: mime, data: bytes.base64 } };
    }
    return { type: "image", source: { type: "url", url: httpUrl(bytes, param, "images") } };
  }
  throw unsupportedFeature(`Anthropic accepts images, PDFs and plain-text documents; '${mime || "this file"}' is not supported.`, param);
}
