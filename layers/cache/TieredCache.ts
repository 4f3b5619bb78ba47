/**
 * The MemoryCache: the in-process L1 (LruTier), optionally backed by the shared
 * L2 in Redis, with namespace generations and single-flight misses.
 *
 * Without Redis a generation is a local counter. With Redis the generation is
 * read from Redis on every lookup (in the same round trip as the L2 value), so
 * a write on any instance makes cached results unreachable on all of them. If
 * Redis fails, namespaced values are computed afresh (never served unvalidated)
 * and embeddings still come from the L1; the failure is counted.
 */
import { Config, Duration, Effect, Layer, Option, type Redacted, Schema } from "effect"
import { bytes, duration } from "../../src/config/values.ts"
import { MemoryRecord } from "../../src/domain/Memory.ts"
import { SearchHit } from "../../src/domain/Search.ts"
import {
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

export const defaultOptions: TieredCacheOptions = {
  entries: { searches: 10_000, records: 10_000, embeddings: 10_000 },
  maxBytes: 256 * 1024 * 1024,
  ttl: Duration.minutes(5)
}

interface Tagged<A> {
  readonly generation: string
  readonly value: A
  readonly bytes: number
}

interface Counters {
  hits: number
  misses: number
  l2Hits: number
  l2Errors: number
}

/** What a value costs in memory, roughly: UTF-16 strings plus per-object overhead. */
const hitBytes = (hits: ReadonlyArray<SearchHit>) =>
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
const searchCodec = codec(Schema.Array(SearchHit))
const recordCodec = codec(Schema.Option(MemoryRecord))

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
    const flights = new SingleFlight()

    const l2Failed = (name: CacheName) => (error: RedisTier.RedisUnavailable) =>
      Effect.sync(() => counters[name].l2Errors++).pipe(Effect.zipRight(Effect.logDebug(`L2 ${name}: ${error.message}`)))

    const namespaced = <A>(
      name: CacheName,
      sizeOf: (a: A) => number,
      serial: { readonly encode: (a: A) => string; readonly decode: (s: string) => Option.Option<A> }
    ): NamespacedCache<A> => ({
      getOrCompute: (namespace, key, compute) =>
        Effect.gen(function*() {
          if (!l1.enabled(name)) {
            counters[name].misses++
            return { value: yield* compute, hit: false }
          }
          const l1Key = `${namespace}\u0000${key}`
          let generation: string | undefined
          let fromL2: A | undefined
          if (l2) {
            const read = yield* Effect.option(l2.read(name, namespace, key).pipe(Effect.tapError(l2Failed(name))))
            if (Option.isSome(read)) {
              const current = read.value.generation
              generation = current
              const json = RedisTier.parseStored(read.value.stored, current)
              fromL2 = json === undefined ? undefined : Option.getOrUndefined(serial.decode(json))
            }
          } else {
            generation = String(localGenerations.get(namespace) ?? 0)
          }
          // No generation (Redis failed): nothing cached can be trusted, and nothing is stored.
          if (generation === undefined) {
            counters[name].misses++
            return { value: yield* compute, hit: false }
          }
          const local = l1.get<Tagged<A>>(name, l1Key)
          if (local && local.generation === generation) {
            counters[name].hits++
            return { value: local.value, hit: true }
          }
          if (fromL2 !== undefined) {
            counters[name].hits++
            counters[name].l2Hits++
            l1.set(name, l1Key, { generation, value: fromL2, bytes: sizeOf(fromL2) } satisfies Tagged<A>)
            return { value: fromL2, hit: true }
          }
          counters[name].misses++
          const tag = generation
          const value = yield* flights.run(`${name}\u0000${tag}\u0000${l1Key}`, compute)
          l1.set(name, l1Key, { generation: tag, value, bytes: sizeOf(value) } satisfies Tagged<A>)
          if (l2) yield* l2.write(name, namespace, key, tag, serial.encode(value)).pipe(Effect.catchAll(l2Failed(name)))
          return { value, hit: false }
        })
    })

    const embeddings: MemoryCacheService["embeddings"] = {
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

    const invalidate: MemoryCacheService["invalidate"] = (namespace) =>
      Effect.gen(function*() {
        localGenerations.set(namespace, (localGenerations.get(namespace) ?? 0) + 1)
        if (l2) {
          yield* l2.nextGeneration(namespace).pipe(
            Effect.catchAll((error) =>
              Effect.sync(() => {
                counters.searches.l2Errors++
              }).pipe(Effect.zipRight(Effect.logWarning(`could not invalidate namespace ${namespace} in Redis: ${error.message}`)))
            )
          )
        }
      })

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
      searches: namespaced("searches", hitBytes, searchCodec),
      records: namespaced("records", recordBytes, recordCodec),
      embeddings,
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

