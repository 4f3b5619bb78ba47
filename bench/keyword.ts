/**
 * `npm run bench -- keyword [--rows N]`: keyword and hybrid search latency
 * beside vector search on real-looking text (the labelled set's generator, run
 * with successive seeds until N records) with the local embedder's vectors, on
 * the server store (DATABASE_URL) and PGlite; and what keeping BM25's term
 * statistics costs at ingest (the same records with the statistics triggers
 * disabled). Caches off; one caller; medians over the set's queries.
 */
import { loadavg } from "node:os"
import { Context, Effect, Layer, Redacted, Stream } from "effect"
import * as AgentMemory from "../layers/app.ts"
import * as TieredCache from "../layers/cache/TieredCache.ts"
import * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
import * as PgliteStore from "../layers/store/pglite/PgliteStore.ts"
import * as PgvectorStore from "../layers/store/pgvector/PgvectorStore.ts"
import { SearchRequest, type SearchMode } from "../src/domain/Search.ts"
import { Memory } from "../src/memory/Memory.ts"
import type { MemoryStore } from "../src/ports/MemoryStore.ts"
import * as Db from "./db.ts"
import { makeCorpus } from "./quality/corpus.ts"
import { summarise, table } from "./stats.ts"

const NAMESPACE = "keyword"

const texts = (rows: number) => {
  const records: Array<{ content: string; id: string }> = []
  const queries: Array<string> = []
  for (let seed = 1; records.length < rows; seed++) {
    const corpus = makeCorpus(seed)
    for (const r of corpus.records) if (records.length < rows) records.push({ content: r.content, id: `${seed}-${r.id}` })
    if (queries.length < 300) queries.push(...corpus.queries.map((q) => q.text))
  }
  return { records, queries: queries.slice(0, 300) }
}

const stack = (store: (dimensions: number) => Layer.Layer<MemoryStore, unknown>) =>
  AgentMemory.layer({
    embedder: HashingEmbedder.layer(),
    store: ({ dimensions }) => store(dimensions),
    cache: TieredCache.layer({ ...TieredCache.defaultOptions, entries: { searches: 0, embeddings: 0, records: 0 } })
  })

const measure = (name: string, layer: Layer.Layer<Memory, unknown>, data: ReturnType<typeof texts>, log: (line: string) => void, before?: Effect.Effect<void>) =>
  Effect.scoped(Effect.gen(function*() {
    const memory = Context.get(yield* Layer.build(layer), Memory)
    if (before) yield* before
    const started = performance.now()
    const stored = yield* memory.storeMany(Stream.fromIterable(data.records.map((value, index) => ({ index, value }))), { namespace: NAMESPACE })
    const ingestRowsPerSecond = stored.stored / ((performance.now() - started) / 1000)
    const rows: Array<Array<string>> = []
    const p50: Partial<Record<SearchMode, number>> = {}
    for (const mode of ["vector", "keyword", "hybrid"] as const) {
      const ask = (query: string) => memory.search(new SearchRequest({ query, namespace: NAMESPACE, k: 10, mode }))
      for (const q of data.queries.slice(0, 20)) yield* ask(q)
      const samples: Array<number> = []
      for (const q of data.queries) {
        const t = performance.now()
        yield* ask(q)
        samples.push(performance.now() - t)
      }
      const s = summarise(samples)
      p50[mode] = s.p50Ms
      rows.push([name, mode, s.p50Ms.toFixed(2), s.p95Ms.toFixed(2), (s.p50Ms / (p50.vector ?? s.p50Ms)).toFixed(2)])
    }
    log(`  ${name}: ingest ${Math.round(ingestRowsPerSecond).toLocaleString("en-US")} rows/s`)
    return { rows, ingestRowsPerSecond }
  }))

export const runKeyword = (argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const log = (line: string) => console.log(line)
    const at = argv.indexOf("--rows")
    const rows = at >= 0 ? Number(argv[at + 1]) : 5000
    const data = texts(rows)
    const url = process.env["DATABASE_URL"]
    log(`keyword: ${data.records.length} records, ${data.queries.length} queries, k=10, caches off (load average ${loadavg()[0]!.toFixed(2)})`)
    const table_: Array<Array<string>> = []
    if (url) {
      const schema = `bench_keyword_${process.pid}`
      const plain = `${schema}_nostats`
      try {
        const pg = yield* measure("pgvector", stack((dimensions) => PgvectorStore.layer({ url: Redacted.make(url), schema, dimensions })), data, log)
        table_.push(...pg.rows)
        // The same ingest with the statistics triggers off: their cost.
        const off = yield* measure("pgvector, statistics off", stack((dimensions) => PgvectorStore.layer({ url: Redacted.make(url), schema: plain, dimensions })), data, log,
          Effect.promise(() => Db.exec(url, `ALTER TABLE ${Db.quoteIdent(plain)}.memories DISABLE TRIGGER USER`)))
        log(`  statistics cost at ingest: ${Math.round(off.ingestRowsPerSecond)} → ${Math.round(pg.ingestRowsPerSecond)} rows/s (${(pg.ingestRowsPerSecond / off.ingestRowsPerSecond).toFixed(2)}×)`)
      } finally {
        yield* Effect.promise(() => Db.dropSchema(url, schema))
        yield* Effect.promise(() => Db.dropSchema(url, plain))
      }
    }
    const lite = yield* measure("pglite", stack((dimensions) => PgliteStore.layer({ dataDir: "memory://", dimensions })), data, log)
    table_.push(...lite.rows)
    log(table(["store", "mode", "p50 ms", "p95 ms", "p50 / vector p50"], table_))
  }).pipe(Effect.orDie)
