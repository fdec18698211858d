import { lookup as dnsLookup } from "node:dns/promises";
import { isIP, type LookupFunction } from "node:net";
import type { Transform } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate, createInflateRaw } from "node:zlib";
import type { Dispatcher } from "undici";
import { withLookupSlots, type SlottedLookup } from "../net/lookup-slots.js";
import { Agent, dispatchRequest } from "../net/undici-slim.js";
import { Code } from "@connectrpc/connect";
import { gatewayError, GatewayError, gatewayOverloaded, Reason } from "../core/errors.js";
import { nonPublicAddressKind } from "./address-policy.js";
import { zlibWrapped } from "../providers/upstream-decoding.js";
import { toAbortSignal, type AbortSignalLike } from "../core/light-abort.js";
import type { MediaBudget } from "./media-budget.js";

/** Media bytes fetched from a URL, with the media type the server declared ("" when none). */
export interface FetchedMedia {
  readonly bytes: Uint8Array;
  /** The Content-Type of the final response without parameters, lower-cased; "" when absent. */
  readonly mimeType: string;
}

/** One fetch: the URL, the request path of the content part that named it (for errors), and the caller's signal. */
export interface MediaFetchRequest {
  readonly url: string;
  /** OpenAI-style path of the content part, e.g. "messages[0].content[1]"; errors carry it as param. */
  readonly param: string;
  readonly signal: AbortSignalLike;
  /** The request's shared media budget; without one, only the per-download `maxBytes` applies. */
  readonly budget?: MediaBudget;
}

/**
 * Fetches a caller-supplied media URL. Rejects with a GatewayError: INVALID_ARGUMENT /
 * INVALID_REQUEST (param = the content part) when the URL cannot be used, CANCELED when the
 * caller's signal aborts.
 */
export type MediaFetcher = (request: MediaFetchRequest) => Promise<FetchedMedia>;

/** One resolved address of a host name. */
export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to all its addresses; rejects when it cannot. */
export type HostResolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** Settings of the guarded fetcher (the gateway config's `media` section, plus test seams). */
export interface GuardedMediaFetchSettings {
  /** Allows loopback, private and link-local targets (trusted networks and tests only). */
  readonly allowPrivateNetwork: boolean;
  /** Largest body accepted, in bytes. */
  readonly maxBytes: number;
  /** Bound on the whole fetch, redirects included, in milliseconds. */
  readonly timeoutMs: number;
  /** DNS resolution; defaults to the system resolver (all addresses). */
  readonly resolve?: HostResolver;
  /**
   * Says why an address is refused, or undefined to allow it; defaults to
   * {@link nonPublicAddressKind}. A seam for tests that must reach a local server while keeping
   * the other rules; ignored when `allowPrivateNetwork` is set.
   */
  readonly refuseAddress?: (address: string) => string | undefined;
}

/** Default body cap: 20 MiB. */
export const DEFAULT_MEDIA_MAX_BYTES = 20 * 1024 * 1024;
/** Default bound on one media fetch: 15 s. */
export const DEFAULT_MEDIA_TIMEOUT_MS = 15_000;
/**
 * Media host-name lookups that run at once, in the whole process (one resolver's calls share them,
 * whichever fetcher, that is whichever Gemini or Anthropic account, makes them). A lookup holds a
 * libuv pool thread until the system answers, abandoned or not, and libuv runs at most two lookups
 * at once (half its four threads): callers' URLs naming host names whose DNS servers never answer
 * can hold one of them at most, and provider connections keep the other.
 */
export const MEDIA_LOOKUP_SLOTS = 1;
/** Redirects followed before the fetch is refused. */
export const MAX_MEDIA_REDIRECTS = 5;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Each resolver's slotted lookup, shared by every fetcher that uses it. */
const slottedLookups = new WeakMap<HostResolver, SlottedLookup<readonly ResolvedAddress[]>>();

/** The lookup of `resolver` under the process-wide {@link MEDIA_LOOKUP_SLOTS}. */
function slottedLookupOf(resolver: HostResolver): SlottedLookup<readonly ResolvedAddress[]> {
  let slotted = slottedLookups.get(resolver);
  if (!slotted) {
    slotted = withLookupSlots(resolver, MEDIA_LOOKUP_SLOTS);
    slottedLookups.set(resolver, slotted);
  }
  return slotted;
}

const systemResolver: HostResolver = async (hostname) => {
  const addresses = await dnsLookup(hostname, { all: true, verbatim: true });
  return addresses.map((entry) => ({ address: entry.address, family: entry.family === 6 ? 6 : 4 }));
};

/** Thrown inside the fetch loop; turned into the caller-facing GatewayError at the end. */
class MediaRefusal extends Error {}

function refusal(why: string): MediaRefusal {
  return new MediaRefusal(why);
}

function mediaError(param: string, why: string, cause?: unknown): GatewayError {
  return gatewayError(Code.InvalidArgument, Reason.INVALID_REQUEST, `Invalid '${param}': the media URL could not be used: ${why}.`, { param }, cause);
}

/** A lookup that always answers with the vetted address, so the socket goes where the check looked. */
function pinnedLookup(pinned: ResolvedAddress): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: pinned.address, family: pinned.family }]);
    else callback(null, pinned.address, pinned.family);
  };
}

