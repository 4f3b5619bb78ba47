/**
 * Keyword and hybrid search latency beside vector search on real-looking text (the labelled
 * set's generator, run with successive seeds until N distinct records) with the local embedder's
 * vectors, on the server store (DATABASE_URL) and PGlite, each with the index settings the
 * product uses with the local embedder (exact search, no vector index); and what keeping BM25's
 * term statistics costs at ingest (the same records with the statistics triggers disabled).
 * Caches off; the same queries at every size; one caller for latency (medians), and on the
 * server store four callers for queries/s.
 *
 * Part of `npm run bench` (the `keyword` scenario, at `--keyword-rows`), and a run of its own:
 * `npm run bench -- keyword [--rows N[,N…]] [--stores pgvector,pglite] [--queries Q] [--keep]
 * [--no-stats-cost]`. `--keep` leaves the pgvector schema `bench_keyword_<N>` in place and a
 * later run with it searches that data again instead of storing it (100k records take a while).
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
import { summarise, table, type Summary } from "./stats.ts"

const NAMESPACE = "keyword"
const MODES: ReadonlyArray<SearchMode> = ["vector", "keyword", "hybrid"]
/** Callers for the queries/s figure on the server store (PGlite is one thread in process). */
const CALLERS = 4

export type KeywordStore = "pgvector" | "pglite"

export interface KeywordFigure {
  readonly rows: number
  readonly store: KeywordStore
  readonly mode: SearchMode
  /** One caller. */
  readonly latency: Summary
  readonly queriesPerSecond: number
  /** CALLERS callers at once (pgvector only). */
  readonly queriesPerSecondConcurrent?: number | undefined
  /** This mode's p50 over vector search's p50, same store and size (the goal: ≤ 2). */
  readonly vsVector: number
}

export interface KeywordIngest {
  readonly rows: number
  readonly store: KeywordStore
  /** NaN when the records were kept from an earlier --keep run. */
  readonly rowsPerSecond: number
  /** The same records with the term-statistics triggers disabled (pgvector, when measured). */
  readonly statisticsOffRowsPerSecond?: number | undefined
}

export interface KeywordResult {
  readonly queries: number
  readonly index: string
  readonly callers: number
  readonly figures: ReadonlyArray<KeywordFigure>
  readonly ingests: ReadonlyArray<KeywordIngest>
}

export interface KeywordOptions {
  readonly sizes: ReadonlyArray<number>
  readonly stores: ReadonlyArray<KeywordStore>
  readonly queries: number
  /** Measure the statistics triggers' cost at ingest at sizes up to this many records. */
  readonly statsCostUpTo: number
  readonly keep: boolean
  /** Schema names start with this (the run's prefix, so runs and tests never meet). */
  readonly prefix: string
}

// N distinct texts: the generator repeats about two thirds of its texts across seeds (chat
// small talk, shared facts), and a repeat would be deduplicated, not stored. The queries are
// the first seeds' and the same at every size.
const texts = (rows: number, queryCount: number) => {
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
    if (queries.length < queryCount) queries.push(...corpus.queries.map((q) => q.text))
  }
  return { records, queries: queries.slice(0, queryCount) }
}
type Texts = ReturnType<typeof texts>

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

interface ModeFigure {
  readonly mode: SearchMode
  readonly latency: Summary
  readonly queriesPerSecond: number
  readonly queriesPerSecondConcurrent?: number
}

