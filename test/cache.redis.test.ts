/**
 * The shared L2 in Redis: two instances (each with its own L1) over one store
 * and one Redis behave as one cache; Redis down or slow never fails a request.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Redacted } from "effect"
import { Redis } from "ioredis"
import * as AgentMemory from "../layers/app.ts"
import * as TieredCache from "../layers/cache/TieredCache.ts"
import * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
import * as OpenAiEmbedder from "../layers/embedder/OpenAiEmbedder.ts"
import * as InMemoryStore from "../layers/store/memory/InMemoryStore.ts"
import type { EmbeddingFailed } from "../src/domain/errors.ts"
import { StoreMemoryRequest } from "../src/domain/Memory.ts"
import { SearchRequest } from "../src/domain/Search.ts"
import { Memory } from "../src/memory/Memory.ts"
import { Embedder, type EmbedderService } from "../src/ports/Embedder.ts"
import { MemoryCache } from "../src/ports/MemoryCache.ts"
import { MemoryStore } from "../src/ports/MemoryStore.ts"
import { makeFakeOpenAi } from "./support/FakeOpenAi.ts"
import { blackhole, deleteTestKeys, freshPrefix, keysWithoutTtl, redisAvailable, redisUrl } from "./support/redis.ts"

const DIMENSIONS = 128

/** One "server instance": its own Memory and L1, over the given store and embedder, sharing the given Redis. */
const instance = (options: {
  readonly store: Layer.Layer<MemoryStore>
  readonly url: string
  readonly prefix: string
  readonly embedder?: Layer.Layer<Embedder, EmbeddingFailed> | undefined
}) =>
  Layer.build(
    AgentMemory.layer({
      embedder: options.embedder ?? HashingEmbedder.layer({ dimensions: DIMENSIONS }),
      store: () => options.store,
      cache: TieredCache.layer({
        ...TieredCache.defaultOptions,
        redis: { url: Redacted.make(options.url), prefix: options.prefix, timeout: Duration.millis(200) }
      })
    })
  )

const sharedStore = Layer.succeed(MemoryStore, InMemoryStore.make({ dimensions: DIMENSIONS }))

afterAll(() => deleteTestKeys())

