/**
 * The pgvector store sends its plain vector search straight over the pool (DirectQuery, SqlStore's
 * runDirect) instead of through @effect/sql: the same rows in the same order as the SQL client's
 * statement, the same trace (MemoryStore.search ← sql.execute with the statement's text, under
 * Memory.search), and every way it can fail a typed StoreUnavailable after which the store goes
 * on: a pool that cannot connect, a connection terminated while the search waits, a statement the
 * server refuses.
 */
import { Reactivity } from "@effect/experimental"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Layer, Option, Redacted } from "effect"
import Pg from "pg"
import * as AgentMemory from "../layers/app.ts"
import * as TieredCache from "../layers/cache/TieredCache.ts"
import * as DirectQuery from "../layers/store/pgvector/DirectQuery.ts"
import * as PgPool from "../layers/store/pgvector/PgPool.ts"
import * as PgvectorStore from "../layers/store/pgvector/PgvectorStore.ts"
import { vectorBinary } from "../layers/store/sql/pgText.ts"
import * as SqlStore from "../layers/store/sql/SqlStore.ts"
import { SearchRequest } from "../src/domain/Search.ts"
import { Memory } from "../src/memory/Memory.ts"
import { Embedder, type EmbedderService } from "../src/ports/Embedder.ts"
import { databaseUrl, freshSchema, postgresAvailable, query } from "./support/postgres.ts"
import { DIMENSIONS, newNamespace, newRecord, unit } from "./support/records.ts"
import { recordingTracer, type RecordedSpan } from "./support/recordingTracer.ts"

const pool = { max: 2, min: 0, idleTimeout: Duration.seconds(10), connectTimeout: Duration.seconds(2), maxLifetime: Duration.minutes(5) }

/** The typed error's tag a failed exit carries (undefined for a success, a defect or an interruption). */
const failureTag = <A, E>(exit: Exit.Exit<A, E>): string | undefined =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? (exit.cause.error as unknown as { readonly _tag: string })._tag : undefined

/** An embedder answering fixed vectors by text, for searches whose answer is known. */
const fixedEmbedder = (vectors: ReadonlyMap<string, Float32Array>): EmbedderService => ({
  model: "fixed",
  dimensions: DIMENSIONS,
  exactSearch: true,
  embed: (text) => Effect.succeed(vectors.get(text) ?? unit(0)),
  embedMany: (texts) => Effect.succeed(texts.map((t) => vectors.get(t) ?? unit(0)))
})

/** A pool of the test server's and an @effect/sql-pg client over it (closed with the scope). */
const sqlClient = (url: Redacted.Redacted, sessionSettings: Readonly<Record<string, string>>) =>
  Effect.gen(function*() {
    const connections = yield* PgPool.acquire({ url, pool, sessionSettings })
    const client = yield* PgClient.fromPool({ acquire: Effect.succeed(connections) }).pipe(Effect.provideServiceEffect(Reactivity.Reactivity, Reactivity.make))
    return { connections, client }
  })

/** The pgvector provider's SqlStore over `client`, with the direct runner given or without one. */
const sqlStore = (client: PgClient.PgClient, runDirect: SqlStore.DirectRunner | undefined) =>
  SqlStore.make({ provider: "pgvector", dimensions: DIMENSIONS, vectorType: "vector", encodeVector: vectorBinary, runDirect }).pipe(
    Effect.provideService(SqlClient.SqlClient, client)
  )

