import net from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { buildApp, type BuiltApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";

interface LogLine {
  readonly msg: string;
  readonly cause?: string;
}

let built: BuiltApp | undefined;
afterEach(async () => {
  await built?.app.close();
  built = undefined;
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("a provider that cannot be reached", () => {
  it("is described to the caller by kind, without its address; the log line keeps the address", async () => {
    const port = await closedPort();
    const lines: LogLine[] = [];
    const yaml = `providers:\n  gone: { type: openai-compatible, base_url: "http://127.0.0.1:${port}/v1" }\nrouting: { retry: { max_retries: 1, base_delay_ms: 1 } }\nlogging: { level: warn }\n`;
    built = await buildApp({ config: parseConfigText(yaml, "gone.yaml", {}), logStream: { write: (line) => lines.push(JSON.parse(line) as LogLine) } });
    await built.app.listen({ host: "127.0.0.1", port: 0 });
    const origin = `http://127.0.0.1:${(built.app.server.address() as AddressInfo).port}`;

    const response = await fetch(`${origin}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "gone/m", messages: [{ role: "user", content: "hi" }] }) });
    const text = await response.text();
    expect(response.status).toBe(503);
    const body = JSON.parse(text) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("provider_unreachable");
    expect(body.error.message).toContain("could not reach the provider: connection refused");
    expect(text).not.toContain(String(port));
    expect(text).not.toContain("127.0.0.1");
    expect(text).not.toContain("ECONNREFUSED");

    const logged = lines.filter((line) => line.cause !== undefined);
    expect(logged.length).toBeGreaterThan(0);
    for (const line of logged) expect(line.cause).toContain(`ECONNREFUSED 127.0.0.1:${port}`);
  });
});
