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
  // Keys in sorted order, as the plan's (canonicalJson then has nothing to sort).
  return {
    filter: s.filter === undefined ? undefined : filterTree(canonical(s.filter) as MetadataFilter),
    kinds: asSet(s.kinds),
    namespace: s.namespace ?? DEFAULT_NAMESPACE,
    sessionId: s.sessionId,
    since: s.since,
    // Without tags the match rule selects nothing; with tags, "all" is the default.
    tagMatch: tags === undefined ? undefined : s.tagMatch ?? "all",
    tags,
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
  // Keys in sorted order: the cache key writes them sorted, and then need not sort them.
  return {
    dimensions: embedder.dimensions,
    k: k ?? DEFAULT_K,
    minScore: minScore ?? 0,
    mode: mode ?? "vector",
    model: embedder.model,
    query: normaliseQuery(query),
    recency: recency === undefined ? null : { halfLifeDays: recency.halfLifeDays, weight: recency.weight ?? DEFAULT_RECENCY_WEIGHT },
    reranker: reranker?.id ?? null,
    selector: selector({ namespace, filter, kinds, tags, tagMatch, sessionId, since, until })
  }
}

/** Object keys as JSON strings, kept for the plan's own keys and the filters' usual few (bounded: a filter's keys come from callers). */
const quotedKeys = new Map<string, string>()
const MAX_QUOTED_KEYS = 1024

const quoteKey = (key: string): string => {
  let quoted = quotedKeys.get(key)
  if (quoted === undefined) {
    quoted = JSON.stringify(key)
    if (quotedKeys.size < MAX_QUOTED_KEYS) quotedKeys.set(key, quoted)
  }
  return quoted
}

/** An object's keys in order; the plan's objects are built in order, so they need no sort. */
const sortedKeys = (value: object): Array<string> => {
  const keys = Object.keys(value)
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return keys.sort()
  return keys
}

/**
 * `JSON.stringify(canonical(value))`, written out in one pass without the intermediate objects:
 * the key is computed for every search, cache hits included, so a number, a boolean and a
 * known key are written without a JSON.stringify call each (~3.4 → ~1 µs for a plain plan).
 */
export const canonicalJson = (value: unknown): string | undefined => {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value)
    case "number":
      // What JSON.stringify writes: the shortest round-trip form, and null for NaN and the infinities.
      return Number.isFinite(value) ? String(value) : "null"
    case "boolean":
      return value ? "true" : "false"
    case "object":
      break
    default:
      return JSON.stringify(value)
  }
  if (value === null) return "null"
  if (value instanceof Date) return JSON.stringify(value.toISOString())
  if (Array.isArray(value)) {
    let out = "["
    for (let i = 0; i < value.length; i++) out += (i === 0 ? "" : ",") + (canonicalJson(value[i]) ?? "null")
    return out + "]"
  }
  let out = "{"
  for (const key of sortedKeys(value)) {
    const json = canonicalJson((value as Record<string, unknown>)[key])
    if (json !== undefined) out += (out.length === 1 ? "" : ",") + quoteKey(key) + ":" + json
  }
  return out + "}"
}

/** The cache key: a hash of the whole plan, every field of it (keys in order), so a field added to the plan is in the key. */
export const searchKey = (plan: SearchPlan): string =>
  sha256(`[${PLAN_VERSION},${canonicalJson(plan)}]`, "base64url")