function parseTarget(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refusal("it is not a valid URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw refusal("only http and https URLs can be fetched");
  if (url.username || url.password) throw refusal("URLs with embedded credentials are not fetched");
  return url;
}

/**
 * The refusal of a host name that does not resolve, or resolves to an address the gateway does not
 * fetch from: one message for both, so a caller cannot tell which internal names exist.
 */
const UNUSABLE_HOST_NAME = "its host name does not resolve to a public address";

async function resolveAndCheck(url: URL, settings: GuardedMediaFetchSettings, resolve: SlottedLookup<readonly ResolvedAddress[]>, signal: AbortSignal): Promise<ResolvedAddress> {
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  let addresses: readonly ResolvedAddress[];
  const literal = isIP(host);
  if (literal !== 0) {
    addresses = [{ address: host, family: literal === 6 ? 6 : 4 }];
  } else {
    addresses = await resolve(host, signal).catch((error: unknown) => {
      if (signal.aborted) throw error;
      throw refusal(UNUSABLE_HOST_NAME);
    });
  }
  const first = addresses[0];
  if (!first) throw refusal(UNUSABLE_HOST_NAME);
  if (!settings.allowPrivateNetwork) {
    const refuseAddress = settings.refuseAddress ?? nonPublicAddressKind;
    for (const entry of addresses) {
      const kind = refuseAddress(entry.address);
      // The caller wrote an address: saying its kind tells nothing new.
      if (kind !== undefined) throw refusal(literal !== 0 ? `its host resolves to a ${kind} address, which the gateway does not fetch from` : UNUSABLE_HOST_NAME);
    }
  }
  return first;
}

/** Releases a body we will not read. Destroying an undici body emits an AbortError, which nobody else would handle. */
function discard(body: Dispatcher.ResponseData["body"]): void {
  body.on("error", () => undefined);
  body.destroy();
}

/** The refusal for media that did not fit `short`: the request's own total (a 400), or the process's bound (a 503 to retry). */
function overBudget(short: MediaBudget): Error {
  if (short.processWide) {
    return gatewayOverloaded(`the gateway is holding as much media as it may at once (media.max_inflight_bytes, ${short.limitBytes} bytes): try again shortly`);
  }
  return refusal(`the media of this request take more than the ${short.limitBytes}-byte total limit (media.max_total_bytes)`);
}

async function readCapped(response: Dispatcher.ResponseData, maxBytes: number, budget: MediaBudget | undefined): Promise<Uint8Array> {
  const declared = response.headers["content-length"];
  const declaredText = Array.isArray(declared) ? declared[0] : declared;
  if (declaredText !== undefined && /^\d+$/.test(declaredText)) {
    if (Number(declaredText) > maxBytes) {
      discard(response.body);
      throw refusal(`the response is ${declaredText} bytes, more than the ${maxBytes}-byte limit`);
    }
    const short = budget?.shortOf(Number(declaredText));
    if (short) {
      discard(response.body);
      throw overBudget(short);
    }
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    const buffer = chunk as Buffer;
    size += buffer.byteLength;
    if (size > maxBytes) {
      discard(response.body);
      throw refusal(`the response is larger than the ${maxBytes}-byte limit`);
    }
    const short = budget?.take(buffer.byteLength);
    if (short) {
      discard(response.body);
      throw overBudget(short);
    }
    chunks.push(buffer);
  }
  return new Uint8Array(Buffer.concat(chunks, size));
}

/** The content codings a media server may answer with (it is asked for identity, but stored objects are served as stored), each a decoding stream for the body; deflate is zlib-wrapped or raw. */
const MEDIA_DECODERS: ReadonlyMap<string, (bytes: Uint8Array) => Transform> = new Map<string, (bytes: Uint8Array) => Transform>([
  ["gzip", () => createGunzip()],
  ["x-gzip", () => createGunzip()],
  ["deflate", (bytes) => (zlibWrapped(bytes) ? createInflate() : createInflateRaw())],
  ["br", () => createBrotliDecompress()],
]);

/**
 * The body as the media itself: decoded when the server applied a content coding (gzip, deflate,
 * br; one layer), with the decoded size under `maxBytes`, and each decoded piece taken from the
 * budget as it comes (so downloads decoding at once cannot together go past it); the coded bytes,
 * taken as they arrived, are given back once decoded.
 */
async function decodedBody(response: Dispatcher.ResponseData, bytes: Uint8Array, maxBytes: number, budget: MediaBudget | undefined): Promise<Uint8Array> {
  const header = response.headers["content-encoding"];
  const coding = (Array.isArray(header) ? header.join(",") : (header ?? "")).trim().toLowerCase();
  if (coding === "" || coding === "identity") return bytes;
  const decoder = MEDIA_DECODERS.get(coding)?.(bytes);
  if (!decoder) throw refusal(`the server sent it with content-encoding "${coding.slice(0, 40)}", which the gateway does not decode`);
  const chunks: Buffer[] = [];
  let size = 0;
  let taken = 0;
  decoder.end(bytes);
  try {
    for await (const chunk of decoder) {
      const piece = chunk as Buffer;
      size += piece.byteLength;
      if (size > maxBytes) throw refusal(`the response is larger than the ${maxBytes}-byte limit once decoded`);
      const short = budget?.take(piece.byteLength);
      if (short) throw overBudget(short);
      taken += piece.byteLength;
      chunks.push(piece);
    }
  } catch (error) {
    decoder.destroy();
    budget?.release(taken);
    if (error instanceof MediaRefusal || error instanceof GatewayError) throw error;
    throw refusal(`the response does not decode as its content-encoding "${coding}" says`);
  }
  budget?.release(bytes.byteLength);
  return new Uint8Array(Buffer.concat(chunks, size));
}

function contentTypeOf(response: Dispatcher.ResponseData): string {
  const header = response.headers["content-type"];
  const value = Array.isArray(header) ? header[0] : header;
  return (value ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/**
 * Creates the gateway's only way to fetch a URL a caller supplied. It guarantees: only http and
 * https; the host is resolved by the gateway and every resolved address must be public unicast
 * (no loopback, private, carrier-grade NAT, link-local incl. cloud metadata, unique-local,
 * multicast or reserved ranges, also in IPv4-mapped/NAT64/6to4 IPv6 form) unless
 * `allowPrivateNetwork`; the TCP connection is pinned to the vetted address, so a DNS answer that
 * changes between check and connect (rebinding) cannot redirect it; redirects are followed by hand,
 * at most {@link MAX_MEDIA_REDIRECTS}, each hop checked again; the body is capped at `maxBytes`
 * and by the request's {@link MediaBudget} when one is given (declared Content-Length and streamed
 * count; a body the server sent gzip-, deflate- or br-coded despite `accept-encoding: identity` is
 * decoded, under the same caps) and the whole fetch, name resolution included, at `timeoutMs` (and
 * the caller's signal). Media past the request's budget is a 400 naming the part; past the
 * process-wide budget (its parent), a 503 GATEWAY_OVERLOADED with a Retry-After.
 * Error messages say why the URL could not be used but never repeat the URL (it may hold signed tokens).
 */
export function createGuardedMediaFetcher(settings: GuardedMediaFetchSettings): MediaFetcher {
  const resolve = slottedLookupOf(settings.resolve ?? systemResolver);
  return async ({ url: rawUrl, param, signal, budget }) => {
    if (signal.aborted) throw gatewayError(Code.Canceled, Reason.CANCELED, "the caller canceled the request");
    const timeout = AbortSignal.timeout(settings.timeoutMs);
    const combined = AbortSignal.any([toAbortSignal(signal), timeout]);
    const agents: Agent[] = [];
    try {
      let url = parseTarget(rawUrl);
      for (let hop = 0; ; hop++) {
        const pinned = await resolveAndCheck(url, settings, resolve, combined);
        if (combined.aborted) throw refusal("aborted");
        const agent = new Agent({
          connect: { lookup: pinnedLookup(pinned), timeout: settings.timeoutMs },
          connections: 1,
          pipelining: 0,
        });
        agents.push(agent);
        let response: Dispatcher.ResponseData;
        try {
          response = await dispatchRequest(agent, {
            origin: url.origin,
            path: `${url.pathname}${url.search}`,
            method: "GET",
            headers: { accept: "*/*", "accept-encoding": "identity", "user-agent": "switchyard-media-fetch/1" },
            signal: combined,
          });
        } catch (error) {
          if (combined.aborted) throw error;
          throw refusal("the server could not be reached");
        }
        if (REDIRECT_STATUSES.has(response.statusCode)) {
          discard(response.body);
          const location = response.headers.location;
          const next = Array.isArray(location) ? location[0] : location;
          if (!next) throw refusal(`the server answered HTTP ${response.statusCode} without a Location`);
          if (hop + 1 > MAX_MEDIA_REDIRECTS) throw refusal(`it redirected more than ${MAX_MEDIA_REDIRECTS} times`);
          let resolved: string;
          try {
            resolved = new URL(next, url).toString();
          } catch {
            throw refusal("it redirected to an invalid URL");
          }
          url = parseTarget(resolved);
          continue;
        }
        if (response.statusCode < 200 || response.statusCode >= 300) {
          discard(response.body);
          throw refusal(`the server answered HTTP ${response.statusCode}`);
        }
        const bytes = await decodedBody(response, await readCapped(response, settings.maxBytes, budget), settings.maxBytes, budget);
        return { bytes, mimeType: contentTypeOf(response) };
      }
    } catch (error) {
      if (signal.aborted) throw gatewayError(Code.Canceled, Reason.CANCELED, "the caller canceled the request", {}, error);
      if (timeout.aborted) throw mediaError(param, `it did not answer within ${settings.timeoutMs} ms`, error);
      if (error instanceof MediaRefusal) throw mediaError(param, error.message);
      // The process's in-flight bound (overBudget): the gateway's state, not the URL's fault.
      if (error instanceof GatewayError) throw error;
      throw mediaError(param, "the download failed", error);
    } finally {
      for (const agent of agents) void agent.destroy().catch(() => undefined);
    }
  };
}
