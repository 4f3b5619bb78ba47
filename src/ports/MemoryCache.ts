/**
 * The Cache port: three caches in front of the slow work.
 *
 * - `searches`: search results, keyed by namespace + the normalised request;
 * - `records`: records by namespace + id;
 * - `embeddings`: vectors by model + dimensions + text hash (never stale: a
 *   model maps a text to one vector).
 *
 * Namespaced values are tagged with the namespace's generation when they are
 * computed; a write (`writing`, or `invalidate` after it) moves the generation
 * on, so every earlier value is unreachable at once, on every instance that
 * shares the L2. A value is also never served past its `validUntil` (the first
 * expiry among the records it was computed from): it is computed again instead.
 */
import { Context, type Effect, type Option } from "effect"
import type { MemoryRecord } from "../domain/Memory.ts"
import type { SearchHit } from "../domain/Search.ts"

export type CacheName = "searches" | "records" | "embeddings"

export interface CacheStats {
  readonly hits: number
  readonly misses: number
  readonly evictions: number
  readonly entries: number
  readonly bytes: number
  /** Hits served by the shared L2 (a subset of `hits`). */
  readonly l2Hits: number
  /** L2 calls that failed or timed out; the request went on without the L2. */
  readonly l2Errors: number
}

/** A search's answer as cached: its hits and when the first record it was computed from expires. */
export interface CachedSearch {
  readonly hits: ReadonlyArray<SearchHit>
  /** null: nothing it was computed from expires. */
  readonly validUntil: Date | null
}

export interface NamespacedCache<A> {
  /**
   * The cached value for the namespace's current generation, or `compute`'s
   * result, stored under the generation read before it ran. Concurrent misses
   * for one key run `compute` once. `hit` tells which happened.
   */
  readonly getOrCompute: <E, R>(
    namespace: string,
    key: string,
    compute: Effect.Effect<A, E, R>
  ) => Effect.Effect<{ readonly value: A; readonly hit: boolean }, E, R>
  /**
   * The hot path: the in-process value for the namespace's current generation, synchronously,
   * counted as a hit, when it can be trusted without asking anything remote (a cache with a
   * shared L2 must read the generation from it, so it has no `peek`). undefined: not cached here
   * or not fresh; ask `getOrCompute`, which counts the miss.
   */
  readonly peek?: ((namespace: string, key: string) => A | undefined) | undefined
  /**
   * `peek` for a cache with a shared L2: the in-process value, counted as a hit, when the L2 says
   * in one round trip that its generation is still current, with no fiber of its own. undefined
   * (nothing counted) whenever `getOrCompute` must decide: not in process, a write running, the L2
   * failing or just restarted. It never waits longer than the L2's deadline and never rejects.
   */
  readonly peekShared?: ((namespace: string, key: string) => Promise<A | undefined>) | undefined
}

export interface EmbeddingCache {
  /**
   * One key, answered synchronously where the answer needs no I/O: its vector, or null when no
   * tier holds it (both counted as getMany counts them); undefined when only getMany can tell
   * (a shared L2 may hold it). Absent on a cache that cannot answer so.
   */
  readonly peek?: ((key: string) => Float32Array | null | undefined) | undefined
  /** One slot per key, undefined where nothing is cached. */
  readonly getMany: (keys: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Float32Array | undefined>>
  readonly setMany: (entries: ReadonlyArray<readonly [key: string, vector: Float32Array]>) => Effect.Effect<void>
}

export interface MemoryCacheService {
  readonly searches: NamespacedCache<CachedSearch>
  /** None is cached too: a later write to the namespace moves its generation on. */
  readonly records: NamespacedCache<Option.Option<MemoryRecord>>
  readonly embeddings: EmbeddingCache
  /**
   * Runs a write to these namespaces: while it runs their cached values are
   * neither served nor stored (on every instance sharing the L2), and once it
   * is over they are unreachable, unless `changed` says the write changed
   * nothing (a failed write counts as changed: it may have committed). Never
   * fails because the L2 does: an invalidation that cannot reach it is kept and
   * retried before this instance uses the L2 again.
   */
  readonly writing: <A, E, R>(
    namespaces: ReadonlyArray<string>,
    write: Effect.Effect<A, E, R>,
    changed?: (a: A) => boolean
  ) => Effect.Effect<A, E, R>
  /** Makes every cached search and record of the namespace unreachable. Call after a write is durable, before acknowledging it; prefer `writing`. */
  readonly invalidate: (namespace: string) => Effect.Effect<void>
  readonly stats: Effect.Effect<Readonly<Record<CacheName, CacheStats>>>
  /** Evicts least recently used entries until the caches hold at most `targetBytes`; answers the bytes freed. */
  readonly shed: (targetBytes: number) => Effect.Effect<number>
  /** The byte budget over all three caches. */
  readonly maxBytes: number
}

export class MemoryCache extends Context.Tag("agent-memory/MemoryCache")<MemoryCache, MemoryCacheService>() {}
