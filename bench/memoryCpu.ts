/**
 * Memory.search's own CPU, without a database: the stack of layers/app.ts (caches off, the
 * precomputed embedder behind the cached, metered one, spans and statistics on) over a store
 * whose search answers 10 fixed records at once. Prints µs of this process's CPU a call,
 * calls made one after another, for Memory.search and for its parts.
 *
 *   node --import tsx bench/memoryCpu.ts [memory|embed|plan|store|all] [--calls 20000] [--rounds 3]
 *   … with `node --cpu-prof --cpu-prof-dir DIR` for the profile of one part alone
 */
import { Effect, Layer, Stream } from "effect"
import * as AgentMemory from "../layers/app.ts"
import * as TieredCache from "../layers/cache/TieredCache.ts"
import * as InMemoryStore from "../layers/store/memory/InMemoryStore.ts"
import { SearchRequest } from "../src/domain/Search.ts"
import { Memory } from "../src/memory/Memory.ts"
import { planSearch, searchKey } from "../src/memory/SearchPlan.ts"
import { Embedder } from "../src/ports/Embedder.ts"
import { MemoryStore, type ScoredRecord } from "../src/ports/MemoryStore.ts"
import * as Dataset from "./dataset.ts"
import { flagValue } from "./flags.ts"
import * as PrecomputedEmbedder from "./PrecomputedEmbedder.ts"
import * as Stack from "./stack.ts"

const part = process.argv[2] !== undefined && !process.argv[2].startsWith("--") ? process.argv[2] : "all"
const calls = Number(flagValue(process.argv, "calls") ?? 20000)
const rounds = Number(flagValue(process.argv, "rounds") ?? 3)

const data = Dataset.make({ rows: 200, dims: 384, seed: 42, clusters: 10, queries: 200 })
const vectors = new Map<string, Float32Array>()
for (let row = 0; row < data.rows; row++) vectors.set(data.texts[row]!, data.vector(row))
for (let q = 0; q < data.queries; q++) vectors.set(data.queryTexts[q]!, data.queryVector(q))

const records = InMemoryStore.make({ dimensions: data.dims })
let answer: ReadonlyArray<ScoredRecord> = []
const store = Layer.succeed(MemoryStore, { ...records, search: () => Effect.succeed(answer) })

const program = Effect.gen(function*() {
  const context = yield* Layer.build(AgentMemory.layer({
    embedder: PrecomputedEmbedder.layer(vectors, data.dims),
    store: () => store,
    cache: TieredCache.layer({ ...TieredCache.defaultOptions, entries: Stack.cachesOff })
  }))
  const memory = yield* Effect.provide(Memory, context)
  const embedder = yield* Effect.provide(Embedder, context)
  const inStore = yield* Effect.provide(MemoryStore, context)
  yield* memory.storeMany(
    Stream.fromIterable(data.texts.map((content, row) => ({ index: row, value: { content, id: data.id(row) } }))),
    { namespace: Stack.NAMESPACE }
  )
  answer = yield* records.search({ namespace: Stack.NAMESPACE, embedding: data.queryVector(0), k: 10, minScore: -1 })
  const requests = data.queryTexts.map((query) => new SearchRequest({ query, namespace: Stack.NAMESPACE, k: 10 }))
  const parts: Record<string, (i: number) => Effect.Effect<unknown, unknown>> = {
    memory: (i) => memory.search(requests[i % requests.length]!),
    embed: (i) => embedder.embed(data.queryTexts[i % data.queries]!),
    plan: (i) => Effect.sync(() => searchKey(planSearch(requests[i % requests.length]!, embedder))),
    store: () => inStore.search({ namespace: Stack.NAMESPACE, embedding: data.queryVector(0), k: 10, minScore: 0 })
  }
  for (const name of part === "all" ? Object.keys(parts) : [part]) {
    const one = parts[name]
    if (one === undefined) throw new Error(`unknown part ${name} (memory, embed, plan, store, all)`)
    const figures: Array<string> = []
    for (let round = 0; round < rounds; round++) {
      const before = process.cpuUsage()
      for (let i = 0; i < calls; i++) yield* one(i)
      const used = process.cpuUsage(before)
      figures.push(((used.user + used.system) / calls).toFixed(1))
    }
    console.log(`${name.padEnd(7)} ${figures.join(" / ")} µs of CPU a call (${rounds} rounds of ${calls})`)
  }
})

Effect.runPromise(Effect.scoped(program)).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