const measure = (
  label: string,
  layer: Layer.Layer<Memory, unknown>,
  data: Texts,
  log: (line: string) => void,
  options: {
    readonly before?: Effect.Effect<void>
    readonly stored?: Effect.Effect<boolean>
    readonly searches?: boolean
    readonly callers?: number
  } = {}
) =>
  Effect.scoped(Effect.gen(function*() {
    const memory = Context.get(yield* Layer.build(layer), Memory)
    if (options.before) yield* options.before
    let rowsPerSecond = Number.NaN
    if (options.stored !== undefined && (yield* options.stored)) {
      log(`  ${label}: searching the ${data.records.length} records kept by an earlier --keep run`)
    } else {
      const started = performance.now()
      const stored = yield* memory.storeMany(Stream.fromIterable(data.records.map((value, index) => ({ index, value }))), { namespace: NAMESPACE })
      rowsPerSecond = stored.stored / ((performance.now() - started) / 1000)
      log(`  ${label}: ingest ${Math.round(rowsPerSecond).toLocaleString("en-US")} rows/s`)
    }
    const modes: Array<ModeFigure> = []
    if (options.searches === false) return { rowsPerSecond, modes }
    for (const mode of MODES) {
      const ask = (query: string) => memory.search(new SearchRequest({ query, namespace: NAMESPACE, k: 10, mode }))
      for (const q of data.queries.slice(0, 20)) yield* ask(q)
      const samples: Array<number> = []
      for (const q of data.queries) {
        const t = performance.now()
        yield* ask(q)
        samples.push(performance.now() - t)
      }
      const latency = summarise(samples)
      let queriesPerSecondConcurrent: number | undefined
      if (options.callers !== undefined) {
        const t = performance.now()
        yield* Effect.forEach(data.queries, ask, { concurrency: options.callers, discard: true })
        queriesPerSecondConcurrent = data.queries.length / ((performance.now() - t) / 1000)
      }
      modes.push({ mode, latency, queriesPerSecond: 1000 / latency.meanMs, ...(queriesPerSecondConcurrent === undefined ? {} : { queriesPerSecondConcurrent }) })
      log(`  ${label} ${mode}: p50 ${latency.p50Ms.toFixed(2)} ms p95 ${latency.p95Ms.toFixed(2)} ms` +
        (queriesPerSecondConcurrent === undefined ? "" : `, ${Math.round(queriesPerSecondConcurrent)} q/s at ${options.callers} callers`))
    }
    return { rowsPerSecond, modes }
  }))

const figuresOf = (rows: number, store: KeywordStore, modes: ReadonlyArray<ModeFigure>): Array<KeywordFigure> => {
  const vector = modes.find((m) => m.mode === "vector")?.latency.p50Ms ?? Number.NaN
  return modes.map((m) => ({ rows, store, mode: m.mode, latency: m.latency, queriesPerSecond: m.queriesPerSecond, queriesPerSecondConcurrent: m.queriesPerSecondConcurrent, vsVector: m.latency.p50Ms / vector }))
}

