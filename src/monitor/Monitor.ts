/**
 * The heap monitor: a fiber that reads memory every MEMORY_MONITOR_INTERVAL and
 * raises an alert when the level changes (warning, critical, back to normal).
 * At critical the caches shed down to a fraction of what they hold, and the
 * alert says how many bytes they gave back.
 *
 * What is compared against the thresholds is the V8 heap in use plus ArrayBuffer
 * memory: the vectors the caches hold are Float32Arrays, which live outside the
 * V8 heap, and a monitor that did not count them could never see the caches.
 *
 * Alerts go to a sliding PubSub (a slow or stalled subscriber loses its oldest
 * alerts; the monitor never waits), to the log, to a counter, and to a short
 * list of recent alerts. The fiber is scoped to the layer: interrupted at shutdown.
 */
import { Chunk, Config, ConfigError, Context, Duration, Effect, Either, Layer, Metric, Option, PubSub, type Queue, Ref, Schedule, type Scope, Stream } from "effect"
import { duration } from "../config/values.ts"
import * as Metrics from "../observability/Metrics.ts"
import { MemoryCache } from "../ports/MemoryCache.ts"
import { Alert, type AlertLevel } from "./Alert.ts"
import { heapLimitBytes, type Reading, Readings } from "./Readings.ts"

export interface MonitorOptions {
  readonly interval: Duration.DurationInput
  /** Heap + ArrayBuffer bytes at which a warning is raised. */
  readonly warningBytes: number
  /** … and at which the caches shed. */
  readonly criticalBytes: number
  /** At critical, the caches keep this fraction of the bytes they hold (0 empties them). */
  readonly shedTarget: number
  /** Alerts each subscriber may have unread before its oldest are dropped. */
  readonly capacity?: number | undefined
  /** Recent alerts kept for GET /v1/alerts. */
  readonly keep?: number | undefined
}

export interface MonitorService {
  readonly options: MonitorOptions
  /** Alerts from now on, for as long as the stream is consumed (server-sent events). */
  readonly alerts: Stream.Stream<Alert>
  /** A subscription that starts now, for as long as the scope is open. */
  readonly subscribe: Effect.Effect<Queue.Dequeue<Alert>, never, Scope.Scope>
  /** The most recent alerts, oldest first. */
  readonly recent: Effect.Effect<ReadonlyArray<Alert>>
  /** The last reading, if there has been one. */
  readonly latest: Effect.Effect<Option.Option<Reading>>
  /** How many readings the fiber has taken. */
  readonly readings: Effect.Effect<number>
  /** Takes a reading now and acts on it (as the fiber does); answers the alert it raised, if any. */
  readonly check: Effect.Effect<Option.Option<Alert>>
}

export class Monitor extends Context.Tag("agent-memory/Monitor")<Monitor, MonitorService>() {}

type Level = "normal" | "warning" | "critical"
const rank: Record<Level, number> = { normal: 0, warning: 1, critical: 2 }
const MB = 1024 * 1024
const mb = (bytes: number) => Math.round((bytes / MB) * 10) / 10

