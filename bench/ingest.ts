/**
 * Ingest, side by side: the same precomputed vectors and texts through
 * agent-memory's batch path (Memory.storeMany), through the server process
 * over HTTP (NDJSON to POST /v1/memories/batch; httpIngest.ts), through
 * LangChain.js PGVectorStore, and by a raw binary COPY into agent-memory's own
 * table (the ceiling). Twice: into tables without their vector index (then
 * built, as the product builds it at start-up), and into tables whose HNSW
 * index exists (HTTP only in the first pass).
 */
import { Effect, Stream } from "effect"
import type { IngestItem } from "../src/memory/Ingest.ts"
import type { BenchContext } from "./context.ts"
import { copyIngest } from "./copyIngest.ts"
import * as Db from "./db.ts"
import * as HttpIngest from "./httpIngest.ts"
import { langchainIngest } from "./langchainIngest.ts"
import * as PrecomputedEmbedder from "./PrecomputedEmbedder.ts"
import * as Stack from "./stack.ts"
import type { VectorIndex } from "../layers/store/sql/SqlStoreConfig.ts"
import * as MemorySettings from "../src/memory/MemorySettings.ts"
import * as SqlSchema from "../layers/store/sql/SqlSchema.ts"

export type Phase = "no-index" | "live-index"

export interface IngestFigure {
  readonly phase: Phase
  /** agent-memory-http: agent-memory through its server process, NDJSON over HTTP. */
  readonly system: "agent-memory" | "agent-memory-http" | "langchain" | "copy"
  /** How it was driven, e.g. "batch 500 × 2 in flight", "4 concurrent callers", "2 streams". */
  readonly detail: string
  readonly rows: number
  /** Medians over the rounds. */
  readonly seconds: number
  readonly rowsPerSecond: number
  /** rows/s of every round, in order. */
  readonly rounds?: ReadonlyArray<number> | undefined
}

export interface IndexBuild {
  readonly how: string
  readonly seconds: number
  readonly indexBytes: number
}

export interface IngestResult {
  readonly figures: ReadonlyArray<IngestFigure>
  readonly indexBuilds: ReadonlyArray<IndexBuild>
  /** agent-memory's rows/s over the best LangChain run (no index). */
  readonly vsLangchain: number | undefined
  /** agent-memory's rows/s over the best COPY, per phase. */
  readonly vsCopy: { readonly noIndex: number | undefined; readonly liveIndex: number | undefined }
  /** The same ratios for the product's default batch settings (MEMORY_BATCH_SIZE × MEMORY_BATCH_CONCURRENCY). */
  readonly atDefaults?: {
    readonly vsLangchain: number | undefined
    readonly vsCopy: { readonly noIndex: number | undefined; readonly liveIndex: number | undefined }
  } | undefined
  /** The server over HTTP (NDJSON, default batch settings, no index) over in process at the defaults, and over the best COPY. */
  readonly overHttp?: { readonly vsInProcess: number | undefined; readonly vsCopy: number | undefined } | undefined
  readonly tableBytes: { readonly table: number; readonly indexes: number }
}

/** The schema that the search scenarios read: loaded here, indexed after the load. */
export const searchSchema = (ctx: BenchContext) => `${ctx.prefix}am`

const figure = (phase: Phase, system: IngestFigure["system"], detail: string, rows: number, seconds: number): IngestFigure => ({
  phase,
  system,
  detail,
  rows,
  seconds,
  rowsPerSecond: rows / seconds
})

const items = (ctx: BenchContext): Iterable<IngestItem> => ({
  *[Symbol.iterator]() {
    const { data } = ctx
    for (let row = 0; row < data.rows; row++) {
      yield { index: row, value: { content: data.texts[row]!, id: data.id(row), metadata: data.metadata(row) } }
    }
  }
})

