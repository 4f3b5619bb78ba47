/**
 * Keeps the planner's statistics fresh after large ingests. A table filled
 * faster than autovacuum looks at it (or where autovacuum is off, as in PGlite)
 * keeps the statistics of when it was small: the planner then takes a namespace
 * for a rare value and scans exactly instead of using the vector index. The rule
 * is autovacuum's own: ANALYZE once 50 rows + 10% of the table have changed
 * since the last time. The store counts its own writes (cheap, exact at once);
 * a fiber looks at the count every interval, off the request path, so a bulk
 * load is analyzed once per interval at most rather than once per batch.
 */
import type { SqlClient, SqlError } from "@effect/sql"
import { type Duration, Effect, Schedule } from "effect"
import type { MemoryStoreService } from "../../../src/ports/MemoryStore.ts"

export interface WriteCount {
  count: number
}

/** autovacuum_analyze_threshold + autovacuum_analyze_scale_factor × rows, at their defaults. */
export const needsAnalyze = (changed: number, rows: number) => changed > 50 + 0.1 * Math.max(rows, 0)

/** The store, counting the rows each write changes. */
export const counting = (store: MemoryStoreService, changed: WriteCount): MemoryStoreService => {
  const add = (n: number) => Effect.sync(() => void (changed.count += n))
  return {
    ...store,
    insert: (records) => Effect.tap(store.insert(records), (o) => add(o.length)),
    replace: (selector, records) => Effect.tap(store.replace(selector, records), (o) => add(o.length * 2)),
    update: (namespace, id, patch) => Effect.tap(store.update(namespace, id, patch), () => add(1)),
    delete: (namespace, id) => Effect.tap(store.delete(namespace, id), (deleted) => add(deleted ? 1 : 0)),
    deleteWhere: (selector) => Effect.tap(store.deleteWhere(selector), add),
    deleteExpired: Effect.tap(store.deleteExpired, add)
  }
}

const tableRows = (sql: SqlClient.SqlClient) =>
  Effect.map(
    sql<{ readonly rows: number }>`SELECT greatest(reltuples, 0)::float8 AS rows FROM pg_class WHERE oid = 'memories'::regclass`,
    ([row]) => row?.rows ?? 0
  )

/** Analyzes when this process's writes since the last time pass the rule. */
export const analyzeIfGrown = (sql: SqlClient.SqlClient, changed: WriteCount): Effect.Effect<boolean, SqlError.SqlError> =>
  Effect.gen(function*() {
    if (!needsAnalyze(changed.count, 0)) return false
    if (!needsAnalyze(changed.count, yield* tableRows(sql))) return false
    changed.count = 0
    yield* sql`ANALYZE memories`
    return true
  })

/**
 * At start-up on a server: rows another process loaded (a bulk COPY, a CLI
 * ingest that ended before its fiber ran) show in the server's own change
 * counter, which the start-up index build does not reset.
 */
export const analyzeIfServerCountsGrown = (sql: SqlClient.SqlClient): Effect.Effect<boolean, SqlError.SqlError> =>
  Effect.gen(function*() {
    const [row] = yield* sql<{ readonly changed: number; readonly rows: number }>`
      SELECT s.n_mod_since_analyze::float8 AS changed, greatest(c.reltuples, 0)::float8 AS rows
      FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid WHERE s.relid = 'memories'::regclass`
    if (!row || !needsAnalyze(row.changed, row.rows)) return false
    yield* sql`ANALYZE memories`
    return true
  })

const logged = (check: Effect.Effect<boolean, SqlError.SqlError>) =>
  check.pipe(
    Effect.tap((ran) => (ran ? Effect.logDebug("analyzed memories after a large ingest") : Effect.void)),
    Effect.catchAll((e) => Effect.logWarning(`analyze failed: ${e.message}`))
  )

/**
 * In a fiber of the scope: `first` once (a start-up check), then the write count
 * every interval. A failed ANALYZE is logged and tried again next time.
 */
export const keep = (
  sql: SqlClient.SqlClient,
  changed: WriteCount,
  interval: Duration.DurationInput,
  first: Effect.Effect<boolean, SqlError.SqlError> = Effect.succeed(false)
) =>
  logged(first).pipe(
    Effect.zipRight(logged(analyzeIfGrown(sql, changed)).pipe(Effect.repeat(Schedule.spaced(interval)))),
    Effect.interruptible,
    Effect.forkScoped
  )
