/** The in-process cache: bounds, expiry, generations, single flight; and the Memory service never serving stale results. */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Option } from "effect"
import * as AgentMemory from "../layers/app.ts"
import * as TieredCache from "../layers/cache/TieredCache.ts"
import * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
import * as InMemoryStore from "../layers/store/memory/InMemoryStore.ts"
import * as PgliteStore from "../layers/store/pglite/PgliteStore.ts"
import { describeStartupFailure } from "../src/config/StartupFailure.ts"
import { StoreMemoryRequest } from "../src/domain/Memory.ts"
import { SearchHit, SearchRequest } from "../src/domain/Search.ts"
import { Memory } from "../src/memory/Memory.ts"
import { MemoryCache } from "../src/ports/MemoryCache.ts"
import { newNamespace } from "./support/records.ts"

const MB = 1024 * 1024
const cacheOf = (options: Partial<TieredCache.TieredCacheOptions>) => TieredCache.make({ ...TieredCache.defaultOptions, ...options })

const hit = (content: string) =>
  new SearchHit({ id: content.slice(0, 8), namespace: "n", content, score: 1, kind: "memory", tags: [], metadata: {}, sessionId: null, createdAt: new Date(), expiresAt: null })

describe("cache bounds", () => {
  it.scoped("filling the caches far past the byte budget keeps their bytes within it", () =>
    Effect.gen(function*() {
      const cache = yield* cacheOf({ maxBytes: 2 * MB })
      // ~40 MB of vectors and ~20 MB of search results into a 2 MB budget.
      for (let batch = 0; batch < 100; batch++) {
        yield* cache.embeddings.setMany(Array.from({ length: 100 }, (_, i) => [`v${batch}-${i}`, new Float32Array(1024)] as const))
        yield* cache.searches.getOrCompute("n", `q${batch}`, Effect.succeed({ hits: [hit("x".repeat(100_000))], validUntil: null }))
        const stats = yield* cache.stats
        expect(stats.embeddings.bytes + stats.searches.bytes + stats.records.bytes).toBeLessThanOrEqual(2 * MB)
      }
      const stats = yield* cache.stats
      expect(stats.embeddings.evictions).toBeGreaterThan(9000)
      expect(stats.embeddings.entries).toBeGreaterThan(0)
      expect(stats.embeddings.bytes).toBeGreaterThan(MB / 2)
    }))

  it.scoped("entry counts bound each cache; a size of 0 turns a cache off", () =>
    Effect.gen(function*() {
      const cache = yield* cacheOf({ entries: { searches: 0, records: 10, embeddings: 5 } })
      yield* cache.embeddings.setMany(Array.from({ length: 20 }, (_, i) => [`k${i}`, new Float32Array(4)] as const))
      const stats = yield* cache.stats
      expect(stats.embeddings.entries).toBe(5)
      expect(stats.embeddings.evictions).toBe(15)
      const found = yield* cache.embeddings.getMany(["k0", "k19"])
      expect(found[0]).toBeUndefined()
      expect(found[1]).toBeInstanceOf(Float32Array)
      let computed = 0
      const compute = Effect.sync(() => ++computed).pipe(Effect.as({ hits: [] as ReadonlyArray<SearchHit>, validUntil: null }))
      yield* cache.searches.getOrCompute("n", "q", compute)
      const again = yield* cache.searches.getOrCompute("n", "q", compute)
      expect(again.hit).toBe(false)
      expect(computed).toBe(2)
    }))

  it.scopedLive("entries expire after the TTL", () =>
    Effect.gen(function*() {
      const cache = yield* cacheOf({ ttl: Duration.millis(60) })
      yield* cache.embeddings.setMany([["k", new Float32Array(4)]])
      expect((yield* cache.embeddings.getMany(["k"]))[0]).toBeDefined()
      yield* Effect.sleep("120 millis")
      expect((yield* cache.embeddings.getMany(["k"]))[0]).toBeUndefined()
    }))

  it.scoped("shed evicts down to a target and answers the bytes freed", () =>
    Effect.gen(function*() {
      const cache = yield* cacheOf({})
      yield* cache.embeddings.setMany(Array.from({ length: 1000 }, (_, i) => [`k${i}`, new Float32Array(1024)] as const))
      const before = (yield* cache.stats).embeddings.bytes
      const freed = yield* cache.shed(MB)
      const after = (yield* cache.stats).embeddings.bytes
      expect(after).toBeLessThanOrEqual(MB)
      expect(freed).toBe(before - after)
    }))
})

describe("namespace generations and single flight", () => {
  it.scoped("invalidate makes the namespace's cached values unreachable, and only that namespace's", () =>
    Effect.gen(function*() {
      const cache = yield* cacheOf({})
      let n = 0
      const compute = Effect.sync(() => ({ hits: [hit(`v${++n}`)], validUntil: null }))
      expect((yield* cache.searches.getOrCompute("a", "q", compute)).hit).toBe(false)
      expect((yield* cache.searches.getOrCompute("b", "q", compute)).hit).toBe(false)
      expect((yield* cache.searches.getOrCompute("a", "q", compute)).hit).toBe(true)
      yield* cache.invalidate("a")
      const a = yield* cache.searches.getOrCompute("a", "q", compute)
      expect(a.hit).toBe(false)
      expect(a.value.hits[0]!.content).toBe("v3")
      expect((yield* cache.searches.getOrCompute("b", "q", compute)).hit).toBe(true)
      const stats = yield* cache.stats
      expect(stats.searches).toMatchObject({ hits: 2, misses: 3 })
    }))

  it.scopedLive("concurrent misses for one key compute once", () =>
    Effect.gen(function*() {
      const cache = yield* cacheOf({})
      let computed = 0
      const slow = Effect.sync(() => ++computed).pipe(Effect.zipRight(Effect.sleep("50 millis")), Effect.as(Option.none()))
      const results = yield* Effect.forEach(Array.from({ length: 20 }), () => cache.records.getOrCompute("n", "id", slow), {
        concurrency: "unbounded"
      })
      expect(computed).toBe(1)
      expect(results.every((r) => Option.isNone(r.value))).toBe(true)
    }))
})

