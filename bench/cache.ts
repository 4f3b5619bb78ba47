/**
 * Caches: what a search costs when the search cache answers it against when it
 * misses (embedding + vector search), in process and with the shared Redis L2;
 * and how many embedding requests the caches save on a skewed query stream
 * and on re-ingesting texts already embedded.
 */
import { Effect, Stream } from "effect"
import * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
import { SearchRequest } from "../src/domain/Search.ts"
import type { Memory } from "../src/memory/Memory.ts"
import type { BenchContext } from "./context.ts"
import { searchSchema } from "./ingest.ts"
import * as PrecomputedEmbedder from "./PrecomputedEmbedder.ts"
import { Random } from "./random.ts"
import * as Stack from "./stack.ts"
import { summarise, type Summary } from "./stats.ts"

export interface CacheResult {
  readonly queries: number
  /** First search of each query: embed (precomputed) + HNSW search at the default ef_search. */
  readonly miss: Summary
  /** The same with the local hashing embedder instead of precomputed vectors (embedding work included). */
  readonly missLocalEmbedder: Summary
  /** The same queries again: answered by the in-process cache. */
  readonly hit: Summary
  /** mean miss / mean hit. */
  readonly ratio: number
  readonly ratioP50: number
  /** With Redis: a hit in another instance's L1 (it reads the namespace generation from Redis). */
  readonly hitWithRedis: Summary | undefined
  /** With Redis: an instance whose L1 is cold, answered from Redis. */
  readonly l2Hit: Summary | undefined
  readonly skewed: {
    readonly searches: number
    readonly distinct: number
    /** Embedding requests the embedder saw, search cache on. */
    readonly embeddingRequests: number
    /** Searches the store answered, search cache on. */
    readonly storeSearches: number
    /** Embedding requests with the search cache off and the embedding cache on (each distinct text embedded once). */
    readonly embeddingRequestsEmbeddingCacheOnly: number
  }
  readonly reingest: { readonly texts: number; readonly embedded: number }
}

const DEFAULT_CACHES = { searches: 10_000, embeddings: 10_000, records: 10_000 }

const timed = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.map(Effect.all([Effect.sync(() => performance.now()), effect]), ([t, a]) => ({ a, ms: performance.now() - t }))

/** Times each query once; fails the run if `cached` is not what the measurement expects. */
const pass = (memory: Memory, ctx: BenchContext, queries: ReadonlyArray<number>, expectCached: boolean) =>
  Effect.gen(function*() {
    const samples: Array<number> = []
    for (const q of queries) {
      const { a, ms } = yield* timed(memory.search(new SearchRequest({ query: ctx.data.queryTexts[q]!, namespace: Stack.NAMESPACE, k: ctx.options.k })))
      if (a.cached !== expectCached) return yield* Effect.dieMessage(`query ${q}: expected cached=${expectCached}`)
      samples.push(ms)
    }
    return samples
  })

/** A Zipf(1) stream over `distinct` queries: a few are asked often, most rarely, as a chat's searches are. */
const skewedStream = (count: number, distinct: number, seed: number) => {
  const weights = Array.from({ length: distinct }, (_, i) => 1 / (i + 1))
  const total = weights.reduce((s, w) => s + w, 0)
  const random = new Random(seed)
  return Array.from({ length: count }, () => {
    let u = random.next() * total
    for (let i = 0; i < distinct; i++) if ((u -= weights[i]!) <= 0) return i
    return distinct - 1
  })
}

