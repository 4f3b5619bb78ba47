/**
 * The pgvector store's connection pool: MEMORY_POOL_* settings, the pool gauges
 * (open, idle, waiting) kept current on every checkout and release, the acquire
 * time histogram, failed checkouts, and the pools listed for /v1/stats.
 */
import { createServer, connect, type Server, type Socket } from "node:net"
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

/**
 * A TCP proxy on a port of its own to the test PostgreSQL, which can be taken
 * down (listener closed, every connection cut: the server "refuses
 * connections") and brought back on the same port.
 */
const proxy = (target: URL) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const sockets = new Set<Socket>()
      let server: Server | undefined
      let port = 0
      const up = () =>
        new Promise<void>((resolve) => {
          server = createServer((client) => {
            const upstream = connect(Number(target.port || 5432), target.hostname)
            for (const s of [client, upstream]) {
              sockets.add(s)
              s.on("close", () => sockets.delete(s))
              s.on("error", () => s.destroy())
            }
            client.pipe(upstream).pipe(client)
          })
          server.listen(port, "127.0.0.1", () => {
            const address = server!.address()
            port = typeof address === "object" && address ? address.port : 0
            resolve()
          })
        })
      const down = () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy()
          server!.close(() => resolve())
        })
      await up()
      const url = new URL(target)
      url.port = String(port)
      return { url: Redacted.make(url.toString()), up, down }
    }),
    ({ down }) => Effect.promise(() => down().catch(() => {}))
  )

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

  it.scopedLive("the primary's `up` goes false while it refuses connections, and true again once it answers", () =>
    Effect.gen(function*() {
      const url = yield* databaseUrl
      const schema = yield* freshSchema(url)
      const through = yield* proxy(new URL(Redacted.value(url)))
      const store = yield* PgvectorStore.make({ url: through.url, schema, dimensions: DIMENSIONS, pool: settings(2), probeInterval: "200 millis" })
      const registry = yield* PoolRegistry
      const up = Effect.map(registry.readings, (pools) => pools.find((p) => p.name === "primary")?.up)
      const upGauge = gauge(Metrics.poolUp, "primary")
      const waitFor = (wanted: boolean) =>
        Effect.gen(function*() {
          for (let i = 0; i < 100 && (yield* up) !== wanted; i++) yield* Effect.sleep("50 millis")
          return yield* up
        })
      yield* store.ping
      expect(yield* up).toBe(true)
      yield* Effect.promise(through.down)
      // Idle: only the probe can tell.
      expect(yield* waitFor(false)).toBe(false)
      expect(yield* upGauge).toBe(0)
      expect((yield* Effect.either(store.ping))._tag).toBe("Left")
      yield* Effect.promise(through.up)
      expect(yield* waitFor(true)).toBe(true)
      expect(yield* upGauge).toBe(1)
      yield* store.ping
    }).pipe(Effect.provide(PoolRegistry.Default)))

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
