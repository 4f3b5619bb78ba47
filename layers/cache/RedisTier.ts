/**
 * The shared L2 in Redis (ioredis). It holds search results and records tagged
 * with their namespace generation, the generations themselves, the marks of
 * writes in progress, and embeddings as raw float32 bytes. Every call has a
 * deadline (ioredis's commandTimeout); a failure is reported to the caller, which carries on without the
 * L2 (Redis down never fails a request).
 *
 * A generation is a random token, not a counter: if Redis evicts or loses it, a
 * fresh token is made, and values tagged with an older one never match again.
 * Tags also carry the Redis server's run id, so a Redis that restarts (even
 * with its data, from an AOF or RDB file) serves none of the values stored
 * before: invalidations may have failed while it was down.
 *
 * A restart is also a moment when instances reach Redis one after another: an instance
 * still reconnecting may write and be unable to move its generations, while another
 * already serves from the new run. So after a restart (a run id other than the one last
 * seen) the namespaced values are left alone for RESTART_FENCE_MS, long enough for every
 * instance to reconnect (each retries every RECONNECT_MAX_MS at most) and move what it
 * could not. An instance cut off for longer is a partition, which this cannot see.
 *
 * Every key has a TTL: values the cache TTL, generations a day (one lost is
 * only a miss), write marks WRITE_MARK_TTL.
 */
import { createHash, randomUUID } from "node:crypto"
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

const GENERATION_TTL_MS = 24 * 60 * 60 * 1000
/** How long a write's mark holds its namespace uncached if the writer never clears it; longer than any write. */
export const WRITE_MARK_TTL_MS = 120_000
/** The longest wait between two attempts to reconnect. */
export const RECONNECT_MAX_MS = 500
/** How long after a restart nothing namespaced is served or stored: several reconnect attempts of every instance. */
export const RESTART_FENCE_MS = 4 * RECONNECT_MAX_MS

/**
 * KEYS: generation, write marks, value. ARGV: a fresh token, the generation TTL.
 * Answers [generation | nil, 1 when a write is in progress, value | nil]; makes the generation if missing.
 */
const READ = `
if redis.call('EXISTS', KEYS[2]) == 1 then return {false, 1, false} end
local g = redis.call('GET', KEYS[1])
if not g then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {ARGV[1], 0, false}
end
return {g, 0, redis.call('GET', KEYS[3])}`

/**
 * A write begins. KEYS: generation, write marks. ARGV: the write's id, WRITE_MARK_TTL.
 * The generation lapses with the mark: if the writer never ends, the namespace starts afresh.
 */
const BEGIN = `
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`

/**
 * Writes end. KEYS: generation, write marks. ARGV: "1" when they changed anything, a fresh token,
 * the generation TTL, then the writes' ids. Unchanged, the generation keeps its token (its TTL back once no write is left).
 */
const END = `
for i = 4, #ARGV do redis.call('SREM', KEYS[2], ARGV[i]) end
if ARGV[1] == '1' then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
elseif redis.call('SCARD', KEYS[2]) == 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 1`

/**
 * What a read found: a write in progress or a restart just seen (serve and store nothing), or the tag
 * to match and the value stored.
 */
