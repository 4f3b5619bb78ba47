/**
 * The MemoryCache: the in-process L1 (LruTier), optionally backed by the shared
 * L2 in Redis, with namespace generations and single-flight misses.
 *
 * Without Redis a generation is a local counter. With Redis the generation is
 * read from Redis on every lookup (in the same round trip as the L2 value), so
 * a write on any instance makes cached results unreachable on all of them. If
 * Redis fails, namespaced values are computed afresh (never served unvalidated)
 * and embeddings still come from the L1; the failure is counted.
 *
 * A write marks its namespaces in Redis before it runs (no instance serves or
 * stores their values meanwhile) and moves their generations on after. A mark
 * or move that cannot reach Redis does not fail the write: the namespace is
 * kept dirty here, and its generation is moved before this instance reads the
 * L2 again (and by a retry fiber, so other instances see it soon). A Redis
 * restart invalidates everything by itself (tags carry its run id).
 */
import { randomUUID } from "node:crypto"
import { Config, Duration, Effect, Exit, Layer, Option, type Redacted, Schedule, Schema } from "effect"
import { bytes, duration } from "../../src/config/values.ts"
import { MemoryRecord } from "../../src/domain/Memory.ts"
import { SearchHit } from "../../src/domain/Search.ts"
import {
  type CachedSearch,
  type CacheName,
  type CacheStats,
  MemoryCache,
  type MemoryCacheService,
  type NamespacedCache
} from "../../src/ports/MemoryCache.ts"
import { LruTier } from "./LruTier.ts"
import * as RedisTier from "./RedisTier.ts"
import { SingleFlight } from "../../src/lib/SingleFlight.ts"

export interface TieredCacheOptions {
  readonly entries: Readonly<Record<CacheName, number>>
  readonly maxBytes: number
  readonly ttl: Duration.Duration
  readonly redis?: {
    readonly url: Redacted.Redacted
    readonly prefix?: string | undefined
    readonly timeout?: Duration.Duration | undefined
  } | undefined
}

/** How long after a failed L2 read peekShared answers undefined without asking Redis. */
const SHARED_PEEKS_OFF_MS = 1000

export const defaultOptions: TieredCacheOptions = {
  entries: { searches: 10_000, records: 10_000, embeddings: 10_000 },
  maxBytes: 256 * 1024 * 1024,
  ttl: Duration.minutes(5)
}

interface Tagged<A> {
  readonly generation: string
  readonly value: A
  /** ms since the epoch; null: no expiry of its own. */
  readonly validUntil: number | null
  readonly bytes: number
}

interface Counters {
  hits: number
  misses: number
  l2Hits: number
  l2Errors: number
}

/** What a value costs in memory, roughly: UTF-16 strings plus per-object overhead. */
const searchBytes = ({ hits }: CachedSearch) =>
  hits.reduce((sum, h) => sum + 2 * (h.content.length + h.id.length + JSON.stringify(h.metadata).length) + 240, 64)
const recordBytes = (record: Option.Option<MemoryRecord>) =>
  Option.match(record, {
    onNone: () => 32,
    onSome: (r) => 2 * (r.content.length + r.id.length + JSON.stringify(r.metadata).length) + 400
  })

const codec = <A, I>(schema: Schema.Schema<A, I>) => {
  const encode = Schema.encodeSync(schema)
  const decode = Schema.decodeUnknownOption(Schema.parseJson(schema))
  return { encode: (a: A) => JSON.stringify(encode(a)), decode }
}
const searchCodec = codec(Schema.Struct({ hits: Schema.Array(SearchHit), validUntil: Schema.NullOr(Schema.Date) }))
const recordCodec = codec(Schema.Option(MemoryRecord))

const searchValidUntil = (s: CachedSearch) => s.validUntil?.getTime() ?? null
const recordValidUntil = (r: Option.Option<MemoryRecord>) =>
  Option.match(r, { onNone: () => null, onSome: (record) => record.expiresAt?.getTime() ?? null })

