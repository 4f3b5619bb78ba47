/**
 * Redis killed (SIGKILL) and restarted with its data, under load: no request fails, and no
 * answer is stale afterwards (issue 10, reproduction 8). Two Memory instances, each with its
 * own L1, share one store and a redis-server of this test's own (appendonly, fsync always).
 * Each worker owns a namespace, so the truth of every answer is known exactly: the records it
 * stored and has not deleted, all acknowledged.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Layer, Redacted } from "effect"
import * as AgentMemory from "../../layers/app.ts"
import * as TieredCache from "../../layers/cache/TieredCache.ts"
import * as HashingEmbedder from "../../layers/embedder/HashingEmbedder.ts"
import * as InMemoryStore from "../../layers/store/memory/InMemoryStore.ts"
import { StoreMemoryRequest } from "../../src/domain/Memory.ts"
import { SearchRequest } from "../../src/domain/Search.ts"
import { Memory } from "../../src/memory/Memory.ts"
import { MemoryCache } from "../../src/ports/MemoryCache.ts"
import { MemoryStore } from "../../src/ports/MemoryStore.ts"
import { Redis } from "ioredis"
import { gate, type OwnRedis, redisServer, redisServerAvailable } from "../support/redis.ts"

const DIMENSIONS = 128

const instance = (store: Layer.Layer<MemoryStore>, url: string) =>
  Layer.build(
    AgentMemory.layer({
      embedder: HashingEmbedder.layer({ dimensions: DIMENSIONS }),
      store: () => store,
      cache: TieredCache.layer({
        ...TieredCache.defaultOptions,
        redis: { url: Redacted.make(url), prefix: "outage:", timeout: Duration.millis(200) }
      })
    })
  )

/** Two instances on one store; each reaches Redis at its own URL (the same one unless told). */
const twoInstances = (redis: OwnRedis, urls: readonly [string, string] = [redis.url, redis.url]) =>
  Effect.gen(function*() {
    const store = Layer.succeed(MemoryStore, InMemoryStore.make({ dimensions: DIMENSIONS }))
    const a = yield* instance(store, urls[0])
    const b = yield* instance(store, urls[1])
    return {
      memories: [yield* Memory.pipe(Effect.provide(a)), yield* Memory.pipe(Effect.provide(b))] as const,
      caches: [yield* MemoryCache.pipe(Effect.provide(a)), yield* MemoryCache.pipe(Effect.provide(b))] as const
    }
  })

/**
 * Until both instances answer a repeated search from the cache again (Redis reconnected and its
 * restart fence over; an L1 hit too needs the generation from Redis), at most 10 s.
 */
const untilCacheServes = (memories: ReadonlyArray<typeof Memory.Service>) =>
  Effect.gen(function*() {
    const probe = new SearchRequest({ query: "probe", namespace: `probe-${Math.random()}` })
    for (let i = 0; i < 100; i++) {
      const answers = yield* Effect.forEach([...memories, ...memories], (memory) => memory.search(probe))
      if (answers.slice(memories.length).every((answer) => answer.cached)) return
      yield* Effect.sleep("100 millis")
    }
    return yield* Effect.dieMessage("the cache did not serve again within 10 s")
  })

/** Until `clients` connections (besides this probe's) have asked the Redis for its run id, at most 10 s. */
const untilRunIdAsked = (redis: OwnRedis, clients: number) =>
  Effect.promise(async () => {
    const probe = new Redis(redis.url)
    try {
      for (let i = 0; i < 200; i++) {
        const list = String(await probe.call("CLIENT", "LIST"))
        if (list.split("\n").filter((line) => /cmd=info\b/.test(line)).length >= clients) return
        await new Promise((r) => setTimeout(r, 50))
      }
      throw new Error("no instance reconnected within 10 s")
    } finally {
      probe.disconnect()
    }
  }).pipe(Effect.zipRight(Effect.sleep("50 millis"))) // the INFO reply on its way back

const ids = (answer: { readonly hits: ReadonlyArray<{ readonly id: string }> }) => answer.hits.map((h) => h.id).sort()

