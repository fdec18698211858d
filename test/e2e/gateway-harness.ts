import type { AddressInfo } from "node:net";
import { buildApp, type BuiltApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";
import { startFakeUpstream, type FakeUpstream } from "../support/fake-upstream.js";

/** The gateway key the e2e suites send. */
export const GATEWAY_KEY = "sy-e2e-key-0123456789";
/** The model id every suite asks for. */
export const MODEL = "openai-main/gpt-4o-mini";
/** The provider key the gateway holds for the fake upstream. */
export const UPSTREAM_KEY = "sk-upstream-e2e";

/** A real gateway listening on 127.0.0.1:<ephemeral> in front of a real fake upstream. */
export interface RunningGateway {
  readonly built: BuiltApp;
  readonly upstream: FakeUpstream;
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly origin: string;
  /** Closes the gateway, then the upstream; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Starts the fake upstream and the gateway (buildApp + listen on port 0) with config text parsed
 * exactly as a config file would be: one `openai-main` account whose base_url is the fake upstream,
 * and one gateway key. Retries are kept short so upstream-error tests stay fast, and the circuit
 * breaker never opens, so error tests cannot starve the tests that follow them.
 */
export async function startGateway(options: { extraYaml?: string } = {}): Promise<RunningGateway> {
  const upstream = await startFakeUpstream();
  const yaml = `server: { host: 127.0.0.1, port: 0, shutdown_grace_ms: 5000 }
keys:
  - { name: e2e, key: "\${E2E_GATEWAY_KEY}" }
providers:
  openai-main:
    type: openai
    api_key: "\${E2E_UPSTREAM_KEY}"
    base_url: "${upstream.baseUrl}"
    models: [gpt-4o-mini]
routing:
  retry: { max_retries: 1, base_delay_ms: 10, max_delay_ms: 50, budget_ms: 2000 }
  circuit_breaker: { failure_threshold: 1000, cooldown_ms: 1000 }
logging: { level: silent }
${options.extraYaml ?? ""}`;
  const config = parseConfigText(yaml, "e2e.yaml", { E2E_GATEWAY_KEY: GATEWAY_KEY, E2E_UPSTREAM_KEY: UPSTREAM_KEY });
  const built = await buildApp({ config });
  await built.app.listen({ host: "127.0.0.1", port: 0 });
  const port = (built.app.server.address() as AddressInfo).port;
  let closed = false;
  return {
    built,
    upstream,
    port,
    origin: `http://127.0.0.1:${port}`,
    async close() {
      if (closed) return;
      closed = true;
      await built.app.close();
      await upstream.close();
    },
  };
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