const memoryStack = (store: "memory" | "pglite") =>
  AgentMemory.layer({
    embedder: HashingEmbedder.layer({ dimensions: 256 }),
    store: ({ dimensions }) =>
      store === "memory" ? InMemoryStore.layer({ dimensions }) : PgliteStore.layer({ dataDir: "memory://", dimensions })
  })

describe("the Memory service never serves a stale cached answer", () => {
  for (const store of ["memory", "pglite"] as const) {
    it.live(`search → store → search sees the new record, under concurrency (${store})`, () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        const namespace = newNamespace()
        yield* memory.store(new StoreMemoryRequest({ namespace, content: "seed record about gardening" }))
        // 40 writers, each searching for its own word before and after storing it, with every search cached.
        yield* Effect.forEach(Array.from({ length: 40 }, (_, i) => i), (i) =>
          Effect.gen(function*() {
            const word = `zebra${i}quokka`
            const query = new SearchRequest({ namespace, query: word, k: 50 })
            const before = yield* memory.search(query)
            expect(before.hits.some((h) => h.content.includes(word))).toBe(false)
            yield* memory.search(query) // now cached
            yield* memory.store(new StoreMemoryRequest({ namespace, content: `a note mentioning ${word}` }))
            const after = yield* memory.search(query)
            expect(after.hits.some((h) => h.content.includes(word))).toBe(true)
          }), { concurrency: 8 })
        const stats = yield* Effect.flatMap(MemoryCache, (c) => c.stats)
        expect(stats.searches.hits).toBeGreaterThan(0)
      }).pipe(Effect.provide(memoryStack(store))))
  }

  it.live("a delete is seen at once by cached searches and gets", () =>
    Effect.gen(function*() {
      const memory = yield* Memory
      const namespace = newNamespace()
      const stored = yield* memory.store(new StoreMemoryRequest({ namespace, content: "temporary fact about llamas" }))
      const query = new SearchRequest({ namespace, query: "llamas" })
      expect((yield* memory.search(query)).hits.length).toBe(1)
      expect((yield* memory.search(query)).cached).toBe(true)
      expect((yield* memory.get(stored.id, namespace)).id).toBe(stored.id)
      yield* memory.delete(stored.id, namespace)
      const after = yield* memory.search(query)
      expect(after.cached).toBe(false)
      expect(after.hits).toEqual([])
      expect((yield* Effect.flip(memory.get(stored.id, namespace)))._tag).toBe("MemoryNotFound")
    }).pipe(Effect.provide(memoryStack("memory"))))

  it.live("a cached answer holding a record that has expired is computed again, never shortened", () =>
    Effect.gen(function*() {
      const memory = yield* Memory
      const namespace = newNamespace()
      yield* memory.store(new StoreMemoryRequest({ namespace, content: "otters", ttlSeconds: 1 }))
      yield* memory.store(new StoreMemoryRequest({ namespace, content: "otters hold hands while they sleep" }))
      const query = new SearchRequest({ namespace, query: "otters", k: 1 })
      const first = yield* memory.search(query)
      expect(first.hits.map((h) => h.content)).toEqual(["otters"])
      expect((yield* memory.search(query)).cached).toBe(true)
      yield* Effect.sleep("1100 millis")
      const later = yield* memory.search(query)
      expect(later.cached).toBe(false)
      expect(later.hits.map((h) => h.content)).toEqual(["otters hold hands while they sleep"])
      expect((yield* memory.search(query)).cached).toBe(true)
    }).pipe(Effect.provide(memoryStack("memory"))))

  it.live("repeating a search is a cache hit; a deduplicated store does not invalidate", () =>
    Effect.gen(function*() {
      const memory = yield* Memory
      const namespace = newNamespace()
      yield* memory.store(new StoreMemoryRequest({ namespace, content: "the sky is blue" }))
      const query = new SearchRequest({ namespace, query: "  what colour is   the sky " })
      expect((yield* memory.search(query)).cached).toBe(false)
      expect((yield* memory.search(new SearchRequest({ namespace, query: "what colour is the sky" }))).cached).toBe(true)
      expect((yield* memory.search(new SearchRequest({ namespace, query: "what colour is the sky", k: 3 }))).cached).toBe(false)
      yield* memory.store(new StoreMemoryRequest({ namespace, content: "the sky is blue" }))
      expect((yield* memory.search(query)).cached).toBe(true)
    }).pipe(Effect.provide(memoryStack("memory"))))
})

describe("cache configuration", () => {
  it.live("reads sizes, byte budget and TTL from the environment, and names a bad one", () =>
    Effect.gen(function*() {
      const env = (vars: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(vars))))
      const cache = yield* MemoryCache.pipe(
        Effect.provide(TieredCache.layerConfig()),
        env({ MEMORY_CACHE_MAX_BYTES: "64MB", MEMORY_CACHE_TTL: "30s", MEMORY_CACHE_QUERY_SIZE: "0" })
      )
      expect(cache.maxBytes).toBe(64 * MB)
      const bad = yield* Effect.flip(MemoryCache.pipe(Effect.provide(TieredCache.layerConfig()), env({ MEMORY_CACHE_MAX_BYTES: "lots" })))
      expect(describeStartupFailure(bad)).toContain("MEMORY_CACHE_MAX_BYTES")
    }))
})