export const cacheScenario = (ctx: BenchContext, url: string) =>
  Effect.gen(function*() {
    const { data, log, options } = ctx
    const schema = searchSchema(ctx)
    const index = Stack.hnsw(options.defaultEf)
    const queries = Array.from({ length: data.queries }, (_, q) => q)
    const warm = Math.min(50, Math.floor(data.queries / 4))
    const stack = (extra: Partial<Stack.StackOptions> = {}, counts?: PrecomputedEmbedder.EmbedderCounts) =>
      Stack.start({ url, schema, index, embedder: PrecomputedEmbedder.layer(ctx.vectors, data.dims, counts), caches: DEFAULT_CACHES, ...extra })

    log(`caches: ${data.queries} queries, ef_search ${options.defaultEf}${options.redisUrl ? ", Redis L2 at " + options.redisUrl.replace(/\/\/[^@]*@/, "//") : ", no Redis (set REDIS_URL for the L2 figures)"}`)
    // Miss then hit, in one process-local stack.
    const { hits, misses } = yield* Effect.scoped(Effect.gen(function*() {
      const { memory } = yield* stack()
      yield* pass(memory, ctx, queries.slice(0, warm), false) // warm-up (these become hits below)
      const misses = yield* pass(memory, ctx, queries.slice(warm), false)
      // Unmeasured rounds first (20,000 hits, under a second): the hit path is measured once the JIT
      // has compiled it, as the miss is after its warm-up.
      for (let round = 0; round < Math.ceil(20_000 / queries.length); round++) yield* pass(memory, ctx, queries, true)
      const hits: Array<number> = []
      for (let round = 0; round < 10; round++) hits.push(...yield* pass(memory, ctx, queries, true))
      return { hits, misses }
    }))
    const missLocal = yield* Effect.scoped(Effect.gen(function*() {
      const { memory } = yield* Stack.start({ url, schema, index, embedder: HashingEmbedder.layer({ dimensions: data.dims }) })
      yield* pass(memory, ctx, queries.slice(0, warm), false)
      return yield* pass(memory, ctx, queries.slice(warm), false)
    }))

    // With Redis: instance A fills L1 and L2; B (cold L1) is answered from L2, then from its own L1.
    let hitWithRedis: Summary | undefined
    let l2Hit: Summary | undefined
    if (options.redisUrl) {
      // A key prefix of this run's own: nothing cached by an earlier run can answer.
      const redis = { redisUrl: options.redisUrl, redisPrefix: `bench:${schema}:${Date.now()}:` }
      const measured = yield* Effect.scoped(Effect.gen(function*() {
        const a = yield* stack(redis)
        yield* pass(a.memory, ctx, queries, false)
        const b = yield* stack(redis)
        const fromL2 = yield* pass(b.memory, ctx, queries, true)
        const fromL1: Array<number> = []
        for (let round = 0; round < 3; round++) fromL1.push(...yield* pass(b.memory, ctx, queries, true))
        return { fromL1, fromL2 }
      }))
      hitWithRedis = summarise(measured.fromL1)
      l2Hit = summarise(measured.fromL2)
    }

    // A skewed stream: how many embedding requests and store searches reach past the caches.
    const distinct = Math.min(data.queries, 200)
    const stream = skewedStream(Math.max(1000, distinct * 10), distinct, options.seed)
    const withCaches = { requests: 0, texts: 0 }
    const storeSearches = yield* Effect.scoped(Effect.gen(function*() {
      const { memory } = yield* stack({}, withCaches)
      let computed = 0
      for (const q of stream) {
        const r = yield* memory.search(new SearchRequest({ query: data.queryTexts[q]!, namespace: Stack.NAMESPACE, k: options.k }))
        if (!r.cached) computed++
      }
      return computed
    }))
    const embeddingOnly = { requests: 0, texts: 0 }
    yield* Effect.scoped(Effect.gen(function*() {
      const { memory } = yield* stack({ caches: { ...DEFAULT_CACHES, searches: 0 } }, embeddingOnly)
      for (const q of stream) yield* memory.search(new SearchRequest({ query: data.queryTexts[q]!, namespace: Stack.NAMESPACE, k: options.k }))
    }))

    // Re-ingesting texts the embedding cache has seen (into another namespace): no embedding requests.
    const reingestCount = Math.min(1000, data.rows)
    const reingest = { requests: 0, texts: 0 }
    yield* Effect.scoped(Effect.gen(function*() {
      const { memory } = yield* stack({}, reingest)
      const items = (namespace: string) =>
        Stream.range(0, reingestCount - 1).pipe(Stream.map((row) => ({ index: row, value: { content: data.texts[row]!, namespace } })))
      yield* memory.storeMany(items("bench-cache-a"))
      reingest.texts = 0
      yield* memory.storeMany(items("bench-cache-b"))
      yield* memory.deleteWhere({ namespace: "bench-cache-a" })
      yield* memory.deleteWhere({ namespace: "bench-cache-b" })
    }))

    const miss = summarise(misses)
    const hit = summarise(hits)
    const result: CacheResult = {
      queries: data.queries,
      miss,
      missLocalEmbedder: summarise(missLocal),
      hit,
      ratio: miss.meanMs / hit.meanMs,
      ratioP50: miss.p50Ms / hit.p50Ms,
      hitWithRedis,
      l2Hit,
      skewed: {
        searches: stream.length,
        distinct: new Set(stream).size,
        embeddingRequests: withCaches.requests,
        storeSearches,
        embeddingRequestsEmbeddingCacheOnly: embeddingOnly.requests
      },
      reingest: { texts: reingestCount, embedded: reingest.texts }
    }
    const us = (ms: number) => `${(ms * 1000).toFixed(0)} µs`
    log(`  miss ${miss.meanMs.toFixed(2)} ms mean (${miss.p50Ms.toFixed(2)} p50); local embedder ${result.missLocalEmbedder.meanMs.toFixed(2)} ms; hit ${us(hit.meanMs)} mean (${us(hit.p50Ms)} p50): ${result.ratio.toFixed(0)}× cheaper`)
    if (hitWithRedis && l2Hit) log(`  with Redis: L1 hit ${us(hitWithRedis.meanMs)}, L2 hit ${us(l2Hit.meanMs)}`)
    log(`  skewed stream: ${stream.length} searches over ${result.skewed.distinct} queries → ${withCaches.requests} embedding requests, ${storeSearches} store searches; re-ingest of ${reingestCount} texts → ${reingest.texts} embedded`)
    return result
  })
