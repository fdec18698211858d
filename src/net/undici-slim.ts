import type { Agent as UndiciAgent, Dispatcher } from "undici";
import AgentModule from "undici/lib/dispatcher/agent.js";

/*
 * undici's package entry loads everything it offers (fetch, WebSocket, EventSource, caches, mocks,
 * proxies): about 6.5 MB of resident memory per process that the gateway never uses
 * (bench/PROFILE.md). The gateway needs only the Agent (and, for media fetches, the `request`
 * API), imported here by their paths inside the pinned undici version (package.json pins it
 * exactly; the types are the package's own). Static paths, so `npm run build` bundles them.
 */

/** undici's Agent (a pool of connection pools, one per origin). */
export const Agent = AgentModule as typeof UndiciAgent;
/** An undici Agent instance. */
export type Agent = UndiciAgent;

type ApiRequest = (this: Dispatcher, options: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
// Loaded on first use: only the media fetcher needs it (upstream calls use undici-exchange.ts).
let apiRequest: Promise<ApiRequest> | undefined;

/** `dispatcher.request(options)` without the package entry: undici's request API on any dispatcher. */
export async function dispatchRequest(dispatcher: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData> {
  apiRequest ??= import("undici/lib/api/api-request.js").then((module) => module.default as ApiRequest);
  return (await apiRequest).call(dispatcher, options);
}
