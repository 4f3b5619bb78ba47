/**
 * The pgvector store's batch write, on the caller's transaction connection, in
 * PostgreSQL's binary COPY format (the server parses no values):
 *
 * - first, a batch of new records (a bulk load's usual batch) is copied straight
 *   into `memories` under a savepoint: each row written once, the statistics
 *   triggers run once for the batch, as for a raw COPY;
 * - if a row of it conflicts (a duplicate of a stored record or of an item before
 *   it, an id taken, an expired record in the way), the savepoint is rolled back,
 *   nothing of the attempt is left, and SqlStore clears the expired records away
 *   and sends the batch into a temporary staging table and from there through
 *   one `INSERT … SELECT … ON CONFLICT DO NOTHING`, which the caller sorts into
 *   outcomes as it does the VALUES insert's (the rows go in batch order, so the
 *   first item still claims an id).
 *
 * A failure of any other kind rolls the whole transaction back. The span of the
 * transaction says which way a batch went (`memory.copy`: direct or staged).
 */
import { SqlClient, SqlError } from "@effect/sql"
import { Effect, Option } from "effect"
import type Pg from "pg"
import { from as copyFrom } from "pg-copy-streams"
import type { NewRecord } from "../../../src/ports/MemoryStore.ts"
import { type BulkInsert, type InsertedRow, isUniqueViolation } from "../sql/SqlStore.ts"
import type { VectorType } from "../sql/SqlStoreConfig.ts"
import { ROW_TOAST_TARGET } from "../sql/VectorStorage.ts"
import { encode, STAGING_COLUMNS, TARGET_COLUMNS } from "./CopyRows.ts"

const STAGING = "memories_copy_in"
const SAVEPOINT = "memories_copy_direct"

/** The pg client under an @effect/sql-pg transaction connection (its ConnectionImpl keeps it as `pg`). */
const transactionClient = Effect.map(
  Effect.serviceOption(SqlClient.TransactionConnection),
  Option.flatMap(([connection]) => {
    const pg = (connection as { readonly pg?: unknown }).pg
    return pg !== null && typeof pg === "object" && "query" in pg ? Option.some(pg as Pg.PoolClient) : Option.none()
  })
)

const copy = (client: Pg.PoolClient, statement: string, data: Buffer) =>
  Effect.async<void, SqlError.SqlError>((resume) => {
    const stream = client.query(copyFrom(statement))
    let done = false
    const finish = (error?: Error) => {
      if (done) return
      done = true
      resume(error ? Effect.fail(new SqlError.SqlError({ cause: error, message: "COPY failed" })) : Effect.void)
    }
    stream.on("error", finish)
    stream.on("finish", () => finish())
    stream.end(data)
  })

/** A statement on the pg client itself: savepoints need no parameters, nor @effect/sql's steps around them. */
const run = (client: Pg.PoolClient, statement: string) =>
  Effect.tryPromise({
    try: () => client.query(statement),
    catch: (cause) => new SqlError.SqlError({ cause, message: `${statement} failed` })
  })

/**
 * The batch copied straight into `memories`: true when every row went in, false (and
 * nothing of it left) when one would break a unique key.
 */
const copyDirect = (client: Pg.PoolClient, items: ReadonlyArray<NewRecord>) =>
  Effect.gen(function*() {
    yield* run(client, `SAVEPOINT ${SAVEPOINT}`)
    const copied = yield* copy(client, `COPY memories (${TARGET_COLUMNS}) FROM STDIN (FORMAT binary)`, encode(items, "target")).pipe(
      Effect.as(true),
      Effect.catchIf(isUniqueViolation, () => Effect.succeed(false))
    )
    yield* run(client, copied ? `RELEASE SAVEPOINT ${SAVEPOINT}` : `ROLLBACK TO SAVEPOINT ${SAVEPOINT}`)
    return copied
  })

/** The `bulkInsert` of SqlStore for a server; neither way runs outside a transaction on a pg connection. */
export const make = (options: { readonly dimensions: number; readonly vectorType: VectorType }): BulkInsert => {
  // pgvector's binary form is the vector's; a halfvec column takes it through the assignment cast.
  // Rows are moved to TOAST only past a page, so a staged vector is written once, in the row.
  const staging = `CREATE TEMPORARY TABLE IF NOT EXISTS ${STAGING} (
      ord int4 NOT NULL, namespace text NOT NULL, id text NOT NULL, kind text NOT NULL, content text NOT NULL,
      content_hash text NOT NULL, tags text[] NOT NULL, metadata jsonb NOT NULL, session_id text,
      embedding vector(${options.dimensions}) NOT NULL, embedding_model text NOT NULL, created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL, expires_at timestamptz, occurred_at timestamptz
    ) WITH (toast_tuple_target = ${ROW_TOAST_TARGET}) ON COMMIT DELETE ROWS`
  const select = options.vectorType === "halfvec"
    ? TARGET_COLUMNS.replace("embedding,", `embedding::halfvec(${options.dimensions}),`)
    : TARGET_COLUMNS
  const insertNew: BulkInsert["insertNew"] = (items) =>
    Effect.gen(function*() {
      const client = yield* transactionClient
      // A halfvec column takes pgvector's vector binary form only through the staging table's cast.
      if (Option.isNone(client) || options.vectorType !== "vector") return false
      const copied = yield* copyDirect(client.value, items)
      if (copied) yield* Effect.annotateCurrentSpan("memory.copy", "direct")
      return copied
    })
  const insert: BulkInsert["insert"] = (sql, items) =>
    Effect.gen(function*() {
      const client = yield* transactionClient
      if (Option.isNone(client)) return Option.none()
      yield* Effect.annotateCurrentSpan("memory.copy", "staged")
      // IF NOT EXISTS: the table lives as long as the session (emptied at each commit), made once per connection.
      yield* sql.unsafe(staging)
      yield* copy(client.value, `COPY ${STAGING} (${STAGING_COLUMNS}) FROM STDIN (FORMAT binary)`, encode(items, "staging"))
      // The DELETE empties the staging table for the next namespace of the same transaction.
      const rows = yield* sql.unsafe<InsertedRow>(`
        WITH staged AS (DELETE FROM ${STAGING} RETURNING *)
        INSERT INTO memories (${TARGET_COLUMNS})
        SELECT ${select} FROM staged ORDER BY ord
        ON CONFLICT DO NOTHING RETURNING id, kind, content_hash`)
      return Option.some(rows)
    })
  return { insertNew, insert }
}
