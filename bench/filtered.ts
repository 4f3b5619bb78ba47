/**
 * Filtered search at 1% and 10% selectivity (a metadata equality, which the
 * GIN index on metadata answers): recall@k against the exact truth among the
 * matching rows, and whether k results came back when k exist. Also records
 * the plan PostgreSQL picks for each (the vector index with an iterative scan,
 * or the metadata index and an exact sort).
 */
import { Effect } from "effect"
import { SearchRequest } from "../src/domain/Search.ts"
import type { BenchContext } from "./context.ts"
import * as Db from "./db.ts"
import { filterValue1, filterValue10 } from "./exactSearch.ts"
import { recallOf } from "./groundTruth.ts"
import { searchSchema } from "./ingest.ts"
import * as PrecomputedEmbedder from "./PrecomputedEmbedder.ts"
import * as Stack from "./stack.ts"
import { summarise, type Summary } from "./stats.ts"
import { vectorBinary } from "../layers/store/sql/pgText.ts"

export interface FilteredFigure {
  /** agent-memory's search, or the same selection scanned exactly by raw SQL (the filter first, then the distance sort). */
  readonly system: "agent-memory" | "raw-sql-exact"
  readonly selectivity: "1%" | "10%"
  readonly ef: number
  readonly queries: number
  readonly recall: number
  /** Share of queries that got min(k, matching rows) results. */
  readonly fullAnswers: number
  readonly queriesPerSecond: number
  readonly latency: Summary
  /** The plan's scan, e.g. "Index Scan using memories_embedding_hnsw…" or "Bitmap Heap Scan on memories". */
  readonly plan: string
}

/** The filter first (materialised, so the planner cannot reach for the vector index), then an exact sort. */
const EXACT_SQL = `WITH selected AS MATERIALIZED (
    SELECT id, embedding FROM memories
    WHERE (namespace = $2 AND (expires_at IS NULL OR expires_at > now()) AND metadata @> $3::jsonb))
  SELECT id FROM selected ORDER BY embedding <=> $1::vector LIMIT $4`

const FILTER_SQL = `EXPLAIN (FORMAT JSON) SELECT id, 1 - (embedding <=> $1::vector) AS score FROM memories
  WHERE (namespace = $2 AND (expires_at IS NULL OR expires_at > now()) AND metadata @> $3::jsonb)
  ORDER BY embedding <=> $1::vector LIMIT $4`

interface PlanNode {
  readonly "Node Type": string
  readonly "Index Name"?: string
  readonly Plans?: ReadonlyArray<PlanNode>
}

const describe = (node: PlanNode): string => {
  const own = node["Index Name"] ? `${node["Node Type"]} using ${node["Index Name"]}` : node["Node Type"]
  const children = (node.Plans ?? []).map(describe)
  return children.length > 0 ? `${own} ← ${children.join(", ")}` : own
}

const planOf = (ctx: BenchContext, url: string, schema: string, filter: Record<string, number>) =>
  Db.withClient(url, async (client) => {
    await client.query(`SET search_path = ${Db.quoteIdent(schema)}, public`)
    await client.query(`SET hnsw.ef_search = ${ctx.options.defaultEf}`)
    await client.query(`SET hnsw.iterative_scan = relaxed_order`)
    const { rows } = await client.query<{ "QUERY PLAN": ReadonlyArray<{ Plan: PlanNode }> }>(FILTER_SQL, [
      vectorBinary(ctx.data.queryVector(0)),
      Stack.NAMESPACE,
      JSON.stringify(filter),
      ctx.options.k
    ])
    const plan = rows[0]?.["QUERY PLAN"][0]?.Plan
    return plan ? describe(plan) : "?"
  })

