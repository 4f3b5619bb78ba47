/**
 * The pgvector store's batch write: one binary COPY of the batch into a
 * temporary staging table, then one `INSERT … SELECT … ON CONFLICT DO NOTHING`
 * from it, on the caller's transaction connection. The server parses no
 * values and plans one small statement instead of a VALUES list of ~15
 * parameters a row; dedup, ids and the statistics triggers work as for the
 * VALUES insert (the rows go in batch order, so the first item still claims
 * an id), and a failure anywhere rolls the whole transaction back.
 */
import { SqlClient, SqlError } from "@effect/sql"
import { Effect, Option } from "effect"
import type Pg from "pg"
import { from as copyFrom } from "pg-copy-streams"
import type { NewRecord } from "../../../src/ports/MemoryStore.ts"
import type { InsertedRow, SqlStoreOptions } from "../sql/SqlStore.ts"
import type { VectorType } from "../sql/SqlStoreConfig.ts"
import { ROW_TOAST_TARGET } from "../sql/VectorStorage.ts"
import { encode, STAGING_COLUMNS } from "./CopyRows.ts"

const STAGING = "memories_copy_in"
const TARGET_COLUMNS =
  "namespace, id, kind, content, content_hash, tags, metadata, session_id, embedding, embedding_model, created_at, updated_at, expires_at, occurred_at"

/** The pg client under an @effect/sql-pg transaction connection (its ConnectionImpl keeps it as `pg`). */
const transactionClient = Effect.map(
  Effect.serviceOption(SqlClient.TransactionConnection),
  Option.flatMap(([connection]) => {
    const pg = (connection as { readonly pg?: unknown }).pg
    return pg !== null && typeof pg === "object" && "query" in pg ? Option.some(pg as Pg.PoolClient) : Option.none()
  })
)

const copy = (client: Pg.PoolClient, data: Buffer) =>
  Effect.async<void, SqlError.SqlError>((resume) => {
    const stream = client.query(copyFrom(`COPY ${STAGING} (${STAGING_COLUMNS}) FROM STDIN (FORMAT binary)`))
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

/**
 * The `bulkInsert` of SqlStore for a server: answers the rows inserted, or
 * None outside a transaction on a pg connection (the caller then inserts with VALUES).
 */
export const make = (options: { readonly dimensions: number; readonly vectorType: VectorType }): NonNullable<SqlStoreOptions["bulkInsert"]> => {
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
  return (sql: SqlClient.SqlClient, items: ReadonlyArray<NewRecord>) =>
    Effect.gen(function*() {
      const client = yield* transactionClient
      if (Option.isNone(client)) return Option.none()
      // IF NOT EXISTS: the table lives as long as the session (emptied at each commit), made once per connection.
      yield* sql.unsafe(staging)
      yield* copy(client.value, encode(items))
      // The DELETE empties the staging table for the next namespace of the same transaction.
      const rows = yield* sql.unsafe<InsertedRow>(`
        WITH staged AS (DELETE FROM ${STAGING} RETURNING *)
        INSERT INTO memories (${TARGET_COLUMNS})
        SELECT ${select} FROM staged ORDER BY ord
        ON CONFLICT DO NOTHING RETURNING id, kind, content_hash`)
      return Option.some(rows)
    })
}
