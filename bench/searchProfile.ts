/**
 * What a search costs this process beside the same SQL sent by `pg` (issue 14, item 3):
 * Memory.search with the caches off over the pgvector store, and bench/rawSql.ts's statement,
 * over one table, in alternating rounds. Prints queries/s and this process's CPU per query for
 * each (the database's time is the same for both, so the CPU difference is our overhead).
 *
 *   DATABASE_URL=… node --import tsx bench/searchProfile.ts [--rows 20000] [--seconds 4] [--rounds 3] [--clients 1,4]
 *   … --layers        raw pg (unnamed, then named), @effect/sql-pg, MemoryStore.search (named: the
 *                     store prepares its plain search), Memory.search, one after the other
 *                     (with --only NAME, that one alone)
 *   … --only memory   with `node --cpu-prof --cpu-prof-dir DIR` for a profile of our side alone
 *
 * The table (schema `bench_searchprof_<rows>`) is kept for the next run.
 */
import { Reactivity } from "@effect/experimental"
import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Layer, Stream } from "effect"
import { vectorBinary } from "../layers/store/sql/pgText.ts"
import { Embedder } from "../src/ports/Embedder.ts"
import { MemoryStore } from "../src/ports/MemoryStore.ts"
import { SearchRequest } from "../src/domain/Search.ts"
import { Memory } from "../src/memory/Memory.ts"
import * as Dataset from "./dataset.ts"
import * as Db from "./db.ts"
import { flagValue } from "./flags.ts"
import { closedLoop, closedLoopAsync, type LoadResult } from "./load.ts"
import * as PrecomputedEmbedder from "./PrecomputedEmbedder.ts"
import * as RawSql from "./rawSql.ts"
import * as Stack from "./stack.ts"

const flag = (name: string, fallback: string) => flagValue(process.argv, name) ?? fallback
const rows = Number(flag("rows", "20000"))
const seconds = Number(flag("seconds", "4"))
const rounds = Number(flag("rounds", "3"))
const clientCounts = flag("clients", "1,4").split(",").map(Number)
const only = flag("only", "both")
const url = process.env["DATABASE_URL"]
if (!url) throw new Error("DATABASE_URL is not set")
const schema = `bench_searchprof_${rows}`
const index = Stack.hnsw()
const ef = index._tag === "hnsw" ? index.efSearch : 40

const data = Dataset.make({ rows, dims: 384, seed: 42, clusters: 100, queries: 200 })
const vectors = new Map<string, Float32Array>()
for (let row = 0; row < data.rows; row++) vectors.set(data.texts[row]!, data.vector(row))
for (let q = 0; q < data.queries; q++) vectors.set(data.queryTexts[q]!, data.queryVector(q))
const embedder = PrecomputedEmbedder.layer(vectors, data.dims)

const ensureTable = Effect.gen(function*() {
  const present = yield* Effect.promise(() =>
    Db.rows<{ n: string }>(url, `SELECT count(*)::text AS n FROM ${Db.quoteIdent(schema)}.memories`).then((r) => Number(r[0]?.n), () => -1))
  if (present === rows) return
  console.log(`loading ${rows} rows into ${schema}…`)
  yield* Effect.promise(() => Db.dropSchema(url, schema))
  yield* Effect.scoped(Effect.gen(function*() {
    const { memory } = yield* Stack.start({ url, schema, embedder, index: Stack.noIndex, batchSize: 1000, batchConcurrency: 2 })
    yield* memory.storeMany(Stream.fromIterable(data.texts.map((content, row) => ({ index: row, value: { content, id: data.id(row) } }))), { namespace: Stack.NAMESPACE })
  }))
  yield* Effect.scoped(Stack.start({ url, schema, embedder, index }))
  yield* Effect.promise(() => Db.exec(url, `ANALYZE ${Db.quoteIdent(schema)}.memories`))
})

const measured = <E>(run: () => Effect.Effect<LoadResult, E>) =>
  Effect.gen(function*() {
    const cpu = process.cpuUsage()
    const load = yield* run()
    const used = process.cpuUsage(cpu)
    return { load, cpuPerQueryUs: (used.user + used.system) / load.samples.length, systemPerQueryUs: used.system / load.samples.length }
  })

