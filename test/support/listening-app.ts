/**
 * A real gateway from a YAML config, listening on a loopback port: what end-to-end tests that
 * need only the app (no harness of upstream injectors) start.
 */
import type { AddressInfo } from "node:net";
import { buildApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";

/** A listening gateway: its origin (`http://127.0.0.1:<port>`) and how to close it. */
export interface ListeningApp {
  readonly origin: string;
  close(): Promise<void>;
}

/** Builds the app from `yaml` (parsed as a config file named `source`, no environment) and listens on a free loopback port. */
export async function listenApp(yaml: string, source: string, logStream?: { write(line: string): void }): Promise<ListeningApp> {
  const built = await buildApp({ config: parseConfigText(yaml, source, {}), ...(logStream ? { logStream } : {}) });
  await built.app.listen({ host: "127.0.0.1", port: 0 });
  return { origin: `http://127.0.0.1:${(built.app.server.address() as AddressInfo).port}`, close: () => built.app.close() };
}
