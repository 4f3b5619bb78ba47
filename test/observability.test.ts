/**
 * Search statistics, the metrics and their Prometheus text, the cache metrics
 * poller, and the observability endpoints (/v1/stats, /v1/alerts with
 * server-sent events, /metrics) served by the handlers Handlers.ts is to use.
 */
import { HttpApi, HttpApiBuilder, HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Metric, Option, Ref, Schema, Stream } from "effect"
import * as Prometheus from "../otel/Prometheus.ts"
import * as TieredCache from "../layers/cache/TieredCache.ts"
import { StoreUnavailable } from "../src/domain/errors.ts"
import * as AlertsResponse from "../src/monitor/AlertsResponse.ts"
import * as Monitor from "../src/monitor/Monitor.ts"
import * as Readings from "../src/monitor/Readings.ts"
import * as Metrics from "../src/observability/Metrics.ts"
import * as MetricsPoller from "../src/observability/MetricsPoller.ts"
import { MetricsApi, ObservabilityApi } from "../src/observability/ObservabilityApi.ts"
import { type PoolReading, PoolRegistry } from "../src/observability/PoolRegistry.ts"
import { SearchStats, StatsReport } from "../src/observability/SearchStats.ts"
import { MemoryCache } from "../src/ports/MemoryCache.ts"

const MB = 1024 * 1024
const cacheLayer = TieredCache.layer()

describe("SearchStats", () => {
  it.effect("reports count, average, percentiles, the counted hit rate, throughput and errors", () =>
    Effect.gen(function*() {
      const stats = yield* SearchStats
      for (let ms = 1; ms <= 100; ms++) yield* stats.record(ms, { cached: ms % 4 === 0 })
      yield* stats.record(5, { error: "StoreUnavailable" })
      yield* stats.record(5, { error: "StoreUnavailable" })
      yield* stats.record(5, { error: "EmbeddingFailed" })
      const report = yield* stats.report
      expect(report).toMatchObject({
        searches: 100,
        avgLatencyMs: 50.5,
        p50Ms: 50,
        p95Ms: 95,
        p99Ms: 99,
        cacheHitRate: 0.25,
        errors: 3,
        errorsByTag: { StoreUnavailable: 2, EmbeddingFailed: 1 },
        pool: null
      })
      expect(report.throughputPerSec).toBeGreaterThan(0)
      expect(report.caches.maxBytes).toBe(TieredCache.defaultOptions.maxBytes)
      // The report is what GET /v1/stats declares.
      expect(Schema.is(StatsReport)(report)).toBe(true)
    }).pipe(Effect.provide(SearchStats.Default.pipe(Layer.provide(cacheLayer)))))

  it.effect("keeps only the latest latencies for percentiles", () =>
    Effect.gen(function*() {
      const stats = yield* SearchStats
      for (let i = 0; i < 5000; i++) yield* stats.record(1000, { cached: false })
      for (let i = 0; i < 4096; i++) yield* stats.record(1, { cached: true })
      const report = yield* stats.report
      expect(report.searches).toBe(9096)
      expect(report.p99Ms).toBe(1) // the 5000 slow ones have left the window
      expect(report.cacheHitRate).toBe(Math.round((4096 / 9096) * 10_000) / 10_000)
    }).pipe(Effect.provide(SearchStats.Default.pipe(Layer.provide(cacheLayer)))))

  it.live("observe times a search into the stats and the search histogram, and counts failures by tag", () =>
    Effect.gen(function*() {
      const stats = yield* SearchStats
      const histogram = (cache: Metrics.CacheOutcome) =>
        Metric.value(Metric.tagged(Metric.tagged(Metrics.searchDuration, "mode", "hybrid"), "cache", cache))
      const before = { hit: (yield* histogram("hit")).count, error: (yield* histogram("error")).count }
      yield* stats.observe(Effect.succeed({ cached: true }).pipe(Effect.delay("5 millis")), "hybrid")
      const failed = yield* Effect.flip(stats.observe(Effect.fail(new StoreUnavailable({ message: "down" })), "hybrid"))
      expect(failed._tag).toBe("StoreUnavailable")
      expect((yield* histogram("hit")).count).toBe(before.hit + 1)
      expect((yield* histogram("error")).count).toBe(before.error + 1)
      const errors = yield* Metric.value(Metric.tagged(Metric.tagged(Metrics.errors, "operation", "search"), "tag", "StoreUnavailable"))
      expect(errors.count).toBeGreaterThanOrEqual(1)
      const report = yield* stats.report
      expect(report.searches).toBe(1)
      expect(report.errors).toBe(1)
    }).pipe(Effect.provide(SearchStats.Default.pipe(Layer.provide(cacheLayer)))))

  it.effect("a search observed twice (a decorator over an observed search) is counted once", () =>
    Effect.gen(function*() {
      const stats = yield* SearchStats
      yield* stats.observe(stats.observe(Effect.succeed({ cached: false }), "vector"), "vector")
      expect((yield* stats.report).searches).toBe(1)
    }).pipe(Effect.provide(SearchStats.Default.pipe(Layer.provide(cacheLayer)))))

  it.effect("lists the pools a store registered", () =>
    Effect.gen(function*() {
      const registry = yield* PoolRegistry
      const pool = (name: string, role: PoolReading["role"], up: boolean): PoolReading => ({
        name, role, address: "127.0.0.1:5432", max: 20, total: 3, idle: 2, waiting: 0, acquires: 10, acquireFailures: 0, avgAcquireMs: 0.12345, up
      })
      yield* registry.register(() => pool("primary", "primary", true))
      yield* registry.register(() => pool("replica-1", "replica", false))
      const report = yield* Effect.flatMap(SearchStats, (s) => s.report).pipe(Effect.provide(SearchStats.Default))
      expect(report.pool?.primary?.name).toBe("primary")
      expect(report.pool?.primary?.avgAcquireMs).toBe(0.123)
      expect(report.pool?.replicas.map((r) => [r.name, r.up])).toEqual([["replica-1", false]])
    }).pipe(Effect.scoped, Effect.provide(Layer.merge(PoolRegistry.Default, cacheLayer))))
})

