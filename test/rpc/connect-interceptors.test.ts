import { describe, expect, it } from "vitest";
import type { UnaryRequest, UnaryResponse } from "@connectrpc/connect";
import { Reason, type GatewayError } from "../../src/core/errors.js";
import { connectInterceptors } from "../../src/rpc/connect-routes.js";

/** Runs the error interceptor around a handler that throws `thrown`, with the call's signal in the given state; returns what was logged. */
async function logged(thrown: Error, clientGone: boolean): Promise<GatewayError | undefined> {
  let seen: GatewayError | undefined;
  const [errors] = connectInterceptors(() => undefined, (error) => {
    seen = error;
  });
  const controller = new AbortController();
  if (clientGone) controller.abort();
  const request = { method: { name: "ChatStream" }, signal: controller.signal, header: new Headers() } as unknown as UnaryRequest;
  const handler = errors?.(async () => Promise.reject(thrown) as Promise<UnaryResponse>);
  await handler?.(request).catch(() => undefined);
  return seen;
}

describe("the Connect edge's error interceptor", () => {
  it("logs a failure after the client has gone (a write to its closed HTTP/2 stream) as a cancel, not an internal error", async () => {
    const writeToClosed = Object.assign(new Error("The stream has been destroyed"), { code: "ERR_HTTP2_INVALID_STREAM" });
    expect((await logged(writeToClosed, true))?.reason).toBe(Reason.CANCELED);
    expect((await logged(writeToClosed, false))?.reason).toBe(Reason.INTERNAL_ERROR);
  });
});
