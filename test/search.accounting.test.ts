/**
 * Memory.search keeps its span and its statistics by hand (src/observability/handSpan.ts,
 * SearchStats.recordEnded): a miss, a hit and a failed search are each counted once in the
 * statistics and the search histogram, each in a Memory.search span that ends with the search
 * (the failed one with its error), the miss's work under it; a search observed again around it
 * is not counted twice; and with the tracer off a search still answers and is still counted.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Metric, MetricLabel, Option } from "effect"
import * as AgentMemory from "../layers/app.ts"
import * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
import * as InMemoryStore from "../layers/store/memory/InMemoryStore.ts"
import { StoreUnavailable } from "../src/domain/errors.ts"
import { StoreMemoryRequest } from "../src/domain/Memory.ts"
import { SearchRequest } from "../src/domain/Search.ts"
import { Memory } from "../src/memory/Memory.ts"
import * as Metrics from "../src/observability/Metrics.ts"
import { SearchStats } from "../src/observability/SearchStats.ts"
import { MemoryStore } from "../src/ports/MemoryStore.ts"
import * as InstrumentedMemory from "./support/instrumentedMemory.ts"
import { recordingTracer } from "./support/recordingTracer.ts"

/** An in-memory store whose searches fail while `down.value` is true. */
const switchableStore = (down: { value: boolean }) => ({ dimensions }: { readonly dimensions: number }) =>
  Layer.sync(MemoryStore, () => {
    const store = InMemoryStore.make({ dimensions })
    return {
      ...store,
      search: (query: Parameters<typeof store.search>[0]) =>
        down.value ? Effect.fail(new StoreUnavailable({ message: "search failed: the store is down" })) : store.search(query)
    }
  })

/** Observations of the search histogram for this mode and cache outcome under the test's own label (after the metric's own, as they are kept). */
const histogramCount = (labels: ReadonlyArray<MetricLabel.MetricLabel>, cache: Metrics.CacheOutcome) =>
  Effect.map(
    Metric.value(Metric.taggedWithLabels(Metrics.searchDuration, [MetricLabel.make("mode", "vector"), MetricLabel.make("cache", cache), ...labels])),
    (state) => state.count
  )

describe("Memory.search accounting", () => {
  it.effect("a miss, a hit and a failure: counted once each, each in its own ended span", () =>
    Effect.gen(function*() {
      const down = { value: false }
      const { spans, tracer } = recordingTracer()
      // Labels of this test's own, so the global histogram's other observations do not count here.
      const labels = [MetricLabel.make("test", `accounting-${Math.random()}`)]
      const layer = AgentMemory.layer({ embedder: HashingEmbedder.layer({ dimensions: 64 }), store: switchableStore(down) })
      yield* Effect.gen(function*() {
        const memory = yield* Memory
        const stats = yield* SearchStats
        yield* memory.store(new StoreMemoryRequest({ content: "the cat sat on the mat", namespace: "acct" }))
        const request = new SearchRequest({ query: "where did the cat sit", namespace: "acct", k: 3 })
        const miss = yield* memory.search(request)
        const hit = yield* memory.search(request)
        expect([miss.cached, hit.cached]).toEqual([false, true])
        expect(hit.hits).toEqual(miss.hits)
        down.value = true
        const failed = yield* Effect.flip(memory.search(new SearchRequest({ query: "another question", namespace: "acct" })))
        expect(failed._tag).toBe("StoreUnavailable")
        const report = yield* stats.report
        expect(report).toMatchObject({ searches: 2, cacheHitRate: 0.5, errors: 1, errorsByTag: { StoreUnavailable: 1 } })
        expect(yield* histogramCount(labels, "miss")).toBe(1)
        expect(yield* histogramCount(labels, "hit")).toBe(1)
        expect(yield* histogramCount(labels, "error")).toBe(1)
      }).pipe(Effect.provide(layer), Effect.withTracer(tracer), Effect.tagMetrics({ test: labels[0]!.value }))

      const searches = spans.filter((s) => s.name === "Memory.search")
      expect(searches.map((s) => s.attributes.get("memory.cache_hit"))).toEqual([false, true, undefined])
      for (const span of searches) expect(span.status._tag).toBe("Ended")
      const [missSpan, hitSpan, failedSpan] = searches
      expect(missSpan!.attributes.get("memory.namespace")).toBe("acct")
      expect(hitSpan!.attributes.get("memory.results")).toBe(1)
      const exitOf = (s: typeof failedSpan) => (s!.status._tag === "Ended" ? s!.status.exit : undefined)
      expect(Exit.isSuccess(exitOf(missSpan)!)).toBe(true)
      expect(Exit.isFailure(exitOf(failedSpan)!)).toBe(true)
      // The miss's work is under its span; the hit has none.
      const under = (parent: typeof missSpan) => spans.filter((s) => Option.getOrUndefined(s.parent)?.spanId === parent!.spanId).map((s) => s.name)
      expect(under(missSpan)).toContain("MemoryCache.searches")
      expect(under(hitSpan)).toEqual([])
    }))

  it.effect("observed again around it, a search is counted once; with the tracer off it is still answered and counted", () =>
    Effect.gen(function*() {
      const layer = InstrumentedMemory.layer.pipe(
        Layer.provideMerge(AgentMemory.layer({ embedder: HashingEmbedder.layer({ dimensions: 64 }), store: switchableStore({ value: false }) }))
      )
      yield* Effect.gen(function*() {
        const memory = yield* Memory
        const stats = yield* SearchStats
        yield* memory.store(new StoreMemoryRequest({ content: "a note about rivers", namespace: "twice" }))
        yield* memory.search(new SearchRequest({ query: "rivers", namespace: "twice" }))
        expect((yield* stats.report).searches).toBe(1)
        const untraced = yield* Effect.withTracerEnabled(memory.search(new SearchRequest({ query: "a note", namespace: "twice" })), false)
        expect(untraced.hits.map((h) => h.content)).toEqual(["a note about rivers"])
        expect((yield* stats.report).searches).toBe(2)
      }).pipe(Effect.provide(layer))
    }))
})
