import type { ContentPart, Media } from "../../gen/switchyard/v1/chat_pb.js";
import { ownEntry } from "./own-entry.js";

/** The media kinds of ContentPart. */
export type MediaKind = "image" | "audio" | "video" | "file";

const EXTENSION_TYPES: Readonly<Record<string, string>> = {
  png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp", heic: "image/heic", heif: "image/heif", bmp: "image/bmp", svg: "image/svg+xml",
  wav: "audio/wav", mp3: "audio/mp3", aac: "audio/aac", ogg: "audio/ogg", flac: "audio/flac", aiff: "audio/aiff", m4a: "audio/mp4", opus: "audio/opus", weba: "audio/webm",
  mp4: "video/mp4", mpeg: "video/mpeg", mpg: "video/mpeg", mov: "video/quicktime", avi: "video/x-msvideo", flv: "video/x-flv", webm: "video/webm", wmv: "video/x-ms-wmv", "3gp": "video/3gpp", mkv: "video/x-matroska",
  pdf: "application/pdf", txt: "text/plain", md: "text/markdown", html: "text/html", csv: "text/csv", json: "application/json", xml: "text/xml",
};

/**
 * Infers an IANA media type from the file extension of a URL's path; "" when unknown.
 * Query strings and fragments are ignored.
 */
export function mimeTypeFromUrl(url: string): string {
  let path = url;
  try {
    path = new URL(url).pathname;
  } catch {
    path = url.split(/[?#]/)[0] ?? url;
  }
  const dot = path.lastIndexOf(".");
  if (dot === -1 || dot < path.lastIndexOf("/")) return "";
  return ownEntry(EXTENSION_TYPES, path.slice(dot + 1).toLowerCase()) ?? "";
}

/**
 * A media type as providers take it: trimmed, lower-cased, and `image/jpg` (not a registered
 * type, but common in data URLs) as `image/jpeg`, which Gemini requires and Anthropic expects.
 */
export function canonicalMediaType(mimeType: string): string {
  const lower = mimeType.trim().toLowerCase();
  return lower === "image/jpg" ? "image/jpeg" : lower;
}

/** The content-part kind for a media type: image/*, audio/*, video/*, and everything else a file. */
export function mediaKindOf(mimeType: string): MediaKind {
  if (mimeType.startsWith("image/")) return "image";
  if (mimeType.startsWith("audio/")) return "audio";
  if (mimeType.startsWith("video/")) return "video";
  return "file";
}

/** The media a content part carries (an image, audio, video or file part), else undefined. */
export function mediaOf(part: ContentPart): Media | undefined {
  const value = part.part;
  return value.case === "image" || value.case === "audio" || value.case === "video" || value.case === "file" ? value.value : undefined;
}
