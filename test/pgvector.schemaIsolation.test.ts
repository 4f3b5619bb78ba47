/**
 * MEMORY_PG_SCHEMA beside an install in `public`: the store's search_path ends in public (where
 * the vector type usually lives), and @effect/sql's Migrator finds its table by `::regclass`,
 * so a schema of its own once read public's migrations as done, made no tables, and wrote into
 * public.memories. Each schema must get its own tables and keep its records there. A database
 * of the test's own, since the bug needs a store in `public`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as PgvectorStore from "../layers/store/pgvector/PgvectorStore.ts"
import { databaseUrl, postgresAvailable, query } from "./support/postgres.ts"
import { DIMENSIONS, newNamespace, newRecord, unit } from "./support/records.ts"

/** A new database on the same server, dropped when the scope closes. */
const freshDatabase = (server: Redacted.Redacted) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const name = `am_schema_${process.pid}_${Math.random().toString(36).slice(2, 8)}`
      yield* query(server, `CREATE DATABASE ${name}`)
      const url = new URL(Redacted.value(server))
      url.pathname = `/${name}`
      return { name, url: Redacted.make(url.toString()) }
    }),
    ({ name }) => query(server, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  )

describe.skipIf(!postgresAvailable)("pgvector: a schema of its own beside public", () => {
  it.scopedLive("keeps its own tables and records when public already has an install", () =>
    Effect.gen(function*() {
      const { url } = yield* freshDatabase(yield* databaseUrl)
      const inPublic = yield* PgvectorStore.make({ url, dimensions: DIMENSIONS })
      const inTenant = yield* PgvectorStore.make({ url, schema: "tenant_b", dimensions: DIMENSIONS })
      const namespace = newNamespace()
      yield* inPublic.insert([newRecord({ content: "kept in public", namespace }, unit(0))])
      yield* inTenant.insert([newRecord({ content: "kept in tenant_b", namespace }, unit(1))])

      const [tables] = yield* query<{ tenant: string | null }>(url, `SELECT to_regclass('tenant_b.memories')::text AS tenant`)
      expect(tables!.tenant).toBe("tenant_b.memories")
      const contents = (schema: string) =>
        Effect.map(query<{ content: string }>(url, `SELECT content FROM ${schema}.memories ORDER BY content`), (rows) => rows.map((r) => r.content))
      expect(yield* contents("public")).toEqual(["kept in public"])
      expect(yield* contents("tenant_b")).toEqual(["kept in tenant_b"])
    }), 60_000)
})