export type ReadResult =
  | { readonly _tag: "Writing" }
  | { readonly _tag: "Current"; readonly tag: string; readonly stored: string | null }

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
          retryStrategy: (attempt) => Math.min(RECONNECT_MAX_MS, attempt * 100),
          lazyConnect: false
        })
      ),
      (redis) => Effect.promise(() => redis.quit().catch(() => redis.disconnect()))
    )
    // Errors are seen per call; without a listener ioredis would print each reconnect failure.
    redis.on("error", () => {})

    // The run id of the Redis we are connected to; unknown (no L2) from a disconnect until the new connection tells it.
    let runId: string | undefined
    // The run id last learned, and whether start-up is over: a run id learned after it, other than this one, is a restart.
    let lastRunId: string | undefined
    let started = false
    let fencedUntil = 0
    let connection = 0
    const learnRunId = () => {
      const mine = ++connection
      redis.info("server").then((info) => {
        if (mine !== connection || redis.status !== "ready") return
        const learned = /^run_id:(\w+)/m.exec(info)?.[1]
        if (started && learned !== lastRunId) fencedUntil = Date.now() + RESTART_FENCE_MS
        lastRunId = learned
        runId = learned
      }, () => {})
    }
    redis.on("ready", learnRunId)
    redis.on("close", () => {
      connection++
      runId = undefined
    })

    yield* Effect.promise(() => new Promise<void>((resolve) => {
      // Wait briefly for the first connection; if Redis is down, start anyway on the L1.
      const deadline = Date.now() + Math.max(1000, Duration.toMillis(options.timeout))
      const poll = () => (runId !== undefined || Date.now() > deadline ? resolve() : setTimeout(poll, 10))
      poll()
    }))
    started = true
    if (runId === undefined) yield* Effect.logWarning(`Redis at ${redis.options.host}:${redis.options.port} is not answering; caching in process only until it does`)

    const ttlMs = Duration.toMillis(options.ttl)
    // The deadline is ioredis's own commandTimeout (a timer per command): an Effect.timeout around
    // each call would race a fiber against a sleep, ~80 µs of CPU on every cache hit.
    const call = <A>(what: string, run: () => Promise<A>) =>
      Effect.tryPromise({
        try: run,
        catch: (cause) =>
          new RedisUnavailable({
            message: `${what}: ${
              cause instanceof Error
                ? cause.message === "Command timed out" ? `no answer within ${Duration.format(options.timeout)}` : cause.message
                : String(cause)
            }`
          })
      })

    /** Runs a script by its hash, sending it whole only when this Redis does not know it yet (after a restart). */
    const script = (lua: string) => {
      const sha = createHash("sha1").update(lua).digest("hex")
      return (keys: ReadonlyArray<string>, args: ReadonlyArray<string | number>): Promise<unknown> =>
        redis.evalsha(sha, keys.length, ...keys, ...args).catch((error: unknown) =>
          error instanceof Error && error.message.startsWith("NOSCRIPT") ? redis.eval(lua, keys.length, ...keys, ...args) : Promise.reject(error)
        )
    }
    const readScript = script(READ)
    const beginScript = script(BEGIN)
    const endScript = script(END)

    const generationKey = (namespace: string) => `${options.prefix}gen:${namespace}`
    const writesKey = (namespace: string) => `${options.prefix}writing:${namespace}`
    const valueKey = (cache: string, namespace: string, key: string) => `${options.prefix}${cache}:${namespace}:${key}`
    const embeddingKey = (key: string) => `${options.prefix}emb:${key}`

    /**
     * The namespace's state and, in the same atomic round trip, the value stored under `key`, as a
     * promise (for callers without a fiber: the HTTP fast path's hits); rejects when Redis fails.
     */
    const readNow = async (cache: string, namespace: string, key: string): Promise<ReadResult> => {
      const server = runId
      if (server === undefined) throw new Error("not connected")
      // Just restarted: another instance may not yet have moved a generation it could not (see above).
      if (Date.now() < fencedUntil) return { _tag: "Writing" }
      const [generation, writing, stored] = (await readScript(
        [generationKey(namespace), writesKey(namespace), valueKey(cache, namespace, key)],
        [randomUUID(), GENERATION_TTL_MS]
      )) as [string | null, number, string | null]
      return writing === 1 || generation === null
        ? { _tag: "Writing" }
        : { _tag: "Current", tag: `${server}/${generation}`, stored }
    }

    const read = (cache: string, namespace: string, key: string) => call("read", () => readNow(cache, namespace, key))

    /** Stores a value for the tag it was computed under, until `expiresAt` (ms) or the TTL, whichever is first. */
    const write = (cache: string, namespace: string, key: string, tag: string, expiresAt: number | null, json: string) => {
      const ttl = expiresAt === null ? ttlMs : Math.min(ttlMs, expiresAt - Date.now())
      if (ttl <= 0) return Effect.void
      return call("write", () => redis.set(valueKey(cache, namespace, key), `${tag}\n${expiresAt ?? ""}\n${json}`, "PX", ttl))
    }

    const beginWrite = (namespace: string, writeId: string) =>
      call("begin write", () => beginScript([generationKey(namespace), writesKey(namespace)], [writeId, WRITE_MARK_TTL_MS]))

    const endWrites = (namespace: string, writeIds: ReadonlyArray<string>, changed: boolean) =>
      call("invalidate", () =>
        endScript([generationKey(namespace), writesKey(namespace)], [changed ? "1" : "0", randomUUID(), GENERATION_TTL_MS, ...writeIds]))

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

    return { read, readNow, write, beginWrite, endWrites, getEmbeddings, setEmbeddings, client: redis } as const
  })

export type RedisTier = Effect.Effect.Success<ReturnType<typeof make>>

/**
 * A stored value is `tag \n expiresAt \n json`; it counts only for the tag it names, and only
 * before it expires (by this instance's clock).
 */
export const parseStored = (stored: string | null, tag: string, now: number): string | undefined => {
  if (stored === null) return undefined
  const first = stored.indexOf("\n")
  if (first <= 0 || stored.slice(0, first) !== tag) return undefined
  const second = stored.indexOf("\n", first + 1)
  if (second < 0) return undefined
  const expiresAt = stored.slice(first + 1, second)
  return expiresAt === "" || Number(expiresAt) > now ? stored.slice(second + 1) : undefined
}

/** Float32 bytes from Redis as a Float32Array of its own (Buffers from a pool may be misaligned). */
export const toVector = (bytes: Buffer): Float32Array => {
  const vector = new Float32Array(bytes.byteLength / 4)
  new Uint8Array(vector.buffer).set(bytes)
  return vector
}
