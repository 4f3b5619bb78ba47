/**
 * Time filters are answered in SQL by an index: on a real PostgreSQL with many
 * namespaces and a narrow window, EXPLAIN of the store's time condition (the
 * same RECORD_TIME expression the store writes) shows an index scan of
 * memories_time, not a scan of the table.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import * as PgvectorStore from "../layers/store/pgvector/PgvectorStore.ts"
import { RECORD_TIME } from "../layers/store/sql/migrations.ts"
import { MemoryStore } from "../src/ports/MemoryStore.ts"
import { databaseUrl, freshSchema, postgresAvailable, query } from "./support/postgres.ts"
import { DIMENSIONS } from "./support/records.ts"

interface Fixture {
  readonly url: Redacted.Redacted
  readonly schema: string
}

class Db extends Effect.Service<Db>()("test/Db", { succeed: { url: Redacted.make(""), schema: "" } as Fixture }) {}

const stack = Layer.unwrapScoped(
  Effect.gen(function*() {
    const url = yield* databaseUrl
    const schema = yield* freshSchema(url)
    // No vector index: this test is about the time index (and an HNSW build over 40k equal vectors is slow).
    const store = yield* PgvectorStore.make({
      url,
      schema,
      dimensions: DIMENSIONS,
      settings: { vectorType: "vector", index: { _tag: "none" }, pgSettings: {} }
    })
    return Layer.mergeAll(Layer.succeed(MemoryStore, store), Layer.succeed(Db, new Db({ url, schema })))
  })
)

describe.skipIf(!postgresAvailable)("time filters on pgvector", () => {
  layer(stack, { timeout: 120_000 })((it) => {
    it.effect("a since/until window is an index scan of memories_time; the store answers it", () =>
      Effect.gen(function*() {
        const { schema, url } = yield* Db
        const store = yield* MemoryStore
        const setup = [`SET search_path TO "${schema}", public`]
        // 40 namespaces × 1,000 records, one a minute, a third of them with a stated time a year earlier.
        yield* query(url, `
          INSERT INTO memories (namespace, id, kind, content, content_hash, embedding, embedding_model, created_at, updated_at, occurred_at)
          SELECT 'ns' || (i % 40), 'r' || i, 'memory', 'record ' || i, md5(i::text),
            array_fill(0.1::real, ARRAY[${DIMENSIONS}])::vector, 'test',
            timestamptz '2024-01-01' + make_interval(mins => i), timestamptz '2024-01-01' + make_interval(mins => i),
            CASE WHEN i % 3 = 0 THEN timestamptz '2023-01-01' + make_interval(mins => i) END
          FROM generate_series(1, 40000) AS i`, [], setup)
        yield* query(url, "ANALYZE memories", [], setup)
        const where = `namespace = 'ns7' AND (expires_at IS NULL OR expires_at > now())
          AND ${RECORD_TIME} >= '2024-01-10T00:00:00Z' AND ${RECORD_TIME} <= '2024-01-11T00:00:00Z'`
        const plan = (sql: string) =>
          Effect.map(query<{ readonly "QUERY PLAN": string }>(url, `EXPLAIN ${sql}`, [], setup), (rows) => rows.map((r) => r["QUERY PLAN"]).join("\n"))
        const listPlan = yield* plan(`SELECT id FROM memories WHERE ${where} ORDER BY ${RECORD_TIME} DESC, created_at DESC, id LIMIT 50`)
        expect(listPlan).toMatch(/Index Scan.*memories_time|Bitmap Index Scan on memories_time/)
        expect(listPlan).not.toMatch(/Seq Scan/)
        const deletePlan = yield* plan(`DELETE FROM memories WHERE ${where}`)
        expect(deletePlan).toMatch(/memories_time/)
        expect(deletePlan).not.toMatch(/Seq Scan/)
        // The store's own answer to that window agrees with SQL's count.
        const counted = yield* query<{ readonly n: string }>(url, `SELECT count(*) AS n FROM memories WHERE ${where}`, [], setup)
        const listed = yield* store.list(
          { namespace: "ns7", since: new Date("2024-01-10T00:00:00Z"), until: new Date("2024-01-11T00:00:00Z") },
          { limit: 1000 }
        )
        expect(listed.length).toBe(Number(counted[0]!.n))
        expect(listed.length).toBeGreaterThan(0)
        expect(listed.every((r) => {
          const t = (r.occurredAt ?? r.createdAt).getTime()
          return t >= Date.parse("2024-01-10T00:00:00Z") && t <= Date.parse("2024-01-11T00:00:00Z")
        })).toBe(true)
      }))
  })
})
