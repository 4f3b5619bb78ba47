/**
 * One source of truth for a search: the cache key is the hash of the plan the store is asked,
 * so every SearchRequest field that changes the answer changes the key (issue 10, reproduction 1).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as AgentMemory from "../layers/app.ts"
import * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
import * as InMemoryStore from "../layers/store/memory/InMemoryStore.ts"
import { StoreMemoryRequest } from "../src/domain/Memory.ts"
import { SearchRequest } from "../src/domain/Search.ts"
import { Recency } from "../src/domain/TimeRange.ts"
import { Memory } from "../src/memory/Memory.ts"
import { createHash } from "node:crypto"
import { canonical, canonicalJson, planSearch, searchKey } from "../src/memory/SearchPlan.ts"
import { newNamespace } from "./support/records.ts"

type Fields = typeof SearchRequest.fields
type Input = { -readonly [F in keyof Fields]?: SearchRequest[F] }

const embedder = { model: "hashing-v1", dimensions: 256 }
const keyOf = (input: Input, model = embedder) => searchKey(planSearch(new SearchRequest(input as SearchRequest), model))

/** Every field set, so that changing any one of them is a change from a value, not from a default. */
const base: Required<Input> = {
  query: "what do otters eat",
  namespace: "ns-a",
  k: 5,
  minScore: 0.1,
  mode: "hybrid",
  filter: { topic: "animals", year: { $gte: 2020 } },
  tags: ["a", "b"],
  tagMatch: "all",
  kinds: ["memory"],
  sessionId: "s-1",
  since: new Date("2024-01-01T00:00:00Z"),
  until: new Date("2025-01-01T00:00:00Z"),
  recency: new Recency({ halfLifeDays: 30 })
}

/** Another value for each field, one that selects or ranks differently. A new field fails the test until it has one. */
const changed: Required<Input> = {
  query: "what do beavers eat",
  namespace: "ns-b",
  k: 6,
  minScore: 0.2,
  mode: "vector",
  filter: { topic: "plants", year: { $gte: 2020 } },
  tags: ["a", "c"],
  tagMatch: "any",
  kinds: ["knowledge"],
  sessionId: "s-2",
  since: new Date("2024-02-01T00:00:00Z"),
  until: new Date("2025-02-01T00:00:00Z"),
  recency: new Recency({ halfLifeDays: 7 })
}

describe("the search key", () => {
  it("changes when any SearchRequest field changes, one at a time", () => {
    const fields = Object.keys(SearchRequest.fields) as Array<keyof Fields>
    expect(fields.length).toBeGreaterThanOrEqual(10)
    const baseKey = keyOf(base)
    for (const field of fields) {
      expect(changed, `test/cache.key.test.ts has no changed value for SearchRequest.${field}`).toHaveProperty(field)
      expect(keyOf({ ...base, [field]: changed[field] }), `changing ${field} must change the key`).not.toBe(baseKey)
      // Leaving an optional field out is a change too (query is required; tagMatch "all" is its default).
      if (field !== "query" && field !== "tagMatch") expect(keyOf({ ...base, [field]: undefined }), `leaving out ${field}`).not.toBe(baseKey)
    }
  })

  it("changes with the embedding model and its width", () => {
    expect(keyOf(base, { model: "other", dimensions: 256 })).not.toBe(keyOf(base))
    expect(keyOf(base, { model: "hashing-v1", dimensions: 512 })).not.toBe(keyOf(base))
  })

  it("is one key for one question asked in different words: spacing, order of sets and filter keys, defaults", () => {
    const key = keyOf(base)
    expect(keyOf({ ...base, query: "  what do\totters   eat " })).toBe(key)
    expect(keyOf({ ...base, tags: ["b", "a", "b"] })).toBe(key)
    expect(keyOf({ ...base, filter: { year: { $gte: 2020 }, topic: "animals" } })).toBe(key)
    expect(keyOf({ ...base, tagMatch: undefined })).not.toBe(keyOf({ ...base, tagMatch: "any" }))
    expect(keyOf({ ...base, tagMatch: undefined })).toBe(key) // "all" is the default
    expect(keyOf({ query: "q" })).toBe(keyOf({ query: "q", k: 10, mode: "vector", minScore: 0, namespace: "default" }))
  })

  it("the store is asked what the key says: the plan's normalised query and selector", () => {
    const plan = planSearch(new SearchRequest({ query: " otters  eat ", tags: ["b", "a"], kinds: [] }), embedder)
    expect(plan.query).toBe("otters eat")
    expect(plan.selector).toMatchObject({ namespace: "default", tags: ["a", "b"], tagMatch: "all", kinds: undefined })
  })

  it("is the hash of the canonical plan, written in one pass (the key L2 entries already carry)", () => {
    const plan = planSearch(new SearchRequest(base as SearchRequest), embedder)
    expect(searchKey(plan)).toBe(createHash("sha256").update(JSON.stringify([1, canonical(plan)])).digest("base64url"))
    const odd = { b: [1, undefined, { z: null, a: new Date(0), u: undefined }], a: { "é\"": NaN, n: -0 }, s: "x\u2028" }
    expect(canonicalJson(odd)).toBe(JSON.stringify(canonical(odd)))
    expect(canonicalJson([undefined, "a"])).toBe(JSON.stringify(canonical([undefined, "a"])))
  })
})

const stack = AgentMemory.layer({
  embedder: HashingEmbedder.layer({ dimensions: 256 }),
  store: ({ dimensions }) => InMemoryStore.layer({ dimensions })
})

describe("tagMatch through Memory.search with a warm cache", () => {
  it.live("tagMatch any after all answers the any question", () =>
    Effect.gen(function*() {
      const memory = yield* Memory
      const namespace = newNamespace()
      yield* memory.store(new StoreMemoryRequest({ namespace, content: "otters eat fish", tags: ["a"] }))
      yield* memory.store(new StoreMemoryRequest({ namespace, content: "otters eat crabs", tags: ["b"] }))
      yield* memory.store(new StoreMemoryRequest({ namespace, content: "otters eat clams", tags: ["a", "b"] }))
      const all = new SearchRequest({ namespace, query: "otters eat", tags: ["a", "b"], tagMatch: "all" })
      expect((yield* memory.search(all)).hits.map((h) => h.content)).toEqual(["otters eat clams"])
      expect((yield* memory.search(all)).cached).toBe(true)
      const any = yield* memory.search(new SearchRequest({ namespace, query: "otters eat", tags: ["a", "b"], tagMatch: "any" }))
      expect(any.cached).toBe(false)
      expect(any.hits.map((h) => h.content).sort()).toEqual(["otters eat clams", "otters eat crabs", "otters eat fish"])
    }).pipe(Effect.provide(stack)))
})
