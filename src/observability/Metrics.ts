/**
 * Every metric the service records, declared once. Names follow Prometheus
 * conventions (base units, `_total` on counters); series are split by tags,
 * which become Prometheus labels and OTLP attributes. Served as Prometheus
 * text by otel/Prometheus.ts and exported over OTLP by otel/Telemetry.ts.
 *
 * Apply them where the work happens, through the helpers below.
 */
import { Array as Arr, Cause, Effect, Exit, FiberRef, Metric, MetricBoundaries, MetricLabel, Option } from "effect"
import type { CacheName, CacheStats } from "../ports/MemoryCache.ts"

/** Seconds, doubling from 0.25 ms to 16.4 s: a cached search and a slow cold one each land in a bucket of their own. */
const latencyBuckets = MetricBoundaries.exponential({ start: 0.00025, factor: 2, count: 18 })

// --- search -------------------------------------------------------------------------------------------

export const searchDuration = Metric.histogram(
  "agent_memory_search_duration_seconds",
  latencyBuckets,
  "Search latency, by mode (vector, keyword, hybrid) and cache outcome (hit, miss, error)"
)

export type CacheOutcome = "hit" | "miss" | "error"

/**
 * A metric's tagged variants, made once each. Metric.tagged would merge its tags
 * into a fresh array on every update, and a fresh array misses Effect's hook
 * cache, so each update would build and hash a new metric key; here the tags are
 * one constant array, so an update is a cached lookup. Tag values must come from
 * a small set (modes, outcomes, models, error tags).
 */
export const taggedOnce = <T, I, O>(metric: Metric.Metric<T, I, O>, ...keys: ReadonlyArray<string>) => {
  const made = new Map<string, Metric.Metric<T, I, O>>()
  return (...values: ReadonlyArray<string>): Metric.Metric<T, I, O> => {
    const id = values.join("\u0000")
    let tagged = made.get(id)
    if (tagged === undefined) {
      const labels = keys.map((key, i) => MetricLabel.make(key, values[i] ?? ""))
      const withFiber = (extra: ReadonlyArray<MetricLabel.MetricLabel>) => (extra.length === 0 ? labels : Arr.union(labels, extra))
      tagged = Metric.make(
        metric.keyType,
        (input, extra) => metric.unsafeUpdate(input, withFiber(extra)),
        (extra) => metric.unsafeValue(withFiber(extra)),
        (input, extra) => metric.unsafeModify(input, withFiber(extra))
      )
      made.set(id, tagged)
    }
    return tagged
  }
}

const searchDurationBy = taggedOnce(searchDuration, "mode", "cache")

/** Records one search's latency in the histogram. */
export const recordSearch = (mode: string, cache: CacheOutcome, seconds: number) =>
  Metric.update(searchDurationBy(mode, cache), seconds)

/** The same, synchronously, with the fiber's metric labels (FiberRef.currentMetricLabels): for the cache-hit fast path. */
export const unsafeRecordSearch = (mode: string, cache: CacheOutcome, seconds: number, labels: ReadonlyArray<MetricLabel.MetricLabel>) =>
  searchDurationBy(mode, cache).unsafeUpdate(seconds, labels)

// --- errors -------------------------------------------------------------------------------------------

export const errors = Metric.counter("agent_memory_errors_total", {
  description: "Failed operations, by operation and error tag",
  incremental: true
})

/** An error's `_tag`, or "Unknown". */
export const errorTag = (error: unknown): string =>
  typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string" ? error._tag : "Unknown"

const errorsBy = taggedOnce(errors, "operation", "tag")

/** Counts one failure of `operation` under the error's `_tag`. */
export const recordError = (operation: string, error: unknown) => Metric.increment(errorsBy(operation, errorTag(error)))

/** The same, synchronously, with the fiber's metric labels: for a search ended by hand. */
export const unsafeRecordError = (operation: string, error: unknown, labels: ReadonlyArray<MetricLabel.MetricLabel>) =>
  errorsBy(operation, errorTag(error)).unsafeUpdate(1, labels)

/** Counts every failure of the effect under its `_tag`, and lets it through. */
export const countErrors = (operation: string) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.tapError(self, (error) => recordError(operation, error))

