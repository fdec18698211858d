import { createRequire } from "node:module";
import type { Agent as UndiciAgent, Dispatcher } from "undici";

/*
 * undici's package entry loads everything it offers (fetch, WebSocket, EventSource, caches, mocks,
 * proxies): about 6.5 MB of resident memory per process that the gateway never uses
 * (bench/PROFILE.md). The gateway needs only the Agent (and, for media fetches, the `request`
 * API), loaded here by their paths inside the pinned undici version (package.json pins it
 * exactly; the types are the package's own).
 */
const load = createRequire(import.meta.url);

/** undici's Agent (a pool of connection pools, one per origin). */
export const Agent = load("undici/lib/dispatcher/agent.js") as typeof UndiciAgent;
/** An undici Agent instance. */
export type Agent = UndiciAgent;

type ApiRequest = (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
// Loaded on first use: only the media fetcher needs it (upstream calls use undici-exchange.ts).
let apiRequest: ApiRequest | undefined;

/** `dispatcher.request(options)` without the package entry: undici's request API on any dispatcher. */
export function dispatchRequest(dispatcher: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData> {
  apiRequest ??= load("undici/lib/api/api-request.js") as ApiRequest;
  return apiRequest.call(dispatcher, options);
}