export const filteredScenario = (ctx: BenchContext, url: string) =>
  Effect.scoped(Effect.gen(function*() {
    const { data, log, options } = ctx
    const schema = searchSchema(ctx)
    const ef = options.defaultEf
    const { memory } = yield* Stack.start({ url, schema, embedder: PrecomputedEmbedder.layer(ctx.vectors, data.dims), index: Stack.hnsw(ef) })
    const counts = { p1: new Array<number>(100).fill(0), p10: new Array<number>(10).fill(0) }
    for (let row = 0; row < data.rows; row++) {
      counts.p1[data.p1[row]!]!++
      counts.p10[data.p10[row]!]!++
    }
    const matching = (field: "p1" | "p10", value: number) => counts[field][value]!
    const cases = [
      { selectivity: "1%" as const, field: "p1" as const, value: filterValue1, truth: ctx.truth.nearestP1 },
      { selectivity: "10%" as const, field: "p10" as const, value: filterValue10, truth: ctx.truth.nearestP10 }
    ]
    log(`filtered search: ${ctx.truth.filtered} queries per selectivity, ef_search ${ef}, k ${options.k}`)
    const figures: Array<FilteredFigure> = []
    for (const c of cases) {
      const ask = (q: number) =>
        memory.search(new SearchRequest({ query: data.queryTexts[q]!, namespace: Stack.NAMESPACE, k: options.k, filter: { [c.field]: c.value(q) } }))
      // Warm the pages these filters touch.
      for (let q = 0; q < Math.min(20, ctx.truth.filtered); q++) yield* ask(q)
      let recall = 0
      let full = 0
      const samples: Array<number> = []
      const started = performance.now()
      for (let q = 0; q < ctx.truth.filtered; q++) {
        const t = performance.now()
        const { hits } = yield* ask(q)
        samples.push(performance.now() - t)
        recall += recallOf(c.truth(q), hits.map((h) => data.rowOf(h.id)))
        if (hits.length >= Math.min(options.k, matching(c.field, c.value(q)))) full++
      }
      const seconds = (performance.now() - started) / 1000
      const plan = yield* Effect.promise(() => planOf(ctx, url, schema, { [c.field]: c.value(0) }))
      const figure: FilteredFigure = {
        system: "agent-memory",
        selectivity: c.selectivity,
        ef,
        queries: ctx.truth.filtered,
        recall: recall / ctx.truth.filtered,
        fullAnswers: full / ctx.truth.filtered,
        queriesPerSecond: ctx.truth.filtered / seconds,
        latency: summarise(samples),
        plan
      }
      figures.push(figure)
      log(`  ${c.selectivity.padStart(3)}  agent-memory   recall ${figure.recall.toFixed(3)}  k results ${(figure.fullAnswers * 100).toFixed(0)}%  p50 ${figure.latency.p50Ms.toFixed(2)} ms  p99 ${figure.latency.p99Ms.toFixed(2)} ms  plan: ${plan}`)

      const exact = yield* Effect.promise(() =>
        Db.withClient(url, async (client) => {
          await client.query(`SET search_path = ${Db.quoteIdent(schema)}, public`)
          const ask = async (q: number) =>
            (await client.query<{ id: string }>(EXACT_SQL, [vectorBinary(data.queryVector(q)), Stack.NAMESPACE, JSON.stringify({ [c.field]: c.value(q) }), options.k])).rows
          for (let q = 0; q < Math.min(20, ctx.truth.filtered); q++) await ask(q)
          let recall = 0
          let full = 0
          const samples: Array<number> = []
          const started = performance.now()
          for (let q = 0; q < ctx.truth.filtered; q++) {
            const t = performance.now()
            const rows = await ask(q)
            samples.push(performance.now() - t)
            recall += recallOf(c.truth(q), rows.map((r) => data.rowOf(r.id)))
            if (rows.length >= Math.min(options.k, matching(c.field, c.value(q)))) full++
          }
          const seconds = (performance.now() - started) / 1000
          return { recall: recall / ctx.truth.filtered, full: full / ctx.truth.filtered, seconds, samples }
        })
      )
      const exactFigure: FilteredFigure = {
        system: "raw-sql-exact",
        selectivity: c.selectivity,
        ef,
        queries: ctx.truth.filtered,
        recall: exact.recall,
        fullAnswers: exact.full,
        queriesPerSecond: ctx.truth.filtered / exact.seconds,
        latency: summarise(exact.samples),
        plan: "CTE (filter by the metadata GIN index) ← exact sort"
      }
      figures.push(exactFigure)
      log(`  ${c.selectivity.padStart(3)}  raw SQL exact  recall ${exactFigure.recall.toFixed(3)}  k results ${(exactFigure.fullAnswers * 100).toFixed(0)}%  p50 ${exactFigure.latency.p50Ms.toFixed(2)} ms  p99 ${exactFigure.latency.p99Ms.toFixed(2)} ms`)
    }
    return figures
  }))
