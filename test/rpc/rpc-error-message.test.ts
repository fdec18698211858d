import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { gatewayError, Reason } from "../../src/core/errors.js";
import { boundedForRpc, MAX_RPC_MESSAGE_BYTES } from "../../src/rpc/rpc-error-message.js";

describe("boundedForRpc", () => {
  it("returns a short message's error itself, and anything that is not a GatewayError as it is", () => {
    const error = gatewayError(Code.InvalidArgument, Reason.INVALID_REQUEST, "Invalid 'model'.", { param: "model" });
    expect(boundedForRpc(error)).toBe(error);
    const other = new Error("x".repeat(5000));
    expect(boundedForRpc(other)).toBe(other);
  });

  it("cuts a long message to the byte bound at a character boundary, noting its length, on a copy that keeps everything else", () => {
    const message = "Ungültiges Schema – 🙂 ".repeat(600);
    const error = gatewayError(Code.InvalidArgument, Reason.UPSTREAM_INVALID_REQUEST, message, { provider: "p", param: "tools", upstreamStatus: 400, retryAfterMs: 2_000 });
    error.metadata.set("x-switchyard-attempts", "2");
    const bounded = boundedForRpc(error);
    expect(bounded).not.toBe(error);
    expect(Buffer.byteLength(bounded.rawMessage, "utf8")).toBeLessThanOrEqual(MAX_RPC_MESSAGE_BYTES);
    expect(bounded.rawMessage).not.toContain("\uFFFD");
    expect(message.startsWith(bounded.rawMessage.replace(/… \(\d+ characters in all\)$/, ""))).toBe(true);
    expect(bounded.rawMessage).toMatch(new RegExp(`… \\(${message.length} characters in all\\)$`));
    expect(bounded).toMatchObject({ code: Code.InvalidArgument, reason: Reason.UPSTREAM_INVALID_REQUEST, facts: error.facts, cause: error.cause });
    expect(bounded.metadata.get("x-switchyard-attempts")).toBe("2");
    expect(bounded.metadata.get("retry-after")).toBe("2");
    // The original keeps its whole message for the log.
    expect(error.rawMessage).toBe(message);
  });
});
