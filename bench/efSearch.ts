/**
 * `npm run bench -- efsearch [--sets N] [--ef 40,80,…] [--m M --efc E] [--keep] [--pg name=value,…]`: how much of the exact
 * top 10 the HNSW index keeps at each ef_search, on real text through the
 * default embedder (the local hashing embedder at its default width) on the
 * pgvector store (DATABASE_URL) with an HNSW index at the product's tuning (m 16, ef_construction 128;
 * the local embedder's own default is exact search, chosen from this study at 100k records).
 * The text is the quality benchmark's labelled corpus (bench/quality/corpus.ts),
 * N sets generated from seeds 7, 8, …; the queries are the first set's, asked
 * over the whole namespace (no filter: the index alone). The exact truth is
 * computed here, apart from the database. A hit counts as kept when its cosine
 * reaches the exact 10th's (hashed vectors tie often; a tied neighbour is as near).
 * Each row also gives the latency of one caller (p50, p95) through the HNSW scan and
 * through the planner's choice. `--keep` keeps the loaded schema (bench_efsearch_<sets>_m<M>_efc<E>)
 * and a later run with the same sets searches it again; `--pg` adds session settings
 * to the planner's-choice run (e.g. `random_page_cost=1.1`).
 */
import { Effect, Redacted } from "effect"
import * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
import * as PgvectorStore from "../layers/store/pgvector/PgvectorStore.ts"
import { defaultIndex, defaultSettings, parsePgSettings } from "../layers/store/sql/SqlStoreConfig.ts"
import { buildRecord } from "../src/memory/records.ts"
import * as Db from "./db.ts"
import { flagValue } from "./flags.ts"
import { makeCorpus } from "./quality/corpus.ts"
import { summarise, table } from "./stats.ts"

const NAMESPACE = "efsearch"
const K = 10

export interface EfSearchOptions {
  readonly url: string
  readonly sets: number
  readonly efs: ReadonlyArray<number>
  /** The index build (default: the product's, m 16 / ef_construction 128). */
  readonly m?: number | undefined
  readonly efConstruction?: number | undefined
  /** Keep the loaded schema for a later run (and reuse one kept before). */
  readonly keep: boolean
  /** Session settings added to the planner's-choice run. */
  readonly plannerSettings: Record<string, string>
  readonly log: (line: string) => void
}

export interface EfSearchRow {
  readonly efSearch: number
  /** Mean over queries of (hits as near as the exact 10th) / 10. */
  readonly kept: number
  /** Queries keeping all 10. */
  readonly complete: number
  /** The same through the product's own plan: where the planner prefers an exact scan, it keeps all. */
  readonly planned: number
  /** One caller's latency through the HNSW scan, and through the planner's choice (ms). */
  readonly forcedP50: number
  readonly forcedP95: number
  readonly plannedP50: number
  readonly plannedP95: number
}

const dot = (a: Float32Array, b: Float32Array) => {
  let sum = 0
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!
  return sum
}

