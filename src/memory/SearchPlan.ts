/**
 * What a search is, decided once: a request becomes one normalised plan, the
 * store is asked only what the plan says (runSearch never sees the request),
 * and the cache key is the plan's hash. So nothing can change an answer
 * without changing its key: a new SearchRequest field does not compile until
 * `planSearch` takes it into the plan (or says why it cannot change the answer).
 */
import { filterTree, type MetadataFilter } from "../domain/Filter.ts"
import { DEFAULT_NAMESPACE, type MemoryKind } from "../domain/Memory.ts"
import { DEFAULT_K, type SearchMode, type SearchRequest } from "../domain/Search.ts"
import { DEFAULT_RECENCY_WEIGHT } from "../domain/TimeRange.ts"
import { sha256 } from "../lib/sha256.ts"
import type { RecordSelector } from "../ports/MemoryStore.ts"

/** Bumped when the meaning of a plan changes (fusion depth, scoring): old shared L2 entries stop matching. */
const PLAN_VERSION = 1

/** A selection of records, as the API names it. */
export interface Selection {
  readonly namespace?: string | undefined
  readonly filter?: MetadataFilter | undefined
  readonly kinds?: ReadonlyArray<MemoryKind> | undefined
  readonly tags?: ReadonlyArray<string> | undefined
  readonly tagMatch?: "all" | "any" | undefined
  readonly sessionId?: string | undefined
  readonly since?: Date | undefined
  readonly until?: Date | undefined
}

export interface SearchPlan {
  readonly selector: RecordSelector
  /** The query text the embedder and the keyword search get. */
  readonly query: string
  readonly mode: SearchMode
  readonly k: number
  readonly minScore: number
  /** Vectors of another model or width are another answer. */
  readonly model: string
  readonly dimensions: number
  /** The recency boost, if asked for (see Recency). */
  readonly recency: { readonly halfLifeDays: number; readonly weight: number } | null
  /** The reranker's identity (provider and model) when one is configured: another reranker is another answer. */
  readonly reranker: string | null
}

export const normaliseQuery = (query: string): string => query.normalize("NFC").trim().replace(/\s+/g, " ")

/** A set given as a list: sorted, without repeats; empty is no condition at all. */
const asSet = <A extends string>(values: ReadonlyArray<A> | undefined): ReadonlyArray<A> | undefined =>
  values === undefined || values.length === 0 ? undefined : [...new Set(values)].sort()

/** Object keys in order, deeply: `{a, b}` and `{b, a}` are one filter (arrays keep their order). */
export const canonical = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(canonical)
    : value instanceof Date
    ? value.toISOString()
    : typeof value === "object" && value !== null
    ? Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]))
    : value

/** The normalised store selector: what the store is asked, for searches and deletes alike. */
export const selector = (s: Selection): RecordSelector => {
  const tags = asSet(s.tags)
  return {
    namespace: s.namespace ?? DEFAULT_NAMESPACE,
    kinds: asSet(s.kinds),
    tags,
    // Without tags the match rule selects nothing; with tags, "all" is the default.
    tagMatch: tags === undefined ? undefined : s.tagMatch ?? "all",
    sessionId: s.sessionId,
    filter: s.filter === undefined ? undefined : filterTree(canonical(s.filter) as MetadataFilter),
    since: s.since,
    until: s.until
  }
}

export const planSearch = (
  request: SearchRequest,
  embedder: { readonly model: string; readonly dimensions: number },
  reranker: { readonly id: string } | undefined = undefined
): SearchPlan => {
  const { filter, k, kinds, minScore, mode, namespace, query, recency, sessionId, since, tagMatch, tags, until, ...unplanned } = request
  // A field left out above lands here, and this line stops compiling.
  void (unplanned satisfies Record<string, never>)
  return {
    selector: selector({ namespace, filter, kinds, tags, tagMatch, sessionId, since, until }),
    query: normaliseQuery(query),
    mode: mode ?? "vector",
    k: k ?? DEFAULT_K,
    minScore: minScore ?? 0,
    model: embedder.model,
    dimensions: embedder.dimensions,
    recency: recency === undefined ? null : { halfLifeDays: recency.halfLifeDays, weight: recency.weight ?? DEFAULT_RECENCY_WEIGHT },
    reranker: reranker?.id ?? null
  }
}

/**
 * `JSON.stringify(canonical(value))`, written out in one pass without the intermediate objects:
 * the key is computed for every search, cache hits included.
 */
export const canonicalJson = (value: unknown): string | undefined => {
  if (typeof value !== "object" || value === null) return JSON.stringify(value)
  if (value instanceof Date) return JSON.stringify(value.toISOString())
  if (Array.isArray(value)) {
    let out = "["
    for (let i = 0; i < value.length; i++) out += (i === 0 ? "" : ",") + (canonicalJson(value[i]) ?? "null")
    return out + "]"
  }
  let out = "{"
  for (const key of Object.keys(value).sort()) {
    const json = canonicalJson((value as Record<string, unknown>)[key])
    if (json !== undefined) out += (out.length === 1 ? "" : ",") + JSON.stringify(key) + ":" + json
  }
  return out + "}"
}

/** The cache key: a hash of the whole plan, every field of it (keys in order), so a field added to the plan is in the key. */
export const searchKey = (plan: SearchPlan): string =>
  sha256(`[${PLAN_VERSION},${canonicalJson(plan)}]`, "base64url")
