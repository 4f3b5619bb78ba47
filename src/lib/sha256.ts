import * as crypto from "node:crypto"

/**
 * SHA-256 of a text in one call: one-shot `crypto.hash` (Node ≥ 20.12) is about 3× cheaper than
 * createHash for a short text, with the same digest. Search keys, embedding keys and content
 * hashes are computed on every search and every stored item.
 */
export const sha256 = (text: string, encoding: "hex" | "base64url"): string =>
  typeof crypto.hash === "function"
    ? crypto.hash("sha256", text, encoding)
    : crypto.createHash("sha256").update(text).digest(encoding)
