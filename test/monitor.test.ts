/**
 * The heap monitor: levels and alerts from readings a test controls, shedding
 * at critical (also with real memory: caches filled with 300 MB of vectors), a
 * full alert buffer that never stalls it, interruption at shutdown, and its
 * configuration.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, ConfigProvider, Context, Duration, Effect, Exit, Layer, Logger, LogLevel, Option, Queue, Ref, Scope, Stream } from "effect"
import * as TieredCache from "../layers/cache/TieredCache.ts"
import { Alert } from "../src/monitor/Alert.ts"
import { serverSentEvents } from "../src/monitor/AlertsResponse.ts"
import * as Monitor from "../src/monitor/Monitor.ts"
import * as Readings from "../src/monitor/Readings.ts"
import { MemoryCache } from "../src/ports/MemoryCache.ts"

const MB = 1024 * 1024

/** A readings source whose heap the test sets; counts the readings taken. */
const fakeReadings = (heapMb: Ref.Ref<number>, count: Ref.Ref<number>) =>
  Layer.succeed(Readings.Readings, {
    read: Effect.gen(function*() {
      yield* Ref.update(count, (n) => n + 1)
      const heap = yield* Ref.get(heapMb)
      return { heapUsedBytes: heap * MB, heapLimitBytes: 4096 * MB, arrayBuffersBytes: 0, rssBytes: heap * 2 * MB, eventLoopDelayMs: 1.5, at: new Date() }
    })
  })

const options = (overrides: Partial<Monitor.MonitorOptions> = {}): Monitor.MonitorOptions => ({
  interval: "1 hour", // tests call `check` themselves unless they say otherwise
  warningBytes: 700 * MB,
  criticalBytes: 900 * MB,
  shedTarget: 0.5,
  ...overrides
})

/** A TieredCache holding `count` vectors of `dimensions` floats. */
const filledCache = (count: number, dimensions: number, maxBytes = 64 * MB) =>
  Effect.gen(function*() {
    const cache = yield* TieredCache.make({ ...TieredCache.defaultOptions, entries: { searches: 10, records: 10, embeddings: count }, maxBytes })
    const batch: Array<readonly [string, Float32Array]> = []
    for (let i = 0; i < count; i++) {
      batch.push([`key-${i}`, new Float32Array(dimensions).fill(i)])
      if (batch.length === 1000) yield* cache.embeddings.setMany(batch.splice(0))
    }
    yield* cache.embeddings.setMany(batch)
    return cache
  })

const cacheBytes = (cache: MemoryCache["Type"]) =>
  Effect.map(cache.stats, (s) => s.searches.bytes + s.records.bytes + s.embeddings.bytes)

