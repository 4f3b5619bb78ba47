/**
 * The search fast path with a Redis L2 (src/http/SearchFastPath.ts, TieredCache's peekShared):
 * two real servers on loopback over one store and one Redis, as two instances behind a load
 * balancer. A hit is answered before the Effect app once Redis confirms its generation; a write
 * through the other instance, a write in progress, or Redis away sends it on to the Effect app,
 * which computes the answer again: never a stale answer, never a failed request.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Layer, Redacted } from "effect"
import { Redis } from "ioredis"
import * as AgentMemory from "../layers/app.ts"
import * as TieredCache from "../layers/cache/TieredCache.ts"
import * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
import * as InMemoryStore from "../layers/store/memory/InMemoryStore.ts"
import * as Server from "../src/http/Server.ts"
import { MemoryStore } from "../src/ports/MemoryStore.ts"
import { freePort } from "./support/process.ts"
import { deleteTestKeys, freshPrefix, gate, redisAvailable, redisUrl } from "./support/redis.ts"

const DIMENSIONS = 64

/** One server instance with its own L1, over the shared store and the given Redis; counts its fast answers. */
const instance = (store: Layer.Layer<MemoryStore>, url: string, prefix: string) =>
  Effect.gen(function*() {
    const port = yield* freePort
    const counter = { fast: 0 }
    yield* Layer.build(
      Server.layer({ host: "127.0.0.1", port, onFastAnswer: () => void counter.fast++ }).pipe(
        Layer.provide(AgentMemory.layer({
          embedder: HashingEmbedder.layer({ dimensions: DIMENSIONS }),
          store: () => store,
          cache: TieredCache.layer({ ...TieredCache.defaultOptions, redis: { url: Redacted.make(url), prefix, timeout: Duration.millis(200) } })
        })),
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map())))
      )
    )
    const post = (path: string, body: unknown) =>
      Effect.promise(async () => {
        const response = await fetch(`http://127.0.0.1:${port}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body)
        })
        return { status: response.status, body: await response.json() as { cached?: boolean; hits?: ReadonlyArray<{ content: string }> } }
      })
    const search = (query: string) => Effect.map(post("/v1/search", { query, k: 5 }), (r) => r.body)
    return { counter, post, search }
  })

const contents = (hits: ReadonlyArray<{ content: string }> | undefined) => (hits ?? []).map((h) => h.content).sort()

afterAll(() => deleteTestKeys())

describe.skipIf(!redisAvailable)("the search fast path with a Redis L2", () => {
  it.scopedLive("answers hits once Redis confirms them, and never one another instance's write made stale", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const store = Layer.succeed(MemoryStore, InMemoryStore.make({ dimensions: DIMENSIONS }))
      const a = yield* instance(store, redisUrl, prefix)
      const b = yield* instance(store, redisUrl, prefix)
      expect((yield* a.post("/v1/memories", { content: "penguins live in the south" })).status).toBe(201)

      const miss = yield* b.search("penguins")
      expect(miss.cached).toBe(false)
      const hit = yield* b.search("penguins")
      expect(hit.cached).toBe(true)
      expect(b.counter.fast).toBe(1)

      // A write through the other instance: B's next answer is computed again, with the new record.
      yield* a.post("/v1/memories", { content: "penguins cannot fly" })
      const afterWrite = yield* b.search("penguins")
      expect(afterWrite.cached).toBe(false)
      expect(contents(afterWrite.hits)).toEqual(["penguins cannot fly", "penguins live in the south"])
      expect(b.counter.fast).toBe(1)
      expect((yield* b.search("penguins")).cached).toBe(true)
      expect(b.counter.fast).toBe(2)

      // A write in progress somewhere (its mark in Redis): nothing is served from a cache meanwhile.
      const redis = new Redis(redisUrl)
      yield* Effect.addFinalizer(() => Effect.promise(() => redis.quit()))
      yield* Effect.promise(() => redis.sadd(`${prefix}writing:default`, "a-write-elsewhere"))
      const during = yield* b.search("penguins")
      expect(during.cached).toBe(false)
      expect(b.counter.fast).toBe(2)
      yield* Effect.promise(() => redis.del(`${prefix}writing:default`))
      expect((yield* b.search("penguins")).cached).toBe(true)
      expect(b.counter.fast).toBe(3)
    }), 60_000)

  it.scopedLive("a generation lost from Redis is a miss, not an old answer", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const store = Layer.succeed(MemoryStore, InMemoryStore.make({ dimensions: DIMENSIONS }))
      const a = yield* instance(store, redisUrl, prefix)
      yield* a.post("/v1/memories", { content: "walruses haul out on the ice" })
      yield* a.search("walruses")
      expect((yield* a.search("walruses")).cached).toBe(true)
      const redis = new Redis(redisUrl)
      yield* Effect.addFinalizer(() => Effect.promise(() => redis.quit()))
      yield* Effect.promise(() => redis.del(`${prefix}gen:default`))
      expect((yield* a.search("walruses")).cached).toBe(false)
      expect(a.counter.fast).toBe(1)
    }), 60_000)

  it.scopedLive("Redis cut off after a hit was cached: the next searches are computed, none fails", () =>
    Effect.gen(function*() {
      const door = yield* gate(Number(new URL(redisUrl).port || 6379))
      const store = Layer.succeed(MemoryStore, InMemoryStore.make({ dimensions: DIMENSIONS }))
      const a = yield* instance(store, door.url, freshPrefix())
      yield* a.post("/v1/memories", { content: "otters hold hands while they sleep" })
      yield* a.search("otters")
      expect((yield* a.search("otters")).cached).toBe(true)
      expect(a.counter.fast).toBe(1)
      door.shut()
      for (let i = 0; i < 3; i++) {
        const answer = yield* a.search("otters")
        expect(answer.cached).toBe(false)
        expect(contents(answer.hits)).toEqual(["otters hold hands while they sleep"])
      }
      expect(a.counter.fast).toBe(1)
    }), 60_000)
})

describe("the search fast path with a Redis L2 that is not there", () => {
  it.scopedLive("every search is answered by the Effect app, none fails", () =>
    Effect.gen(function*() {
      const store = Layer.succeed(MemoryStore, InMemoryStore.make({ dimensions: DIMENSIONS }))
      const a = yield* instance(store, "redis://127.0.0.1:1", freshPrefix())
      yield* a.post("/v1/memories", { content: "stored while Redis is down" })
      for (let i = 0; i < 3; i++) {
        const answer = yield* a.search("Redis down")
        expect(answer.cached).toBe(false)
        expect(contents(answer.hits)).toEqual(["stored while Redis is down"])
      }
      expect(a.counter.fast).toBe(0)
    }), 60_000)
})
