import type { ChatInput, Media } from "../../../gen/switchyard/v1/chat_pb.js";
import { readDataUrl } from "../../core/data-url.js";
import { invalidRequest, unsupportedFeature } from "../../core/errors.js";
import { canonicalMediaType, mediaKindOf, mimeTypeFromUrl, type MediaKind } from "../../core/media-types.js";
import type { FetchedMedia, MediaFetcher } from "../../media/guarded-media-fetch.js";
import type { MediaBudget } from "../../media/media-budget.js";
import type { GeminiRequestPart } from "./gemini-wire.js";
import type { RequestHandle } from "../provider-adapter.js";
import { LightAbort, type AbortSignalLike } from "../../core/light-abort.js";

/** Where a media part's bytes come from, as Gemini needs them. */
export type GeminiMediaSource =
  | { readonly kind: "inline"; readonly mimeType: string; readonly base64: string }
  | { readonly kind: "file-uri"; readonly uri: string; readonly mimeType?: string }
  | { readonly kind: "fetch"; readonly url: string };

/** Media fetched by the gateway, keyed by the content part's request path ("messages[1].content[0]"). */
export type FetchedMediaByPath = ReadonlyMap<string, FetchedMedia>;

const YOUTUBE_HOSTS = new Set(["youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be"]);

/** Guesses a MIME type from a URL's or file name's extension; undefined when unknown. */
function mimeTypeFromPath(pathOrUrl: string): string | undefined {
  return mimeTypeFromUrl(pathOrUrl) || undefined;
}

/** True for a Gemini Files API URI, e.g. https://generativelanguage.googleapis.com/v1beta/files/abc. */
function isGeminiFileUri(url: URL, baseUrl: string): boolean {
  if (url.protocol !== "https:" && url.protocol !== "http:") return false;
  const href = url.toString();
  if (url.hostname === "generativelanguage.googleapis.com" && /^\/v1(beta)?\/files\/[^/]+$/.test(url.pathname)) return true;
  // The files live under the base URL's path; its query (e.g. ?key=…) is not part of their URIs.
  const base = baseUrl.split("?")[0]?.replace(/\/+$/, "") ?? "";
  return href.startsWith(`${base}/v1beta/files/`) || href.startsWith(`${base}/v1/files/`);
}

function inlineDataUrl(raw: string, explicitType: string, param: string): GeminiMediaSource | undefined {
  const inline = readDataUrl(raw, param);
  if (!inline) return undefined;
  const mimeType = canonicalMediaType(explicitType || inline.mimeType);
  if (!mimeType) throw invalidRequest(`Invalid '${param}': the data URL declares no media type; set mime_type.`, param);
  return { kind: "inline", mimeType, base64: inline.base64 };
}

/**
 * Decides how Gemini gets one media part: bytes and data URLs are inlined; YouTube links go as
 * fileData without a mimeType (unless one was given); gs:// and Gemini Files API URIs go as fileData
 * (mimeType from mime_type, else the extension); other http(s) URLs must be fetched by the gateway.
 * An explicit mime_type always beats the data URL's or the extension's. Pure; throws 400s for
 * unusable URLs.
 */
export function classifyGeminiMedia(media: Media, param: string, baseUrl: string): GeminiMediaSource {
  if (media.source.case === "data") {
    if (!media.mimeType) throw invalidRequest(`Invalid '${param}': media given as data needs a mime_type.`, param);
    return { kind: "inline", mimeType: canonicalMediaType(media.mimeType), base64: Buffer.from(media.source.value).toString("base64") };
  }
  const raw = media.source.value ?? "";
  const inline = inlineDataUrl(raw, media.mimeType, param);
  if (inline) return inline;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw unsupportedFeature(`Invalid '${param}': Gemini takes media as data URLs, http(s) URLs, gs:// URIs or Gemini file URIs; this is none of them (file ids are not portable).`, param);
  }
  if (url.protocol === "gs:") {
    const mimeType = canonicalMediaType(media.mimeType) || mimeTypeFromPath(url.pathname);
    if (!mimeType) throw invalidRequest(`Invalid '${param}': cannot tell the media type of this gs:// URI from its name; set mime_type.`, param);
    return { kind: "file-uri", uri: raw, mimeType };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw unsupportedFeature(`Invalid '${param}': the URL scheme '${url.protocol}' is not supported for Gemini media.`, param);
  }
  if (YOUTUBE_HOSTS.has(url.hostname.toLowerCase())) {
    return media.mimeType ? { kind: "file-uri", uri: raw, mimeType: canonicalMediaType(media.mimeType) } : { kind: "file-uri", uri: raw };
  }
  if (isGeminiFileUri(url, baseUrl)) {
    const mimeType = canonicalMediaType(media.mimeType) || mimeTypeFromPath(url.pathname);
    return mimeType ? { kind: "file-uri", uri: raw, mimeType } : { kind: "file-uri", uri: raw };
  }
  return { kind: "fetch", url: raw };
}

