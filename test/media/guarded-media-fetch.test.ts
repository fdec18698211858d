import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { brotliCompressSync, deflateRawSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayError } from "../../src/core/errors.js";
import { nonPublicAddressKind } from "../../src/media/address-policy.js";
import { createGuardedMediaFetcher, type GuardedMediaFetchSettings } from "../../src/media/guarded-media-fetch.js";

const PNG = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
let server: Server;
let origin: string;
let port: number;
const hits: string[] = [];

function route(request: IncomingMessage, response: ServerResponse): void {
  const url = new URL(request.url ?? "/", "http://local");
  hits.push(`${request.headers.host ?? ""} ${url.pathname}`);
  switch (url.pathname) {
    case "/image.png":
      response.writeHead(200, { "content-type": "image/png; charset=binary", "content-length": PNG.length });
      response.end(PNG);
      return;
    case "/big-declared":
      response.writeHead(200, { "content-type": "video/mp4", "content-length": 1_000_000 });
      response.write(Buffer.alloc(1024));
      return;
    case "/big-chunked": {
      response.writeHead(200, { "content-type": "video/mp4" });
      let sent = 0;
      const pump = () => {
        if (sent >= 1_000_000 || response.destroyed) return response.end();
        sent += 16_384;
        response.write(Buffer.alloc(16_384), pump);
      };
      pump();
      return;
    }
    case "/gzip.png":
      // A stored object served as stored, whatever the request asked for (S3 with Content-Encoding: gzip).
      hits.push(`accept-encoding ${request.headers["accept-encoding"] ?? ""}`);
      response.writeHead(200, { "content-type": "image/png", "content-encoding": "gzip" }).end(gzipSync(PNG));
      return;
    case "/deflate.png":
      response.writeHead(200, { "content-type": "image/png", "content-encoding": "deflate" }).end(deflateRawSync(PNG));
      return;
    case "/br.png":
      response.writeHead(200, { "content-type": "image/png", "content-encoding": "br" }).end(brotliCompressSync(PNG));
      return;
    case "/bomb.bin":
      response.writeHead(200, { "content-type": "image/png", "content-encoding": "gzip" }).end(gzipSync(Buffer.alloc(1_000_000)));
      return;
    case "/zstd.png":
      response.writeHead(200, { "content-type": "image/png", "content-encoding": "zstd" }).end(PNG);
      return;
    case "/hang":
      return;
    case "/missing":
      response.writeHead(404).end("nope");
      return;
    case "/redirect":
      response.writeHead(302, { location: url.searchParams.get("to") ?? "/image.png" }).end();
      return;
    case "/loop":
      response.writeHead(301, { location: "/loop" }).end();
      return;
    default:
      response.writeHead(500).end();
  }
}

