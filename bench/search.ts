/**
 * Search: recall@k against the exact truth, latency and queries per second at
 * 1 and 4 concurrent clients for each ef_search, through the Memory service
 * (search cache off: every query embeds and searches), as the same statement
 * sent by `pg` on a pool of the same size (the ceiling), and through
 * LangChain.js PGVectorStore's similaritySearch over its own copy of the rows
 * (the peer; langchainSearch.ts), all three in alternating rounds.
 */
import { Effect } from "effect"
import { SearchRequest } from "../src/domain/Search.ts"
import type { BenchContext } from "./context.ts"
import * as Db from "./db.ts"
import { recallOf } from "./groundTruth.ts"
import { searchSchema } from "./ingest.ts"
import * as LangchainSearch from "./langchainSearch.ts"
import { closedLoop, closedLoopAsync, combine, type LoadResult } from "./load.ts"
import * as PrecomputedEmbedder from "./PrecomputedEmbedder.ts"
import * as RawSql from "./rawSql.ts"
import * as Stack from "./stack.ts"
import type { Summary } from "./stats.ts"

export interface SearchFigure {
  readonly system: "agent-memory" | "raw-sql" | "langchain"
  readonly ef: number
  readonly clients: number
  readonly recall: number
  readonly queriesPerSecond: number
  readonly latency: Summary
}

export interface SearchResult {
  readonly rows: number
  readonly figures: ReadonlyArray<SearchFigure>
  /** agent-memory's QPS over raw SQL's, per ef and client count. */
  readonly overhead: ReadonlyArray<SearchRatio>
  /** agent-memory's QPS over LangChain's (absent with --no-langchain). */
  readonly vsLangchain?: ReadonlyArray<SearchRatio> | undefined
  /** Loading LangChain's table and building its index, once per run (not timed against anything). */
  readonly langchainTable?: { readonly loadSeconds: number; readonly indexSeconds: number } | undefined
}

export interface SearchRatio {
  readonly ef: number
  readonly clients: number
  readonly ratio: number
}

const warmUpSeconds = (ctx: BenchContext) => Math.min(1, ctx.options.duration / 4)

/** Each measurement is split into this many rounds, alternating agent-memory, raw SQL and LangChain. */
const ROUNDS = 3

export const meanRecall = (ctx: BenchContext, answers: ReadonlyArray<ReadonlyArray<number>>) =>
  answers.reduce((s, rows, q) => s + recallOf(ctx.truth.nearest(q), rows), 0) / answers.length

/** Every query once, one at a time, for recall. */
const answersOf = async (queries: ReadonlyArray<number>, search: (q: number) => Promise<ReadonlyArray<number>>) => {
  const out: Array<ReadonlyArray<number>> = []
  for (const q of queries) out.push(await search(q))
  return out
}

/** agent-memory's QPS over a peer's, per ef and client count. */
const ratiosAgainst = (figures: ReadonlyArray<SearchFigure>, peer: SearchFigure["system"]): Array<SearchRatio> =>
  figures.filter((f) => f.system === "agent-memory").flatMap((am) => {
    const other = figures.find((f) => f.system === peer && f.ef === am.ef && f.clients === am.clients)
    return other ? [{ ef: am.ef, clients: am.clients, ratio: am.queriesPerSecond / other.queriesPerSecond }] : []
  })

/** LangChain's table for the whole scenario (loaded once, dropped at the end), or undefined with --no-langchain. */
const langchainTable = (ctx: BenchContext, url: string) =>
  Effect.gen(function*() {
    if (!ctx.options.langchain) return undefined
    const table: LangchainSearch.LangchainTable = { url, schema: `${ctx.prefix}lc_search`, data: ctx.data, vectors: ctx.vectors }
    // Dropped at the end even when the load fails half way.
    yield* Effect.addFinalizer(() => Effect.promise(() => Db.dropSchema(url, table.schema)))
    const times = yield* Effect.promise(() => LangchainSearch.loadTable(table, Math.max(...ctx.options.langchainConcurrency)))
    ctx.log(`  LangChain's table: ${ctx.data.rows.toLocaleString("en-US")} rows loaded in ${times.loadSeconds.toFixed(1)} s, HNSW (${Stack.HNSW_LABEL}) built and ANALYZEd in ${times.indexSeconds.toFixed(1)} s`)
    const rowOfText = new Map(ctx.data.texts.map((text, row) => [text, row]))
    return { table, times, rowOfText }
  })