/** Every media part of `input` whose URL the gateway must fetch, with its request path. Pure. */
export function remoteMediaOf(input: ChatInput, baseUrl: string): { param: string; url: string }[] {
  const out: { param: string; url: string }[] = [];
  input.messages.forEach((message, messageIndex) => {
    message.content.forEach((part, partIndex) => {
      const kind = part.part.case;
      if (kind !== "image" && kind !== "audio" && kind !== "video" && kind !== "file") return;
      const param = `messages[${messageIndex}].content[${partIndex}]`;
      const source = classifyGeminiMedia(part.part.value, param, baseUrl);
      if (source.kind === "fetch") out.push({ param, url: source.url });
    });
  });
  return out;
}

/** What {@link fetchRemoteMedia} answers for a request with no media to fetch (the same promise each time: nothing to wait for). */
export const NO_MEDIA: Promise<FetchedMediaByPath> = Promise.resolve(new Map());

/** Parallel fetches per request; bounds memory and sockets for messages with many URLs. */
const FETCH_CONCURRENCY = 4;

/**
 * Fetches every URL media part of `input` through the guarded fetcher, at most four at a time,
 * all of them together within one {@link MediaBudget} from `newBudget` (the request's
 * media.max_total_bytes, taken from the process's media.max_inflight_bytes; shared by the fetches,
 * and the sum checked again here), once per `request` (CallOptions.request): every attempt of it
 * (retries, fallbacks to Gemini accounts with the same base URL) gets the same downloads; a failed
 * download is fetched again by the next attempt. The bytes stay taken from the process's budget
 * until the request ends (a failed download's at once, another base URL's when an attempt at a new
 * one starts; without a `request`, once downloaded). The
 * first download that fails stops the others. Rejects with the fetcher's GatewayError (400 naming
 * the part, 503 GATEWAY_OVERLOADED, or CANCELED), or a 400 naming the part that went over the total.
 */
export function fetchRemoteMedia(input: ChatInput, baseUrl: string, fetchMedia: MediaFetcher, signal: AbortSignalLike, newBudget: () => MediaBudget, request?: RequestHandle): Promise<FetchedMediaByPath> {
  const pending = remoteMediaOf(input, baseUrl);
  if (pending.length === 0) return NO_MEDIA;
  if (request === undefined) {
    const budget = newBudget();
    const alone = download(pending, fetchMedia, signal, budget);
    alone.then(() => budget.close(), () => budget.close());
    return alone;
  }
  // One download per request: its retries and fallbacks reuse it, within one media.max_total_bytes budget.
  let byBase = downloadsPerRequest.get(request);
  if (!byBase) {
    byBase = new Map();
    downloadsPerRequest.set(request, byBase);
  }
  const known = byBase.get(baseUrl);
  if (known) return known.downloads;
  // Attempts run one after another: one at another base URL (a fallback) is over, and its media are
  // given back (a later attempt there fetches them again), so a route across base URLs holds one
  // request's media at a time.
  for (const [otherBase, other] of byBase) {
    byBase.delete(otherBase);
    other.budget.close();
  }
  const budget = newBudget();
  const downloads = download(pending, fetchMedia, signal, budget);
  const entry = { downloads, budget };
  byBase.set(baseUrl, entry);
  // A failed download (an attempt's abort, a stall) is not reused: the next attempt fetches again,
  // and its bytes are given back at once; a request holds what it downloaded until it ends.
  const forget = () => {
    if (byBase.get(baseUrl) === entry) byBase.delete(baseUrl);
    budget.close();
  };
  downloads.then(() => request.onEnd(() => budget.close()), forget);
  return downloads;
}

