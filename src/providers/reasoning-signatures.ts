/**
 * Reasoning signatures tagged with the provider family that issued them: `<family>:<signature>`.
 * Reasoning comes back in the history whatever provider wrote it, and a provider refuses a
 * signature it did not issue (a 400 on every later turn), so an adapter that tags what it emits can
 * tell its own signatures from another family's on replay, on any account or process. Provider
 * signatures are base64, which never contains `:`, so an untagged value is never read as a tagged
 * one. This module knows no provider: each adapter passes its own family.
 */

/** `<family>:` at the start of a tagged signature; a family is a lowercase word (`gemini`, `openai`). */
const TAG = /^([a-z][a-z0-9_-]*):/;

/** Where a reasoning signature came from, as one provider family sees it. */
export type SignatureOrigin =
  /** Tagged with this family: `signature` is the raw value the provider issued. */
  | { readonly kind: "own"; readonly signature: string }
  /** Tagged with another family, named by `family`: this provider cannot verify it. */
  | { readonly kind: "foreign"; readonly family: string }
  /** No tag: a provider that emits raw signatures (or history from before tagging); `signature` as given. */
  | { readonly kind: "untagged"; readonly signature: string };

/**
 * The signature tagged with `family`, as the gateway emits it; an empty signature (none yet) stays
 * empty. Callers send the value back unchanged, so it is opaque to them.
 */
export function tagSignature(family: string, signature: string): string {
  return signature === "" ? "" : `${family}:${signature}`;
}

/**
 * Whether `signature` is `family`'s (tagged with it: the raw value), another family's (tagged with
 * another: its name) or untagged (as given, empty included). Pure.
 */
export function signatureOrigin(family: string, signature: string): SignatureOrigin {
  const tag = TAG.exec(signature)?.[1];
  if (tag === undefined) return { kind: "untagged", signature };
  if (tag === family) return { kind: "own", signature: signature.slice(tag.length + 1) };
  return { kind: "foreign", family: tag };
}
