/**
 * The shared L2 in Redis (ioredis). It holds search results and records tagged
 * with their namespace generation, the generations themselves, and embeddings
 * as raw float32 bytes. Every call has a deadline; a failure is reported to the
 * caller, which carries on without the L2 (Redis down never fails a request).
 *
 * A generation is a random token, not a counter: if Redis evicts or loses it, a
 * fresh token is made, and values tagged with an older one never match again.
 */
import { randomUUID } from "node:crypto"
import { Data, Duration, Effect, Redacted } from "effect"
import { Redis } from "ioredis"

export class RedisUnavailable extends Data.TaggedError("RedisUnavailable")<{ readonly message: string }> {}

export interface RedisTierOptions {
  readonly url: Redacted.Redacted
  /** Prefix of every key, so several deployments can share one Redis. */
  readonly prefix: string
  readonly ttl: Duration.Duration
  /** Deadline of each call. */
  readonly timeout: Duration.Duration
}

export const make = (options: RedisTierOptions) =>
  Effect.gen(function*() {
    const redis = yield* Effect.acquireRelease(
      Effect.sync(() =>
        new Redis(Redacted.value(options.url), {
          // Fail fast while disconnected instead of queueing behind a dead server.
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          commandTimeout: Duration.toMillis(options.timeout),
          connectTimeout: Math.max(1000, Duration.toMillis(options.timeout)),
          retryStrategy: (attempt) => Math.min(2000, attempt * 100),
          lazyConnect: false
        })
      ),
      (redis) => Effect.promise(() => redis.quit().catch(() => redis.disconnect()))
    )
    // Errors are seen per call; without a listener ioredis would print each reconnect failure.
    redis.on("error", () => {})
    yield* Effect.promise(() => new Promise<void>((resolve) => {
      // Wait briefly for the first connection; if Redis is down, start anyway on the L1.
      const done = () => resolve()
      redis.once("ready", done)
      setTimeout(done, Math.max(1000, Duration.toMillis(options.timeout)))
    }))
    if (redis.status !== "ready") yield* Effect.logWarning(`Redis at ${redis.options.host}:${redis.options.port} is not answering; caching in process only until it does`)

    const ttlMs = Duration.toMillis(options.ttl)
    const call = <A>(what: string, run: () => Promise<A>) =>
      Effect.tryPromise({
        try: run,
        catch: (cause) => new RedisUnavailable({ message: `${what}: ${cause instanceof Error ? cause.message : String(cause)}` })
      }).pipe(
        Effect.timeoutFail({
          duration: options.timeout,
          onTimeout: () => new RedisUnavailable({ message: `${what}: no answer within ${Duration.format(options.timeout)}` })
        })
      )

    const generationKey = (namespace: string) => `${options.prefix}gen:${namespace}`
    const valueKey = (cache: string, namespace: string, key: string) => `${options.prefix}${cache}:${namespace}:${key}`
    const embeddingKey = (key: string) => `${options.prefix}emb:${key}`

    /** The namespace's generation and, in the same round trip, the value stored under `key` with the generation it was made for. */
    const read = (cache: string, namespace: string, key: string) =>
      call("read", async () => {
        const [generation, stored] = await redis.mget(generationKey(namespace), valueKey(cache, namespace, key))
        if (generation != null) return { generation, stored: stored ?? null }
        await redis.set(generationKey(namespace), randomUUID(), "NX")
        return { generation: (await redis.get(generationKey(namespace))) ?? "", stored: null }
      })

    const write = (cache: string, namespace: string, key: string, generation: string, json: string) =>
      call("write", () => redis.set(valueKey(cache, namespace, key), `${generation}\n${json}`, "PX", ttlMs))

    const nextGeneration = (namespace: string) => call("invalidate", () => redis.set(generationKey(namespace), randomUUID()))

    const getEmbeddings = (keys: ReadonlyArray<string>) =>
      call("embeddings read", () => redis.mgetBuffer(...keys.map(embeddingKey)))

    const setEmbeddings = (entries: ReadonlyArray<readonly [string, Float32Array]>) =>
      call("embeddings write", () => {
        const pipeline = redis.pipeline()
        for (const [key, vector] of entries) {
          pipeline.set(embeddingKey(key), Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength), "PX", ttlMs)
        }
        return pipeline.exec()
      })

    return { read, write, nextGeneration, getEmbeddings, setEmbeddings, client: redis } as const
  })

export type RedisTier = Effect.Effect.Success<ReturnType<typeof make>>

/** A stored value is `generation \n json`; it counts only for the generation it names. */
export const parseStored = (stored: string | null, generation: string): string | undefined => {
  if (stored === null) return undefined
  const newline = stored.indexOf("\n")
  return newline > 0 && stored.slice(0, newline) === generation ? stored.slice(newline + 1) : undefined
}

/** Float32 bytes from Redis as a Float32Array of its own (Buffers from a pool may be misaligned). */
export const toVector = (bytes: Buffer): Float32Array => {
  const vector = new Float32Array(bytes.byteLength / 4)
  new Uint8Array(vector.buffer).set(bytes)
  return vector
}
