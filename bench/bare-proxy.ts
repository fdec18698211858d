/**
 * The Node floor: the smallest honest pass-through proxy in plain `node:http`. It reads the request
 * body, parses the JSON once (a proxy that routes must at least read `model`), forwards the bytes
 * to the upstream over a keep-alive agent, and pipes the answer back (JSON or SSE, unbuffered).
 *
 * Runs as its own process: `node --import tsx bench/bare-proxy.ts <upstream base URL> [port]`;
 * prints `READY <port>` on stdout once listening.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Starts the proxy in front of `upstream` (e.g. http://127.0.0.1:9000); resolves with the bound port. */
export function startBareProxy(upstream: string, port: number): Promise<{ server: http.Server; port: number }> {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 512, scheduling: "lifo" });
  const server = http.createServer({ keepAliveTimeout: 120_000, headersTimeout: 130_000, requestTimeout: 0, noDelay: true }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      let model: unknown;
      try {
        model = (JSON.parse(body.toString("utf8")) as { model?: unknown }).model;
      } catch {
        model = undefined;
      }
      if (typeof model !== "string") {
        res.writeHead(400, { "content-type": "application/json" });
        res.end('{"error":{"message":"model is required","type":"invalid_request_error"}}');
        return;
      }
      const upstreamRequest = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          method: "POST",
          path: req.url,
          headers: {
            "content-type": "application/json",
            "content-length": body.length,
            authorization: req.headers.authorization ?? "Bearer bench",
            accept: req.headers.accept ?? "application/json",
          },
        },
        (upstreamResponse) => {
          const headers: http.OutgoingHttpHeaders = { "content-type": upstreamResponse.headers["content-type"] ?? "application/json" };
          const length = upstreamResponse.headers["content-length"];
          if (length !== undefined) headers["content-length"] = length;
          res.writeHead(upstreamResponse.statusCode ?? 502, headers);
          upstreamResponse.pipe(res);
        },
      );
      upstreamRequest.on("error", (error) => {
        if (res.headersSent) res.destroy();
        else {
          res.writeHead(502, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: { message: error.message, type: "upstream_error" } }));
        }
      });
      res.on("close", () => {
        if (!res.writableFinished) upstreamRequest.destroy();
      });
      upstreamRequest.end(body);
    });
  });
  return new Promise((resolve) => {
    server.listen(port, "127.0.0.1", () => resolve({ server, port: (server.address() as AddressInfo).port }));
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const upstream = process.argv[2];
  if (!upstream) {
    process.stderr.write("usage: bare-proxy.ts <upstream base URL> [port]\n");
    process.exit(2);
  }
  const { port } = await startBareProxy(upstream, Number(process.argv[3] ?? 0));
  process.stdout.write(`READY ${port}\n`);
  process.on("SIGTERM", () => process.exit(0));
}