export const make = (options: MonitorOptions) =>
  Effect.gen(function*() {
    const cache = yield* MemoryCache
    const source = yield* Readings
    const keep = Math.max(1, options.keep ?? 100)
    const pubsub = yield* Effect.acquireRelease(PubSub.sliding<Alert>(Math.max(1, options.capacity ?? 64)), PubSub.shutdown)
    const recent = yield* Ref.make(Chunk.empty<Alert>())
    const latest = yield* Ref.make(Option.none<Reading>())
    const count = yield* Ref.make(0)
    const level = yield* Ref.make<Level>("normal")

    const levelOf = (used: number): Level =>
      used >= options.criticalBytes ? "critical" : used >= options.warningBytes ? "warning" : "normal"

    const shed = Effect.gen(function*() {
      const stats = yield* cache.stats
      const held = Object.values(stats).reduce((sum, s) => sum + s.bytes, 0)
      const freed = held === 0 ? 0 : yield* cache.shed(Math.floor(held * options.shedTarget))
      if (freed > 0) yield* Metric.incrementBy(Metrics.cacheShedBytes, freed)
      return freed
    })

    const raise = (alert: Alert) =>
      Effect.gen(function*() {
        // Sliding: never suspends, whatever the subscribers do.
        yield* PubSub.publish(pubsub, alert)
        yield* Ref.update(recent, (alerts) => Chunk.takeRight(Chunk.append(alerts, alert), keep))
        yield* Metric.increment(Metric.tagged(Metrics.monitorAlerts, "level", alert.level))
        const log = alert.level === "critical" ? Effect.logError : alert.level === "warning" ? Effect.logWarning : Effect.logInfo
        yield* log(`heap monitor: ${alert.message}`)
      })

    const record = (r: Reading) =>
      Effect.all([
        Metric.set(Metrics.heapUsedBytes, r.heapUsedBytes),
        Metric.set(Metrics.heapLimitBytes, r.heapLimitBytes),
        Metric.set(Metrics.arrayBufferBytes, r.arrayBuffersBytes),
        Metric.set(Metrics.rssBytes, r.rssBytes),
        Metric.set(Metrics.eventLoopDelaySeconds, r.eventLoopDelayMs / 1000)
      ], { discard: true })

    const check: MonitorService["check"] = Effect.gen(function*() {
      const r = yield* source.read
      yield* Ref.update(count, (n) => n + 1)
      yield* Ref.set(latest, Option.some(r))
      yield* record(r)
      const used = r.heapUsedBytes + r.arrayBuffersBytes
      const now = levelOf(used)
      const before = yield* Ref.getAndSet(level, now)
      const freed = now === "critical" ? yield* shed : 0
      // One alert per change of level, and one for every shed that gave memory back.
      if (now === before && freed === 0) return Option.none()
      const alertLevel: AlertLevel = now === "normal" ? "info" : now
      const usage = `${mb(used)} MB in use (heap ${mb(r.heapUsedBytes)} MB + buffers ${mb(r.arrayBuffersBytes)} MB)`
      const message = now === "critical"
        ? `${usage}, at or above critical ${mb(options.criticalBytes)} MB; caches shed ${mb(freed)} MB`
        : now === "warning"
        ? `${usage}, ${rank[before] > rank[now] ? "back below critical but still above" : "above"} warning ${mb(options.warningBytes)} MB`
        : `${usage}, back below warning ${mb(options.warningBytes)} MB`
      const alert = new Alert({
        level: alertLevel,
        message,
        heapUsedMb: mb(r.heapUsedBytes),
        arrayBuffersMb: mb(r.arrayBuffersBytes),
        heapLimitMb: mb(r.heapLimitBytes),
        rssMb: mb(r.rssBytes),
        eventLoopDelayMs: Math.round(r.eventLoopDelayMs * 100) / 100,
        ...(now === "critical" ? { freedBytes: freed } : {}),
        at: r.at
      })
      yield* raise(alert)
      return Option.some(alert)
    })

    // A failed reading is logged and the next one comes on schedule: the loop never ends by itself.
    const tick = check.pipe(Effect.catchAllCause((cause) => Effect.logError("heap monitor: reading failed", cause)))
    yield* tick.pipe(Effect.repeat(Schedule.spaced(options.interval)), Effect.interruptible, Effect.forkScoped)

    return {
      options,
      alerts: Stream.fromPubSub(pubsub),
      subscribe: PubSub.subscribe(pubsub),
      recent: Effect.map(Ref.get(recent), Chunk.toReadonlyArray),
      latest: Ref.get(latest),
      readings: Ref.get(count),
      check
    } satisfies MonitorService
  })

/** 70% and 90% of the heap limit, every 30 seconds, shedding to half: the defaults of `config`. */
export const defaults = (): MonitorOptions => {
  const limit = heapLimitBytes()
  return { interval: Duration.seconds(30), warningBytes: Math.floor(limit * 0.7), criticalBytes: Math.floor(limit * 0.9), shedTarget: 0.5 }
}

/** The monitor over the given readings source (Readings.layer for this process). */
export const layer = (options: MonitorOptions): Layer.Layer<Monitor, never, MemoryCache | Readings> =>
  Layer.scoped(Monitor, make(options))

const megabytes = (name: string) =>
  Config.number(name).pipe(
    Config.validate({ message: "must be a number of megabytes above 0", validation: (n) => n > 0 }),
    Config.map((n) => Math.floor(n * MB)),
    Config.option
  )

/**
 * MEMORY_HEAP_WARNING_MB and MEMORY_HEAP_CRITICAL_MB (defaults: 70% and 90% of
 * the heap limit; an unset warning stays below a critical that was set),
 * MEMORY_MONITOR_INTERVAL (30s), MEMORY_CACHE_SHED_TARGET (0.5).
 */
export const config: Config.Config<MonitorOptions> = Config.all({
  warning: megabytes("MEMORY_HEAP_WARNING_MB"),
  critical: megabytes("MEMORY_HEAP_CRITICAL_MB"),
  interval: duration("MEMORY_MONITOR_INTERVAL", Duration.seconds(30)),
  shedTarget: Config.number("MEMORY_CACHE_SHED_TARGET").pipe(
    Config.validate({ message: "must be a fraction from 0 up to (not including) 1", validation: (n) => n >= 0 && n < 1 }),
    Config.withDefault(0.5)
  )
}).pipe(
  Config.mapOrFail(({ critical, interval, shedTarget, warning }) => {
    const limit = heapLimitBytes()
    const criticalBytes = Option.getOrElse(critical, () => Math.floor(limit * 0.9))
    const warningBytes = Option.getOrElse(warning, () => Math.floor(Math.min(limit * 0.7, (criticalBytes * 7) / 9)))
    return warningBytes < criticalBytes
      ? Either.right({ interval, warningBytes, criticalBytes, shedTarget })
      : Either.left(ConfigError.InvalidData(["MEMORY_HEAP_WARNING_MB"], `must be below MEMORY_HEAP_CRITICAL_MB (${mb(criticalBytes)} MB)`))
  })
)

export const layerConfig = (
  options: Config.Config<MonitorOptions> = config
): Layer.Layer<Monitor, ConfigError.ConfigError, MemoryCache | Readings> =>
  Layer.scoped(Monitor, Effect.flatMap(options, make))
