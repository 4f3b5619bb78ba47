/**
 * One benchmark run: the data and its truth, then each chosen scenario in
 * turn (a failing scenario is reported and the others still run), then
 * results.json, summary.md and chart.svg under `<out>/<timestamp>/`.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { loadavg } from "node:os"
import { join, resolve } from "node:path"
import { Cause, Effect, Stream } from "effect"
import { cacheScenario } from "./cache.ts"
import { svg } from "./chart.ts"
import type { BenchContext } from "./context.ts"
import * as Db from "./db.ts"
import { filteredScenario } from "./filtered.ts"
import { httpScenario } from "./http.ts"
import { ingestScenario, searchSchema } from "./ingest.ts"
import { keywordScenario } from "./keyword.ts"
import * as Machine from "./machine.ts"
import type { BenchOptions, Scenario } from "./options.ts"
import { pgliteScenario } from "./pglite.ts"
import * as PrecomputedEmbedder from "./PrecomputedEmbedder.ts"
import { prepare } from "./prepare.ts"
import * as Report from "./report.ts"
import type { Results } from "./results.ts"
import { searchScenario } from "./search.ts"
import * as Stack from "./stack.ts"

export interface RunContext {
  /** PostgreSQL with pgvector; without it only the pglite scenario runs. */
  readonly url: string | undefined
  readonly prefix: string
  readonly log: (line: string) => void
  /** Write results under options.out (the test reads the returned value instead). */
  readonly write: boolean
  readonly command: string
}

const NEEDS_POSTGRES: ReadonlyArray<Scenario> = ["ingest", "search", "filtered", "cache", "http"]

/**
 * The table the search scenarios read, when `ingest` is not among the
 * scenarios: kept from an earlier run with the same rows (`--keep`), or loaded
 * now through agent-memory's batch path and indexed at start-up.
 */
const ensureSearchTable = (ctx: BenchContext, url: string) =>
  Effect.gen(function*() {
    const schema = searchSchema(ctx)
    const present = yield* Effect.promise(() =>
      Db.rows<{ n: string }>(url, `SELECT count(*)::text AS n FROM ${Db.quoteIdent(schema)}.memories`).then((r) => Number(r[0]?.n), () => -1)
    )
    if (present === ctx.data.rows) {
      ctx.log(`search table: ${schema}.memories kept from an earlier run (${present} rows)`)
      yield* Effect.scoped(Stack.start({ url, schema, embedder: PrecomputedEmbedder.layer(ctx.vectors, ctx.data.dims), index: Stack.hnsw() }))
      return true
    }
    ctx.log(`search table: loading ${ctx.data.rows} rows into ${schema} through agent-memory (no comparison; run "ingest" for that)`)
    yield* Effect.promise(() => Db.dropSchema(url, schema))
    yield* Effect.scoped(Effect.gen(function*() {
      const { memory } = yield* Stack.start({
        url, schema, embedder: PrecomputedEmbedder.layer(ctx.vectors, ctx.data.dims), index: Stack.noIndex,
        batchSize: ctx.options.batchSize, batchConcurrency: ctx.options.batchConcurrency
      })
      yield* memory.storeMany(Stream.fromIterable(ctx.data.texts.map((content, row) => ({ index: row, value: { content, id: ctx.data.id(row), metadata: ctx.data.metadata(row) } }))), { namespace: Stack.NAMESPACE })
    }))
    yield* Effect.scoped(Stack.start({ url, schema, embedder: PrecomputedEmbedder.layer(ctx.vectors, ctx.data.dims), index: Stack.hnsw() }))
    yield* Effect.promise(() => Db.exec(url, `ANALYZE ${Db.quoteIdent(schema)}.memories`))
    // attempt() answers undefined for a failed step, so the table's readiness must be a value.
    return true
  })