/** The operation `f`, each failure of it counted under `operation` (a name from a small fixed set). */
export const counted = <Args extends ReadonlyArray<unknown>, A, E, R>(
  operation: string,
  f: (...args: Args) => Effect.Effect<A, E, R>
) => {
  const count = countErrors(operation)
  return (...args: Args): Effect.Effect<A, E, R> => count(f(...args))
}

// --- caches (copied from MemoryCache.stats by MetricsPoller) -------------------------------------------

export const cacheHits = Metric.counter("agent_memory_cache_hits_total", { description: "Cache hits, by cache", incremental: true })
export const cacheMisses = Metric.counter("agent_memory_cache_misses_total", { description: "Cache misses, by cache", incremental: true })
export const cacheEvictions = Metric.counter("agent_memory_cache_evictions_total", {
  description: "Entries evicted to keep the caches within their entry and byte bounds (also when shedding), by cache",
  incremental: true
})
export const cacheL2Hits = Metric.counter("agent_memory_cache_l2_hits_total", { description: "Hits served by the shared Redis L2, by cache", incremental: true })
export const cacheL2Errors = Metric.counter("agent_memory_cache_l2_errors_total", { description: "Redis L2 calls that failed or timed out, by cache", incremental: true })
export const cacheBytes = Metric.gauge("agent_memory_cache_bytes", { description: "Estimated bytes held by the in-process cache, by cache" })
export const cacheEntries = Metric.gauge("agent_memory_cache_entries", { description: "Entries held by the in-process cache, by cache" })

const counterFields = ["hits", "misses", "evictions", "l2Hits", "l2Errors"] as const
type CounterField = (typeof counterFields)[number]
const counterOf: Record<CounterField, Metric.Metric.Counter<number>> = {
  hits: cacheHits,
  misses: cacheMisses,
  evictions: cacheEvictions,
  l2Hits: cacheL2Hits,
  l2Errors: cacheL2Errors
}

/**
 * Copies cache statistics into the metrics. The cache keeps running totals; the
 * counters move by the difference since the previous call (`previous` is updated
 * in place). A total that went down means a new cache: it counts from zero again.
 */
export const recordCacheStats = (
  stats: Readonly<Record<CacheName, CacheStats>>,
  previous: Map<string, number>
) =>
  Effect.forEach(Object.entries(stats) as Array<[CacheName, CacheStats]>, ([name, s]) =>
    Effect.gen(function*() {
      for (const field of counterFields) {
        const key = `${name}.${field}`
        const before = previous.get(key) ?? 0
        const now = s[field]
        const delta = now >= before ? now - before : now
        previous.set(key, now)
        if (delta > 0) yield* Metric.incrementBy(Metric.tagged(counterOf[field], "cache", name), delta)
      }
      yield* Metric.set(Metric.tagged(cacheBytes, "cache", name), s.bytes)
      yield* Metric.set(Metric.tagged(cacheEntries, "cache", name), s.entries)
    }), { discard: true })

export const cacheShedBytes = Metric.counter("agent_memory_cache_shed_bytes_total", {
  description: "Bytes the heap monitor made the caches give back",
  incremental: true
})

// --- embedding ----------------------------------------------------------------------------------------

export const embeddingRequests = Metric.counter("agent_memory_embedding_requests_total", {
  description: "Calls to the embedding provider (cache misses only), by model",
  incremental: true
})
export const embeddingInputs = Metric.counter("agent_memory_embedding_inputs_total", {
  description: "Texts sent to the embedding provider, by model",
  incremental: true
})
export const embeddingFailures = Metric.counter("agent_memory_embedding_failures_total", {
  description: "Failed calls to the embedding provider, by model",
  incremental: true
})
export const embeddingDuration = Metric.histogram(
  "agent_memory_embedding_duration_seconds",
  latencyBuckets,
  "Latency of calls to the embedding provider, by model"
)

const embeddingRequestsBy = taggedOnce(embeddingRequests, "model")
const embeddingInputsBy = taggedOnce(embeddingInputs, "model")
const embeddingFailuresBy = taggedOnce(embeddingFailures, "model")
const embeddingDurationBy = taggedOnce(embeddingDuration, "model")

