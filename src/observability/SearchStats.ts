/**
 * Search statistics for GET /v1/stats: every search's latency, cache outcome
 * and failures, kept in bounded structures so memory does not grow with
 * traffic: a ring of the latest latencies for percentiles, a ring of
 * per-second counts for throughput, and running totals for the rest.
 * The hit rate is counted (hits / (hits + misses)), not smoothed.
 *
 * `observe` also records the search in the metrics, so one call at the search
 * site does both.
 */
import { Cause, Effect, Exit, type Fiber, FiberRef, Option, Schema } from "effect"
import { type CacheName, MemoryCache } from "../ports/MemoryCache.ts"
import * as Metrics from "./Metrics.ts"
import { PoolRegistry } from "./PoolRegistry.ts"

/** Latencies kept for percentiles: the latest this many searches. */
export const LATENCY_WINDOW = 4096
/** Throughput is averaged over this many recent seconds. */
export const THROUGHPUT_WINDOW_SECONDS = 60

const CacheReport = Schema.Struct({
  hits: Schema.Number,
  misses: Schema.Number,
  hitRate: Schema.Number,
  evictions: Schema.Number,
  entries: Schema.Number,
  bytes: Schema.Number,
  l2Hits: Schema.Number,
  l2Errors: Schema.Number
})

const PoolReport = Schema.Struct({
  name: Schema.String,
  role: Schema.Literal("primary", "replica"),
  address: Schema.String,
  max: Schema.Number,
  total: Schema.Number,
  idle: Schema.Number,
  waiting: Schema.Number,
  acquires: Schema.Number,
  acquireFailures: Schema.Number,
  avgAcquireMs: Schema.Number,
  up: Schema.Boolean
})

/** The body of GET /v1/stats. */
export const StatsReport = Schema.Struct({
  searches: Schema.Number,
  avgLatencyMs: Schema.Number,
  p50Ms: Schema.Number,
  p95Ms: Schema.Number,
  p99Ms: Schema.Number,
  /** Search-cache hits / (hits + misses) over the searches counted here; 0 before the first. */
  cacheHitRate: Schema.Number,
  /** Searches per second over the last minute (or since start, if sooner). */
  throughputPerSec: Schema.Number,
  errors: Schema.Number,
  errorsByTag: Schema.Record({ key: Schema.String, value: Schema.Number }),
  caches: Schema.Struct({
    searches: CacheReport,
    records: CacheReport,
    embeddings: CacheReport,
    bytes: Schema.Number,
    maxBytes: Schema.Number
  }),
  /** The pgvector store's pools; null for a store without one. */
  pool: Schema.NullOr(Schema.Struct({ primary: Schema.NullOr(PoolReport), replicas: Schema.Array(PoolReport) }))
})
export type StatsReport = typeof StatsReport.Type

/** Set while a search is observed: an observation inside it (the same search, observed twice) is not counted again. */
const observing = FiberRef.unsafeMake(false)

const round = (n: number, digits = 3) => {
  const f = 10 ** digits
  return Math.round(n * f) / f
}

