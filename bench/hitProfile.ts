/**
 * The in-process cost of a search-cache hit through the library composition
 * (layers/app.ts: Memory over the traced tiered cache, the cached embedder and
 * a store): N hits of a working set of queries, mean and p50 in µs. Run under
 * `node --cpu-prof --import tsx bench/hitProfile.ts [memory|pglite] [N]` for a profile.
 * With REDIS_URL set, the cache has its Redis L2 (a hit then asks Redis for the namespace's generation).
 */
import { Effect, Layer, Redacted } from "effect"
import * as AgentMemory from "../layers/app.ts"
import * as TieredCache from "../layers/cache/TieredCache.ts"
import * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
import * as InMemoryStore from "../layers/store/memory/InMemoryStore.ts"
import { SearchRequest } from "../src/domain/Search.ts"
import { Memory } from "../src/memory/Memory.ts"

const storeName = process.argv[2] ?? "memory"
const count = Number(process.argv[3] ?? 200_000)
const dimensions = 384
const redisUrl = process.env["REDIS_URL"]

const store = storeName === "pglite"
  ? (ctx: { dimensions: number }) =>
    Layer.unwrapEffect(Effect.promise(() => import("../layers/store/pglite/PgliteStore.ts")).pipe(
      Effect.map((P) => P.layer({ dataDir: "memory://", dimensions: ctx.dimensions } as Parameters<typeof P.layer>[0]))
    ))
  : (ctx: { dimensions: number }) => InMemoryStore.layer({ dimensions: ctx.dimensions })

const program = Effect.gen(function*() {
  const memory = yield* Memory
  for (let i = 0; i < 200; i++) yield* memory.store({ content: `note ${i}: the cat sat on mat number ${i} near the river`, namespace: "bench" } as never)
  const queries = Array.from({ length: 50 }, (_, i) => new SearchRequest({ query: `where is mat ${i}`, namespace: "bench", k: 10 }))
  for (const q of queries) yield* memory.search(q)
  const samples = new Float64Array(count)
  const cpu = process.cpuUsage()
  const started = performance.now()
  for (let i = 0; i < count; i++) {
    const t = performance.now()
    const r = yield* memory.search(queries[i % queries.length]!)
    samples[i] = performance.now() - t
    if (!r.cached) return yield* Effect.dieMessage("expected a hit")
  }
  const total = performance.now() - started
  const used = process.cpuUsage(cpu)
  samples.sort()
  const us = (ms: number) => (ms * 1000).toFixed(1)
  console.log(`${storeName}${redisUrl ? " + Redis L2" : ""}: ${count} hits, mean ${us(total / count)} µs (loop), p50 ${us(samples[count >> 1]!)} µs, p99 ${us(samples[Math.floor(count * 0.99)]!)} µs, CPU ${((used.user + used.system) / count).toFixed(1)} µs a hit`)
})

Effect.runPromise(program.pipe(
  Effect.provide(AgentMemory.layer({
    embedder: HashingEmbedder.layer({ dimensions }),
    store,
    ...(redisUrl ? { cache: TieredCache.layer({ ...TieredCache.defaultOptions, redis: { url: Redacted.make(redisUrl), prefix: `hitprofile-${process.pid}:` } }) } : {})
  })),
  Effect.scoped
)).then(() => process.exit(0), (e) => {
  console.error(e)
  process.exit(1)
})