/** agent-memory's batch path into a fresh schema; answers the figure. */
const viaMemory = (ctx: BenchContext, url: string, schema: string, index: VectorIndex, phase: Phase, batch: { readonly size: number; readonly concurrency: number }) =>
  Effect.scoped(Effect.gen(function*() {
    yield* Effect.promise(() => Db.dropSchema(url, schema))
    const { memory } = yield* Stack.start({
      url,
      schema,
      embedder: PrecomputedEmbedder.layer(ctx.vectors, ctx.data.dims),
      index,
      batchSize: batch.size,
      batchConcurrency: batch.concurrency
    })
    yield* Effect.promise(() => Db.checkpoint(url))
    const started = performance.now()
    const result = yield* memory.storeMany(Stream.fromIterable(items(ctx)), { namespace: Stack.NAMESPACE })
    const seconds = (performance.now() - started) / 1000
    if (result.stored !== ctx.data.rows) {
      return yield* Effect.dieMessage(`agent-memory stored ${result.stored} of ${ctx.data.rows} (${result.failedCount} failed: ${result.failed[0]?.message})`)
    }
    const defaults = batch.size === MemorySettings.defaults.batchSize && batch.concurrency === MemorySettings.defaults.batchConcurrency
    return figure(phase, "agent-memory", `batch ${batch.size} × ${batch.concurrency} in flight${defaults ? " (defaults)" : ""}`, result.stored, seconds)
  }))

/** agent-memory's empty table (migrations, and the index when asked) in a fresh schema, for the COPY ceiling. */
const emptyTable = (ctx: BenchContext, url: string, schema: string, index: VectorIndex) =>
  Effect.scoped(Effect.gen(function*() {
    yield* Effect.promise(() => Db.dropSchema(url, schema))
    yield* Stack.start({ url, schema, embedder: PrecomputedEmbedder.layer(ctx.vectors, ctx.data.dims), index })
  }))

const viaCopy = (ctx: BenchContext, url: string, schema: string, index: VectorIndex, phase: Phase, streams: number) =>
  Effect.gen(function*() {
    yield* emptyTable(ctx, url, schema, index)
    yield* Effect.promise(() => Db.checkpoint(url))
    const started = performance.now()
    const rows = yield* Effect.promise(() =>
      copyIngest({ url, schema, namespace: Stack.NAMESPACE, data: ctx.data, hashes: ctx.hashes, streams, rows: ctx.data.rows })
    )
    return figure(phase, "copy", `${streams} stream${streams > 1 ? "s" : ""}`, rows, (performance.now() - started) / 1000)
  })

const viaLangchain = (ctx: BenchContext, url: string, schema: string, phase: Phase, concurrency: number) =>
  Effect.promise(async () => {
    const { rows, seconds } = await langchainIngest({
      url,
      schema,
      data: ctx.data,
      vectors: ctx.vectors,
      rows: ctx.data.rows,
      concurrency,
      liveIndex: phase === "live-index"
    })
    if (rows !== ctx.data.rows) throw new Error(`LangChain stored ${rows} of ${ctx.data.rows}`)
    return figure(phase, "langchain", concurrency === 1 ? "1 caller" : `${concurrency} concurrent callers`, rows, seconds)
  })

const viaHttp = (http: HttpIngest.HttpIngest, schema: string) =>
  Effect.map(http.load(schema), ({ rows, seconds }) => figure("no-index", "agent-memory-http", HttpIngest.DETAIL, rows, seconds))

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** One figure per system and setting: the medians of its rounds. */
const medians = (runs: ReadonlyArray<IngestFigure>): Array<IngestFigure> => {
  const groups = new Map<string, Array<IngestFigure>>()
  for (const f of runs) {
    const key = `${f.phase}|${f.system}|${f.detail}`
    groups.set(key, [...(groups.get(key) ?? []), f])
  }
  return [...groups.values()].map((fs) => ({
    ...fs[0]!,
    seconds: median(fs.map((f) => f.seconds)),
    rowsPerSecond: median(fs.map((f) => f.rowsPerSecond)),
    rounds: fs.map((f) => f.rowsPerSecond)
  }))
}

const best = (figures: ReadonlyArray<IngestFigure>, phase: Phase, system: IngestFigure["system"]) =>
  figures.filter((f) => f.phase === phase && f.system === system).reduce<IngestFigure | undefined>(
    (b, f) => (b === undefined || f.rowsPerSecond > b.rowsPerSecond ? f : b),
    undefined
  )

const ratio = (a: IngestFigure | undefined, b: IngestFigure | undefined) => (a && b ? a.rowsPerSecond / b.rowsPerSecond : undefined)

