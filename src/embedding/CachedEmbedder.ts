/**
 * An Embedder in front of another: vectors come from the embedding cache when
 * it has them (keyed by model, width and the text's hash), misses go to the
 * provider once each (identical texts in one call, or in flight at once, are
 * embedded once) and are cached for next time.
 */
import { Effect, Layer } from "effect"
import { sha256 } from "../lib/sha256.ts"
import { SingleFlight } from "../lib/SingleFlight.ts"
import { Embedder, type EmbedderService } from "../ports/Embedder.ts"
import { MemoryCache, type MemoryCacheService } from "../ports/MemoryCache.ts"

export const make = (inner: EmbedderService, cache: MemoryCacheService): EmbedderService => {
  const keyOf = (text: string) => `${inner.model}:${inner.dimensions}:${sha256(text, "base64url")}`
  const flights = new SingleFlight()

  const embedMissing = (key: string, text: string) =>
    flights.run(key, Effect.tap(inner.embed(text), (vector) => cache.embeddings.setMany([[key, vector]])))

  const embed: EmbedderService["embed"] = (text) =>
    Effect.suspend(() => {
      const key = keyOf(text)
      // The in-process answer without an Effect of its own; the L2 only through getMany.
      const local = cache.embeddings.peek?.(key)
      if (local === null) return embedMissing(key, text)
      if (local !== undefined) return Effect.succeed(local)
      return Effect.flatMap(cache.embeddings.getMany([key]), ([cached]) => (cached ? Effect.succeed(cached) : embedMissing(key, text)))
    })

  const embedMany: EmbedderService["embedMany"] = (texts) =>
    Effect.gen(function*() {
      if (texts.length === 0) return []
      const keys = texts.map(keyOf)
      const vectors = [...yield* cache.embeddings.getMany(keys)]
      // Each distinct missing text once, in first-seen order.
      const missing = new Map<string, { readonly text: string; readonly slots: Array<number> }>()
      vectors.forEach((vector, i) => {
        if (vector) return
        const entry = missing.get(keys[i]!)
        if (entry) entry.slots.push(i)
        else missing.set(keys[i]!, { text: texts[i]!, slots: [i] })
      })
      if (missing.size === 0) return vectors as ReadonlyArray<Float32Array>
      const entries = [...missing.entries()]
      const computed = yield* inner.embedMany(entries.map(([, e]) => e.text))
      entries.forEach(([, { slots }], j) => slots.forEach((i) => (vectors[i] = computed[j]!)))
      yield* cache.embeddings.setMany(entries.map(([key], j) => [key, computed[j]!] as const))
      return vectors as ReadonlyArray<Float32Array>
    })

  return { model: inner.model, dimensions: inner.dimensions, exactSearch: inner.exactSearch, embed, embedMany }
}

/** Replaces the provided Embedder with a cached one. */
export const layer: Layer.Layer<Embedder, never, Embedder | MemoryCache> = Layer.effect(
  Embedder,
  Effect.map(Effect.all([Embedder, MemoryCache]), ([inner, cache]) => make(inner, cache))
)
