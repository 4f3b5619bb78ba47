/**
 * A connection dropped in the middle of a transaction (pg_terminate_backend,
 * as a failover or an operator does): the write is a typed StoreUnavailable,
 * never a defect; a batch stream still answers its per-item outcomes (what was
 * committed is stored, the rest failed); a batch of which every item failed
 * because the store is down is itself a StoreUnavailable (503).
 *
 * To drop the connection at a known point, another session locks the table:
 * the write waits inside its transaction, and the backend waiting on that lock
 * is the one terminated.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Deferred, Effect, Layer, Redacted, Stream } from "effect"
import Pg from "pg"
import * as AgentMemory from "../../layers/app.ts"
import * as PgvectorStore from "../../layers/store/pgvector/PgvectorStore.ts"
import { Memory } from "../../src/memory/Memory.ts"
import type { IngestItem } from "../../src/memory/Ingest.ts"
import { databaseUrl, freshSchema, postgresAvailable, query } from "../support/postgres.ts"
import { DIMENSIONS, newRecord, unit } from "../support/records.ts"

/** A session holding a lock on the table that blocks writes, until released. */
const lockTable = (url: Redacted.Redacted, schema: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new Pg.Client({ connectionString: Redacted.value(url) })
      await client.connect()
      await client.query("BEGIN")
      await client.query(`LOCK TABLE "${schema}".memories IN SHARE ROW EXCLUSIVE MODE`)
      const [row] = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows
      return { client, pid: row!.pid }
    }),
    ({ client }) => Effect.promise(() => client.query("ROLLBACK").then(() => client.end()))
  )

/** Terminates the backend that waits on `lockerPid`'s lock (polls until one does). */
const terminateWaiter = (url: Redacted.Redacted, lockerPid: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 200; i++) {
      const rows = yield* query<{ terminated: boolean }>(
        url,
        "SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
        [lockerPid]
      )
      if (rows.some((r) => r.terminated)) return
      yield* Effect.sleep("25 millis")
    }
    throw new Error("no backend waited on the lock")
  })

const count = (url: Redacted.Redacted, schema: string) =>
  Effect.map(query<{ n: number }>(url, `SELECT count(*)::int AS n FROM "${schema}".memories`), ([r]) => r!.n)

describe.skipIf(!postgresAvailable)("pgvector: a connection terminated mid-transaction", () => {
  it.scopedLive("an insert whose connection is terminated is StoreUnavailable, and the store goes on", () =>
    Effect.gen(function*() {
      const url = yield* databaseUrl
      const schema = yield* freshSchema(url)
      const store = yield* PgvectorStore.make({ url, schema, dimensions: DIMENSIONS })
      const outcome = yield* Effect.scoped(Effect.gen(function*() {
        const lock = yield* lockTable(url, schema)
        const insert = yield* Effect.fork(Effect.exit(store.insert([newRecord({ content: "dropped", namespace: "default" }, unit(0))])))
        yield* terminateWaiter(url, lock.pid)
        return yield* insert.await
      }))
      // A failure, not a defect (which answered 500 with an empty body).
      expect(outcome._tag).toBe("Success")
      const exit = outcome._tag === "Success" ? outcome.value : undefined
      expect(exit?._tag).toBe("Failure")
      if (exit?._tag === "Failure") {
        expect(exit.cause._tag).toBe("Fail")
        expect(exit.cause._tag === "Fail" && exit.cause.error._tag).toBe("StoreUnavailable")
      }
      expect(yield* count(url, schema)).toBe(0)
      const [again] = yield* store.insert([newRecord({ content: "after", namespace: "default" }, unit(1))])
      expect(again!.deduplicated).toBe(false)
      expect(yield* count(url, schema)).toBe(1)
    }))

  it.scopedLive("a batch stream answers per item: committed batches stored, the dropped one failed, the stream goes on", () =>
    Effect.gen(function*() {
      const url = yield* databaseUrl
      const schema = yield* freshSchema(url)
      const env = { MEMORY_STORE: "pgvector", DATABASE_URL: Redacted.value(url), MEMORY_PG_SCHEMA: schema, MEMORY_BATCH_SIZE: "10", MEMORY_BATCH_CONCURRENCY: "1" }
      const memoryLayer = Layer.fresh(AgentMemory.layerConfig()).pipe(
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
      )
      yield* Effect.gen(function*() {
        const memory = yield* Memory
        const items = (from: number) =>
          Stream.range(from, from + 9).pipe(Stream.map((i): IngestItem => ({ index: i, value: { content: `item number ${i}` } })))
        const secondBatch = yield* Deferred.make<void>()
        const thirdBatch = yield* Deferred.make<void>()
        const source = items(0).pipe(
          Stream.concat(Stream.drain(Stream.fromEffect(Deferred.await(secondBatch)))),
          Stream.concat(items(10)),
          Stream.concat(Stream.drain(Stream.fromEffect(Deferred.await(thirdBatch)))),
          Stream.concat(items(20))
        )
        const running = yield* Effect.fork(memory.storeMany(source))
        while ((yield* count(url, schema)) < 10) yield* Effect.sleep("20 millis")
        yield* Effect.scoped(Effect.gen(function*() {
          const lock = yield* lockTable(url, schema)
          yield* Deferred.succeed(secondBatch, undefined)
          yield* terminateWaiter(url, lock.pid)
          // The dropped batch has its outcome before the lock goes.
          yield* Effect.sleep("200 millis")
        }))
        yield* Deferred.succeed(thirdBatch, undefined)
        const result = yield* running.await.pipe(Effect.flatten)
        expect(result.stored).toBe(20)
        expect(result.failedCount).toBe(10)
        expect(result.failed.map((f) => f.index)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19])
        expect(new Set(result.failed.map((f) => f._tag))).toEqual(new Set(["StoreUnavailable"]))
        expect(yield* count(url, schema)).toBe(20)

        // Every item failed because the store was down: the batch itself is a StoreUnavailable (503), with the count.
        const doomed = yield* Effect.scoped(Effect.gen(function*() {
          const lock = yield* lockTable(url, schema)
          const fiber = yield* Effect.fork(Effect.flip(memory.storeMany(items(100))))
          yield* terminateWaiter(url, lock.pid)
          return yield* fiber.await.pipe(Effect.flatten)
        }))
        expect(doomed._tag).toBe("StoreUnavailable")
        expect(doomed._tag === "StoreUnavailable" && doomed.failedCount).toBe(10)
        expect(doomed.message).toContain("none of the 10 items was stored")
      }).pipe(Effect.provide(memoryLayer))
    }))
})
