/**
 * The in-process L1: one lru-cache per cache (entry count and TTL bounds), and
 * one byte budget over all three. lru-cache bounds each cache's bytes itself;
 * the shared budget is kept by evicting the least recently used entries of the
 * largest cache after every write, so the total never stays above it.
 */
import { LRUCache } from "lru-cache"
import type { CacheName } from "../../src/ports/MemoryCache.ts"

export interface LruTierOptions {
  readonly entries: Readonly<Record<CacheName, number>>
  readonly maxBytes: number
  readonly ttlMs: number
}

export interface Sized {
  readonly bytes: number
}

export interface TierCounters {
  evictions: number
}

export class LruTier {
  readonly caches: Readonly<Record<CacheName, LRUCache<string, Sized & object>>>
  readonly counters: Record<CacheName, TierCounters> = {
    searches: { evictions: 0 },
    records: { evictions: 0 },
    embeddings: { evictions: 0 }
  }

  constructor(readonly options: LruTierOptions) {
    const make = (name: CacheName) =>
      new LRUCache<string, Sized & object>({
        // lru-cache needs a positive max; a size of 0 turns the cache off in `enabled`.
        max: Math.max(1, options.entries[name]),
        maxSize: Math.max(1, options.maxBytes),
        sizeCalculation: (value) => Math.max(1, value.bytes),
        ttl: options.ttlMs,
        ttlAutopurge: false,
        updateAgeOnGet: false,
        dispose: (_value, _key, reason) => {
          if (reason === "evict") this.counters[name].evictions++
        }
      })
    this.caches = { searches: make("searches"), records: make("records"), embeddings: make("embeddings") }
  }

  enabled(name: CacheName): boolean {
    return this.options.entries[name] > 0 && this.options.maxBytes > 0
  }

  get<A extends Sized & object>(name: CacheName, key: string): A | undefined {
    return this.enabled(name) ? (this.caches[name].get(key) as A | undefined) : undefined
  }

  /** `ttlMs` shortens the cache's TTL for this entry (a value that must not outlive a record's expiry). */
  set<A extends Sized>(name: CacheName, key: string, value: A, ttlMs?: number): void {
    if (!this.enabled(name)) return
    this.caches[name].set(key, value, ttlMs === undefined || ttlMs >= this.options.ttlMs ? undefined : { ttl: Math.max(1, Math.ceil(ttlMs)) })
    this.shed(this.options.maxBytes)
  }

  bytes(): number {
    let total = 0
    for (const cache of Object.values(this.caches)) total += cache.calculatedSize
    return total
  }

  /** Evicts LRU entries, largest cache first, until at most `targetBytes` remain; answers the bytes freed. */
  shed(targetBytes: number): number {
    const before = this.bytes()
    let total = before
    while (total > targetBytes) {
      let largest: CacheName | undefined
      for (const name of Object.keys(this.caches) as Array<CacheName>) {
        if (this.caches[name].size > 0 && (!largest || this.caches[name].calculatedSize > this.caches[largest].calculatedSize)) {
          largest = name
        }
      }
      if (!largest) break
      const cache = this.caches[largest]
      const size = cache.calculatedSize
      cache.pop() // counted as an eviction by `dispose`
      total -= size - cache.calculatedSize
    }
    return before - total
  }
}