describe.skipIf(!redisAvailable)("Redis L2", () => {
  it.scopedLive("a write through one instance is seen at once by a search through the other", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const store = InMemoryStore.make({ dimensions: DIMENSIONS })
      const storeLayer = Layer.succeed(MemoryStore, store)
      const a = yield* instance({ store: storeLayer, url: redisUrl, prefix })
      const b = yield* instance({ store: storeLayer, url: redisUrl, prefix })
      const memoryA = yield* Memory.pipe(Effect.provide(a))
      const memoryB = yield* Memory.pipe(Effect.provide(b))
      const query = new SearchRequest({ query: "penguins" })
      yield* memoryA.store(new StoreMemoryRequest({ content: "penguins live in the south" }))
      expect((yield* memoryB.search(query)).hits.length).toBe(1)
      // A's first search of the same query is served by the L2 that B filled.
      const fromL2 = yield* memoryA.search(query)
      expect(fromL2.cached).toBe(true)
      expect((yield* Effect.flatMap(MemoryCache, (c) => c.stats).pipe(Effect.provide(a))).searches.l2Hits).toBe(1)
      expect((yield* memoryB.search(query)).cached).toBe(true)
      yield* memoryA.store(new StoreMemoryRequest({ content: "penguins cannot fly" }))
      const afterWrite = yield* memoryB.search(query)
      expect(afterWrite.cached).toBe(false)
      expect(afterWrite.hits.map((h) => h.content).sort()).toEqual(["penguins cannot fly", "penguins live in the south"])
      // Deletes and gets too.
      const fact = afterWrite.hits[0]!
      expect((yield* memoryB.get(fact.id)).id).toBe(fact.id)
      yield* memoryA.delete(fact.id)
      expect((yield* Effect.flip(memoryB.get(fact.id)))._tag).toBe("MemoryNotFound")
      expect((yield* memoryB.search(query)).hits.length).toBe(1)
    }))

  it.scopedLive("embeddings are shared: a text embedded by one instance costs the other no request", () =>
    Effect.gen(function*() {
      const server = yield* makeFakeOpenAi()
      const prefix = freshPrefix()
      const embedder = Layer.scoped(
        Embedder,
        OpenAiEmbedder.make({ model: "text-embedding-3-small", dimensions: DIMENSIONS, baseUrl: server.baseUrl })
      )
      const a = yield* instance({ store: sharedStore, url: redisUrl, prefix, embedder })
      const b = yield* instance({ store: sharedStore, url: redisUrl, prefix, embedder })
      const embed = (ctx: typeof a, texts: ReadonlyArray<string>) =>
        Effect.flatMap(Embedder, (e: EmbedderService) => e.embedMany(texts)).pipe(Effect.provide(ctx))
      const first = yield* embed(a, ["alpha", "beta"])
      expect(server.requestCount()).toBe(1)
      const second = yield* embed(b, ["beta", "alpha", "gamma"])
      expect(server.requestCount()).toBe(2)
      expect(server.requests()[1]!.inputs).toEqual(["gamma"])
      expect(Array.from(second[0]!)).toEqual(Array.from(first[1]!))
    }))

  it.scopedLive("an answer cached in the L2 whose record has expired is computed again on the other instance, never shortened", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const storeLayer = Layer.succeed(MemoryStore, InMemoryStore.make({ dimensions: DIMENSIONS }))
      const a = yield* instance({ store: storeLayer, url: redisUrl, prefix })
      const b = yield* instance({ store: storeLayer, url: redisUrl, prefix })
      const memoryA = yield* Memory.pipe(Effect.provide(a))
      const memoryB = yield* Memory.pipe(Effect.provide(b))
      yield* memoryA.store(new StoreMemoryRequest({ content: "walruses", ttlSeconds: 1 }))
      yield* memoryA.store(new StoreMemoryRequest({ content: "walruses haul out on the ice" }))
      const query = new SearchRequest({ query: "walruses", k: 1 })
      expect((yield* memoryA.search(query)).hits.map((h) => h.content)).toEqual(["walruses"])
      const shared = yield* memoryB.search(query)
      expect(shared.cached).toBe(true) // from the L2 that A filled
      yield* Effect.sleep("1100 millis")
      for (const memory of [memoryB, memoryA]) {
        const later = yield* memory.search(query)
        expect(later.hits.map((h) => h.content)).toEqual(["walruses haul out on the ice"])
      }
      // Every key the cache wrote has a TTL.
      expect(yield* Effect.promise(() => keysWithoutTtl(prefix))).toEqual([])
    }))

  it.scopedLive("a generation lost from Redis never brings old results back", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const ctx = yield* instance({ store: sharedStore, url: redisUrl, prefix })
      const cache = yield* MemoryCache.pipe(Effect.provide(ctx))
      let n = 0
      const compute = Effect.sync(() => ({ hits: [] as ReadonlyArray<never>, validUntil: null })).pipe(Effect.tap(() => n++))
      yield* cache.searches.getOrCompute("ns", "q", compute)
      expect((yield* cache.searches.getOrCompute("ns", "q", compute)).hit).toBe(true)
      const redis = new Redis(redisUrl)
      yield* Effect.promise(() => redis.del(`${prefix}gen:ns`))
      yield* Effect.promise(() => redis.quit())
      expect((yield* cache.searches.getOrCompute("ns", "q", compute)).hit).toBe(false)
      expect(n).toBe(2)
    }))
})

describe("Redis down or slow", () => {
  it.scopedLive("Redis down: requests succeed on the L1, failures are counted", () =>
    Effect.gen(function*() {
      const ctx = yield* instance({ store: sharedStore, url: "redis://127.0.0.1:1", prefix: freshPrefix() })
      const memory = yield* Memory.pipe(Effect.provide(ctx))
      yield* memory.store(new StoreMemoryRequest({ content: "stored while Redis is down", namespace: "down" }))
      const found = yield* memory.search(new SearchRequest({ query: "Redis down", namespace: "down" }))
      expect(found.hits.length).toBe(1)
      const again = yield* memory.search(new SearchRequest({ query: "Redis down", namespace: "down" }))
      expect(again.cached).toBe(false) // results cannot be validated without Redis, so they are not served from L1
      const stats = yield* Effect.flatMap(MemoryCache, (c) => c.stats).pipe(Effect.provide(ctx))
      expect(stats.searches.l2Errors).toBeGreaterThan(0)
      expect(stats.embeddings.hits).toBeGreaterThan(0) // embeddings never go stale, so L1 still serves them
    }))

  it.scopedLive("Redis slow: each call gives up at its deadline and the request goes on", () =>
    Effect.gen(function*() {
      const hole = yield* blackhole
      const ctx = yield* instance({ store: sharedStore, url: hole.url, prefix: freshPrefix() })
      const memory = yield* Memory.pipe(Effect.provide(ctx))
      const started = Date.now()
      const found = yield* memory.search(new SearchRequest({ query: "anything", namespace: "slow" }))
      expect(found.hits).toEqual([])
      expect(Date.now() - started).toBeLessThan(2000)
      const stats = yield* Effect.flatMap(MemoryCache, (c) => c.stats).pipe(Effect.provide(ctx))
      expect(stats.searches.l2Errors + stats.embeddings.l2Errors).toBeGreaterThan(0)
    }))
})