export const ingestScenario = (ctx: BenchContext, url: string) =>
  Effect.gen(function*() {
    const { log, options } = ctx
    const runs: Array<IngestFigure> = []
    const indexBuilds: Array<IndexBuild> = []
    // Round 0 warms up (not counted); then every system once a round, so a busy spell hits all of them alike.
    let round = 0
    const record = (f: IngestFigure) => {
      if (round > 0) runs.push(f)
      log(`  ${round === 0 ? "warm-up" : `round ${round}`} ${f.phase.padEnd(10)} ${f.system.padEnd(17)} ${f.detail.padEnd(34)} ${Math.round(f.rowsPerSecond).toLocaleString("en-US").padStart(8)} rows/s (${f.seconds.toFixed(1)} s)`)
    }
    // Each round starts at the next system, as the search rounds do: none always runs first (on a
    // machine still busy from what came before) or last (after the others warmed the caches).
    // The report lists each system at its place in the list, the product's defaults first.
    const place = new Map<string, number>()
    const keyOf = (f: IngestFigure) => `${f.phase}|${f.system}|${f.detail}`
    const inTurn = <E, R>(turns: ReadonlyArray<Effect.Effect<IngestFigure, E, R>>) =>
      Effect.forEach(turns.map((_, i) => (i + round) % turns.length), (at) =>
        Effect.map(turns[at]!, (f) => {
          place.set(keyOf(f), at)
          record(f)
        }), { discard: true })
    const inOrder = (figures: Array<IngestFigure>) =>
      figures.sort((a, b) => (a.phase === b.phase ? 0 : a.phase === "no-index" ? -1 : 1) || place.get(keyOf(a))! - place.get(keyOf(b))!)
    const summarise = (phase: Phase) => {
      for (const f of inOrder(medians(runs)).filter((f) => f.phase === phase)) {
        log(`  median  ${f.phase.padEnd(10)} ${f.system.padEnd(17)} ${f.detail.padEnd(34)} ${Math.round(f.rowsPerSecond).toLocaleString("en-US").padStart(8)} rows/s (rounds ${f.rounds!.map((r) => Math.round(r).toLocaleString("en-US")).join(", ")})`)
      }
    }
    const am = searchSchema(ctx)
    const copySchema = `${ctx.prefix}copy`
    const lcSchema = `${ctx.prefix}lc`
    const httpSchema = `${ctx.prefix}http`
    const http = options.httpIngest ? yield* HttpIngest.make(ctx, url) : undefined
    const dropping = (schema: string) => Effect.ensuring(Effect.promise(() => Db.dropSchema(url, schema)))

    log(`ingest: ${ctx.data.rows.toLocaleString("en-US")} rows × ${ctx.data.dims} dims, tables without their vector index`)
    for (round = 0; round <= options.ingestRounds; round++) {
      yield* inTurn([
        // Whichever setting runs last, its table (the same rows) stays: the search scenarios read it.
        ...options.batches.map((batch) => viaMemory(ctx, url, am, Stack.noIndex, "no-index", batch)),
        // Not in the warm-up round: each round starts a server process of its own, so it would warm nothing.
        ...(http && round > 0
          ? [viaHttp(http, httpSchema).pipe(dropping(httpSchema))]
          : []),
        ...(options.langchain
          ? options.langchainConcurrency.map((c) =>
            viaLangchain(ctx, url, lcSchema, "no-index", c).pipe(dropping(lcSchema))
          )
          : []),
        ...options.copyStreams.map((streams) => viaCopy(ctx, url, copySchema, Stack.noIndex, "no-index", streams))
      ])
    }
    summarise("no-index")

    // The index after the load, built as the product builds it: at start-up, by the migrations' connection.
    yield* Effect.promise(() => Db.checkpoint(url))
    const build = yield* Effect.scoped(Stack.start({ url, schema: am, embedder: PrecomputedEmbedder.layer(ctx.vectors, ctx.data.dims), index: Stack.hnsw() }))
    const amBytes = yield* Effect.promise(() => Db.tableBytes(url, `${am}.memories`))
    const hnswBytes = yield* Effect.promise(() => Db.rows<{ n: string }>(url,
      `SELECT pg_relation_size(c.oid)::text AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relname LIKE 'memories_embedding_hnsw%'`, [am]))
    const indexBytes = Number(hnswBytes[0]?.n ?? 0)
    const autoMB = Math.ceil(SqlSchema.autoBuildMemoryBytes(ctx.data.rows, ctx.data.dims, "vector") / 2 ** 20)
    const serverMwm = yield* Effect.promise(() => Db.rows<{ v: string }>(url, "SELECT current_setting('maintenance_work_mem') AS v"))
    indexBuilds.push({ how: `agent-memory start-up (MEMORY_INDEX=hnsw, ${Stack.HNSW_LABEL}; MEMORY_INDEX_BUILD_MEMORY=auto: ${autoMB}MB, the server's own ${serverMwm[0]?.v})`, seconds: build.startMs / 1000, indexBytes })
    log(`  index build (agent-memory start-up): ${(build.startMs / 1000).toFixed(1)} s, ${(indexBytes / 2 ** 20).toFixed(0)} MB`)
    // The same build with room for the graph in memory (the product does not ask for it; see the report).
    // pgvector builds the graph in memory when it fits: about 4 bytes a dimension plus ~600 bytes of links a row.
    const roomyGB = Math.max(1, Math.ceil((ctx.data.rows * (ctx.data.dims * 4 + 600) * 1.5) / 2 ** 30))
    const roomy = yield* Effect.promise(async () => {
      await Db.checkpoint(url)
      const started = performance.now()
      await Db.exec(url, `SET maintenance_work_mem = '${roomyGB}GB'`,
        `CREATE INDEX bench_hnsw ON ${Db.quoteIdent(copySchema)}.memories USING hnsw (embedding vector_cosine_ops) WITH (m = ${Stack.HNSW_M}, ef_construction = ${Stack.HNSW_EF_CONSTRUCTION})`)
      return (performance.now() - started) / 1000
    })
    indexBuilds.push({ how: `CREATE INDEX with maintenance_work_mem = ${roomyGB}GB (same rows and options, the COPY table)`, seconds: roomy, indexBytes })
    log(`  index build (maintenance_work_mem ${roomyGB}GB): ${roomy.toFixed(1)} s`)
    yield* Effect.promise(() => Db.dropSchema(url, copySchema))
    yield* Effect.promise(() => Db.exec(url, `ANALYZE ${Db.quoteIdent(am)}.memories`))

    if (options.live) {
      log(`ingest: the same rows into tables whose HNSW index already exists`)
      const amLive = `${ctx.prefix}am_live`
      // The product's defaults and the last batch setting, LangChain's widest
      // concurrency, and COPY's most streams; the warm-up was the no-index pass.
      const isDefaults = (b: { readonly size: number; readonly concurrency: number }) =>
        b.size === MemorySettings.defaults.batchSize && b.concurrency === MemorySettings.defaults.batchConcurrency
      const liveBatches = [...new Set([...options.batches.filter(isDefaults), options.batches[options.batches.length - 1]!])]
      for (round = 1; round <= options.ingestRounds; round++) {
        yield* inTurn([
          ...liveBatches.map((batch) => viaMemory(ctx, url, amLive, Stack.hnsw(), "live-index", batch).pipe(dropping(amLive))),
          ...(options.langchain
            ? [viaLangchain(ctx, url, lcSchema, "live-index", Math.max(...options.langchainConcurrency)).pipe(dropping(lcSchema))]
            : []),
          viaCopy(ctx, url, copySchema, Stack.hnsw(), "live-index", Math.max(...options.copyStreams)).pipe(dropping(copySchema))
        ])
      }
      summarise("live-index")
    }
    const figures = inOrder(medians(runs))

    const amNo = best(figures, "no-index", "agent-memory")
    const atDefaults = (phase: Phase) => figures.find((f) => f.phase === phase && f.system === "agent-memory" && f.detail.endsWith("(defaults)"))
    const result: IngestResult = {
      figures,
      indexBuilds,
      vsLangchain: ratio(amNo, best(figures, "no-index", "langchain")),
      vsCopy: {
        noIndex: ratio(amNo, best(figures, "no-index", "copy")),
        liveIndex: ratio(best(figures, "live-index", "agent-memory"), best(figures, "live-index", "copy"))
      },
      atDefaults: {
        vsLangchain: ratio(atDefaults("no-index"), best(figures, "no-index", "langchain")),
        vsCopy: {
          noIndex: ratio(atDefaults("no-index"), best(figures, "no-index", "copy")),
          liveIndex: ratio(atDefaults("live-index"), best(figures, "live-index", "copy"))
        }
      },
      overHttp: http === undefined ? undefined : {
        vsInProcess: ratio(best(figures, "no-index", "agent-memory-http"), atDefaults("no-index")),
        vsCopy: ratio(best(figures, "no-index", "agent-memory-http"), best(figures, "no-index", "copy"))
      },
      tableBytes: amBytes
    }
    return result
  }).pipe(Effect.scoped)

