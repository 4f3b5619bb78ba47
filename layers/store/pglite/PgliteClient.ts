/**
 * An @effect/sql client over PGlite (PostgreSQL compiled to WASM, in process)
 * with the pgvector extension. It uses @effect/sql-pg's compiler, so statements
 * written for a PostgreSQL server run here unchanged. PGlite has one session:
 * a semaphore gives each statement, or a whole transaction, the session alone.
 * A data directory on disk is locked for this process while open (DataDirLock):
 * a second process fails at once instead of corrupting it.
 */
import { PGlite } from "@electric-sql/pglite"
import { vector } from "@electric-sql/pglite-pgvector"
import { Reactivity } from "@effect/experimental"
import { SqlClient, SqlConnection, SqlError } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Layer, Stream } from "effect"
import * as DataDirLock from "./DataDirLock.ts"

export interface PgliteClientOptions {
  /** A directory for the data, or `memory://` to keep it in RAM. */
  readonly dataDir: string
}

export class Pglite extends Context.Tag("agent-memory/Pglite")<Pglite, PGlite>() {}

const sqlError = (message: string) => (cause: unknown) => new SqlError.SqlError({ cause, message })

/** A directory on disk (not `memory://` nor a browser store) needs the lock. */
const onDisk = (dataDir: string) => !/^[a-z]+:\/\//.test(dataDir) || dataDir.startsWith("file://")

export const make = (options: PgliteClientOptions) =>
  Effect.gen(function*() {
    if (onDisk(options.dataDir)) yield* DataDirLock.acquire(options.dataDir.replace(/^file:\/\//, ""))
    const db = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => PGlite.create({ dataDir: options.dataDir, extensions: { vector } }),
        catch: sqlError(`PGlite: could not open ${options.dataDir}`)
      }),
      (db) => Effect.promise(() => db.close()).pipe(Effect.timeoutOption("5 seconds"))
    )
    const session = yield* Effect.makeSemaphore(1)

    const query = (sql: string, params: ReadonlyArray<unknown>, rowMode?: "array") =>
      Effect.tryPromise({
        try: () => db.query<Record<string, unknown>>(sql, params as Array<unknown>, rowMode ? { rowMode } : undefined),
        catch: sqlError("Failed to execute statement")
      })

    const connection: SqlConnection.Connection = {
      execute: (sql, params, transformRows) =>
        Effect.map(query(sql, params), (r) => (transformRows ? transformRows(r.rows) : r.rows)),
      executeRaw: (sql, params) => query(sql, params),
      // rowMode "array" makes each row an array of column values.
      executeValues: (sql, params) => Effect.map(query(sql, params, "array"), (r) => r.rows as unknown as ReadonlyArray<ReadonlyArray<unknown>>),
      executeUnprepared: (sql, params, transformRows) =>
        params.length > 0
          ? Effect.map(query(sql, params), (r) => (transformRows ? transformRows(r.rows) : r.rows))
          : Effect.tryPromise({ try: () => db.exec(sql), catch: sqlError("Failed to execute statement") }).pipe(
            Effect.map((results) => results.at(-1)?.rows ?? [])
          ),
      executeStream: (sql, params, transformRows) =>
        Stream.fromIterableEffect(Effect.map(query(sql, params), (r) => (transformRows ? transformRows(r.rows) : r.rows)))
    }

    // PGlite runs on this thread and its statements resolve as microtasks: back-to-back batch
    // transactions never let the event loop read a socket (a single write, even /health, waited
    // for every queued batch). One macrotask turn before each session lets I/O in between.
    const ioTurn = Effect.async<void>((resume) => void setImmediate(() => resume(Effect.void)))
    const acquirer = Effect.as(Effect.acquireRelease(Effect.zipRight(ioTurn, session.take(1)), () => session.release(1)), connection)
    const client = yield* SqlClient.make({
      acquirer,
      compiler: PgClient.makeCompiler(),
      spanAttributes: [["db.system.name", "postgresql"], ["db.namespace", "pglite"]]
    }).pipe(Effect.provideServiceEffect(Reactivity.Reactivity, Reactivity.make))
    return { client, db }
  })

export const layer = (
  options: PgliteClientOptions
): Layer.Layer<SqlClient.SqlClient | Pglite, SqlError.SqlError | DataDirLock.DataDirLocked | DataDirLock.DataDirLockFailed> =>
  Layer.scopedContext(
    Effect.map(make(options), ({ client, db }) => Context.make(SqlClient.SqlClient, client).pipe(Context.add(Pglite, db)))
  )
