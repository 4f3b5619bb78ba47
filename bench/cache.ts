/**
 * Cache benchmark: what a search costs when it hits the search cache against
 * when it misses (embedding + vector search in the embedded pglite store).
 *
 *   npm run bench -- cache [--records 2000] [--queries 300]
 */
import { Effect } from "effect"
import * as AgentMemory from "../layers/app.ts"
import * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
import * as PgliteStore from "../layers/store/pglite/PgliteStore.ts"
import { StoreMemoryRequest } from "../src/domain/Memory.ts"
import { SearchRequest } from "../src/domain/Search.ts"
import { Memory } from "../src/memory/Memory.ts"
import { MemoryCache } from "../src/ports/MemoryCache.ts"
import { formatMs, summarise, table } from "./stats.ts"

const WORDS = ("river mountain harbour engine garden violin planet winter coffee library market signal " +
  "forest castle rocket island kitchen theatre bridge desert pepper cotton silver thunder").split(" ")

const sentence = (i: number) =>
  Array.from({ length: 8 }, (_, j) => WORDS[(i * 7 + j * 13 + ((i * j) % 5)) % WORDS.length]).join(" ") + ` #${i}`

export interface CacheBenchResult {
  readonly records: number
  readonly miss: ReturnType<typeof summarise>
  readonly hit: ReturnType<typeof summarise>
  readonly ratio: number
}

export const cacheBench = (options: { readonly records: number; readonly queries: number }) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    yield* Effect.forEach(Array.from({ length: options.records }, (_, i) => i), (i) =>
      memory.store(new StoreMemoryRequest({ content: sentence(i) })), { concurrency: 8, discard: true })
    const queries = Array.from({ length: options.queries }, (_, i) => new SearchRequest({ query: `${sentence(i * 3 + 1)} q`, k: 10 }))
    const time = (request: SearchRequest) =>
      Effect.gen(function*() {
        const started = performance.now()
        const response = yield* memory.search(request)
        return { ms: performance.now() - started, cached: response.cached }
      })
    // Warm the JIT and pglite's buffers on queries we do not measure.
    for (let i = 0; i < 50; i++) yield* time(new SearchRequest({ query: `warm up ${i}`, k: 10 }))
    const misses: Array<number> = []
    for (const q of queries) {
      const { cached, ms } = yield* time(q)
      if (cached) return yield* Effect.die(new Error("a first search was a cache hit"))
      misses.push(ms)
    }
    const hits: Array<number> = []
    for (let round = 0; round < 10; round++) {
      for (const q of queries) {
        const { cached, ms } = yield* time(q)
        if (!cached) return yield* Effect.die(new Error("a repeated search missed the cache"))
        hits.push(ms)
      }
    }
    const miss = summarise(misses)
    const hit = summarise(hits)
    const stats = yield* Effect.flatMap(MemoryCache, (c) => c.stats)
    const result: CacheBenchResult = { records: options.records, miss, hit, ratio: miss.meanMs / hit.meanMs }
    yield* Effect.log(`search cache: ${stats.searches.hits} hits, ${stats.searches.misses} misses`)
    console.log(`\nSearch cost against pglite (${options.records} records, local embedder, k=10)\n`)
    console.log(table(["search", "count", "mean", "p50", "p95", "p99"], [
      ["cache miss", String(miss.count), formatMs(miss.meanMs), formatMs(miss.p50Ms), formatMs(miss.p95Ms), formatMs(miss.p99Ms)],
      ["cache hit", String(hit.count), formatMs(hit.meanMs), formatMs(hit.p50Ms), formatMs(hit.p95Ms), formatMs(hit.p99Ms)]
    ]))
    console.log(`\nA cache hit costs ${result.ratio.toFixed(0)}× less than a miss (mean).`)
    return result
  }).pipe(
    Effect.provide(AgentMemory.layer({
      embedder: HashingEmbedder.layer(),
      store: ({ dimensions }) => PgliteStore.layer({ dataDir: "memory://", dimensions })
    }))
  )
