import { sha256 } from "../lib/sha256.ts"

/** The dedup key of a text: SHA-256 of its NFC form without surrounding white space. */
export const contentHash = (content: string): string => sha256(content.normalize("NFC").trim(), "hex")
