/**
 * The server store refreshes the planner's statistics after large ingests (as
 * PGlite does, test/store.pglite.analyze.test.ts), with autovacuum off on the
 * table: after a batch ingest through the store, and at start-up for rows
 * loaded before it. Before that, the planner takes the namespace for a rare
 * value and does not use the HNSW index.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, type Redacted, Schedule } from "effect"
import * as PgvectorStore from "../layers/store/pgvector/PgvectorStore.ts"
import { databaseUrl, freshSchema, postgresAvailable, query } from "./support/postgres.ts"
import { newRecord, unit } from "./support/records.ts"

const DIMENSIONS = 8
const ROWS = 3000

const records = (offset: number) =>
  Array.from({ length: ROWS }, (_, i) => newRecord({ content: `row ${offset + i}`, namespace: "ns" }, unit(i % 8, (i % 13) / 13)))

const inSchema = (schema: string) => [`SET search_path = ${schema}, public`]

const lastAnalyze = (url: Redacted.Redacted, schema: string) =>
  query<{ last_analyze: Date | null; n_mod_since_analyze: number }>(
    url,
    "SELECT last_analyze, n_mod_since_analyze::int AS n_mod_since_analyze FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'memories'",
    [schema]
  ).pipe(Effect.map(([row]) => row!))

const plan = (url: Redacted.Redacted, schema: string) =>
  query<{ "QUERY PLAN": string }>(
    url,
    `EXPLAIN SELECT id FROM memories WHERE namespace = 'ns' AND (expires_at IS NULL OR expires_at > now())
      ORDER BY embedding <=> '[1,0,0,0,0,0,0,0]'::vector LIMIT 10`,
    [],
    inSchema(schema)
  ).pipe(Effect.map((rows) => rows.map((r) => r["QUERY PLAN"]).join("\n")))

const analyzed = (url: Redacted.Redacted, schema: string) =>
  lastAnalyze(url, schema).pipe(
    Effect.filterOrFail((row) => row.last_analyze !== null, () => "not analyzed yet"),
    Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("20 seconds")))
  )

describe.skipIf(!postgresAvailable)("pgvector ANALYZE after large ingests", () => {
  it.scopedLive("a fresh table after a batch ingest is analyzed, and the planner then uses the HNSW index", () =>
    Effect.gen(function*() {
      const url = yield* databaseUrl
      const schema = yield* freshSchema(url)
      const store = yield* PgvectorStore.make({ url, schema, dimensions: DIMENSIONS, analyzeInterval: "100 millis" })
      yield* query(url, "ALTER TABLE memories SET (autovacuum_enabled = false)", [], inSchema(schema))
      expect((yield* lastAnalyze(url, schema)).last_analyze).toBeNull()
      yield* store.insert(records(0))
      const row = yield* analyzed(url, schema)
      expect(row.n_mod_since_analyze).toBeLessThan(ROWS)
      expect(yield* plan(url, schema)).toContain("memories_embedding_hnsw")
    }), 60_000)

  it.scopedLive("rows loaded before start-up are analyzed when the server starts; until then the planner skips the index", () =>
    Effect.gen(function*() {
      const url = yield* databaseUrl
      const schema = yield* freshSchema(url)
      // A first process makes the table and loads it, but stops before its check (an hour away) runs.
      yield* Effect.scoped(Effect.gen(function*() {
        const loader = yield* PgvectorStore.make({
          url,
          schema,
          dimensions: DIMENSIONS,
          analyzeInterval: "1 hour",
          settings: { vectorType: "vector", index: { _tag: "none" }, pgSettings: {} }
        })
        yield* query(url, "ALTER TABLE memories SET (autovacuum_enabled = false)", [], inSchema(schema))
        yield* loader.insert(records(0))
      }))
      // The server's change counter is flushed by the writer's backend within a second or so.
      yield* lastAnalyze(url, schema).pipe(
        Effect.filterOrFail((row) => row.n_mod_since_analyze >= ROWS, () => "counter not flushed"),
        Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("10 seconds")))
      )
      yield* query(url, "CREATE INDEX memories_embedding_hnsw_m16_efc128 ON memories USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 128)", [], inSchema(schema))
      // The control: statistics from when the table was empty keep the planner off the index.
      expect(yield* plan(url, schema)).not.toContain("memories_embedding_hnsw")
      expect((yield* lastAnalyze(url, schema)).last_analyze).toBeNull()
      yield* PgvectorStore.make({ url, schema, dimensions: DIMENSIONS, analyzeInterval: "1 hour" })
      yield* analyzed(url, schema)
      expect(yield* plan(url, schema)).toContain("memories_embedding_hnsw")
    }), 60_000)
})
