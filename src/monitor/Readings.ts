/**
 * What the heap monitor reads: V8 heap, ArrayBuffer memory, RSS and event-loop
 * delay. A port of its own so that tests can feed the monitor any reading they
 * need (a heap above critical, deterministically) without filling memory.
 */
import { monitorEventLoopDelay } from "node:perf_hooks"
import * as v8 from "node:v8"
import { Context, Effect, Layer } from "effect"

export interface Reading {
  readonly heapUsedBytes: number
  readonly heapLimitBytes: number
  /** Memory held by ArrayBuffers (Float32Array vectors), outside the V8 heap. */
  readonly arrayBuffersBytes: number
  readonly rssBytes: number
  /** p99 event-loop delay since the previous reading. */
  readonly eventLoopDelayMs: number
  readonly at: Date
}

export interface ReadingsService {
  readonly read: Effect.Effect<Reading>
}

export class Readings extends Context.Tag("agent-memory/MonitorReadings")<Readings, ReadingsService>() {}

/** V8's heap size limit (what --max-old-space-size sets). */
export const heapLimitBytes = (): number => v8.getHeapStatistics().heap_size_limit

/** Readings of this process; the event-loop delay histogram runs while the layer is up. */
export const layer: Layer.Layer<Readings> = Layer.scoped(
  Readings,
  Effect.gen(function*() {
    const delay = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const histogram = monitorEventLoopDelay({ resolution: 10 })
        histogram.enable()
        return histogram
      }),
      (histogram) => Effect.sync(() => histogram.disable())
    )
    return {
      read: Effect.sync((): Reading => {
        const memory = process.memoryUsage()
        const p99 = delay.count > 0 ? delay.percentile(99) / 1e6 : 0
        delay.reset()
        return {
          heapUsedBytes: memory.heapUsed,
          heapLimitBytes: heapLimitBytes(),
          arrayBuffersBytes: memory.arrayBuffers,
          rssBytes: memory.rss,
          eventLoopDelayMs: p99,
          at: new Date()
        }
      })
    }
  })
)