const line = (name: string, clients: number, m: { load: LoadResult; cpuPerQueryUs: number; systemPerQueryUs: number }) =>
  `  ${name.padEnd(13)} ${clients} client${clients > 1 ? "s" : " "} ${Math.round(m.load.queriesPerSecond).toString().padStart(6)} q/s  p50 ${m.load.latency.p50Ms.toFixed(2)} ms  CPU ${m.cpuPerQueryUs.toFixed(0).padStart(5)} µs/query (system ${m.systemPerQueryUs.toFixed(0)})`

const program = Effect.gen(function*() {
  yield* ensureTable
  const context = yield* Layer.build(Stack.layer({ url, schema, embedder, index }))
  const memory = Context.get(context, Memory)
  const store = Context.get(context, MemoryStore)
  const embedderService = Context.get(context, Embedder)
  const pool = yield* Effect.acquireRelease(Effect.sync(() => RawSql.openPool(url, schema, ef)), (p) => Effect.promise(() => p.end()))
  // The same statement through @effect/sql-pg over a pool like raw SQL's: the SQL client's share.
  const sqlPool = yield* Effect.acquireRelease(Effect.sync(() => RawSql.openPool(url, schema, ef)), (p) => Effect.promise(() => p.end()))
  const effectSql = yield* PgClient.fromPool({ acquire: Effect.succeed(sqlPool) }).pipe(
    Effect.provideServiceEffect(Reactivity.Reactivity, Reactivity.make))
  const requests = data.queryTexts.map((query) => new SearchRequest({ query, namespace: Stack.NAMESPACE, k: 10 }))
  const viaMemory = (q: number) => memory.search(requests[q]!)
  const viaSql = (q: number) => RawSql.search(pool, Stack.NAMESPACE, data.queryVector(q), 10)
  if (process.argv.includes("--layers")) {
    const encoded = Array.from({ length: data.queries }, (_, q) => vectorBinary(data.queryVector(q)))
    const ways: Array<[string, (q: number) => Effect.Effect<unknown, unknown>]> = [
      ["raw pg", (q) => Effect.promise(() => RawSql.search(pool, Stack.NAMESPACE, data.queryVector(q), 10))],
      // The same statement named: what a prepared statement saves the server (the store sends it so).
      ["raw pg, named", (q) => Effect.promise(() => pool.query({ name: "bench_search", text: RawSql.SEARCH_SQL, values: [encoded[q], Stack.NAMESPACE, encoded[q], 10] }))],
      ["@effect/sql", (q) => effectSql.unsafe(RawSql.SEARCH_SQL, [encoded[q], Stack.NAMESPACE, encoded[q], 10])],
      ["MemoryStore", (q) => store.search({ namespace: Stack.NAMESPACE, k: 10, embedding: data.queryVector(q), minScore: 0 })],
      ["Memory.search", viaMemory],
      ["embed", (q) => embedderService.embed(data.queryTexts[q]!)],
      ["no tracer", (q) => Effect.withTracerEnabled(viaMemory(q), false)]
    ]
    for (const clients of clientCounts) {
      for (let round = 0; round < rounds; round++) {
        for (const [name, run] of ways.filter(([name]) => only === "both" || name === only)) {
          const m = yield* measured(() => closedLoop({ clients, seconds, queries: data.queries }, run))
          console.log(line(name, clients, m))
        }
      }
    }
    return
  }
  console.log(`search overhead: ${rows} rows × 384, HNSW ef_search ${ef}, k 10, caches off, ${rounds} rounds of ${seconds} s`)
  for (const clients of clientCounts) {
    const options = { clients, seconds, queries: data.queries }
    const warm = { ...options, seconds: 1 }
    if (only !== "sql") yield* closedLoop(warm, viaMemory)
    if (only !== "memory") yield* Effect.promise(() => closedLoopAsync(warm, viaSql))
    const ratios: Array<number> = []
    for (let round = 0; round < rounds; round++) {
      const am = only === "sql" ? undefined : yield* measured(() => closedLoop(options, viaMemory))
      const sql = only === "memory" ? undefined : yield* measured(() => Effect.promise(() => closedLoopAsync(options, viaSql)))
      if (am) console.log(line("agent-memory", clients, am))
      if (sql) console.log(line("raw-sql", clients, sql))
      if (am && sql) ratios.push(am.load.queriesPerSecond / sql.load.queriesPerSecond)
    }
    if (ratios.length > 0) console.log(`  ${clients} client(s): agent-memory / raw SQL q/s by round ${ratios.map((r) => r.toFixed(2)).join(", ")}`)
  }
})

Effect.runPromise(Effect.scoped(program)).then(() => process.exit(0), (e) => {
  console.error(e)
  process.exit(1)
})