export const efSearchScenario = (options: EfSearchOptions) =>
  Effect.gen(function*() {
    const embedder = HashingEmbedder.make()
    const texts = new Map<string, string>()
    const records: Array<{ id: string; content: string; kind: "knowledge" | "message" }> = []
    for (let s = 0; s < options.sets; s++) {
      for (const r of makeCorpus(7 + s).records) {
        // The store keeps one record per text (messages aside): the truth must not count a text twice.
        const key = `${r.kind}:${r.content}`
        if (r.kind !== "message" && texts.has(key)) continue
        texts.set(key, r.id)
        records.push({ id: `${s}-${r.id}`, content: r.content, kind: r.kind })
      }
    }
    const queries = makeCorpus(7).queries.map((q) => q.text)
    const url = Redacted.make(options.url)
    const build = {
      ...defaultIndex,
      ...(options.m === undefined ? {} : { m: options.m }),
      ...(options.efConstruction === undefined ? {} : { efConstruction: options.efConstruction })
    } as typeof defaultIndex & { readonly _tag: "hnsw" }
    const schema = options.keep ? `bench_efsearch_${options.sets}_m${build.m}_efc${build.efConstruction}` : `bench_efsearch_${process.pid}`
    options.log(`efsearch: ${records.length} records, ${queries.length} queries, ${embedder.model} at ${embedder.dimensions}, HNSW m ${build.m} ef_construction ${build.efConstruction}`)
    const rows: Array<EfSearchRow> = []
    try {
      const vectors = records.map((r) => HashingEmbedder.embedText(r.content, embedder.dimensions))
      const queryVectors = queries.map((q) => HashingEmbedder.embedText(q, embedder.dimensions))
      const kept = options.keep
        ? yield* Effect.promise(() =>
          Db.rows<{ n: string }>(options.url, `SELECT count(*)::text AS n FROM ${Db.quoteIdent(schema)}.memories`).then((r) => Number(r[0]?.n), () => -1)
        )
        : -1
      // Load once into a store with the default index (built empty, filled as the product fills it).
      if (kept === records.length) options.log(`  ${schema} kept from an earlier run`)
      else yield* Effect.scoped(Effect.gen(function*() {
        const store = yield* PgvectorStore.make({ url, schema, dimensions: embedder.dimensions, settings: { ...defaultSettings, index: build } })
        const started = performance.now()
        for (let from = 0; from < records.length; from += 500) {
          yield* store.insert(records.slice(from, from + 500).map((r, i) => ({
            embedding: vectors[from + i]!,
            record: buildRecord({ id: r.id, kind: r.kind, content: r.content }, { namespace: NAMESPACE }, embedder)
          })))
        }
        options.log(`  stored in ${((performance.now() - started) / 1000).toFixed(1)} s`)
      }))
      yield* Effect.promise(() => Db.exec(options.url, `ANALYZE ${Db.quoteIdent(schema)}.memories`))
      const vectorOf = new Map(records.map((r, i) => [r.id, vectors[i]!]))
      // The exact 10th cosine of each query.
      const tenth = queryVectors.map((q) => {
        const scores = vectors.map((v) => dot(q, v)).sort((a, b) => b - a)
        return scores[Math.min(K, scores.length) - 1]!
      })
      const keptAt = (efSearch: number, pgSettings: Record<string, string>) =>
        Effect.scoped(Effect.gen(function*() {
          const index = { ...build, efSearch }
          const store = yield* PgvectorStore.make({ url, schema, dimensions: embedder.dimensions, settings: { ...defaultSettings, index, pgSettings } })
          const ms: Array<number> = []
          const kept = yield* Effect.forEach(queryVectors, (embedding, i) =>
            Effect.gen(function*() {
              const started = performance.now()
              const hits = yield* store.search({ namespace: NAMESPACE, embedding, k: K, minScore: 0 })
              ms.push(performance.now() - started)
              return hits.filter((h) => dot(embedding, vectorOf.get(h.record.id)!) >= tenth[i]! - 1e-6).length / K
            }))
          const latency = summarise(ms)
          return {
            kept: kept.reduce((a, b) => a + b, 0) / kept.length,
            complete: kept.filter((k) => k === 1).length,
            p50: latency.p50Ms,
            p95: latency.p95Ms
          }
        }))
      for (const efSearch of options.efs) {
        // The index itself (the planner may not scan exactly), then the product as it runs (the planner's choice).
        const forced = yield* keptAt(efSearch, { enable_seqscan: "off", enable_sort: "off" })
        const planned = yield* keptAt(efSearch, options.plannerSettings)
        rows.push({
          efSearch, kept: forced.kept, complete: forced.complete, planned: planned.kept,
          forcedP50: forced.p50, forcedP95: forced.p95, plannedP50: planned.p50, plannedP95: planned.p95
        })
      }
    } finally {
      if (!options.keep) yield* Effect.promise(() => Db.dropSchema(options.url, schema))
    }
    options.log(table(
      ["ef_search", "exact top 10 kept (HNSW scan)", "queries keeping all 10", "HNSW p50 / p95 ms", "kept, planner's choice", "planner's p50 / p95 ms"],
      rows.map((r) => [
        String(r.efSearch), r.kept.toFixed(3), `${r.complete} / ${queries.length}`, `${r.forcedP50.toFixed(2)} / ${r.forcedP95.toFixed(2)}`,
        r.planned.toFixed(3), `${r.plannedP50.toFixed(2)} / ${r.plannedP95.toFixed(2)}`
      ])
    ))
    return rows
  })

export const runEfSearch = (argv: ReadonlyArray<string>) => {
  const flag = (name: string) => flagValue(argv, name)
  const plannerSettings = parsePgSettings(flag("pg") ?? "")
  if (plannerSettings._tag === "Left") return Effect.die(new Error(`efsearch --pg: ${plannerSettings.left}`))
  const url = process.env["DATABASE_URL"]
  if (!url) return Effect.die(new Error("efsearch needs DATABASE_URL (a PostgreSQL with pgvector)"))
  return efSearchScenario({
    url,
    sets: Number(flag("sets") ?? 4),
    efs: (flag("ef") ?? "40,80,100,160,200,400").split(",").map(Number),
    m: flag("m") === undefined ? undefined : Number(flag("m")),
    efConstruction: flag("efc") === undefined ? undefined : Number(flag("efc")),
    keep: argv.includes("--keep"),
    plannerSettings: plannerSettings.right,
    log: (line) => console.log(line)
  })
}
