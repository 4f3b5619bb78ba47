/**
 * The cache key of a search: everything that changes its answer, in a
 * canonical form (white space folded, lists sorted, filter keys ordered), hashed.
 */
import { createHash } from "node:crypto"
import type { SearchRequest } from "../domain/Search.ts"

export const normaliseQuery = (query: string): string => query.normalize("NFC").trim().replace(/\s+/g, " ")

const sorted = <A>(values: ReadonlyArray<A> | undefined) => (values ? [...values].sort() : [])

export const searchKey = (
  request: SearchRequest,
  resolved: { readonly k: number; readonly minScore: number; readonly mode: string; readonly model: string; readonly dimensions: number }
): string => {
  const canonical = JSON.stringify([
    normaliseQuery(request.query),
    resolved.k,
    resolved.minScore,
    resolved.mode,
    `${resolved.model}:${resolved.dimensions}`,
    Object.entries(request.filter ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    sorted(request.tags),
    sorted(request.kinds),
    request.sessionId ?? null
  ])
  return createHash("sha256").update(canonical).digest("base64url")
}
