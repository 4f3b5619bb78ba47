/**
 * Read-replica routing against a real streaming replica (a hot standby made by
 * .ci/replica.sh on 127.0.0.1:5433): searches are served by the standby (its own
 * table statistics show the scans, the primary's do not), a write is seen at once
 * by get and by search, a stopped standby costs no failed search, and a restarted
 * one takes searches again.
 *
 * Table statistics are flushed when a session ends, so every count is read after
 * the store's pools are closed.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Metric, Option, Redacted, Schedule } from "effect"
import * as PgvectorStore from "../layers/store/pgvector/PgvectorStore.ts"
import * as Metrics from "../src/observability/Metrics.ts"
import { PoolRegistry } from "../src/observability/PoolRegistry.ts"
import { newNamespace, newRecord, unit, DIMENSIONS } from "./support/records.ts"
import { freshSchema, query } from "./support/postgres.ts"
import { replicaAvailable, streamingReplica, waitForReplication } from "./support/replica.ts"

const primaryUrl = () => Redacted.make(process.env.DATABASE_URL ?? "")

/** seq_scan + idx_scan of our memories table on one server. */
const readScans = (url: Redacted.Redacted, schema: string) =>
  Effect.map(
    query<{ scans: number }>(
      url,
      `SELECT coalesce(sum(coalesce(seq_scan, 0) + coalesce(idx_scan, 0)), 0)::int AS scans
       FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'memories'`,
      [schema]
    ),
    (rows) => rows[0]?.scans ?? 0
  )

/**
 * The scans, once the store's sessions have ended on that server and flushed
 * their statistics (a backend flushes as it exits, a moment after its client
 * hung up): at most `open` agent-memory sessions left, and two reads 50 ms apart agree.
 */
const scans = (url: Redacted.Redacted, schema: string, open = 0) =>
  Effect.gen(function*() {
    const sessions = yield* query<{ n: number }>(
      url,
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'agent-memory' AND datname = current_database()"
    )
    const first = yield* readScans(url, schema)
    yield* Effect.sleep("50 millis")
    const second = yield* readScans(url, schema)
    if ((sessions[0]?.n ?? 0) > open || first !== second) return yield* Effect.fail("not settled")
    return second
  }).pipe(Effect.retry({ schedule: Schedule.spaced("50 millis"), times: 100 }), Effect.orDie)

const makeStore = (schema: string, replicaUrl: string, retryAfter: Duration.DurationInput = "5 seconds") =>
  PgvectorStore.make({
    url: primaryUrl(),
    schema,
    dimensions: DIMENSIONS,
    replicas: [Redacted.make(replicaUrl)],
    replicaRetryAfter: retryAfter,
    pool: { max: 4, min: 0, idleTimeout: Duration.seconds(10), connectTimeout: Duration.seconds(5), maxLifetime: Duration.minutes(5) }
  })

const counterValue = (metric: Metric.Metric.Counter<number>) => Effect.map(Metric.value(metric), (state) => state.count)
const replicaReads = Metric.tagged(Metric.tagged(Metrics.storeReads, "target", "replica-1"), "reason", "replica")
const fallbacks = Metric.tagged(Metrics.replicaFallbacks, "replica", "replica-1")

