/**
 * Named prepared statements on the pgvector store: a statement marked PREPARED is parsed once
 * per connection and named by its text's hash (PreparingClient), the plain vector search is such
 * a statement and a filtered one is not, it is planned per call (never a generic plan that
 * ignores the namespace), a statement the server lost is prepared again, and
 * MEMORY_PG_PREPARED_STATEMENTS=false sends everything unnamed. Each pool here has one connection, so pg_prepared_statements read through
 * it is that connection's.
 */
import { Reactivity } from "@effect/experimental"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect } from "effect"
import * as PgPool from "../layers/store/pgvector/PgPool.ts"
import * as PgvectorStore from "../layers/store/pgvector/PgvectorStore.ts"
import { vectorBinary } from "../layers/store/sql/pgText.ts"
import { PREPARED } from "../layers/store/sql/prepared.ts"
import * as SqlStore from "../layers/store/sql/SqlStore.ts"
import { filterTree } from "../src/domain/Filter.ts"
import { databaseUrl, freshSchema, postgresAvailable } from "./support/postgres.ts"
import { DIMENSIONS, newNamespace, newRecord, unit } from "./support/records.ts"

const onePool = (preparedStatements: boolean | undefined) => ({
  max: 1, min: 0, idleTimeout: Duration.seconds(10), connectTimeout: Duration.seconds(5), maxLifetime: Duration.minutes(5), preparedStatements
})

const preparedOn = (pool: { query: (text: string) => Promise<{ rows: Array<{ name: string; statement: string; generic_plans: string }> }> }) =>
  Effect.promise(() => pool.query("SELECT name, statement, generic_plans FROM pg_prepared_statements ORDER BY name").then((r) => r.rows))