export const make = (options: TieredCacheOptions) =>
  Effect.gen(function*() {
    const l1 = new LruTier({ entries: options.entries, maxBytes: options.maxBytes, ttlMs: Duration.toMillis(options.ttl) })
    const l2 = options.redis
      ? yield* RedisTier.make({
        url: options.redis.url,
        prefix: options.redis.prefix ?? "agent-memory:",
        ttl: options.ttl,
        timeout: options.redis.timeout ?? Duration.millis(250)
      })
      : undefined
    const counters: Record<CacheName, Counters> = {
      searches: { hits: 0, misses: 0, l2Hits: 0, l2Errors: 0 },
      records: { hits: 0, misses: 0, l2Hits: 0, l2Errors: 0 },
      embeddings: { hits: 0, misses: 0, l2Hits: 0, l2Errors: 0 }
    }
    const localGenerations = new Map<string, number>()
    const bumpLocal = (namespace: string) => localGenerations.set(namespace, (localGenerations.get(namespace) ?? 0) + 1)
    const flights = new SingleFlight()
    // Namespaces whose generation could not be moved in Redis, with the write marks that may be left there.
    const dirty = new Map<string, Set<string>>()
    // Namespaces with a write running here whose mark may not have reached Redis: not cached here meanwhile.
    const unmarked = new Map<string, number>()
    // Until then peekShared leaves every lookup to getOrCompute (an L2 read just failed).
    let sharedPeeksOffUntil = 0

    const l2Failed = (name: CacheName) => (error: RedisTier.RedisUnavailable) =>
      Effect.sync(() => counters[name].l2Errors++).pipe(Effect.zipRight(Effect.logDebug(`L2 ${name}: ${error.message}`)))

    const markDirty = (namespace: string, writeIds: ReadonlyArray<string>) => {
      const marks = dirty.get(namespace) ?? new Set<string>()
      for (const id of writeIds) marks.add(id)
      dirty.set(namespace, marks)
    }

    /** Moves on every dirty generation; fails (and keeps the rest dirty) at the first that Redis does not take. */
    const flushDirty = (tier: RedisTier.RedisTier) =>
      Effect.forEach([...dirty], ([namespace, marks]) =>
        tier.endWrites(namespace, [...marks], true).pipe(
          Effect.tap(() => Effect.sync(() => dirty.get(namespace) === marks && dirty.delete(namespace)))
        ), { discard: true })

    if (l2) {
      yield* Effect.gen(function*() {
        if (dirty.size === 0) return
        yield* flushDirty(l2)
        yield* Effect.logInfo("Redis answers again: generations that could not be moved while it was away are moved now")
      }).pipe(
        Effect.catchAll(() => Effect.void),
        Effect.repeat(Schedule.spaced("200 millis")),
        Effect.interruptible,
        Effect.forkScoped
      )
    }

    /** The tag values of this namespace must match now: undefined when nothing may be served or stored. */
    const currentTag = (name: CacheName, namespace: string, key: string) =>
      Effect.gen(function*() {
        if (!l2) return { tag: String(localGenerations.get(namespace) ?? 0), stored: null }
        if (unmarked.has(namespace)) return undefined
        const read = yield* Effect.either(
          (dirty.size === 0 ? Effect.void : flushDirty(l2)).pipe(Effect.zipRight(l2.read(name, namespace, key)))
        )
        if (read._tag === "Left") {
          yield* l2Failed(name)(read.left)
          return undefined
        }
        return read.right._tag === "Writing" ? undefined : read.right
      })

    const namespaced = <A>(
      name: CacheName,
      sizeOf: (a: A) => number,
      serial: { readonly encode: (a: A) => string; readonly decode: (s: string) => Option.Option<A> },
      validUntil: (a: A) => number | null
    ): NamespacedCache<A> => {
      /** Into the L1 until the value's own expiry or the TTL; a value already expired is not kept. */
      const keep = (l1Key: string, tag: string, value: A) => {
        const until = validUntil(value)
        const left = until === null ? undefined : until - Date.now()
        if (left !== undefined && left <= 0) return
        l1.set(name, l1Key, { generation: tag, value, validUntil: until, bytes: sizeOf(value) } satisfies Tagged<A>, left)
      }
      // Without an L2 the generation is local, so an L1 entry of the current one is an answer (as in getOrCompute).
      const peek = l2 ? undefined : (namespace: string, key: string): A | undefined => {
        if (!l1.enabled(name)) return undefined
        const local = l1.get<Tagged<A>>(name, `${namespace}\u0000${key}`)
        if (local === undefined || local.generation !== String(localGenerations.get(namespace) ?? 0)) return undefined
        if (local.validUntil !== null && local.validUntil <= Date.now()) return undefined
        counters[name].hits++
        return local.value
      }
      // With an L2: the L1's entry when Redis says in one round trip that its generation is current,
      // decided as `lookup` decides an L1 hit; anything else is left to getOrCompute. After a failed
      // read the next second's peeks answer undefined at once, so an outage is not waited on twice.
      const peekShared = !l2 ? undefined : async (namespace: string, key: string): Promise<A | undefined> => {
        if (!l1.enabled(name) || unmarked.has(namespace) || dirty.size > 0 || Date.now() < sharedPeeksOffUntil) return undefined
        const l1Key = `${namespace}\u0000${key}`
        if (l1.get<Tagged<A>>(name, l1Key) === undefined) return undefined
        let read: RedisTier.ReadResult
        try {
          read = await l2.readNow(name, namespace, key)
        } catch {
          sharedPeeksOffUntil = Date.now() + SHARED_PEEKS_OFF_MS
          return undefined
        }
        if (read._tag === "Writing" || unmarked.has(namespace)) return undefined
        const local = l1.get<Tagged<A>>(name, l1Key)
        if (local === undefined || local.generation !== read.tag) return undefined
        if (local.validUntil !== null && local.validUntil <= Date.now()) return undefined
        counters[name].hits++
        return local.value
      }
      /** The L1, the L2 (when there is one), else the computation under the current generation. */
      const lookup = <E, R>(namespace: string, key: string, compute: Effect.Effect<A, E, R>) =>
        Effect.gen(function*() {
          const l1Key = `${namespace}\u0000${key}`
          const current = yield* currentTag(name, namespace, key)
          // No generation (Redis failed, or a write is running): nothing cached can be trusted, and nothing is stored.
          if (current === undefined) {
            counters[name].misses++
            return { value: yield* compute, hit: false }
          }
          const { tag } = current
          const now = Date.now()
          const fresh = (until: number | null) => until === null || until > now
          const local = l1.get<Tagged<A>>(name, l1Key)
          if (local && local.generation === tag && fresh(local.validUntil)) {
            counters[name].hits++
            return { value: local.value, hit: true }
          }
          const json = RedisTier.parseStored(current.stored, tag, now)
          const fromL2 = json === undefined ? undefined : Option.getOrUndefined(serial.decode(json))
          if (fromL2 !== undefined && fresh(validUntil(fromL2))) {
            counters[name].hits++
            counters[name].l2Hits++
            keep(l1Key, tag, fromL2)
            return { value: fromL2, hit: true }
          }
          counters[name].misses++
          const value = yield* flights.run(`${name}\u0000${tag}\u0000${l1Key}`, compute)
          keep(l1Key, tag, value)
          if (l2) {
            yield* l2.write(name, namespace, key, tag, validUntil(value), serial.encode(value)).pipe(Effect.catchAll(l2Failed(name)))
          }
          return { value, hit: false }
        })
      return {
        peek,
        peekShared,
        getOrCompute: (namespace, key, compute) =>
          Effect.suspend(() => {
            // Nothing cached by this name: the computation alone, without the lookup's steps.
            if (!l1.enabled(name)) {
              counters[name].misses++
              return Effect.map(compute, (value) => ({ value, hit: false }))
            }
            return lookup(namespace, key, compute)
          })
      }
    }

    const embeddings: MemoryCacheService["embeddings"] = {
      peek: (key) => {
        // As getMany: without an L1 for embeddings, the L2 is not asked either.
        if (!l1.enabled("embeddings")) {
          counters.embeddings.misses++
          return null
        }
        const vector = l1.get<{ vector: Float32Array; bytes: number }>("embeddings", key)?.vector
        if (vector !== undefined) {
          counters.embeddings.hits++
          return vector
        }
        if (l2) return undefined
        counters.embeddings.misses++
        return null
      },
      getMany: (keys) =>
        Effect.gen(function*() {
          if (!l1.enabled("embeddings")) {
            counters.embeddings.misses += keys.length
            return keys.map(() => undefined)
          }
          const found: Array<Float32Array | undefined> = keys.map((key) => l1.get<{ vector: Float32Array; bytes: number }>("embeddings", key)?.vector)
          const missing = keys.flatMap((_, i) => (found[i] === undefined ? [i] : []))
          if (l2 && missing.length > 0) {
            const stored = yield* Effect.option(
              l2.getEmbeddings(missing.map((i) => keys[i]!)).pipe(Effect.tapError(l2Failed("embeddings")))
            )
            if (Option.isSome(stored)) {
              stored.value.forEach((bytes, j) => {
                if (bytes === null || bytes.byteLength % 4 !== 0) return
                const i = missing[j]!
                const vector = RedisTier.toVector(bytes)
                found[i] = vector
                counters.embeddings.l2Hits++
                l1.set("embeddings", keys[i]!, { vector, bytes: vector.byteLength + 2 * keys[i]!.length + 48 })
              })
            }
          }
          for (const v of found) v === undefined ? counters.embeddings.misses++ : counters.embeddings.hits++
          return found
        }),
      setMany: (entries) =>
        Effect.gen(function*() {
          if (!l1.enabled("embeddings") || entries.length === 0) return
          for (const [key, vector] of entries) {
            l1.set("embeddings", key, { vector, bytes: vector.byteLength + 2 * key.length + 48 })
          }
          if (l2) yield* l2.setEmbeddings(entries).pipe(Effect.catchAll(l2Failed("embeddings")), Effect.asVoid)
        })
    }

    const invalidationFailed = (namespace: string, writeIds: ReadonlyArray<string>, error: RedisTier.RedisUnavailable) =>
      Effect.suspend(() => {
        const first = !dirty.has(namespace)
        markDirty(namespace, writeIds)
        counters.searches.l2Errors++
        // Once per namespace and outage: a stream of writes while Redis is down would flood the log.
        return first
          ? Effect.logWarning(`could not invalidate namespace ${namespace} in Redis (${error.message}); retried before this instance uses the L2 again`)
          : Effect.void
      })

    const invalidate: MemoryCacheService["invalidate"] = (namespace) =>
      Effect.gen(function*() {
        bumpLocal(namespace)
        if (l2) yield* l2.endWrites(namespace, [], true).pipe(Effect.catchAll((error) => invalidationFailed(namespace, [], error)))
      })

    const writing = <A, E, R>(
      namespaces: ReadonlyArray<string>,
      write: Effect.Effect<A, E, R>,
      changed: (a: A) => boolean = () => true
    ): Effect.Effect<A, E, R> => {
      const unique = [...new Set(namespaces)]
      // A failed write may still have committed (a connection lost after COMMIT): it counts as a change.
      const changedBy = (exit: Exit.Exit<A, E>) => Exit.isFailure(exit) || changed(exit.value)
      if (!l2) return Effect.onExit(write, (exit) => Effect.sync(() => changedBy(exit) && unique.forEach(bumpLocal)))
      const writeId = randomUUID()
      const unmark = (namespace: string) => {
        const n = (unmarked.get(namespace) ?? 0) - 1
        n > 0 ? unmarked.set(namespace, n) : unmarked.delete(namespace)
      }
      return Effect.acquireUseRelease(
        Effect.gen(function*() {
          for (const namespace of unique) unmarked.set(namespace, (unmarked.get(namespace) ?? 0) + 1)
          const marked = yield* Effect.forEach(unique, (namespace) => Effect.either(l2.beginWrite(namespace, writeId)), {
            concurrency: "unbounded"
          })
          // Marked in Redis: every instance (this one too) now leaves the namespace uncached until the write ends.
          unique.forEach((namespace, i) => marked[i]!._tag === "Right" && unmark(namespace))
          return marked.map((m) => m._tag === "Right")
        }),
        () => write,
        (marked, exit) =>
          Effect.forEach(unique, (namespace, i) =>
            l2.endWrites(namespace, [writeId], changedBy(exit)).pipe(
              Effect.catchAll((error) => invalidationFailed(namespace, [writeId], error)),
              Effect.ensuring(Effect.sync(() => marked[i] || unmark(namespace)))
            ), { concurrency: "unbounded", discard: true })
      )
    }

    const stats = Effect.sync(() => {
      const of = (name: CacheName): CacheStats => ({
        ...counters[name],
        evictions: l1.counters[name].evictions,
        entries: l1.caches[name].size,
        bytes: l1.caches[name].calculatedSize
      })
      return { searches: of("searches"), records: of("records"), embeddings: of("embeddings") }
    })

    return {
      searches: namespaced("searches", searchBytes, searchCodec, searchValidUntil),
      records: namespaced("records", recordBytes, recordCodec, recordValidUntil),
      embeddings,
      writing,
      invalidate,
      stats,
      shed: (targetBytes) => Effect.sync(() => l1.shed(Math.max(0, targetBytes))),
      maxBytes: options.maxBytes
    } satisfies MemoryCacheService
  })

