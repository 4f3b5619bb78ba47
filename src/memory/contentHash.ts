import { createHash } from "node:crypto"

/** The dedup key of a text: SHA-256 of its NFC form without surrounding white space. */
export const contentHash = (content: string): string =>
  createHash("sha256").update(content.normalize("NFC").trim()).digest("hex")