export const runBench = (options: BenchOptions, run: RunContext) =>
  Effect.gen(function*() {
    const started = new Date()
    const { log, url } = run
    const scenarios = options.scenarios.filter((s) => url !== undefined || !NEEDS_POSTGRES.includes(s))
    if (scenarios.length < options.scenarios.length) log("DATABASE_URL is not set: only the embedded (pglite) scenario runs")
    const postgres = url ? yield* Effect.promise(() => Db.serverFacts(url)) : undefined
    const machine = Machine.describe(postgres)
    if (machine.loadBefore > 0.5 * machine.cpus) log(`note: the machine is busy (load average ${machine.loadBefore.toFixed(2)} on ${machine.cpus} cores); figures will be lower and noisier`)
    const ctx = yield* prepare(options, { url, prefix: run.prefix, log })

    const errors: Array<{ scenario: string; message: string }> = []
    const attempt = <A>(scenario: string, effect: Effect.Effect<A, unknown>) =>
      effect.pipe(
        Effect.map((a): A | undefined => a),
        Effect.catchAllCause((cause) =>
          Effect.sync(() => {
            const message = Cause.pretty(cause).split("\n").slice(0, 6).join(" ")
            errors.push({ scenario, message })
            log(`${scenario}: FAILED: ${message}`)
            return undefined
          })
        )
      )
    const has = (s: Scenario) => scenarios.includes(s)
    const pg = url ?? ""
    const ingest = has("ingest") ? yield* attempt("ingest", ingestScenario(ctx, pg)) : undefined
    const needTable = has("search") || has("filtered") || has("cache") || has("http")
    const tableReady = needTable && url !== undefined
      ? ingest !== undefined || (yield* attempt("search table", ensureSearchTable(ctx, pg))) !== undefined
      : false
    const search = has("search") && tableReady ? yield* attempt("search", searchScenario(ctx, pg)) : undefined
    const filtered = has("filtered") && tableReady ? yield* attempt("filtered", filteredScenario(ctx, pg)) : undefined
    const cache = has("cache") && tableReady ? yield* attempt("cache", cacheScenario(ctx, pg)) : undefined
    const http = has("http") && tableReady ? yield* attempt("http", httpScenario(ctx, pg)) : undefined
    const pglite = has("pglite") ? yield* attempt("pglite", pgliteScenario(ctx)) : undefined
    // Real text with the local embedder, not the Gaussian rows above: both stores, each size.
    const keyword = has("keyword")
      ? yield* attempt("keyword", keywordScenario({
        sizes: options.keywordRows,
        stores: url ? ["pgvector", "pglite"] : ["pglite"],
        queries: options.keywordQueries,
        statsCostUpTo: 10_000,
        keep: options.keep,
        prefix: run.prefix
      }, url, log))
      : undefined
    if (url && !options.keep) yield* Effect.promise(() => Db.dropSchema(url, searchSchema(ctx)))

    const finished = new Date()
    const partial: Results = {
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      seconds: (finished.getTime() - started.getTime()) / 1000,
      command: run.command,
      machine: { ...machine, loadAfter: loadavg()[0]!, redis: cache && options.redisUrl ? "used (L2)" : undefined },
      options,
      dataset: {
        rows: ctx.data.rows,
        dims: ctx.data.dims,
        clusters: ctx.data.clusters,
        seed: ctx.data.seed,
        queries: ctx.data.queries,
        generateSeconds: ctx.generateMs / 1000,
        truthSeconds: ctx.truthMs / 1000
      },
      ingest,
      search,
      filtered,
      cache,
      http,
      pglite,
      keyword,
      errors,
      goals: []
    }
    const results: Results = { ...partial, goals: Report.goals(partial) }
    if (run.write) {
      const dir = resolve(options.out, started.toISOString().replace(/[:.]/g, "-"))
      mkdirSync(dir, { recursive: true })
      writeFileSync(join(dir, "results.json"), JSON.stringify(results, null, 2) + "\n")
      writeFileSync(join(dir, "summary.md"), Report.markdown(results))
      writeFileSync(join(dir, "chart.svg"), svg(results))
      log(Report.text(results))
      log(`\nresults: ${join(dir, "results.json")}, summary.md, chart.svg`)
    }
    return results
  })