/** Nearest-rank percentile of sorted values. */
const percentile = (sorted: Float64Array, p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!

export class SearchStats extends Effect.Service<SearchStats>()("agent-memory/SearchStats", {
  effect: Effect.gen(function*() {
    const cache = yield* MemoryCache
    const pools = yield* Effect.serviceOption(PoolRegistry)

    const startedAt = Date.now()
    const latencies = new Float64Array(LATENCY_WINDOW)
    let kept = 0
    let next = 0
    let searches = 0
    let totalMs = 0
    let hits = 0
    let misses = 0
    let errors = 0
    const errorsByTag = new Map<string, number>()
    // One slot per second: the second it counts, and how many searches ended in it.
    const seconds = new Float64Array(THROUGHPUT_WINDOW_SECONDS)
    const counts = new Float64Array(THROUGHPUT_WINDOW_SECONDS)

    const countThroughput = (now: number) => {
      const second = Math.floor(now / 1000)
      const slot = second % THROUGHPUT_WINDOW_SECONDS
      if (seconds[slot] !== second) {
        seconds[slot] = second
        counts[slot] = 0
      }
      counts[slot]!++
    }

    /** Counts one search: its latency and whether the search cache answered it, or the error it failed with. */
    const recordNow = (latencyMs: number, outcome: { readonly cached: boolean } | { readonly error: string }) => {
        const now = Date.now()
        countThroughput(now)
        if ("error" in outcome) {
          errors++
          errorsByTag.set(outcome.error, (errorsByTag.get(outcome.error) ?? 0) + 1)
          return
        }
        searches++
        totalMs += latencyMs
        latencies[next] = latencyMs
        next = (next + 1) % LATENCY_WINDOW
        kept = Math.min(kept + 1, LATENCY_WINDOW)
        if (outcome.cached) hits++
        else misses++
    }
    const record = (latencyMs: number, outcome: { readonly cached: boolean } | { readonly error: string }) =>
      Effect.sync(() => recordNow(latencyMs, outcome))

    /**
     * A search answered without running an Effect for it (the cache-hit fast path), counted here
     * and in the metrics as `observe` would count it, unless an outer `observe` already times it.
     */
    const recordAnswered = (fiber: Fiber.RuntimeFiber<unknown, unknown>, mode: string, cached: boolean, latencyMs: number) => {
      if (fiber.getFiberRef(observing)) return
      recordNow(latencyMs, { cached })
      Metrics.unsafeRecordSearch(mode, cached ? "hit" : "miss", latencyMs / 1000, fiber.getFiberRef(FiberRef.currentMetricLabels))
    }

    /**
     * A search that ended (its exit, and how long it took), counted here and in the metrics,
     * synchronously, unless an outer `observe` already times it: for a search whose span and
     * statistics are kept by hand (Memory.search), and for `observe`. Only a typed failure is an
     * error; an interruption or a defect is not counted.
     */
    const recordEnded = (
      fiber: Fiber.RuntimeFiber<unknown, unknown>,
      mode: string,
      exit: Exit.Exit<{ readonly cached: boolean }, unknown>,
      latencyMs: number
    ) => {
      if (Exit.isSuccess(exit)) return recordAnswered(fiber, mode, exit.value.cached, latencyMs)
      if (fiber.getFiberRef(observing)) return
      const failure = Cause.failureOption(exit.cause)
      if (Option.isNone(failure)) return
      const labels = fiber.getFiberRef(FiberRef.currentMetricLabels)
      recordNow(latencyMs, { error: Metrics.errorTag(failure.value) })
      Metrics.unsafeRecordSearch(mode, "error", latencyMs / 1000, labels)
      Metrics.unsafeRecordError("search", failure.value, labels)
    }

    /**
     * Times a search (anything answering `{ cached }`) and records it here and in
     * the metrics: latency by mode and cache outcome, failures by error tag.
     */
    const observe = <A extends { readonly cached: boolean }, E, R>(search: Effect.Effect<A, E, R>, mode: string) =>
      Effect.flatMap(FiberRef.get(observing), (nested) => (nested ? search : timed(search, mode)))

    // Counted when it ends, outside the `observing` mark the search itself runs under.
    const timed = <A extends { readonly cached: boolean }, E, R>(search: Effect.Effect<A, E, R>, mode: string) =>
      Effect.withFiberRuntime<A, E, R>((fiber) => {
        const started = performance.now()
        return Effect.onExit(Effect.locally(search, observing, true), (exit) =>
          Effect.sync(() => recordEnded(fiber, mode, exit, performance.now() - started)))
      })

    const poolReport = Effect.gen(function*() {
      if (Option.isNone(pools)) return null
      const readings = yield* pools.value.readings
      if (readings.length === 0) return null
      const clean = readings.map((r) => ({ ...r, avgAcquireMs: round(r.avgAcquireMs) }))
      return {
        primary: clean.find((r) => r.role === "primary") ?? null,
        replicas: clean.filter((r) => r.role === "replica")
      }
    })

    const report: Effect.Effect<StatsReport> = Effect.gen(function*() {
      const sorted = latencies.slice(0, kept).sort()
      const now = Date.now()
      const second = Math.floor(now / 1000)
      let recent = 0
      for (let i = 0; i < THROUGHPUT_WINDOW_SECONDS; i++) {
        if (second - seconds[i]! < THROUGHPUT_WINDOW_SECONDS) recent += counts[i]!
      }
      const span = Math.min(THROUGHPUT_WINDOW_SECONDS, Math.max(1, (now - startedAt) / 1000))
      const stats = yield* cache.stats
      const cacheReport = (name: CacheName) => {
        const s = stats[name]
        return { ...s, hitRate: s.hits + s.misses === 0 ? 0 : round(s.hits / (s.hits + s.misses), 4) }
      }
      return {
        searches,
        avgLatencyMs: searches === 0 ? 0 : round(totalMs / searches),
        p50Ms: round(percentile(sorted, 50)),
        p95Ms: round(percentile(sorted, 95)),
        p99Ms: round(percentile(sorted, 99)),
        cacheHitRate: hits + misses === 0 ? 0 : round(hits / (hits + misses), 4),
        throughputPerSec: round(recent / span, 2),
        errors,
        errorsByTag: Object.fromEntries(errorsByTag),
        caches: {
          searches: cacheReport("searches"),
          records: cacheReport("records"),
          embeddings: cacheReport("embeddings"),
          bytes: stats.searches.bytes + stats.records.bytes + stats.embeddings.bytes,
          maxBytes: cache.maxBytes
        },
        pool: yield* poolReport
      }
    })

    return { record, recordAnswered, recordEnded, observe, report } as const
  })
}) {}