describe.skipIf(!redisServerAvailable)("Redis killed and restarted", () => {
  it.scopedLive("the reproduction: a write and a delete while Redis is down are seen by both instances when it returns", () =>
    Effect.gen(function*() {
      const redis = yield* redisServer
      const { memories: [a, b] } = yield* twoInstances(redis)
      const namespace = "repro"
      const query = new SearchRequest({ namespace, query: "harbour seals", k: 10 })
      const doomed = yield* a.store(new StoreMemoryRequest({ namespace, content: "harbour seals rest on rocks" }))
      yield* a.search(query)
      expect((yield* b.search(query)).cached).toBe(true) // from the L2
      expect((yield* b.get(doomed.id, namespace)).id).toBe(doomed.id)
      yield* a.get(doomed.id, namespace)

      yield* redis.kill
      const added = yield* a.store(new StoreMemoryRequest({ namespace, content: "harbour seals pup in spring" }))
      yield* a.delete(doomed.id, namespace)
      yield* redis.restart
      yield* untilCacheServes([a, b])

      for (const memory of [b, a]) {
        const answer = yield* memory.search(query)
        expect(answer.hits.map((h) => h.id)).toEqual([added.id])
        expect((yield* Effect.flip(memory.get(doomed.id, namespace)))._tag).toBe("MemoryNotFound")
      }
      // The L2 is in use again: a repeated search is a hit, and the right one.
      const again = yield* b.search(query)
      expect(again.cached).toBe(true)
      expect(again.hits.map((h) => h.id)).toEqual([added.id])
    }), 60_000)

  it.scopedLive("instances reconnect one after another: a write by the one still cut off is not hidden by the other's cache", () =>
    Effect.gen(function*() {
      const redis = yield* redisServer
      const door = yield* gate(redis.port) // A reaches Redis through it, B directly
      const { memories: [a, b] } = yield* twoInstances(redis, [door.url, redis.url])
      const namespace = "late"
      const query = new SearchRequest({ namespace, query: "harbour seals", k: 10 })
      const first = yield* a.store(new StoreMemoryRequest({ namespace, content: "harbour seals rest on rocks" }))
      yield* b.search(query)
      expect((yield* b.search(query)).cached).toBe(true)

      yield* redis.kill
      door.shut()
      yield* redis.restart
      yield* untilRunIdAsked(redis, 1) // B is back on the new run; A is not
      // B searches under the new run, then A writes without reaching Redis.
      expect(ids(yield* b.search(query))).toEqual([first.id])
      const added = yield* a.store(new StoreMemoryRequest({ namespace, content: "harbour seals pup in spring" }))
      const seen = yield* b.search(query)
      expect(ids(seen)).toEqual([first.id, added.id].sort())
      expect(seen.cached).toBe(false)

      door.open()
      yield* untilCacheServes([a, b])
      for (const memory of [b, a, b]) expect(ids(yield* memory.search(query))).toEqual([first.id, added.id].sort())
      expect((yield* b.search(query)).cached).toBe(true) // the L2 in use again
    }), 60_000)

  it.scopedLive("under load: no failed request, no stale answer", () =>
    Effect.gen(function*() {
      const redis = yield* redisServer
      const { caches, memories } = yield* twoInstances(redis)
      const figures = { requests: 0, errors: 0, stale: 0, cachedAnswers: 0, cachedAfterRestart: 0, checkedAnswers: 0 }
      const errors: Array<string> = []
      let phase: "before" | "down" | "after" = "before"
      let stop = false

      const worker = (w: number) =>
        Effect.gen(function*() {
          const namespace = `load-${w}`
          const live = new Map<string, string>() // id → content, every one acknowledged
          const deleted: Array<string> = []
          const query = new SearchRequest({ namespace, query: "notes about the harbour", k: 50 })
          const pick = () => memories[Math.floor(Math.random() * 2)]!
          const run = <A, E>(effect: Effect.Effect<A, E>) =>
            Effect.gen(function*() {
              figures.requests++
              const result = yield* Effect.either(effect)
              if (Either.isLeft(result)) {
                figures.errors++
                errors.push(String(result.left))
              }
              return result
            })
          for (let i = 0; !stop; i++) {
            yield* Effect.sleep("2 millis") // bounded load; lets the timers that kill and restart Redis run
            const stored = yield* run(pick().store(new StoreMemoryRequest({ namespace, content: `notes about the harbour ${w}-${i}` })))
            if (Either.isRight(stored)) live.set(stored.right.id, stored.right.content)
            if (live.size > 12 || (i % 3 === 2 && live.size > 0)) {
              const id = [...live.keys()][Math.floor(Math.random() * live.size)]!
              const removed = yield* run(pick().delete(id, namespace))
              if (Either.isRight(removed)) {
                live.delete(id)
                deleted.push(id)
              }
            }
            // Each search twice (the second usually a cache hit), through either instance.
            for (let r = 0; r < 2; r++) {
              const answer = yield* run(pick().search(query))
              if (Either.isLeft(answer)) continue
              figures.checkedAnswers++
              if (answer.right.cached) {
                figures.cachedAnswers++
                if (phase === "after") figures.cachedAfterRestart++
              }
              const got = answer.right.hits.map((h) => h.id).sort()
              if (JSON.stringify(got) !== JSON.stringify([...live.keys()].sort())) {
                figures.stale++
                errors.push(`stale answer in ${namespace} (${phase}, cached ${answer.right.cached}): ${got.length} hits, ${live.size} live`)
              }
            }
            if (deleted.length > 0) {
              const id = deleted[deleted.length - 1]!
              figures.requests++
              const found = yield* Effect.either(pick().get(id, namespace))
              if (Either.isRight(found)) {
                figures.stale++
                errors.push(`GET of deleted ${id} answered the record (${phase})`)
              } else if (found.left._tag !== "MemoryNotFound") {
                figures.errors++
                errors.push(String(found.left))
              }
            }
          }
        })

      const load = yield* Effect.forEach(Array.from({ length: 8 }, (_, w) => w), worker, { concurrency: "unbounded" }).pipe(Effect.fork)
      yield* Effect.sleep("1500 millis")
      yield* redis.kill
      phase = "down"
      yield* Effect.sleep("1500 millis")
      yield* redis.restart
      phase = "after"
      yield* Effect.sleep("5 seconds")
      stop = true
      yield* load.await
      const l2 = yield* Effect.forEach(caches, (c) => c.stats)
      console.log(
        `Redis outage under load: ${figures.requests} requests, ${figures.errors} errors, ${figures.stale} stale answers ` +
          `(${figures.checkedAnswers} search answers checked, ${figures.cachedAnswers} cached, ${figures.cachedAfterRestart} cached after the restart); ` +
          `L2 hits ${l2.map((s) => s.searches.l2Hits).join("+")}, L2 errors ${l2.map((s) => s.searches.l2Errors).join("+")}`
      )
      expect(errors.slice(0, 5)).toEqual([])
      expect(figures.errors).toBe(0)
      expect(figures.stale).toBe(0)
      expect(figures.cachedAfterRestart).toBeGreaterThan(0) // the L2 came back into use
    }), 90_000)
})