export const layer = (options: TieredCacheOptions = defaultOptions) => Layer.scoped(MemoryCache, make(options))

const entries = (name: string) =>
  Config.integer(name).pipe(
    Config.validate({ message: "must be a whole number of 0 (off) or more", validation: (n) => n >= 0 }),
    Config.withDefault(10_000)
  )

export const config: Config.Config<TieredCacheOptions> = Config.all({
  entries: Config.all({
    searches: entries("MEMORY_CACHE_QUERY_SIZE"),
    embeddings: entries("MEMORY_CACHE_EMBEDDING_SIZE"),
    records: entries("MEMORY_CACHE_RESULT_SIZE")
  }),
  maxBytes: bytes("MEMORY_CACHE_MAX_BYTES", defaultOptions.maxBytes),
  ttl: duration("MEMORY_CACHE_TTL", defaultOptions.ttl),
  redis: Config.option(Config.redacted("REDIS_URL")).pipe(
    Config.map(Option.getOrUndefined),
    Config.zipWith(Config.string("MEMORY_REDIS_PREFIX").pipe(Config.withDefault("agent-memory:")), (url, prefix) => ({ url, prefix })),
    Config.zipWith(duration("MEMORY_REDIS_TIMEOUT", Duration.millis(250)), ({ prefix, url }, timeout) =>
      url === undefined ? undefined : { url, prefix, timeout })
  )
})

export const layerConfig = (options: Config.Config<TieredCacheOptions> = config) =>
  Layer.scoped(MemoryCache, Effect.flatMap(options, make))