describe.skipIf(!replicaAvailable)("pgvector read replicas", () => {
  it.live("searches are served by the replica, not the primary", () =>
    Effect.gen(function*() {
      const replica = yield* streamingReplica
      const schema = yield* freshSchema(primaryUrl())
      const namespace = newNamespace()
      // Write, and close the store (its sessions' statistics are flushed).
      yield* Effect.gen(function*() {
        const store = yield* makeStore(schema, replica.url)
        yield* store.insert([0, 1, 2, 3].map((axis) => newRecord({ namespace, content: `record ${axis}` }, unit(axis))))
      }).pipe(Effect.scoped)
      yield* waitForReplication(primaryUrl(), replica.url)
      const replicaBefore = yield* scans(Redacted.make(replica.url), schema)

      const searches = 12
      const primaryBefore = yield* Effect.gen(function*() {
        const store = yield* makeStore(schema, replica.url)
        // Start-up's own sessions (migrations) have ended; the serving pool's one connection has run no search yet.
        const before = yield* scans(primaryUrl(), schema, 1)
        for (let i = 0; i < searches; i++) {
          const hits = yield* store.search({ namespace, embedding: unit(i % 4), k: 2, minScore: 0 })
          expect(hits[0]?.record.content).toBe(`record ${i % 4}`)
        }
        return before
      }).pipe(Effect.scoped, Effect.provide(PoolRegistry.Default))

      const replicaAfter = yield* scans(Redacted.make(replica.url), schema)
      const primaryAfter = yield* scans(primaryUrl(), schema)
      expect(replicaAfter - replicaBefore).toBeGreaterThanOrEqual(searches)
      expect(primaryAfter - primaryBefore).toBe(0)
    }).pipe(Effect.scoped))

  it.live("a write is seen at once by get and by search (read-your-writes)", () =>
    Effect.gen(function*() {
      const replica = yield* streamingReplica
      const schema = yield* freshSchema(primaryUrl())
      const namespace = newNamespace()
      const store = yield* makeStore(schema, replica.url)
      yield* store.insert([newRecord({ namespace, content: "seed" }, unit(7))])
      const replicaBefore = yield* counterValue(replicaReads)
      for (let i = 0; i < 20; i++) {
        const record = newRecord({ namespace, content: `fact ${i}` }, unit(i % 6, 0.01 * i))
        yield* store.insert([record])
        const got = yield* store.get(namespace, record.record.id)
        expect(Option.map(got, (r) => r.content)).toEqual(Option.some(`fact ${i}`))
        const hits = yield* store.search({ namespace, embedding: record.embedding, k: 50, minScore: 0 })
        expect(hits.map((h) => h.record.id)).toContain(record.record.id)
        // A delete is seen at once too.
        if (i % 5 === 4) {
          expect(yield* store.delete(namespace, record.record.id)).toBe(true)
          const after = yield* store.search({ namespace, embedding: record.embedding, k: 50, minScore: 0 })
          expect(after.map((h) => h.record.id)).not.toContain(record.record.id)
        }
      }
      // Once the standby has caught up, searches go back to it.
      yield* waitForReplication(primaryUrl(), replica.url)
      yield* store.search({ namespace, embedding: unit(0), k: 5, minScore: 0 })
      expect(yield* counterValue(replicaReads)).toBeGreaterThan(replicaBefore)
    }).pipe(Effect.scoped))

  it.live("stopping the replica does not fail searches; restarting it brings it back", () =>
    Effect.gen(function*() {
      const replica = yield* streamingReplica
      const schema = yield* freshSchema(primaryUrl())
      const namespace = newNamespace()
      const registry = yield* PoolRegistry
      const store = yield* makeStore(schema, replica.url, "300 millis")
      yield* store.insert([0, 1, 2].map((axis) => newRecord({ namespace, content: `record ${axis}` }, unit(axis))))
      yield* waitForReplication(primaryUrl(), replica.url)
      const replicaUp = Effect.map(registry.readings, (pools) => pools.find((p) => p.name === "replica-1")?.up)

      const search = (axis: number) =>
        Effect.map(store.search({ namespace, embedding: unit(axis), k: 1, minScore: 0 }), (hits) => hits[0]?.record.content)
      // Pinned by the insert above until the router has seen the standby catch up; then served by it.
      const readsBefore = yield* counterValue(replicaReads)
      expect(yield* search(0)).toBe("record 0")
      expect(yield* counterValue(replicaReads)).toBe(readsBefore + 1)
      expect(yield* replicaUp).toBe(true)

      const fallbacksBefore = yield* counterValue(fallbacks)
      yield* replica.stop
      yield* Effect.gen(function*() {
        for (let i = 0; i < 10; i++) expect(yield* search(i % 3)).toBe(`record ${i % 3}`)
        expect(yield* replicaUp).toBe(false)
        expect(yield* counterValue(fallbacks)).toBeGreaterThan(fallbacksBefore)
        // Skipped for a while, tried again after: still no failed search while it is down.
        yield* Effect.sleep("400 millis")
        expect(yield* search(1)).toBe("record 1")
      }).pipe(Effect.ensuring(replica.start))

      // Back: within a few retry periods a search is served by the standby again.
      const readsDown = yield* counterValue(replicaReads)
      yield* Effect.gen(function*() {
        expect(yield* search(2)).toBe("record 2")
        if ((yield* counterValue(replicaReads)) === readsDown) return yield* Effect.fail("not yet")
      }).pipe(Effect.retry({ times: 50, schedule: Schedule.spaced("100 millis") }))
      expect(yield* replicaUp).toBe(true)
    }).pipe(Effect.scoped, Effect.provide(PoolRegistry.Default)))
})
