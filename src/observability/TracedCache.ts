/**
 * A MemoryCache with a span on every lookup: which cache, which namespace, hit
 * or miss. A miss's work (embedding, SQL) runs inside the lookup, so in a trace
 * it appears as the cache span's children. Tracing a cache twice is harmless:
 * one already traced is answered as it is.
 */
import { Effect, Layer } from "effect"
import { inSpan } from "./inSpan.ts"
import { type CacheName, MemoryCache, type MemoryCacheService, type NamespacedCache } from "../ports/MemoryCache.ts"

const traced = <A>(name: CacheName, cache: NamespacedCache<A>): NamespacedCache<A> => ({
  // A synchronous L1 answer has no span of its own: the caller's span says it was a hit.
  peek: cache.peek,
  peekShared: cache.peekShared,
  getOrCompute: (namespace, key, compute) =>
    inSpan(`MemoryCache.${name}`, { "cache.name": name, "memory.namespace": namespace }, (span) =>
      Effect.tap(cache.getOrCompute(namespace, key, compute), ({ hit }) => span.attribute("cache.hit", hit)))
})

const tracedCaches = new WeakSet<MemoryCacheService>()

export const make = (cache: MemoryCacheService): MemoryCacheService => {
  if (tracedCaches.has(cache)) return cache
  const result: MemoryCacheService = {
    ...cache,
    searches: traced("searches", cache.searches),
    records: traced("records", cache.records),
    embeddings: {
      ...cache.embeddings,
      getMany: (keys) =>
        inSpan("MemoryCache.embeddings", { "cache.name": "embeddings", "cache.keys": keys.length }, (span) =>
          Effect.tap(cache.embeddings.getMany(keys), (found) => span.attribute("cache.hits", found.filter((v) => v !== undefined).length)))
    }
  }
  tracedCaches.add(result)
  return result
}

/** Replaces the provided MemoryCache with a traced one. */
export const layer: Layer.Layer<MemoryCache, never, MemoryCache> = Layer.effect(MemoryCache, Effect.map(MemoryCache, make))