beforeAll(async () => {
  server = createServer(route);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const defaults: GuardedMediaFetchSettings = { allowPrivateNetwork: false, maxBytes: 64 * 1024, timeoutMs: 2_000 };
/** The default policy, except that this test server's own address (127.0.0.1) is reachable. */
const allowTestServerOnly = (address: string) => (address === "127.0.0.1" ? undefined : nonPublicAddressKind(address));

async function fetchError(settings: GuardedMediaFetchSettings, url: string, signal = new AbortController().signal): Promise<GatewayError> {
  try {
    await createGuardedMediaFetcher(settings)({ url, param: "messages[0].content[1]", signal });
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error("expected the fetch to fail");
}

describe("createGuardedMediaFetcher against a local server", () => {
  it("refuses 127.0.0.1 by default, before connecting", async () => {
    hits.length = 0;
    const error = await fetchError(defaults, `${origin}/image.png`);
    expect(error.reason).toBe("INVALID_REQUEST");
    expect(error.facts.param).toBe("messages[0].content[1]");
    expect(error.rawMessage).toMatch(/^Invalid 'messages\[0\]\.content\[1\]': the media URL could not be used: .*loopback/);
    expect(hits).toEqual([]);
  });

  it("refuses localhost, [::1] and hosts resolving to private addresses (a name's refusal does not say which kind)", async () => {
    expect((await fetchError(defaults, `http://localhost:${port}/image.png`)).rawMessage).toMatch(/its host name does not resolve to a public address/);
    expect((await fetchError(defaults, `http://[::1]:${port}/image.png`)).rawMessage).toMatch(/loopback/);
    const resolve = async () => [{ address: "8.8.8.8", family: 4 as const }, { address: "10.0.0.7", family: 4 as const }];
    expect((await fetchError({ ...defaults, resolve }, "http://mixed.test/a.png")).rawMessage).toMatch(/its host name does not resolve to a public address/);
  });

  it("fetches from 127.0.0.1 when allowPrivateNetwork is set, returning bytes and the bare content type", async () => {
    const fetched = await createGuardedMediaFetcher({ ...defaults, allowPrivateNetwork: true })({ url: `${origin}/image.png`, param: "p", signal: new AbortController().signal });
    expect(Buffer.from(fetched.bytes)).toEqual(PNG);
    expect(fetched.mimeType).toBe("image/png");
  });

  it("pins the connection to the vetted address (a name the system resolver does not know still reaches it)", async () => {
    hits.length = 0;
    let lookups = 0;
    const resolve = async () => {
      lookups++;
      return [{ address: "127.0.0.1", family: 4 as const }];
    };
    const fetched = await createGuardedMediaFetcher({ ...defaults, resolve, refuseAddress: allowTestServerOnly })({ url: `http://media.switchyard.invalid:${port}/image.png`, param: "p", signal: new AbortController().signal });
    expect(fetched.bytes.length).toBe(PNG.length);
    expect(lookups).toBe(1);
    expect(hits).toEqual([`media.switchyard.invalid:${port} /image.png`]);
  });

  it("follows a redirect to an allowed address", async () => {
    const fetched = await createGuardedMediaFetcher({ ...defaults, refuseAddress: allowTestServerOnly })({ url: `${origin}/redirect?to=/image.png`, param: "p", signal: new AbortController().signal });
    expect(fetched.mimeType).toBe("image/png");
  });

  it.each([
    ["cloud metadata", "http://169.254.169.254/latest/meta-data/", /link-local/],
    ["a private address", "http://10.1.2.3/x.png", /private/],
    ["an IPv4-mapped loopback", "http://[::ffff:127.0.0.2]/x.png", /IPv4-mapped loopback/],
    ["a non-http scheme", "file:///etc/passwd", /only http and https/],
  ])("refuses a redirect to %s", async (_name, target, why) => {
    hits.length = 0;
    const error = await fetchError({ ...defaults, refuseAddress: allowTestServerOnly }, `${origin}/redirect?to=${encodeURIComponent(target)}`);
    expect(error.rawMessage).toMatch(why);
    expect(hits).toHaveLength(1);
  });

  it("refuses after five redirects", async () => {
    hits.length = 0;
    const error = await fetchError({ ...defaults, refuseAddress: allowTestServerOnly }, `${origin}/loop`);
    expect(error.rawMessage).toMatch(/redirected more than 5 times/);
    expect(hits).toHaveLength(6);
  });

  it("refuses a body whose Content-Length exceeds the cap", async () => {
    const error = await fetchError({ ...defaults, allowPrivateNetwork: true }, `${origin}/big-declared`);
    expect(error.rawMessage).toMatch(/1000000 bytes, more than the 65536-byte limit/);
  });

  it("stops reading a streamed body once it exceeds the cap", async () => {
    const error = await fetchError({ ...defaults, allowPrivateNetwork: true }, `${origin}/big-chunked`);
    expect(error.rawMessage).toMatch(/larger than the 65536-byte limit/);
  });

  it("asks for identity, and decodes a body served gzip-, deflate- or br-coded anyway: the media, not their coding, reach the provider", async () => {
    const fetcher = createGuardedMediaFetcher({ ...defaults, allowPrivateNetwork: true });
    hits.length = 0;
    for (const path of ["/gzip.png", "/deflate.png", "/br.png"]) {
      const fetched = await fetcher({ url: `${origin}${path}`, param: "p", signal: new AbortController().signal });
      expect(Buffer.from(fetched.bytes)).toEqual(PNG);
      expect(fetched.mimeType).toBe("image/png");
    }
    expect(hits).toContain("accept-encoding identity");
  });

  it("refuses a coded body larger than the cap once decoded, and a coding it does not decode", async () => {
    const bomb = await fetchError({ ...defaults, allowPrivateNetwork: true }, `${origin}/bomb.bin`);
    expect(bomb.rawMessage).toMatch(/larger than the 65536-byte limit once decoded/);
    const zstd = await fetchError({ ...defaults, allowPrivateNetwork: true }, `${origin}/zstd.png`);
    expect(zstd.rawMessage).toMatch(/content-encoding "zstd", which the gateway does not decode/);
  });

  it("gives up after timeoutMs", async () => {
    const started = Date.now();
    const error = await fetchError({ ...defaults, allowPrivateNetwork: true, timeoutMs: 300 }, `${origin}/hang`);
    expect(error.rawMessage).toMatch(/did not answer within 300 ms/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("reports a non-2xx status without echoing the URL", async () => {
    const error = await fetchError({ ...defaults, allowPrivateNetwork: true }, `${origin}/missing?signature=s3cr3t-token`);
    expect(error.rawMessage).toMatch(/answered HTTP 404/);
    expect(error.rawMessage).not.toContain("s3cr3t");
  });

  it.each([
    ["ftp://example.com/a.png", /only http and https/],
    ["gs://bucket/a.png", /only http and https/],
    ["not a url", /not a valid URL/],
    [`http://user:pass@127.0.0.1:1/a.png`, /embedded credentials/],
  ])("refuses %s", async (url, why) => {
    expect((await fetchError({ ...defaults, allowPrivateNetwork: true }, url)).rawMessage).toMatch(why);
  });

  it("turns a caller abort into CANCELED", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const error = await fetchError({ ...defaults, allowPrivateNetwork: true }, `${origin}/hang`, controller.signal);
    expect(error.reason).toBe("CANCELED");
  });
});