describe("heap monitor", () => {
  it.scoped("raises an alert on each change of level and sheds the caches at critical", () =>
    Effect.gen(function*() {
      const heap = yield* Ref.make(100)
      const count = yield* Ref.make(0)
      const cache = yield* filledCache(200, 256)
      const monitor = yield* Monitor.make(options()).pipe(
        Effect.provide(fakeReadings(heap, count)),
        Effect.provideService(MemoryCache, cache)
      )
      const held = yield* cacheBytes(cache)
      expect(held).toBeGreaterThan(200 * 1024)

      expect(yield* monitor.check).toEqual(Option.none()) // normal, as before
      yield* Ref.set(heap, 750)
      const warning = Option.getOrThrow(yield* monitor.check)
      expect(warning.level).toBe("warning")
      expect(warning.freedBytes).toBeUndefined()
      expect(yield* monitor.check).toEqual(Option.none()) // still warning: no new alert

      yield* Ref.set(heap, 950)
      const critical = Option.getOrThrow(yield* monitor.check)
      expect(critical.level).toBe("critical")
      expect(critical.heapUsedMb).toBe(950)
      expect(critical.rssMb).toBe(1900)
      expect(critical.eventLoopDelayMs).toBe(1.5)
      expect(critical.freedBytes).toBeGreaterThan(0)
      const after = yield* cacheBytes(cache)
      expect(after).toBeLessThanOrEqual(held / 2)
      expect(held - after).toBe(critical.freedBytes)
      expect(critical.message).toMatch(/critical 900 MB; caches shed/)

      // Still critical: sheds again (half of what is left), and says so.
      const again = Option.getOrThrow(yield* monitor.check)
      expect(again.freedBytes).toBeGreaterThan(0)

      yield* Ref.set(heap, 800)
      expect(Option.getOrThrow(yield* monitor.check).level).toBe("warning")
      yield* Ref.set(heap, 100)
      const recovered = Option.getOrThrow(yield* monitor.check)
      expect(recovered.level).toBe("info")
      expect(recovered.message).toMatch(/back below warning/)

      const recent = yield* monitor.recent
      expect(recent.map((a) => a.level)).toEqual(["warning", "critical", "critical", "warning", "info"])
      expect(Option.map(yield* monitor.latest, (r) => r.heapUsedBytes)).toEqual(Option.some(100 * MB))
    }))

  it.scopedLive("filling the caches past MEMORY_HEAP_CRITICAL_MB raises a critical alert and frees memory", () =>
    Effect.gen(function*() {
      const readings = yield* Layer.build(Readings.layer)
      const before = yield* Context.get(readings, Readings.Readings).read
      const usedMb = (before.heapUsedBytes + before.arrayBuffersBytes) / MB
      // Critical just above what the process holds now: 300 MB of vectors go past it.
      const env = new Map([
        ["MEMORY_HEAP_WARNING_MB", String(Math.ceil(usedMb + 50))],
        ["MEMORY_HEAP_CRITICAL_MB", String(Math.ceil(usedMb + 150))],
        ["MEMORY_MONITOR_INTERVAL", "100ms"]
      ])
      const cache = yield* TieredCache.make({
        ...TieredCache.defaultOptions,
        entries: { searches: 10, records: 10, embeddings: 100_000 },
        maxBytes: 1024 * MB
      })
      const built = yield* Layer.build(
        Monitor.layerConfig().pipe(Layer.provide(Layer.succeed(MemoryCache, cache)), Layer.provide(Layer.succeedContext(readings)))
      ).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(env)))
      const monitor = Context.get(built, Monitor.Monitor)
      expect(monitor.options.criticalBytes).toBe(Math.ceil(usedMb + 150) * MB)
      const alerts = yield* monitor.subscribe

      // 300 MB of 1024-wide vectors (4 KB each).
      for (let batch = 0; batch < 75; batch++) {
        yield* cache.embeddings.setMany(
          Array.from({ length: 1024 }, (_, i) => [`v-${batch}-${i}`, new Float32Array(1024).fill(i)] as const)
        )
      }
      const filled = yield* cacheBytes(cache)
      expect(filled).toBeGreaterThan(300 * MB)

      const critical = yield* Queue.take(alerts).pipe(
        Effect.repeat({ until: (a) => a.level === "critical" }),
        Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("no critical alert within 10 seconds") })
      )
      expect(critical.freedBytes).toBeGreaterThan(0)
      expect(critical.heapUsedMb + critical.arrayBuffersMb).toBeGreaterThanOrEqual(usedMb + 150)
      const shed = yield* cacheBytes(cache)
      expect(shed).toBeLessThan(filled)
      expect(filled - shed).toBeGreaterThanOrEqual(critical.freedBytes!)
      expect(critical.freedBytes).toBeGreaterThanOrEqual(100 * MB)
    }), { timeout: 60_000 })

  it.scopedLive("a full alert buffer never stalls the monitor", () =>
    Effect.gen(function*() {
      const heap = yield* Ref.make(100)
      const count = yield* Ref.make(0)
      // Every reading crosses a threshold, so every tick raises an alert.
      const flipping = Layer.succeed(Readings.Readings, {
        read: Effect.gen(function*() {
          const n = yield* Ref.updateAndGet(count, (k) => k + 1)
          yield* Ref.set(heap, n % 2 === 0 ? 950 : 100)
          return { heapUsedBytes: (yield* Ref.get(heap)) * MB, heapLimitBytes: 4096 * MB, arrayBuffersBytes: 0, rssBytes: 0, eventLoopDelayMs: 0, at: new Date() }
        })
      })
      const cache = yield* filledCache(10, 16)
      const monitor = yield* Monitor.make(options({ interval: "10 millis", capacity: 2, keep: 5 })).pipe(
        Effect.provide(flipping),
        Effect.provideService(MemoryCache, cache)
      )
      // A subscriber that never reads.
      const stalled = yield* monitor.subscribe
      const start = yield* monitor.readings
      yield* Effect.sleep("600 millis")
      const taken = (yield* monitor.readings) - start
      // ~60 on schedule; a blocked publisher would have stopped at 2 or 3.
      expect(taken).toBeGreaterThanOrEqual(30)
      expect(yield* Queue.size(stalled)).toBeLessThanOrEqual(2)
      const kept = yield* monitor.recent
      expect(kept.length).toBe(5)
      // Sliding: the stalled subscriber holds the latest alerts, not the first ones.
      const held = yield* Queue.takeAll(stalled)
      expect(Chunk.size(held)).toBe(2)
      expect(Chunk.toReadonlyArray(held)[1]!.at.getTime()).toBeGreaterThan(kept[0]!.at.getTime() - 1)
    }).pipe(Logger.withMinimumLogLevel(LogLevel.None)))

  it.live("its fiber is interrupted when the layer is released", () =>
    Effect.gen(function*() {
      const heap = yield* Ref.make(100)
      const count = yield* Ref.make(0)
      const cache = yield* Effect.scoped(filledCache(1, 4))
      const scope = yield* Scope.make()
      yield* Layer.buildWithScope(
        Monitor.layer(options({ interval: "10 millis" })).pipe(
          Layer.provide(fakeReadings(heap, count)),
          Layer.provide(Layer.succeed(MemoryCache, cache))
        ),
        scope
      )
      yield* Effect.sleep("100 millis")
      expect(yield* Ref.get(count)).toBeGreaterThan(3)
      yield* Scope.close(scope, Exit.void)
      const stopped = yield* Ref.get(count)
      yield* Effect.sleep("100 millis")
      expect(yield* Ref.get(count)).toBe(stopped)
    }))

  it.scopedLive("streams alerts as server-sent events", () =>
    Effect.gen(function*() {
      const alert = new Alert({
        level: "critical",
        message: "m",
        heapUsedMb: 1,
        arrayBuffersMb: 2,
        heapLimitMb: 3,
        rssMb: 4,
        eventLoopDelayMs: 5,
        freedBytes: 6,
        at: new Date("2026-01-01T00:00:00Z")
      })
      const text = yield* serverSentEvents(Stream.make(alert, alert), { heartbeat: "1 hour" }).pipe(
        Stream.decodeText(),
        Stream.runFold("", (a, b) => a + b)
      )
      expect(text).toBe(
        ": connected\n\n" +
          `id: 1\nevent: alert\ndata: {"level":"critical","message":"m","heapUsedMb":1,"arrayBuffersMb":2,"heapLimitMb":3,"rssMb":4,"eventLoopDelayMs":5,"freedBytes":6,"at":"2026-01-01T00:00:00.000Z"}\n\n` +
          `id: 2\nevent: alert\ndata: {"level":"critical","message":"m","heapUsedMb":1,"arrayBuffersMb":2,"heapLimitMb":3,"rssMb":4,"eventLoopDelayMs":5,"freedBytes":6,"at":"2026-01-01T00:00:00.000Z"}\n\n`
      )
    }))

  describe("configuration", () => {
    const load = (env: Record<string, string>) =>
      Effect.either(Effect.withConfigProvider(Monitor.config, ConfigProvider.fromMap(new Map(Object.entries(env)))))

    it.effect("defaults to 70% and 90% of the heap limit, every 30 seconds, shedding to half", () =>
      Effect.gen(function*() {
        const limit = Readings.heapLimitBytes()
        const loaded = yield* load({})
        expect(loaded._tag).toBe("Right")
        if (loaded._tag !== "Right") return
        expect(loaded.right.criticalBytes).toBe(Math.floor(limit * 0.9))
        expect(loaded.right.warningBytes).toBe(Math.floor(limit * 0.7))
        expect(Duration.toMillis(Duration.decode(loaded.right.interval))).toBe(30_000)
        expect(loaded.right.shedTarget).toBe(0.5)
      }))

    it.effect("a critical threshold alone keeps the warning below it", () =>
      Effect.gen(function*() {
        const loaded = yield* load({ MEMORY_HEAP_CRITICAL_MB: "90" })
        if (loaded._tag !== "Right") throw new Error(String(loaded.left))
        expect(loaded.right.criticalBytes).toBe(90 * MB)
        expect(loaded.right.warningBytes).toBe(70 * MB)
      }))

    it.effect("refuses a warning at or above critical, and bad values, naming the variable", () =>
      Effect.gen(function*() {
        const bad = yield* load({ MEMORY_HEAP_WARNING_MB: "900", MEMORY_HEAP_CRITICAL_MB: "800" })
        expect(bad._tag === "Left" && String(bad.left)).toMatch(/MEMORY_HEAP_WARNING_MB/)
        const fraction = yield* load({ MEMORY_CACHE_SHED_TARGET: "1.5" })
        expect(fraction._tag === "Left" && String(fraction.left)).toMatch(/MEMORY_CACHE_SHED_TARGET/)
        const interval = yield* load({ MEMORY_MONITOR_INTERVAL: "soon" })
        expect(interval._tag === "Left" && String(interval.left)).toMatch(/MEMORY_MONITOR_INTERVAL/)
      }))
  })
})
