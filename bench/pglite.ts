/**
 * The embedded store (PGlite, WebAssembly PostgreSQL with pgvector, the
 * default), where it fits: the first `--pglite-rows` rows of the same data
 * through the batch path (no index, then the index built at start-up, as with
 * a server), then recall and latency at the default ef_search from one caller,
 * and a search-cache hit against a miss. PGlite is single-threaded and in
 * process, so there is no concurrency to measure.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Context, Effect, Layer, Stream } from "effect"
import * as AgentMemory from "../layers/app.ts"
import * as TieredCache from "../layers/cache/TieredCache.ts"
import * as PgliteStore from "../layers/store/pglite/PgliteStore.ts"
import type { VectorIndex } from "../layers/store/sql/SqlStoreConfig.ts"
import { SearchRequest } from "../src/domain/Search.ts"
import { Memory } from "../src/memory/Memory.ts"
import * as MemorySettings from "../src/memory/MemorySettings.ts"
import type { BenchContext } from "./context.ts"
import { exactSearch } from "./exactSearch.ts"
import { recallOf } from "./groundTruth.ts"
import * as PrecomputedEmbedder from "./PrecomputedEmbedder.ts"
import * as Stack from "./stack.ts"
import { summarise, type Summary } from "./stats.ts"

export interface PgliteResult {
  readonly rows: number
  readonly ingestRowsPerSecond: number
  readonly ingestSeconds: number
  readonly indexBuildSeconds: number
  readonly ef: number
  readonly recall: number
  readonly latency: Summary
  readonly queriesPerSecond: number
  readonly cacheMiss: Summary
  readonly cacheHit: Summary
  readonly cacheRatio: number
}

const start = (ctx: BenchContext, dataDir: string, index: VectorIndex, caches = Stack.cachesOff) =>
  Effect.gen(function*() {
    const started = performance.now()
    const context = yield* Layer.build(AgentMemory.layer({
      embedder: PrecomputedEmbedder.layer(ctx.vectors, ctx.data.dims),
      store: ({ dimensions }) => PgliteStore.layer({ dataDir, dimensions, settings: { vectorType: "vector", index, pgSettings: {} } }),
      cache: TieredCache.layer({ ...TieredCache.defaultOptions, entries: caches }),
      settings: MemorySettings.layer({ batchSize: ctx.options.batchSize, batchConcurrency: 1 })
    }))
    return { memory: Context.get(context, Memory), startMs: performance.now() - started }
  })

export const pgliteScenario = (ctx: BenchContext) =>
  Effect.gen(function*() {
    const { data, log, options } = ctx
    const rows = Math.min(options.pgliteRows, data.rows)
    const queries = Math.min(data.queries, 200)
    const ef = options.defaultEf
    const dir = mkdtempSync(join(tmpdir(), "agent-memory-bench-pglite-"))
    log(`pglite (embedded): ${rows.toLocaleString("en-US")} rows, ${queries} queries, ef_search ${ef}`)
    try {
      const ingest = yield* Effect.scoped(Effect.gen(function*() {
        const { memory } = yield* start(ctx, dir, Stack.noIndex)
        const items = Stream.range(0, rows - 1).pipe(Stream.map((row) => ({
          index: row,
          value: { content: data.texts[row]!, id: data.id(row), metadata: data.metadata(row) }
        })))
        const started = performance.now()
        const result = yield* memory.storeMany(items, { namespace: Stack.NAMESPACE })
        if (result.stored !== rows) return yield* Effect.dieMessage(`pglite stored ${result.stored} of ${rows}`)
        return (performance.now() - started) / 1000
      }))
      // Truth over the rows loaded here (the first `rows` of the data set).
      const truth = exactSearch({ ...data, queryVectors: data.queryVectors, rows, k: options.k, from: 0, to: queries, filtered: 0 })
      const search = yield* Effect.scoped(Effect.gen(function*() {
        const { memory, startMs } = yield* start(ctx, dir, Stack.hnsw(ef))
        const ask = (q: number) => memory.search(new SearchRequest({ query: data.queryTexts[q]!, namespace: Stack.NAMESPACE, k: options.k }))
        for (let q = 0; q < Math.min(20, queries); q++) yield* ask(q)
        let recall = 0
        const samples: Array<number> = []
        for (let q = 0; q < queries; q++) {
          const t = performance.now()
          const { hits } = yield* ask(q)
          samples.push(performance.now() - t)
          recall += recallOf(truth.all.subarray(q * options.k, (q + 1) * options.k), hits.map((h) => data.rowOf(h.id)))
        }
        return { buildSeconds: startMs / 1000, recall: recall / queries, latency: summarise(samples) }
      }))
      const cache = yield* Effect.scoped(Effect.gen(function*() {
        const { memory } = yield* start(ctx, dir, Stack.hnsw(ef), { searches: 10_000, embeddings: 10_000, records: 10_000 })
        const time = (q: number) =>
          Effect.map(Effect.all([Effect.sync(() => performance.now()), memory.search(new SearchRequest({ query: data.queryTexts[q]!, namespace: Stack.NAMESPACE, k: options.k }))]), ([t]) => performance.now() - t)
        const misses: Array<number> = []
        for (let q = 0; q < queries; q++) misses.push(yield* time(q))
        const hits: Array<number> = []
        for (let round = 0; round < 5; round++) for (let q = 0; q < queries; q++) hits.push(yield* time(q))
        return { miss: summarise(misses), hit: summarise(hits) }
      }))
      const result: PgliteResult = {
        rows,
        ingestSeconds: ingest,
        ingestRowsPerSecond: rows / ingest,
        indexBuildSeconds: search.buildSeconds,
        ef,
        recall: search.recall,
        latency: search.latency,
        queriesPerSecond: 1000 / search.latency.meanMs,
        cacheMiss: cache.miss,
        cacheHit: cache.hit,
        cacheRatio: cache.miss.meanMs / cache.hit.meanMs
      }
      log(`  ingest ${Math.round(result.ingestRowsPerSecond).toLocaleString("en-US")} rows/s; index build ${result.indexBuildSeconds.toFixed(1)} s; recall ${result.recall.toFixed(3)}; p50 ${result.latency.p50Ms.toFixed(2)} ms p99 ${result.latency.p99Ms.toFixed(2)} ms; cache hit ${result.cacheRatio.toFixed(0)}× cheaper than a miss`)
      return result
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
