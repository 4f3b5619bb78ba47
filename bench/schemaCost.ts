/**
 * What each part of agent-memory's table costs a write: the same rows by one
 * binary COPY (bench/copyIngest.ts) into the table as the migrations make it,
 * and into copies of it with one part taken away (an index, the generated
 * tsvector, the statistics triggers) or added (a live HNSW index). Interleaved
 * rounds after a warm-up; medians and spread.
 *
 *   DATABASE_URL=… npx tsx bench/schemaCost.ts [--rows 20000] [--rounds 3] [--dims 384]
 */
import { Effect } from "effect"
import { loadavg } from "node:os"
import { contentHash } from "../src/memory/contentHash.ts"
import { copyIngest } from "./copyIngest.ts"
import * as Dataset from "./dataset.ts"
import * as Db from "./db.ts"
import * as PrecomputedEmbedder from "./PrecomputedEmbedder.ts"
import * as Stack from "./stack.ts"

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}

/** Each variant: what it changes in the table the migrations made. */
const VARIANTS: ReadonlyArray<{ readonly name: string; readonly ddl: ReadonlyArray<string>; readonly hnsw?: boolean }> = [
  { name: "as shipped (no vector index)", ddl: [] },
  { name: "− BM25 statistics triggers", ddl: ["DROP TRIGGER memory_stats_on_insert ON memories"] },
  { name: "− GIN on content_tsv", ddl: ["DROP INDEX memories_content_tsv"] },
  { name: "GIN content_tsv fastupdate off", ddl: ["ALTER INDEX memories_content_tsv SET (fastupdate = off)"] },
  {
    name: "− content_tsv (column, GIN, triggers)",
    ddl: [
      "DROP TRIGGER memory_stats_on_insert ON memories",
      "DROP TRIGGER memory_stats_on_update ON memories",
      "DROP TRIGGER memory_stats_on_delete ON memories",
      "ALTER TABLE memories DROP COLUMN content_tsv"
    ]
  },
  { name: "− GIN on metadata", ddl: ["DROP INDEX memories_metadata"] },
  { name: "− GIN on tags", ddl: ["DROP INDEX memories_tags"] },
  { name: "− unique content_hash", ddl: ["DROP INDEX memories_content_hash"] },
  { name: "− time indexes (0004)", ddl: ["DROP INDEX memories_time", "DROP INDEX memories_session_time"] },
  { name: "− session, expires_at (partial)", ddl: ["DROP INDEX memories_session", "DROP INDEX memories_expires_at"] },
  {
    name: "bare: primary key only",
    ddl: [
      "DROP TRIGGER memory_stats_on_insert ON memories",
      "DROP TRIGGER memory_stats_on_update ON memories",
      "DROP TRIGGER memory_stats_on_delete ON memories",
      "ALTER TABLE memories DROP COLUMN content_tsv",
      "DROP INDEX memories_metadata",
      "DROP INDEX memories_tags",
      "DROP INDEX memories_content_hash",
      "DROP INDEX memories_time",
      "DROP INDEX memories_session_time",
      "DROP INDEX memories_session",
      "DROP INDEX memories_expires_at"
    ]
  },
  { name: `+ live HNSW (${Stack.HNSW_LABEL})`, ddl: [], hnsw: true }
]

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

const main = async () => {
  const url = process.env["DATABASE_URL"]
  if (!url) throw new Error("DATABASE_URL is not set")
  const rows = arg("rows", 20_000)
  const rounds = arg("rounds", 3)
  const dims = arg("dims", 384)
  const data = Dataset.make({ rows, dims, seed: 42, clusters: 100, queries: 1 })
  const hashes = data.texts.map(contentHash)
  const vectors = new Map<string, Float32Array>()
  for (let row = 0; row < rows; row++) vectors.set(data.texts[row]!, data.vector(row))
  const schema = "bench_schema_cost"

  const once = async (variant: (typeof VARIANTS)[number]) => {
    await Db.dropSchema(url, schema)
    await Effect.runPromise(Effect.scoped(Stack.start({
      url,
      schema,
      embedder: PrecomputedEmbedder.layer(vectors, dims),
      index: variant.hnsw ? Stack.hnsw() : Stack.noIndex
    })))
    await Db.exec(url, ...variant.ddl.map((d) => `SET search_path = ${schema}, public; ${d}`))
    await Db.checkpoint(url)
    const started = performance.now()
    await copyIngest({ url, schema, namespace: Stack.NAMESPACE, data, hashes, streams: 1, rows })
    return rows / ((performance.now() - started) / 1000)
  }

  console.log(`schema cost: ${rows.toLocaleString("en-US")} rows × ${dims} by one binary COPY; ${rounds} interleaved rounds after a warm-up; load ${loadavg().map((l) => l.toFixed(2)).join(" ")}`)
  await once(VARIANTS[0]!)
  const figures = VARIANTS.map(() => [] as Array<number>)
  for (let round = 0; round < rounds; round++) {
    for (const [i, variant] of VARIANTS.entries()) figures[i]!.push(await once(variant))
  }
  const shipped = median(figures[0]!)
  for (const [i, variant] of VARIANTS.entries()) {
    const m = median(figures[i]!)
    const spread = `${Math.round(Math.min(...figures[i]!)).toLocaleString("en-US")}–${Math.round(Math.max(...figures[i]!)).toLocaleString("en-US")}`
    console.log(`  ${variant.name.padEnd(42)} ${Math.round(m).toLocaleString("en-US").padStart(8)} rows/s (${spread})  ${(m / shipped).toFixed(2)}× as shipped`)
  }
  console.log(`load after: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`)
  await Db.dropSchema(url, schema)
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})