/** The downloads of one request's media (CallOptions.request), per Gemini base URL (the parts' paths stay when a recovery appends a message), with the budget they were taken from. */
const downloadsPerRequest = new WeakMap<RequestHandle, Map<string, { readonly downloads: Promise<FetchedMediaByPath>; readonly budget: MediaBudget }>>();

async function download(pending: readonly { url: string; param: string }[], fetchMedia: MediaFetcher, signal: AbortSignalLike, budget: MediaBudget): Promise<FetchedMediaByPath> {
  // Each URL is downloaded once, however many parts name it (the first names it in errors).
  const firstOf = new Map<string, { url: string; param: string }>();
  for (const part of pending) if (!firstOf.has(part.url)) firstOf.set(part.url, part);
  const unique = [...firstOf.values()];
  const byUrl = new Map<string, FetchedMedia>();
  // The first download that fails fails the request: the others are stopped with it, not left to run to their own timeouts.
  const siblings = new LightAbort();
  const follow = () => siblings.abort(signal.reason);
  if (signal.aborted) follow();
  else signal.addEventListener("abort", follow);
  const fetchOne = ({ url, param }: { url: string; param: string }) =>
    fetchMedia({ url, param, signal: siblings, budget }).catch((error: unknown) => {
      siblings.abort(error);
      throw error;
    });
  try {
    for (let start = 0; start < unique.length; start += FETCH_CONCURRENCY) {
      const batch = unique.slice(start, start + FETCH_CONCURRENCY);
      const results = await Promise.all(batch.map(fetchOne));
      results.forEach((result, index) => byUrl.set(batch[index]?.url ?? "", result));
    }
  } finally {
    signal.removeEventListener("abort", follow);
  }
  // Every part is inlined in the request, so each counts against the total, repeated URLs too.
  const fetched = new Map<string, FetchedMedia>();
  let total = 0;
  for (const { url, param } of pending) {
    const result = byUrl.get(url);
    if (!result) continue;
    total += result.bytes.byteLength;
    if (total > budget.limitBytes) {
      throw invalidRequest(`Invalid '${param}': the media URL could not be used: the media of this request take more than the ${budget.limitBytes}-byte total limit (media.max_total_bytes).`, param);
    }
    fetched.set(param, result);
  }
  return fetched;
}

/**
 * Builds the Gemini part for one media content part, using `fetched` for URLs the gateway
 * downloaded. The MIME type of fetched media is mime_type, else the response's Content-Type (unless
 * generic), else the URL's extension; with none of them it is a 400, and so is a Content-Type of
 * another kind than the part's (`kind`; a file part takes any). Pure.
 */
export function toGeminiMediaPart(kind: MediaKind, media: Media, param: string, baseUrl: string, fetched: FetchedMediaByPath): GeminiRequestPart {
  const source = classifyGeminiMedia(media, param, baseUrl);
  if (source.kind === "inline") return { inlineData: { mimeType: source.mimeType, data: source.base64 } };
  if (source.kind === "file-uri") return { fileData: source.mimeType ? { mimeType: source.mimeType, fileUri: source.uri } : { fileUri: source.uri } };
  const download = fetched.get(param);
  if (!download) throw invalidRequest(`Invalid '${param}': the media URL was not fetched.`, param);
  const served = download.mimeType && download.mimeType !== "application/octet-stream" ? canonicalMediaType(download.mimeType) : "";
  // What the server sent must be the kind of media the part is (a login page is not an image); a file part takes any type.
  if (!media.mimeType && served && kind !== "file" && mediaKindOf(served) !== kind) {
    throw invalidRequest(`Invalid '${param}': the media URL could not be used: the server sent ${served.slice(0, 80)}, not ${kind === "image" ? "an image" : kind}.`, param);
  }
  const mimeType = canonicalMediaType(media.mimeType || served) || mimeTypeFromPath(source.url);
  if (!mimeType) throw invalidRequest(`Invalid '${param}': cannot tell the media type of the fetched URL; set mime_type.`, param);
  return { inlineData: { mimeType, data: Buffer.from(download.bytes).toString("base64") } };
}