describe("Prometheus text", () => {
  /** Every sample line: `name{labels} value`. */
  const SAMPLE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?([0-9.e+-]+|\+Inf|-Inf|NaN)$/

  it.effect("renders every metric, without any exporter", () =>
    Effect.gen(function*() {
      yield* Metrics.recordSearch("vector", "miss", 0.012)
      yield* Metrics.recordSearch("vector", "hit", 0.0004)
      yield* Metrics.recordError("search", new StoreUnavailable({ message: "x" }))
      yield* Metric.set(Metrics.heapUsedBytes, 123 * MB)
      const text = yield* Prometheus.text
      expect(text).toContain("# TYPE agent_memory_search_duration_seconds histogram")
      expect(text).toMatch(/^agent_memory_search_duration_seconds_bucket\{mode="vector",cache="miss",le="0.016"\} [1-9]/m)
      expect(text).toMatch(/^agent_memory_search_duration_seconds_bucket\{mode="vector",cache="hit",le="\+Inf"\} [1-9]/m)
      expect(text).toMatch(/^agent_memory_search_duration_seconds_count\{mode="vector",cache="miss"\} [1-9]/m)
      expect(text).toContain("# TYPE agent_memory_errors_total counter")
      expect(text).toMatch(/^agent_memory_errors_total\{operation="search",tag="StoreUnavailable"\} [1-9]/m)
      expect(text).toMatch(/^agent_memory_heap_used_bytes 128974848$/m)
      expect(text).toMatch(/^target_info\{.*service_name="agent-memory".*\} 1$/m)
      // Every line is a comment or a well-formed sample; each family is described once.
      for (const line of text.split("\n").filter((l) => l.length > 0 && !l.startsWith("#"))) expect(line).toMatch(SAMPLE)
      const types = text.split("\n").filter((l) => l.startsWith("# TYPE "))
      expect(new Set(types).size).toBe(types.length)
    }))
})

describe("MetricsPoller", () => {
  it.effect("copies cache statistics into the cache metrics, counting only what is new", () =>
    Effect.gen(function*() {
      const cache = yield* MemoryCache
      const poller = yield* MetricsPoller.MetricsPoller
      const hits = Metric.tagged(Metrics.cacheHits, "cache", "records")
      const misses = Metric.tagged(Metrics.cacheMisses, "cache", "records")
      const start = { hits: (yield* Metric.value(hits)).count, misses: (yield* Metric.value(misses)).count }
      const lookup = (id: string) => cache.records.getOrCompute("ns", id, Effect.succeed(Option.none()))
      yield* lookup("a")
      yield* lookup("a")
      yield* lookup("b")
      yield* poller.refresh
      expect((yield* Metric.value(hits)).count - start.hits).toBe(1)
      expect((yield* Metric.value(misses)).count - start.misses).toBe(2)
      yield* lookup("b")
      yield* poller.refresh
      yield* poller.refresh
      expect((yield* Metric.value(hits)).count - start.hits).toBe(2)
      expect((yield* Metric.value(misses)).count - start.misses).toBe(2)
      expect((yield* Metric.value(Metric.tagged(Metrics.cacheEntries, "cache", "records"))).value).toBe(2)
      expect((yield* Metric.value(Metric.tagged(Metrics.cacheBytes, "cache", "records"))).value).toBeGreaterThan(0)
    }).pipe(Effect.provide(MetricsPoller.MetricsPoller.Default.pipe(Layer.provideMerge(cacheLayer)))))
})

