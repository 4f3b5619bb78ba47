/**
 * Time in the search key: since, until and recency (both its half-life and its
 * weight) each change the key, so a warm cache never answers a time-bounded or
 * recency-ranked question with another's hits; and through Memory.search, a
 * bounded question after an unbounded one is asked of the store, not the cache.
 * (test/cache.key.test.ts walks every SearchRequest field; this pins the time fields' parts.)
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as AgentMemory from "../layers/app.ts"
import * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
import * as InMemoryStore from "../layers/store/memory/InMemoryStore.ts"
import { StoreMemoryRequest } from "../src/domain/Memory.ts"
import { SearchRequest } from "../src/domain/Search.ts"
import { DEFAULT_RECENCY_WEIGHT, Recency } from "../src/domain/TimeRange.ts"
import { Memory } from "../src/memory/Memory.ts"
import { planSearch, searchKey } from "../src/memory/SearchPlan.ts"
import { newNamespace } from "./support/records.ts"

const embedder = { model: "hashing-v1", dimensions: 256 }
const keyOf = (fields: ConstructorParameters<typeof SearchRequest>[0]) => searchKey(planSearch(new SearchRequest(fields), embedder))

describe("time in the search key", () => {
  it("since, until and recency each change it, to the millisecond and in every part", () => {
    const plain = keyOf({ query: "q" })
    const since = new Date("2024-05-01T00:00:00.000Z")
    const until = new Date("2024-06-01T00:00:00.000Z")
    const keys = [
      plain,
      keyOf({ query: "q", since }),
      keyOf({ query: "q", since: new Date(since.getTime() + 1) }),
      keyOf({ query: "q", until }),
      keyOf({ query: "q", until: new Date(until.getTime() - 1) }),
      keyOf({ query: "q", since, until }),
      keyOf({ query: "q", recency: new Recency({ halfLifeDays: 30 }) }),
      keyOf({ query: "q", recency: new Recency({ halfLifeDays: 31 }) }),
      keyOf({ query: "q", recency: new Recency({ halfLifeDays: 30, weight: 2 }) })
    ]
    expect(new Set(keys).size).toBe(keys.length)
    // The same question in other words keeps one key: the default weight said or not.
    expect(keyOf({ query: "q", recency: new Recency({ halfLifeDays: 30, weight: DEFAULT_RECENCY_WEIGHT }) })).toBe(keys[6])
  })

  it.live("through Memory.search with a warm cache: a bounded or recency-ranked question is not answered from the unbounded one", () =>
    Effect.gen(function*() {
      const memory = yield* Memory
      const namespace = newNamespace()
      yield* memory.store(new StoreMemoryRequest({ namespace, content: "otters ate fish by the river", occurredAt: new Date("2024-01-10T00:00:00Z") }))
      yield* memory.store(new StoreMemoryRequest({ namespace, content: "otters ate crabs at the shore", occurredAt: new Date("2024-09-10T00:00:00Z") }))
      const ask = (fields: Omit<ConstructorParameters<typeof SearchRequest>[0], "query" | "namespace"> = {}) =>
        memory.search(new SearchRequest({ query: "otters ate", namespace, mode: "keyword", ...fields }))
      expect((yield* ask()).hits).toHaveLength(2)
      expect((yield* ask()).cached).toBe(true)
      const since = yield* ask({ since: new Date("2024-06-01T00:00:00Z") })
      expect(since.cached).toBe(false)
      expect(since.hits.map((h) => h.content)).toEqual(["otters ate crabs at the shore"])
      const until = yield* ask({ until: new Date("2024-06-01T00:00:00Z") })
      expect(until.cached).toBe(false)
      expect(until.hits.map((h) => h.content)).toEqual(["otters ate fish by the river"])
      const recent = yield* ask({ recency: new Recency({ halfLifeDays: 30, weight: 100 }) })
      expect(recent.cached).toBe(false)
      expect(recent.hits[0]!.content).toBe("otters ate crabs at the shore")
    }).pipe(Effect.provide(AgentMemory.layer({
      embedder: HashingEmbedder.layer({ dimensions: 256 }),
      store: ({ dimensions }) => InMemoryStore.layer({ dimensions })
    }))))
})
