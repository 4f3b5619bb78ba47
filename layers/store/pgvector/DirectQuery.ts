/**
 * One statement on a connection of the pool, straight through node-postgres: what
 * @effect/sql-pg does for a query (take a connection, watch it for errors, send, give it
 * back), without its statement layer, with the same `sql.execute` span. For the plain
 * vector search (SqlStore's runDirect), where that layer cost this process about half
 * again what pg itself does (bench/searchProfile.ts --layers). A
 * statement marked PREPARED still goes out named (the pool's connections are
 * PreparingClients).
 *
 * A connection whose statement failed is closed rather than reused, as pg's Pool.query does.
 * An interrupted caller does not cancel the statement: it finishes (a plain search takes
 * milliseconds) and its connection goes back to the pool.
 */
import { SqlError } from "@effect/sql"
import { Effect, Exit } from "effect"
import type Pg from "pg"
import type { DirectRunner } from "../sql/SqlStore.ts"
import * as HandSpan from "../../../src/observability/handSpan.ts"

export const runner = (pool: Pg.Pool, spanAttributes: Readonly<Record<string, unknown>>): DirectRunner =>
<Row>(text: string, params: ReadonlyArray<unknown>) =>
  Effect.withFiberRuntime<ReadonlyArray<Row>, SqlError.SqlError>((fiber) => {
    const span = HandSpan.start(fiber, "sql.execute", { ...spanAttributes, "db.query.text": text }, { kind: "client" })
    return Effect.async<ReadonlyArray<Row>, SqlError.SqlError>((resume) => {
      let done = false
      const finish = (exit: Exit.Exit<ReadonlyArray<Row>, SqlError.SqlError>) => {
        if (done) return
        done = true
        HandSpan.end(fiber, span, exit)
        resume(exit)
      }
      pool.connect((cause, client, release) => {
        if (cause || client === undefined) {
          return finish(Exit.fail(new SqlError.SqlError({ cause, message: "Failed to acquire connection" })))
        }
        // A connection that breaks while it is out of the pool emits `error`: it is dropped, not reused.
        const onError = (error: Error) => {
          release(error)
          finish(Exit.fail(new SqlError.SqlError({ cause: error, message: "Connection error" })))
        }
        client.once("error", onError)
        client.query(text, params as Array<unknown>, (error: Error | null, result: Pg.QueryResult | undefined) => {
          client.off("error", onError)
          if (done) return
          // As pg's own Pool.query: a connection whose statement failed is not reused (a terminated
          // backend reports its error before the socket closes; the next caller must not get it).
          release(error ?? undefined)
          finish(error ? Exit.fail(new SqlError.SqlError({ cause: error, message: "Failed to execute statement" })) : Exit.succeed(result!.rows as Array<Row>))
        })
      })
    })
  })