// --- the endpoints, with the handlers as Handlers.ts is to write them ---------------------------------

class TestApi extends HttpApi.make("test").add(ObservabilityApi).prefix("/v1").add(MetricsApi) {}

const ObservabilityLive = HttpApiBuilder.group(TestApi, "observability", (handlers) =>
  Effect.gen(function*() {
    const stats = yield* SearchStats
    const monitor = yield* Monitor.Monitor
    return handlers
      .handle("stats", () => stats.report)
      .handleRaw("alerts", ({ request }) => AlertsResponse.respond(monitor, request))
  }))

const MetricsLive = HttpApiBuilder.group(TestApi, "metrics", (handlers) =>
  Effect.map(MetricsPoller.MetricsPoller, (poller) => handlers.handle("metrics", () => Effect.zipRight(poller.refresh, Prometheus.text))))

describe("observability endpoints", () => {
  it.scopedLive("serve /v1/stats, /v1/alerts (JSON and server-sent events) and /metrics", () =>
    Effect.gen(function*() {
      const heap = yield* Ref.make(100)
      const readings = Layer.succeed(Readings.Readings, {
        read: Effect.map(Ref.get(heap), (mb) => ({
          heapUsedBytes: mb * MB, heapLimitBytes: 4096 * MB, arrayBuffersBytes: 0, rssBytes: mb * MB, eventLoopDelayMs: 0, at: new Date()
        }))
      })
      const monitorLayer = Monitor.layer({ interval: "1 hour", warningBytes: 500 * MB, criticalBytes: 900 * MB, shedTarget: 0.5 }).pipe(
        Layer.provide(readings)
      )
      const app = HttpApiBuilder.serve().pipe(
        Layer.provide(HttpApiBuilder.api(TestApi).pipe(Layer.provide([ObservabilityLive, MetricsLive]))),
        Layer.provideMerge(Layer.mergeAll(SearchStats.Default, monitorLayer, MetricsPoller.MetricsPoller.Default)),
        Layer.provideMerge(cacheLayer),
        Layer.provideMerge(NodeHttpServer.layerTest)
      )
      const context = yield* Layer.build(app)
      const client = yield* Effect.provide(HttpClient.HttpClient, context)
      const monitor = yield* Effect.provide(Monitor.Monitor, context)
      const stats = yield* Effect.provide(SearchStats, context)

      yield* stats.record(12, { cached: false })
      yield* stats.record(2, { cached: true })
      const statsResponse = yield* client.get("/v1/stats")
      expect(statsResponse.status).toBe(200)
      const body = (yield* statsResponse.json) as StatsReport
      expect(body).toMatchObject({ searches: 2, avgLatencyMs: 7, cacheHitRate: 0.5, errors: 0, pool: null })
      expect(Object.keys(body.caches).sort()).toEqual(["bytes", "embeddings", "maxBytes", "records", "searches"])

      const metrics = yield* client.get("/metrics")
      expect(metrics.status).toBe(200)
      expect(metrics.headers["content-type"]).toMatch(/^text\/plain/)
      expect(yield* metrics.text).toContain("agent_memory_cache_hits_total")

      // Server-sent events: connected at once, then one event per alert.
      const events = yield* client.execute(HttpClientRequest.get("/v1/alerts").pipe(HttpClientRequest.setHeader("accept", "text/event-stream")))
      expect(events.headers["content-type"]).toBe("text/event-stream")
      const received = yield* events.stream.pipe(
        Stream.decodeText(),
        Stream.scan("", (all, chunk) => all + chunk),
        Stream.tap((all) => (all === ": connected\n\n" ? Effect.zipRight(Ref.set(heap, 600), monitor.check) : Effect.void)),
        Stream.takeUntil((all) => all.includes("event: alert")),
        Stream.runLast,
        Effect.timeout("5 seconds")
      )
      const text = Option.getOrThrow(received)
      const data = JSON.parse(text.split("data: ")[1]!.split("\n")[0]!)
      expect(data).toMatchObject({ level: "warning", heapUsedMb: 600 })

      const list = yield* client.get("/v1/alerts")
      expect(list.status).toBe(200)
      expect(((yield* list.json) as { alerts: Array<{ level: string }> }).alerts.map((a) => a.level)).toEqual(["warning"])
    }))
})