describe.skipIf(!postgresAvailable)("pgvector: the plain search sent directly", () => {
  it.scoped("answers the rows the SQL client's statement answers, in its order", () =>
    Effect.gen(function*() {
      const url = yield* databaseUrl
      const schema = yield* freshSchema(url)
      // The table, made by the store.
      const store = yield* PgvectorStore.make({ url, schema, dimensions: DIMENSIONS, pool })
      const namespace = newNamespace()
      const records = Array.from({ length: 40 }, (_, i) => newRecord({ content: `record ${i}`, namespace }, unit(i % DIMENSIONS, (i % 7) / 10)))
      yield* store.insert(records)
      // The same SqlStore over one pool, with and without the direct runner.
      const { client, connections } = yield* sqlClient(url, { search_path: `${schema},public` })
      const viaClient = yield* sqlStore(client, undefined)
      const direct = yield* sqlStore(client, DirectQuery.runner(connections, {}))
      for (let q = 0; q < DIMENSIONS; q++) {
        for (const k of [1, 5, 40]) {
          const search = { namespace, k, embedding: unit(q, 0.3), minScore: 0 }
          const a = yield* viaClient.search(search)
          const b = yield* direct.search(search)
          expect(b.map((h) => [h.record.id, h.score])).toEqual(a.map((h) => [h.record.id, h.score]))
          expect(b.map((h) => h.record)).toEqual(a.map((h) => h.record))
        }
      }
      // A vector of another width is still refused before any SQL.
      const wrong = yield* Effect.exit(direct.search({ namespace, k: 3, embedding: new Float32Array(DIMENSIONS + 1), minScore: 0 }))
      expect(failureTag(wrong)).toBe("DimensionMismatch")
    }))

  it.scoped("is traced as the SQL client's query was: Memory.search ← MemoryCache.searches ← MemoryStore.search ← sql.execute", () =>
    Effect.gen(function*() {
      const url = yield* databaseUrl
      const schema = yield* freshSchema(url)
      const vectors = new Map([["where is it", unit(2)], ["it is here", unit(2, 0.1)]])
      const layer = AgentMemory.layer({
        embedder: Layer.succeed(Embedder, fixedEmbedder(vectors)),
        store: ({ dimensions }) => PgvectorStore.layer({ url, schema, dimensions, pool }),
        cache: TieredCache.layer()
      })
      const { spans, tracer } = recordingTracer()
      yield* Effect.gen(function*() {
        const memory = yield* Memory
        yield* memory.store({ content: "it is here", namespace: "traced" } as never)
        const response = yield* memory.search(new SearchRequest({ query: "where is it", namespace: "traced", k: 3 }))
        expect(response.hits.map((h) => h.content)).toEqual(["it is here"])
      }).pipe(Effect.provide(layer), Effect.withTracer(tracer))
      const search = spans.find((s) => s.name === "Memory.search")!
      expect(search.status._tag).toBe("Ended")
      expect(search.attributes.get("memory.cache_hit")).toBe(false)
      const child = (parent: RecordedSpan, name: string) => {
        const found = spans.find((s) => s.name === name && Option.getOrUndefined(s.parent)?.spanId === parent.spanId)
        expect(found, `${name} under ${parent.name}`).toBeDefined()
        return found!
      }
      const lookup = child(search, "MemoryCache.searches")
      const storeSearch = child(lookup, "MemoryStore.search")
      const sql = child(storeSearch, "sql.execute")
      expect(sql.kind).toBe("client")
      expect(String(sql.attributes.get("db.query.text"))).toMatch(/FROM memories/)
      expect(sql.attributes.get("db.system.name")).toBe("postgresql")
      expect(sql.status._tag).toBe("Ended")
    }))

  it.scoped("a pool that cannot connect fails the search with StoreUnavailable", () =>
    Effect.gen(function*() {
      const url = yield* databaseUrl
      const { client } = yield* sqlClient(url, {})
      const connections = new Pg.Pool({ host: "127.0.0.1", port: 1, connectionTimeoutMillis: 1000, max: 1 })
      yield* Effect.addFinalizer(() => Effect.promise(() => connections.end()))
      const run = DirectQuery.runner(connections, {})
      const exit = yield* Effect.exit(run("SELECT 1", []))
      expect(Exit.isFailure(exit)).toBe(true)
      const store = yield* sqlStore(client, run)
      const failed = yield* Effect.flip(store.search({ namespace: "x", k: 3, embedding: unit(0), minScore: 0 }))
      expect(failed._tag).toBe("StoreUnavailable")
      expect(failed.message).toMatch(/^search failed: /)
    }))

  it.scopedLive("a connection terminated while the search waits, and a statement the server refuses, are StoreUnavailable; the store goes on", () =>
    Effect.gen(function*() {
      const url = yield* databaseUrl
      const schema = yield* freshSchema(url)
      const store = yield* PgvectorStore.make({ url, schema, dimensions: DIMENSIONS, pool })
      const namespace = newNamespace()
      yield* store.insert([newRecord({ content: "kept", namespace }, unit(1))])
      const search = store.search({ namespace, k: 3, embedding: unit(1), minScore: 0 })
      expect((yield* search).map((h) => h.record.content)).toEqual(["kept"])

      // A session holding the table: the search waits on its lock, and the waiting backend is terminated.
      const locker = new Pg.Client({ connectionString: Redacted.value(url) })
      yield* Effect.promise(() => locker.connect())
      yield* Effect.addFinalizer(() => Effect.promise(() => locker.end()))
      yield* Effect.promise(() => locker.query(`BEGIN; LOCK TABLE "${schema}".memories IN ACCESS EXCLUSIVE MODE`))
      const [{ pid }] = (yield* Effect.promise(() => locker.query<{ pid: number }>("SELECT pg_backend_pid() AS pid"))).rows as [{ pid: number }]
      const waiting = yield* Effect.fork(Effect.exit(search))
      let terminated = false
      for (let i = 0; i < 200 && !terminated; i++) {
        const rows = yield* query<{ t: boolean }>(url, "SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", [pid])
        terminated = rows.some((r) => r.t)
        if (!terminated) yield* Effect.sleep("25 millis")
      }
      expect(terminated).toBe(true)
      const cut = yield* waiting.await.pipe(Effect.flatten)
      expect(failureTag(cut)).toBe("StoreUnavailable")
      yield* Effect.promise(() => locker.query("ROLLBACK"))
      expect((yield* search).map((h) => h.record.content)).toEqual(["kept"])

      // The table gone under the store: the statement fails on the server; the connection stays usable.
      yield* query(url, `ALTER TABLE "${schema}".memories RENAME TO memories_gone`, [])
      const refused = yield* Effect.exit(search)
      expect(failureTag(refused)).toBe("StoreUnavailable")
      yield* query(url, `ALTER TABLE "${schema}".memories_gone RENAME TO memories`, [])
      expect((yield* search).map((h) => h.record.content)).toEqual(["kept"])
    }))
})