export const searchScenario = (ctx: BenchContext, url: string) =>
  Effect.gen(function*() {
    const { data, log, options } = ctx
    const schema = searchSchema(ctx)
    const figures: Array<SearchFigure> = []
    const record = (system: SearchFigure["system"], ef: number, recall: number, load: LoadResult) => {
      const f: SearchFigure = { system, ef, clients: load.clients, recall, queriesPerSecond: load.queriesPerSecond, latency: load.latency }
      figures.push(f)
      log(`  ef ${String(ef).padStart(3)} ${system.padEnd(12)} ${load.clients} client${load.clients > 1 ? "s" : " "}  recall ${recall.toFixed(3)}  ${Math.round(load.queriesPerSecond).toLocaleString("en-US").padStart(6)} q/s  p50 ${load.latency.p50Ms.toFixed(2)} ms  p99 ${load.latency.p99Ms.toFixed(2)} ms`)
      return f
    }
    log(`search: ${data.rows.toLocaleString("en-US")} rows, HNSW ${Stack.HNSW_LABEL}, k ${options.k}, ${data.queries} queries, ${options.duration} s per measurement`)
    const lc = yield* langchainTable(ctx, url)
    for (const ef of options.ef) {
      // Every system open at once and measured in alternating rounds, so drift in what else the
      // machine is doing falls on all alike.
      yield* Effect.scoped(Effect.gen(function*() {
        const { memory } = yield* Stack.start({ url, schema, embedder: PrecomputedEmbedder.layer(ctx.vectors, data.dims), index: Stack.hnsw(ef) })
        const pool = yield* Effect.acquireRelease(Effect.sync(() => RawSql.openPool(url, schema, ef)), (p) => Effect.promise(() => p.end()))
        const langchain = lc === undefined ? undefined : yield* Effect.acquireRelease(
          Effect.promise(() => LangchainSearch.openSearcher(lc.table, ef, lc.rowOfText)),
          (searcher) => Effect.promise(() => searcher.end())
        )
        const viaMemory = (q: number) => memory.search(new SearchRequest({ query: data.queryTexts[q]!, namespace: Stack.NAMESPACE, k: options.k }))
        const viaSql = (q: number) => RawSql.search(pool, Stack.NAMESPACE, data.queryVector(q), options.k)
        const viaLangchain = langchain === undefined ? undefined : (q: number) => langchain.search(data.queryTexts[q]!, options.k)
        const queries = Array.from({ length: data.queries }, (_, q) => q)
        const amAnswers = yield* Effect.forEach(queries, (q) => Effect.map(viaMemory(q), (r) => r.hits.map((h) => data.rowOf(h.id))))
        const sqlAnswers = yield* Effect.promise(() => answersOf(queries, async (q) => (await viaSql(q)).map((r) => data.rowOf(r.id))))
        const lcAnswers = viaLangchain === undefined ? undefined : yield* Effect.promise(() => answersOf(queries, viaLangchain))
        const recall = { am: meanRecall(ctx, amAnswers), sql: meanRecall(ctx, sqlAnswers), lc: lcAnswers === undefined ? Number.NaN : meanRecall(ctx, lcAnswers) }
        for (const clients of options.clients) {
          const loadOptions = { clients, seconds: options.duration / ROUNDS, queries: data.queries }
          const warmUp = { ...loadOptions, seconds: warmUpSeconds(ctx) }
          yield* closedLoop(warmUp, viaMemory)
          yield* Effect.promise(() => closedLoopAsync(warmUp, viaSql))
          if (viaLangchain) yield* Effect.promise(() => closedLoopAsync(warmUp, viaLangchain))
          const am: Array<LoadResult> = []
          const sql: Array<LoadResult> = []
          const lcRounds: Array<LoadResult> = []
          // The order turns each round, so no system always runs on the pages the one before it warmed.
          const turns: Array<Effect.Effect<void, unknown>> = [
            Effect.map(closedLoop(loadOptions, viaMemory), (r) => void am.push(r)),
            Effect.map(Effect.promise(() => closedLoopAsync(loadOptions, viaSql)), (r) => void sql.push(r)),
            ...(viaLangchain ? [Effect.map(Effect.promise(() => closedLoopAsync(loadOptions, viaLangchain)), (r) => void lcRounds.push(r))] : [])
          ]
          for (let round = 0; round < ROUNDS; round++) {
            for (let i = 0; i < turns.length; i++) yield* turns[(round + i) % turns.length]!
          }
          const amFigure = record("agent-memory", ef, recall.am, combine(am))
          const sqlFigure = record("raw-sql", ef, recall.sql, combine(sql))
          const lcFigure = viaLangchain ? record("langchain", ef, recall.lc, combine(lcRounds)) : undefined
          const over = (peer: SearchFigure) => `${(amFigure.queriesPerSecond / peer.queriesPerSecond).toFixed(2)}×`
          log(`  ef ${String(ef).padStart(3)} ${clients} client${clients > 1 ? "s" : ""}: agent-memory / raw SQL ${over(sqlFigure)}${lcFigure ? `, agent-memory / LangChain ${over(lcFigure)}` : ""}`)
        }
      }))
    }
    return {
      rows: data.rows,
      figures,
      overhead: ratiosAgainst(figures, "raw-sql"),
      vsLangchain: lc === undefined ? undefined : ratiosAgainst(figures, "langchain"),
      langchainTable: lc?.times
    } satisfies SearchResult
  }).pipe(Effect.scoped)
