/**
 * Search: recall@k against the exact truth, latency and queries per second at
 * 1 and 4 concurrent clients for each ef_search, through the Memory service
 * (search cache off: every query embeds and searches) and as the same
 * statement sent by `pg` on a pool of the same size (the ceiling).
 */
import { Effect } from "effect"
import { SearchRequest } from "../src/domain/Search.ts"
import type { BenchContext } from "./context.ts"
import { recallOf } from "./groundTruth.ts"
import { searchSchema } from "./ingest.ts"
import { closedLoop, closedLoopAsync, combine, type LoadResult } from "./load.ts"
import * as PrecomputedEmbedder from "./PrecomputedEmbedder.ts"
import * as RawSql from "./rawSql.ts"
import * as Stack from "./stack.ts"
import type { Summary } from "./stats.ts"

export interface SearchFigure {
  readonly system: "agent-memory" | "raw-sql"
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
  readonly overhead: ReadonlyArray<{ readonly ef: number; readonly clients: number; readonly ratio: number }>
}

const warmUpSeconds = (ctx: BenchContext) => Math.min(1, ctx.options.duration / 4)

/** Each measurement is split into this many rounds, alternating agent-memory and raw SQL. */
const ROUNDS = 3

export const meanRecall = (ctx: BenchContext, answers: ReadonlyArray<ReadonlyArray<number>>) =>
  answers.reduce((s, rows, q) => s + recallOf(ctx.truth.nearest(q), rows), 0) / answers.length

export const searchScenario = (ctx: BenchContext, url: string) =>
  Effect.gen(function*() {
    const { data, log, options } = ctx
    const schema = searchSchema(ctx)
    const figures: Array<SearchFigure> = []
    const record = (system: SearchFigure["system"], ef: number, recall: number, load: LoadResult) => {
      const f: SearchFigure = { system, ef, clients: load.clients, recall, queriesPerSecond: load.queriesPerSecond, latency: load.latency }
      figures.push(f)
      log(`  ef ${String(ef).padStart(3)} ${system.padEnd(12)} ${load.clients} client${load.clients > 1 ? "s" : " "}  recall ${recall.toFixed(3)}  ${Math.round(load.queriesPerSecond).toLocaleString("en-US").padStart(6)} q/s  p50 ${load.latency.p50Ms.toFixed(2)} ms  p99 ${load.latency.p99Ms.toFixed(2)} ms`)
    }
    log(`search: ${data.rows.toLocaleString("en-US")} rows, HNSW ${Stack.HNSW_LABEL}, k ${options.k}, ${data.queries} queries, ${options.duration} s per measurement`)
    for (const ef of options.ef) {
      // Both sides open at once and measured in alternating rounds, so drift in what else the
      // machine is doing falls on both alike.
      yield* Effect.scoped(Effect.gen(function*() {
        const { memory } = yield* Stack.start({ url, schema, embedder: PrecomputedEmbedder.layer(ctx.vectors, data.dims), index: Stack.hnsw(ef) })
        const pool = yield* Effect.acquireRelease(Effect.sync(() => RawSql.openPool(url, schema, ef)), (p) => Effect.promise(() => p.end()))
        const viaMemory = (q: number) => memory.search(new SearchRequest({ query: data.queryTexts[q]!, namespace: Stack.NAMESPACE, k: options.k }))
        const viaSql = (q: number) => RawSql.search(pool, Stack.NAMESPACE, data.queryVector(q), options.k)
        const queries = Array.from({ length: data.queries }, (_, q) => q)
        const amAnswers = yield* Effect.forEach(queries, (q) => Effect.map(viaMemory(q), (r) => r.hits.map((h) => data.rowOf(h.id))))
        const sqlAnswers = yield* Effect.promise(async () => {
          const out: Array<Array<number>> = []
          for (const q of queries) out.push((await viaSql(q)).map((r) => data.rowOf(r.id)))
          return out
        })
        const recall = { am: meanRecall(ctx, amAnswers), sql: meanRecall(ctx, sqlAnswers) }
        for (const clients of options.clients) {
          const loadOptions = { clients, seconds: options.duration / ROUNDS, queries: data.queries }
          yield* closedLoop({ ...loadOptions, seconds: warmUpSeconds(ctx) }, viaMemory)
          yield* Effect.promise(() => closedLoopAsync({ ...loadOptions, seconds: warmUpSeconds(ctx) }, viaSql))
          const am: Array<LoadResult> = []
          const sql: Array<LoadResult> = []
          for (let round = 0; round < ROUNDS; round++) {
            am.push(yield* closedLoop(loadOptions, viaMemory))
            sql.push(yield* Effect.promise(() => closedLoopAsync(loadOptions, viaSql)))
          }
          record("agent-memory", ef, recall.am, combine(am))
          record("raw-sql", ef, recall.sql, combine(sql))
        }
      }))
    }
    const overhead = figures.filter((f) => f.system === "agent-memory").flatMap((am) => {
      const raw = figures.find((f) => f.system === "raw-sql" && f.ef === am.ef && f.clients === am.clients)
      return raw ? [{ ef: am.ef, clients: am.clients, ratio: am.queriesPerSecond / raw.queriesPerSecond }] : []
    })
    return { rows: data.rows, figures, overhead } satisfies SearchResult
  })
