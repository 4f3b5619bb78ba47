/**
 * Memory with its searches observed by SearchStats (statistics and the search
 * metrics), as a decorator: what Memory.search does itself once the
 * observation is wired into src/memory/Memory.ts. Tests that need search
 * metrics from a stack without that wiring put this over Memory.
 */
import { Effect, Layer } from "effect"
import { Memory } from "../../src/memory/Memory.ts"
import { SearchStats } from "../../src/observability/SearchStats.ts"

export const layer: Layer.Layer<Memory, never, Memory | SearchStats> = Layer.effect(
  Memory,
  Effect.gen(function*() {
    const memory = yield* Memory
    const stats = yield* SearchStats
    return Memory.make({ ...memory, search: (request) => stats.observe(memory.search(request), request.mode ?? "vector") })
  })
)