/** Meters one call to the embedding provider with `inputs` texts. */
export const trackEmbedding = (model: string, inputs: number) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  // Updated by hand with the fiber's labels (as Metric.increment would): one Effect step, not five.
  Effect.withFiberRuntime((fiber) => {
    const labels = fiber.getFiberRef(FiberRef.currentMetricLabels)
    embeddingRequestsBy(model).unsafeUpdate(1, labels)
    embeddingInputsBy(model).unsafeUpdate(inputs, labels)
    const started = performance.now()
    return Effect.onExit(self, (exit) => {
      embeddingDurationBy(model).unsafeUpdate((performance.now() - started) / 1000, labels)
      if (Exit.isFailure(exit) && Option.isSome(Cause.failureOption(exit.cause))) {
        embeddingFailuresBy(model).unsafeUpdate(1, labels)
      }
      return Effect.void
    })
  })

// --- ingestion ----------------------------------------------------------------------------------------

export const ingestItems = Metric.counter("agent_memory_ingest_items_total", {
  description: "Items ingested, by outcome (stored, duplicate, failed)",
  incremental: true
})
export const ingestBatches = Metric.counter("agent_memory_ingest_batches_total", {
  description: "Batches written by ingestion streams",
  incremental: true
})

/** Counts one ingested batch and its items by outcome. */
export const recordIngestBatch = (outcome: { readonly stored: number; readonly duplicates: number; readonly failed: number }) =>
  Effect.all([
    Metric.increment(ingestBatches),
    Metric.incrementBy(Metric.tagged(ingestItems, "outcome", "stored"), outcome.stored),
    Metric.incrementBy(Metric.tagged(ingestItems, "outcome", "duplicate"), outcome.duplicates),
    Metric.incrementBy(Metric.tagged(ingestItems, "outcome", "failed"), outcome.failed)
  ], { discard: true })

// --- connection pool (updated by layers/store/pgvector/PgPool.ts on every pool event) -----------------

export const poolConnections = Metric.gauge("agent_memory_pool_connections", {
  description: "Open connections (idle and in use), by pool"
})
export const poolIdleConnections = Metric.gauge("agent_memory_pool_idle_connections", { description: "Idle connections, by pool" })
export const poolWaitingRequests = Metric.gauge("agent_memory_pool_waiting_requests", {
  description: "Requests queued for a connection, by pool"
})
export const poolAcquireDuration = Metric.histogram(
  "agent_memory_pool_acquire_duration_seconds",
  latencyBuckets,
  "Time to get a connection from the pool (including opening one), by pool"
)
export const poolAcquireFailures = Metric.counter("agent_memory_pool_acquire_failures_total", {
  description: "Failed attempts to get a connection, by pool",
  incremental: true
})
export const poolUp = Metric.gauge("agent_memory_pool_up", {
  description: "1 while the pool opens connections and its server answers, 0 since a checkout or health probe failed, by pool"
})
export const storeReads = Metric.counter("agent_memory_store_reads_total", {
  description: "Searches run by the pgvector store, by target (primary, or the replica's pool name) and reason",
  incremental: true
})
export const replicaFallbacks = Metric.counter("agent_memory_replica_fallbacks_total", {
  description: "Searches that failed on a read replica and were run on the primary, by replica",
  incremental: true
})
export const replicaUp = Metric.gauge("agent_memory_replica_up", { description: "1 while a read replica takes searches, 0 while it is skipped" })

// --- process (updated by the heap monitor on every reading) -------------------------------------------

export const heapUsedBytes = Metric.gauge("agent_memory_heap_used_bytes", { description: "V8 heap in use" })
export const heapLimitBytes = Metric.gauge("agent_memory_heap_limit_bytes", { description: "V8 heap size limit" })
export const arrayBufferBytes = Metric.gauge("agent_memory_array_buffer_bytes", {
  description: "Memory held by ArrayBuffers (where vectors live), outside the V8 heap"
})
export const rssBytes = Metric.gauge("agent_memory_rss_bytes", { description: "Resident set size of the process" })
export const eventLoopDelaySeconds = Metric.gauge("agent_memory_event_loop_delay_seconds", {
  description: "Event-loop delay (p99 since the previous reading)"
})
export const monitorAlerts = Metric.counter("agent_memory_monitor_alerts_total", {
  description: "Heap monitor alerts, by level",
  incremental: true
})
