/**
 * Keeps the cache metrics current: a scoped fiber copies MemoryCache.stats into
 * the cache counters and gauges every `interval` (MEMORY_METRICS_INTERVAL,
 * default 10s). The pool gauges move with the pool itself (PgPool) and the
 * process gauges with every heap monitor reading, so only the caches need this.
 * GET /metrics may call `refresh` first, to serve exact numbers.
 */
import { type ConfigError, Duration, Effect, Layer, Schedule } from "effect"
import { duration } from "../config/values.ts"
import { MemoryCache } from "../ports/MemoryCache.ts"
import * as Metrics from "./Metrics.ts"

export class MetricsPoller extends Effect.Service<MetricsPoller>()("agent-memory/MetricsPoller", {
  effect: Effect.gen(function*() {
    const cache = yield* MemoryCache
    const previous = new Map<string, number>()
    // Serialised: two refreshes at once would count the same difference twice.
    const lock = yield* Effect.makeSemaphore(1)
    const refresh = lock.withPermits(1)(Effect.flatMap(cache.stats, (stats) => Metrics.recordCacheStats(stats, previous)))
    return { refresh } as const
  })
}) {}

/** Refreshes the cache metrics every `interval` while the layer is up. */
export const layer = (interval: Duration.DurationInput = Duration.seconds(10)): Layer.Layer<MetricsPoller, never, MemoryCache> =>
  Layer.scopedDiscard(
    Effect.flatMap(MetricsPoller, ({ refresh }) =>
      refresh.pipe(Effect.repeat(Schedule.spaced(interval)), Effect.interruptible, Effect.forkScoped))
  ).pipe(Layer.provideMerge(MetricsPoller.Default))

export const layerConfig: Layer.Layer<MetricsPoller, ConfigError.ConfigError, MemoryCache> = Layer.unwrapEffect(
  Effect.map(duration("MEMORY_METRICS_INTERVAL", Duration.seconds(10)), layer)
)
