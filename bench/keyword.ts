/**
 * `npm run bench -- keyword [--rows N] [--stores pgvector,pglite] [--keep] [--no-stats-cost]`:
 * keyword and hybrid search latency beside vector search on real-looking text (the labelled
 * set's generator, run with successive seeds until N distinct records) with the local embedder's
 * vectors, on the server store (DATABASE_URL) and PGlite, each with the index settings the
 * product uses with the local embedder (exact search, no vector index); and what keeping BM25's term
 * statistics costs at ingest (the same records with the statistics triggers disabled).
 * Caches off; one caller; medians over the set's queries. `--keep` leaves the pgvector
 * schema `bench_keyword_<N>` in place and a later run with it searches that data again
 * instead of storing it (100k records take minutes to store).
 */
import { loadavg } from "node:os"
import { ConfigProvider, Context, Effect, Layer, Redacted, Stream } from "effect"
import * as AgentMemory from "../layers/app.ts"
import * as TieredCache from "../layers/cache/TieredCache.ts"
import * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
import * as PgliteStore from "../layers/store/pglite/PgliteStore.ts"
import * as PgvectorStore from "../layers/store/pgvector/PgvectorStore.ts"
import { settingsConfigFor } from "../layers/store/sql/SqlStoreConfig.ts"
import { SearchRequest, type SearchMode } from "../src/domain/Search.ts"
import { Memory } from "../src/memory/Memory.ts"
import type { MemoryStore } from "../src/ports/MemoryStore.ts"
import * as Db from "./db.ts"
import { flagValue } from "./flags.ts"
import { makeCorpus } from "./quality/corpus.ts"
import { summarise, table } from "./stats.ts"

const NAMESPACE = "keyword"

// N distinct texts: the generator repeats about two thirds of its texts across seeds (chat
// small talk, shared facts), and a repeat would be deduplicated, not stored.
const texts = (rows: number) => {
  const records: Array<{ content: string; id: string }> = []
  const seen = new Set<string>()
  const queries: Array<string> = []
  for (let seed = 1; records.length < rows; seed++) {
    const corpus = makeCorpus(seed)
    for (const r of corpus.records) {
      if (records.length < rows && !seen.has(r.content)) {
        seen.add(r.content)
        records.push({ content: r.content, id: `${seed}-${r.id}` })
      }
    }
    if (queries.length < 300) queries.push(...corpus.queries.map((q) => q.text))
  }
  return { records, queries: queries.slice(0, 300) }
}

// What the product runs with the local embedder: the store settings its configuration gives
// when nothing is set (MEMORY_INDEX and ef_search follow the embedder).
const settings = Effect.runSync(Effect.withConfigProvider(settingsConfigFor(HashingEmbedder.make()), ConfigProvider.fromJson({})))
const indexLabel = settings.index._tag === "hnsw" ? `HNSW ef_search ${settings.index.efSearch}` : `index ${settings.index._tag}`

const stack = (store: (dimensions: number) => Layer.Layer<MemoryStore, unknown>) =>
  AgentMemory.layer({
    embedder: HashingEmbedder.layer(),
    store: ({ dimensions }) => store(dimensions),
    cache: TieredCache.layer({ ...TieredCache.defaultOptions, entries: { searches: 0, embeddings: 0, records: 0 } })
  })

const measure = (
  name: string,
  layer: Layer.Layer<Memory, unknown>,
  data: ReturnType<typeof texts>,
  log: (line: string) => void,
  options: { readonly before?: Effect.Effect<void>; readonly stored?: Effect.Effect<boolean>; readonly searches?: boolean } = {}
) =>
  Effect.scoped(Effect.gen(function*() {
    const memory = Context.get(yield* Layer.build(layer), Memory)
    if (options.before) yield* options.before
    let ingestRowsPerSecond = Number.NaN
    if (options.stored !== undefined && (yield* options.stored)) {
      log(`  ${name}: searching the ${data.records.length} records kept by an earlier --keep run`)
    } else {
      const started = performance.now()
      const stored = yield* memory.storeMany(Stream.fromIterable(data.records.map((value, index) => ({ index, value }))), { namespace: NAMESPACE })
      ingestRowsPerSecond = stored.stored / ((performance.now() - started) / 1000)
      log(`  ${name}: ingest ${Math.round(ingestRowsPerSecond).toLocaleString("en-US")} rows/s`)
    }
    if (options.searches === false) return { rows: [], ingestRowsPerSecond }
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
    return { rows, ingestRowsPerSecond }
  }))

export const runKeyword = (argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const log = (line: string) => console.log(line)
    const rows = Number(flagValue(argv, "rows") ?? 5000)
    const stores = (flagValue(argv, "stores") ?? "pgvector,pglite").split(",")
    const keep = argv.includes("--keep")
    const statsCost = !argv.includes("--no-stats-cost")
    const data = texts(rows)
    const url = process.env["DATABASE_URL"]
    log(`keyword: ${data.records.length} records, ${data.queries.length} queries, k=10, caches off, ${indexLabel} (load average ${loadavg()[0]!.toFixed(2)})`)
    const table_: Array<Array<string>> = []
    if (url && stores.includes("pgvector")) {
      const schema = keep ? `bench_keyword_${rows}` : `bench_keyword_${process.pid}`
      const plain = `${schema}_nostats`
      const pgvector = (name: string) => stack((dimensions) => PgvectorStore.layer({ url: Redacted.make(url), schema: name, dimensions, settings }))
      // Kept data counts only when all of it is there (a run stopped midway stores it again).
      const kept = Effect.promise(() =>
        Db.rows<{ n: string }>(url, `SELECT count(*) AS n FROM ${Db.quoteIdent(schema)}.memories WHERE namespace = $1`, [NAMESPACE])
          .then(([r]) => Number(r?.n) === data.records.length, () => false))
      try {
        const pg = yield* measure("pgvector", pgvector(schema), data, log, keep ? { stored: kept } : {})
        table_.push(...pg.rows)
        if (statsCost) {
          // The same ingest with the statistics triggers off: their cost.
          const off = yield* measure("pgvector, statistics off", pgvector(plain), data, log, {
            before: Effect.promise(() => Db.exec(url, `ALTER TABLE ${Db.quoteIdent(plain)}.memories DISABLE TRIGGER USER`)),
            searches: false
          })
          if (!Number.isNaN(pg.ingestRowsPerSecond)) {
            log(`  statistics cost at ingest: ${Math.round(off.ingestRowsPerSecond)} → ${Math.round(pg.ingestRowsPerSecond)} rows/s (${(pg.ingestRowsPerSecond / off.ingestRowsPerSecond).toFixed(2)}×)`)
          }
        }
      } finally {
        if (!keep) yield* Effect.promise(() => Db.dropSchema(url, schema))
        yield* Effect.promise(() => Db.dropSchema(url, plain))
      }
    }
    if (stores.includes("pglite")) {
      const lite = yield* measure("pglite", stack((dimensions) => PgliteStore.layer({ dataDir: "memory://", dimensions, settings })), data, log)
      table_.push(...lite.rows)
    }
    log(table(["store", "mode", "p50 ms", "p95 ms", "p50 / vector p50"], table_))
  }).pipe(Effect.orDie)