describe.skipIf(!postgresAvailable)("pgvector prepared statements", () => {
  it.scoped("a marked statement is prepared once per connection under its text's hash, planned per call; unmarked ones and prepare off are not", () =>
    Effect.gen(function*() {
      const url = yield* databaseUrl
      const marked = `${PREPARED}SELECT $1::int + 1 AS n`
      for (const preparedStatements of [undefined, false]) {
        const pool = yield* PgPool.acquire({ url, pool: onePool(preparedStatements), sessionSettings: {} })
        for (let i = 0; i < 8; i++) expect((yield* Effect.promise(() => pool.query(marked, [i]))).rows).toEqual([{ n: i + 1 }])
        yield* Effect.promise(() => pool.query("SELECT $1::int AS unmarked", [1]))
        const prepared = yield* preparedOn(pool)
        const mode = yield* Effect.promise(() => pool.query("SHOW plan_cache_mode").then((r) => r.rows[0]?.plan_cache_mode))
        if (preparedStatements === false) {
          expect(prepared).toEqual([])
          expect(mode).toBe("auto")
        } else {
          expect(prepared).toHaveLength(1)
          expect(prepared[0]!.name).toMatch(/^am_[A-Za-z0-9_-]{24}$/)
          expect(prepared[0]!.statement).toBe(marked)
          // Eight executions, never a generic plan: the namespace asked is always planned for.
          expect(mode).toBe("force_custom_plan")
          expect(Number(prepared[0]!.generic_plans)).toBe(0)
        }
      }
    }), 60_000)

  it.scoped("a statement the server lost (DEALLOCATE) or can no longer run (a column's type changed) is prepared again, not failed for good", () =>
    Effect.gen(function*() {
      const url = yield* databaseUrl
      const schema = yield* freshSchema(url)
      const pool = yield* PgPool.acquire({ url, pool: onePool(undefined), sessionSettings: {} })
      const run = (text: string, values: Array<unknown> = []) => Effect.promise(() => pool.query(text, values).then((r) => r.rows))
      yield* run(`CREATE SCHEMA "${schema}"`)
      yield* run(`CREATE TABLE "${schema}".t (x int)`)
      yield* run(`INSERT INTO "${schema}".t VALUES (41)`)
      const marked = `${PREPARED}SELECT x + $1 AS y FROM "${schema}".t`
      expect(yield* run(marked, [1])).toEqual([{ y: 42 }])
      yield* run("DEALLOCATE ALL")
      expect(yield* run(marked, [2])).toEqual([{ y: 43 }])
      // int + int was the result; bigint + int is another type: the server refuses the old statement.
      yield* run(`ALTER TABLE "${schema}".t ALTER COLUMN x TYPE bigint`)
      expect(yield* run(marked, [3])).toEqual([{ y: "44" }])
      expect((yield* preparedOn(pool)).map((p) => p.statement)).toEqual([marked])
    }), 60_000)

  it.scoped("the plain vector search is prepared and answers right over many executions, namespaces and k; a filtered search is not prepared", () =>
    Effect.gen(function*() {
      const url = yield* databaseUrl
      const schema = yield* freshSchema(url)
      // The store creates the tables; a second SqlStore over a one-connection pool is the one looked at.
      const store = yield* PgvectorStore.make({ url, schema, dimensions: DIMENSIONS })
      const namespaces = [newNamespace(), newNamespace()]
      for (const namespace of namespaces) {
        yield* store.insert([0, 1, 2, 3].map((axis) => newRecord({ content: `${namespace} axis ${axis}`, namespace, metadata: { axis } }, unit(axis, 0.1))))
      }
      const pool = yield* PgPool.acquire({ url, pool: onePool(undefined), sessionSettings: { search_path: `${schema},public` } })
      const client = yield* PgClient.fromPool({ acquire: Effect.succeed(pool) }).pipe(Effect.provideServiceEffect(Reactivity.Reactivity, Reactivity.make))
      const looked = yield* SqlStore.make({ provider: "pgvector", dimensions: DIMENSIONS, vectorType: "vector", encodeVector: vectorBinary }).pipe(
        Effect.provideService(SqlClient.SqlClient, client)
      )
      // Past five executions (where a generic plan could start): namespaces and k vary meanwhile.
      for (let i = 0; i < 12; i++) {
        const namespace = namespaces[i % 2]!
        const k = 1 + (i % 3)
        const hits = yield* looked.search({ namespace, embedding: unit(i % 4), k, minScore: 0 })
        expect(hits.map((h) => h.record.content)).toEqual([`${namespace} axis ${i % 4}`, ...hits.slice(1).map((h) => h.record.content)])
        expect(hits).toHaveLength(k)
        expect(hits.every((h) => h.record.namespace === namespace)).toBe(true)
      }
      const filtered = yield* looked.search({ namespace: namespaces[0]!, embedding: unit(0), k: 2, minScore: 0, filter: filterTree({ axis: 1 }) })
      expect(filtered.map((h) => h.record.content)).toEqual([`${namespaces[0]} axis 1`])
      const prepared = yield* preparedOn(pool)
      expect(prepared).toHaveLength(1)
      expect(prepared[0]!.statement.startsWith(PREPARED)).toBe(true)
      expect(prepared[0]!.statement).toMatch(/ORDER BY embedding <=>/)
    }), 60_000)

  it.effect("MEMORY_PG_PREPARED_STATEMENTS is read into the pool settings (default on) and refuses what is not a boolean", () =>
    Effect.gen(function*() {
      const read = (value: string | undefined) =>
        Effect.either(PgvectorStore.poolConfig.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(value === undefined ? [] : [["MEMORY_PG_PREPARED_STATEMENTS", value]])))))
      const unset = yield* read(undefined)
      expect(unset._tag === "Right" && unset.right.preparedStatements).toBe(true)
      const off = yield* read("false")
      expect(off._tag === "Right" && off.right.preparedStatements).toBe(false)
      const bad = yield* read("sometimes")
      expect(bad._tag).toBe("Left")
      expect(String(bad._tag === "Left" ? bad.left : "")).toMatch(/MEMORY_PG_PREPARED_STATEMENTS/)
    }))
})
