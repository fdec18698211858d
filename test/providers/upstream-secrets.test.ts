import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../src/app.js";
import { parseConfigText } from "../../src/config/load-config.js";
import { displayUrl, MAX_PROVIDER_FACT_CHARS, MAX_PROVIDER_TEXT, nonJsonErrorText, redactSecrets, requestSecrets, scrubSecrets } from "../../src/providers/upstream-status.js";
import { jsonAnswer, startFakeUpstream } from "../support/fake-upstream.js";

/** A key with no provider prefix (as Mistral and Azure keys look): scrubSecrets' patterns do not know it. */
const PLAIN_KEY = "mistralKEY0123456789abcdefABCDEF";
const HEADER_TOKEN = "tok_customHeader42";

describe("the account's own credentials, removed by value", () => {
  it("collects every non-plain header value, the token after an auth scheme, URL credentials and key-like query parameters", () => {
    const secrets = requestSecrets(
      { authorization: `Bearer ${PLAIN_KEY}`, "content-type": "application/json", "anthropic-version": "2023-06-01", "x-custom": HEADER_TOKEN, "x-short": "abc" },
      "https://svcuser:Sup3rS3cretPass@proxy.test/v1/chat?key=AIzaQueryKey123&alt=sse",
    );
    expect(secrets).toEqual(expect.arrayContaining([`Bearer ${PLAIN_KEY}`, PLAIN_KEY, HEADER_TOKEN, "Sup3rS3cretPass", "AIzaQueryKey123"]));
    expect(secrets).not.toContain("application/json");
    expect(secrets).not.toContain("abc");
    expect(secrets).not.toContain("sse");
    expect(redactSecrets(`bad key ${PLAIN_KEY}, header ${HEADER_TOKEN}`, secrets)).toBe("bad key [redacted], header [redacted]");
  });

  it("shows a URL without its user name, password or key-like parameters", () => {
    expect(displayUrl("https://svcuser:Sup3rS3cretPass@proxy.test/v1?key=abc123456&alt=sse")).toBe("https://[redacted]:[redacted]@proxy.test/v1?key=[redacted]&alt=sse");
    expect(displayUrl("https://api.openai.com/v1")).toBe("https://api.openai.com/v1");
    // A fragment is never sent upstream: only an operator's paste (a key) can be there.
    expect(displayUrl("https://proxy.test/v1#key=sk-live-0123456789")).toBe("https://proxy.test/v1#[redacted]");
    // Text that does not parse is not shown at all: which part of it is a secret cannot be told.
    expect(displayUrl("http://bob:pw-SECRET@127.0.0.1:99999/v1?api-key=QSECRET")).toBe("[not a valid URL]");
  });

  it("never lets a provider's refusal that echoes the key reach the caller or the log (REST and Connect)", async () => {
    const upstream = await startFakeUpstream();
    const lines: string[] = [];
    const yaml = `server: { host: 127.0.0.1, port: 0 }
providers:
  b: { type: openai-compatible, api_key: "${PLAIN_KEY}", base_url: "${upstream.baseUrl}", headers: { x-tenant-token: "${HEADER_TOKEN}" } }
routing:
  retry: { max_retries: 0 }
logging: { level: info }
`;
    const built = await buildApp({ config: parseConfigText(yaml, "secrets.yaml", {}), logStream: { write: (line) => lines.push(line) } });
    await built.app.listen({ host: "127.0.0.1", port: 0 });
    const origin = `http://127.0.0.1:${(built.app.server.address() as AddressInfo).port}`;
    try {
      for (const status of [400, 500]) {
        const echo = { error: { message: `Invalid request with key ${PLAIN_KEY}; tenant ${HEADER_TOKEN}`, type: "invalid_request_error", code: null, param: null } };
        upstream.enqueue(jsonAnswer(echo, { status }));
        const rest = await fetch(`${origin}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "b/m", messages: [{ role: "user", content: "hi" }] }) });
        const text = await rest.text();
        expect(rest.status).toBeGreaterThanOrEqual(400);
        expect(text).toContain("[redacted]");
        upstream.enqueue(jsonAnswer(echo, { status }));
        const connect = await fetch(`${origin}/switchyard.v1.ChatService/Chat`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ input: { model: "b/m", messages: [{ role: "ROLE_USER", content: [{ text: "hi" }] }] } }) });
        for (const answer of [text, await connect.text()]) {
          expect(answer).not.toContain(PLAIN_KEY);
          expect(answer).not.toContain(HEADER_TOKEN);
        }
      }
      await built.app.close();
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.join("\n")).not.toContain(PLAIN_KEY);
      expect(lines.join("\n")).not.toContain(HEADER_TOKEN);
    } finally {
      await built.app.close();
      await upstream.close();
    }
  });
});

describe("a provider message far longer than any error needs", () => {
  /** base64url without padding: one run of token characters, as a provider echoing an uploaded blob writes it. */
  const blob = (bytes: number) => Buffer.alloc(bytes, 0xa7).toString("base64url");

  it("is cut to MAX_PROVIDER_TEXT, without the token the cut went through, and scrubbed", () => {
    const huge = `Invalid image data: ${blob(12 * 1024 * 1024)}`;
    const shown = scrubSecrets(huge);
    expect(shown).toBe(`Invalid image data: … (${huge.length} characters in all)`);
    // A key the cut would have left too short for its pattern is dropped with the rest of its token.
    const straddling = `${"word ".repeat(MAX_PROVIDER_TEXT / 5 - 2)}key sk-proj-abcdefghijklmnopqrstuvwxyz0123456789 tail`;
    const cut = scrubSecrets(straddling);
    expect(cut.length).toBeLessThan(MAX_PROVIDER_TEXT + 40);
    expect(cut).not.toMatch(/sk-|abcdef/);
    expect(cut).toMatch(/key … \(\d+ characters in all\)$/);
    // Up to the bound, text is only scrubbed.
    expect(scrubSecrets(`short sk-abcdefghijkl message`)).toBe("short [redacted] message");
  });

  it("reaches the caller as the provider's error, short, over REST (it was a 500: the patterns overflowed their stack), and so do a long param and code", async () => {
    const upstream = await startFakeUpstream();
    const yaml = `server: { host: 127.0.0.1, port: 0 }
providers:
  b: { type: openai-compatible, api_key: k, base_url: "${upstream.baseUrl}" }
routing:
  retry: { max_retries: 0 }
`;
    const built = await buildApp({ config: parseConfigText(yaml, "long-message.yaml", {}), logStream: { write: () => undefined } });
    await built.app.listen({ host: "127.0.0.1", port: 0 });
    const origin = `http://127.0.0.1:${(built.app.server.address() as AddressInfo).port}`;
    try {
      upstream.enqueue(jsonAnswer({ error: { message: `Invalid image data: ${blob(12 * 1024 * 1024)}`, type: "invalid_request_error", code: "invalid_image", param: null } }, { status: 400 }));
      const answer = await fetch(`${origin}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "b/m", messages: [{ role: "user", content: "hi" }] }) });
      const body = (await answer.json()) as { error: { message: string; type: string } };
      expect(answer.status).toBe(400);
      expect(body.error.type).toBe("invalid_request_error");
      expect(body.error.message).toMatch(/Invalid image data: … \(\d+ characters in all\)/);
      expect(body.error.message.length).toBeLessThan(MAX_PROVIDER_TEXT);

      // A provider's param and code are identifiers: passed on at most MAX_PROVIDER_FACT_CHARS long.
      upstream.enqueue(jsonAnswer({ error: { message: "bad", type: "invalid_request_error", code: "c".repeat(9000), param: "p".repeat(9000) } }, { status: 400 }));
      const facts = await fetch(`${origin}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "b/m", messages: [{ role: "user", content: "hi" }] }) });
      const factsError = ((await facts.json()) as { error: { param: string; code: string } }).error;
      expect(facts.status).toBe(400);
      expect(factsError.param).toBe(`${"p".repeat(MAX_PROVIDER_FACT_CHARS - 1)}…`);
    } finally {
      await built.app.close();
      await upstream.close();
    }
  });
});

describe("nonJsonErrorText", () => {
  it("describes an HTML page by its title, and cuts other text to a scrubbed excerpt", () => {
    expect(nonJsonErrorText("<html><head><title> 503  Service\nUnavailable </title></head></html>")).toBe('an HTML page titled "503 Service Unavailable"');
    expect(nonJsonErrorText("<!doctype html><body>oops</body>")).toBe("an HTML page");
    expect(nonJsonErrorText("  upstream connect error\n or disconnect  ")).toBe("upstream connect error or disconnect");
    expect(nonJsonErrorText(`bad key sk-live-${"a".repeat(30)}`)).toBe("bad key [redacted]");
    expect(nonJsonErrorText("word ".repeat(300))).toHaveLength(200);
    expect(nonJsonErrorText("  ")).toBeUndefined();
  });
});
