import { describe, expect, it } from "vitest";
import { signatureOrigin, tagSignature } from "../../src/providers/reasoning-signatures.js";

describe("reasoning signatures tagged with their provider family", () => {
  it("tags a signature, and reads back whose it is: own (raw), another family's, or untagged", () => {
    const raw = "CiQBjz1r+X8/gemini==";
    expect(tagSignature("gemini", raw)).toBe(`gemini:${raw}`);
    expect(signatureOrigin("gemini", tagSignature("gemini", raw))).toEqual({ kind: "own", signature: raw });
    expect(signatureOrigin("anthropic", tagSignature("gemini", raw))).toEqual({ kind: "foreign", family: "gemini" });
    // Base64 has no ':': a provider's raw signature is never read as a tagged one.
    expect(signatureOrigin("gemini", "EqQBCkgIBxAB+/anthropic==")).toEqual({ kind: "untagged", signature: "EqQBCkgIBxAB+/anthropic==" });
  });

  it("leaves an empty signature (none yet) empty and untagged", () => {
    expect(tagSignature("gemini", "")).toBe("");
    expect(signatureOrigin("gemini", "")).toEqual({ kind: "untagged", signature: "" });
  });
});
