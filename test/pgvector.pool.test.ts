/**
 * The pgvector store's connection pool: MEMORY_POOL_* settings, the pool gauges
 * (open, idle, waiting) kept current on every checkout and release, the acquire
 * time histogram, failed checkouts, and the pools listed for /v1/stats.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Metric, Redacted } from "effect"
import * as PgPool from "../layers/store/pgvector/PgPool.ts"
import * as PgvectorStore from "../layers/store/pgvector/PgvectorStore.ts"
import * as Metrics from "../src/observability/Metrics.ts"
import { PoolRegistry } from "../src/observability/PoolRegistry.ts"
import { databaseUrl, freshSchema, postgresAvailable } from "./support/postgres.ts"
import { DIMENSIONS } from "./support/records.ts"

const settings = (max: number): PgPool.PoolSettings => ({
  max,
  min: 0,
  idleTimeout: Duration.seconds(10),
  connectTimeout: Duration.seconds(2),
  maxLifetime: Duration.minutes(5)
})

const gauge = (metric: Metric.Metric.Gauge<number>, pool: string) =>
  Effect.map(Metric.value(Metric.tagged(metric, "pool", pool)), (s) => s.value)

describe.skipIf(!postgresAvailable)("pgvector connection pool", () => {
  it.scopedLive("keeps the pool gauges current and times every checkout", () =>
    Effect.gen(function*() {
      const url = yield* databaseUrl
      const name = `test-pool-${Math.random().toString(36).slice(2, 8)}`
      const pool = yield* PgPool.acquireMetered({ url, pool: settings(2), sessionSettings: {}, name })
      const acquired = Effect.map(Metric.value(Metric.tagged(Metrics.poolAcquireDuration, "pool", name)), (s) => s.count)
      const before = yield* acquired

      // Five slow queries on two connections: three wait.
      const running = Effect.forEach([1, 2, 3, 4, 5], () => Effect.promise(() => pool.query("SELECT pg_sleep(0.2)")), {
        concurrency: "unbounded"
      })
      const fiber = yield* Effect.fork(running)
      yield* Effect.sleep("100 millis")
      expect(yield* gauge(Metrics.poolConnections, name)).toBe(2)
      expect(yield* gauge(Metrics.poolWaitingRequests, name)).toBe(3)
      expect(yield* gauge(Metrics.poolIdleConnections, name)).toBe(0)
      yield* fiber.await
      yield* Effect.sleep("10 millis")
      expect(yield* gauge(Metrics.poolWaitingRequests, name)).toBe(0)
      expect(yield* gauge(Metrics.poolIdleConnections, name)).toBe(2)
      expect((yield* acquired) - before).toBe(5)
      // With the SELECT 1 that verified the pool.
      expect(pool.acquireCounts.acquires).toBe(6)
      expect(pool.acquireCounts.failures).toBe(0)
    }))

  it.scopedLive("counts failed checkouts", () =>
    Effect.gen(function*() {
      const name = `test-down-${Math.random().toString(36).slice(2, 8)}`
      // Nothing listens on port 1.
      const pool = yield* PgPool.acquireMetered({ url: Redacted.make("postgres://postgres@127.0.0.1:1/none"), pool: settings(2), sessionSettings: {}, name, verify: false })
      const failed = yield* Effect.either(Effect.tryPromise(() => pool.query("SELECT 1")))
      expect(failed._tag).toBe("Left")
      expect((yield* Metric.value(Metric.tagged(Metrics.poolAcquireFailures, "pool", name))).count).toBe(1)
      expect(pool.acquireCounts.failures).toBe(1)
    }))

  it.scoped("lists the store's primary pool with its MEMORY_POOL_* size", () =>
    Effect.gen(function*() {
      const url = yield* databaseUrl
      const schema = yield* freshSchema(url)
      const pool = yield* PgvectorStore.poolConfig.pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["MEMORY_POOL_MAX", "7"], ["MEMORY_POOL_MIN", "1"], ["MEMORY_POOL_IDLE_TIMEOUT", "5s"]])))
      )
      expect(pool).toMatchObject({ max: 7, min: 1 })
      expect(Duration.toMillis(pool.idleTimeout)).toBe(5000)
      const store = yield* PgvectorStore.make({ url, schema, dimensions: DIMENSIONS, pool })
      yield* store.ping
      const registry = yield* PoolRegistry
      const [primary, ...others] = yield* registry.readings
      expect(others).toEqual([])
      expect(primary).toMatchObject({ name: "primary", role: "primary", max: 7, up: true })
      expect(primary!.address).toMatch(/:\d+$/)
      expect(primary!.total).toBeGreaterThanOrEqual(1)
      expect(primary!.acquires).toBeGreaterThanOrEqual(2)
    }).pipe(Effect.provide(PoolRegistry.Default)))
})