export const keywordScenario = (options: KeywordOptions, url: string | undefined, log: (line: string) => void) =>
  Effect.gen(function*() {
    const sizes = [...options.sizes].sort((a, b) => a - b)
    const all = texts(sizes[sizes.length - 1]!, options.queries)
    log(`keyword: ${sizes.map((n) => n.toLocaleString("en-US")).join(", ")} distinct records of real-looking text, ${all.queries.length} queries, k 10, the local embedder, caches off, ${indexLabel} (load average ${loadavg()[0]!.toFixed(2)})`)
    const figures: Array<KeywordFigure> = []
    const ingests: Array<KeywordIngest> = []
    for (const rows of sizes) {
      const data = { records: all.records.slice(0, rows), queries: all.queries }
      if (url && options.stores.includes("pgvector")) {
        const schema = options.keep ? `${options.prefix}keyword_${rows}` : `${options.prefix}keyword_${process.pid}_${rows}`
        const plain = `${schema}_nostats`
        const pgvector = (name: string) => stack((dimensions) => PgvectorStore.layer({ url: Redacted.make(url), schema: name, dimensions, settings }))
        // Kept data counts only when all of it is there (a run stopped midway stores it again).
        const kept = Effect.promise(() =>
          Db.rows<{ n: string }>(url, `SELECT count(*) AS n FROM ${Db.quoteIdent(schema)}.memories WHERE namespace = $1`, [NAMESPACE])
            .then(([r]) => Number(r?.n) === rows, () => false))
        try {
          const pg = yield* measure(`pgvector ${rows}`, pgvector(schema), data, log, { callers: CALLERS, ...(options.keep ? { stored: kept } : {}) })
          figures.push(...figuresOf(rows, "pgvector", pg.modes))
          let statisticsOffRowsPerSecond: number | undefined
          if (rows <= options.statsCostUpTo && !Number.isNaN(pg.rowsPerSecond)) {
            // The same ingest with the statistics triggers off: their cost.
            const off = yield* measure(`pgvector ${rows}, statistics off`, pgvector(plain), data, log, {
              before: Effect.promise(() => Db.exec(url, `ALTER TABLE ${Db.quoteIdent(plain)}.memories DISABLE TRIGGER USER`)),
              searches: false
            })
            statisticsOffRowsPerSecond = off.rowsPerSecond
          }
          ingests.push({ rows, store: "pgvector", rowsPerSecond: pg.rowsPerSecond, statisticsOffRowsPerSecond })
        } finally {
          if (!options.keep) yield* Effect.promise(() => Db.dropSchema(url, schema))
          yield* Effect.promise(() => Db.dropSchema(url, plain))
        }
      }
      if (options.stores.includes("pglite")) {
        const lite = yield* measure(`pglite ${rows}`, stack((dimensions) => PgliteStore.layer({ dataDir: "memory://", dimensions, settings })), data, log)
        figures.push(...figuresOf(rows, "pglite", lite.modes))
        ingests.push({ rows, store: "pglite", rowsPerSecond: lite.rowsPerSecond })
      }
    }
    const result: KeywordResult = { queries: all.queries.length, index: indexLabel, callers: CALLERS, figures, ingests }
    return result
  })

export const keywordTable = (r: KeywordResult) =>
  table(
    ["records", "store", "mode", "p50 ms", "p95 ms", "q/s (1 caller)", `q/s (${r.callers} callers)`, "p50 / vector p50"],
    r.figures.map((f) => [
      f.rows.toLocaleString("en-US"), f.store, f.mode, f.latency.p50Ms.toFixed(2), f.latency.p95Ms.toFixed(2), Math.round(f.queriesPerSecond).toLocaleString("en-US"),
      f.queriesPerSecondConcurrent === undefined ? "—" : Math.round(f.queriesPerSecondConcurrent).toLocaleString("en-US"), `${f.vsVector.toFixed(2)}×`
    ])
  )

export const ingestNote = (r: KeywordResult) =>
  r.ingests.map((i) =>
    `${i.store} ${i.rows.toLocaleString("en-US")}: ingest ${Number.isNaN(i.rowsPerSecond) ? "kept" : `${Math.round(i.rowsPerSecond).toLocaleString("en-US")} rows/s`}` +
    (i.statisticsOffRowsPerSecond === undefined ? "" : ` (${Math.round(i.statisticsOffRowsPerSecond).toLocaleString("en-US")} with the term statistics off: ${(i.rowsPerSecond / i.statisticsOffRowsPerSecond).toFixed(2)}×)`)
  ).join("; ")

/** `npm run bench -- keyword …`: the scenario alone, with its own flags. */
export const runKeyword = (argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const log = (line: string) => console.log(line)
    const sizes = (flagValue(argv, "rows") ?? "5000").split(",").map(Number)
    const result = yield* keywordScenario({
      sizes,
      stores: (flagValue(argv, "stores") ?? "pgvector,pglite").split(",") as Array<KeywordStore>,
      queries: Number(flagValue(argv, "queries") ?? 300),
      statsCostUpTo: argv.includes("--no-stats-cost") ? 0 : Number.POSITIVE_INFINITY,
      keep: argv.includes("--keep"),
      prefix: "bench_"
    }, process.env["DATABASE_URL"], log)
    log(keywordTable(result))
    log(ingestNote(result))
  }).pipe(Effect.orDie)
