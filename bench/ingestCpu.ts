/**
 * Where an in-process ingest spends the client's CPU: the same rows through
 * Memory.storeMany (pgvector, no vector index) at a batch setting, with this
 * process's CPU time (user + system) per row beside the wall time. When the
 * process's CPU per row approaches the wall time per row, the client is the
 * bound; the rest is the server's.
 *
 *   DATABASE_URL=… npx tsx bench/ingestCpu.ts [--rows 20000] [--batch 100x4] [--typed]
 */
import { Effect, Stream } from "effect"
import { loadavg } from "node:os"
import { StoreMemoryRequest } from "../src/domain/Memory.ts"
import type { IngestItem } from "../src/memory/Ingest.ts"
import * as Dataset from "./dataset.ts"
import * as Db from "./db.ts"
import * as PrecomputedEmbedder from "./PrecomputedEmbedder.ts"
import * as Stack from "./stack.ts"

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1]! : fallback
}

const main = async () => {
  const url = process.env["DATABASE_URL"]
  if (!url) throw new Error("DATABASE_URL is not set")
  const rows = Number(arg("rows", "20000"))
  const [size, concurrency] = arg("batch", "100x4").split("x").map(Number) as [number, number]
  const typed = process.argv.includes("--typed")
  const data = Dataset.make({ rows, dims: 384, seed: 42, clusters: 100, queries: 1 })
  const vectors = new Map<string, Float32Array>()
  for (let row = 0; row < rows; row++) vectors.set(data.texts[row]!, data.vector(row))
  const schema = "bench_ingest_cpu"
  await Db.dropSchema(url, schema)
  const items = (): Iterable<IngestItem> =>
    data.texts.map((content, index) => {
      const value = { content, id: data.id(index), metadata: data.metadata(index) }
      return typed ? { index, request: new StoreMemoryRequest(value) } : { index, value }
    })
  await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const { memory } = yield* Stack.start({
      url,
      schema,
      embedder: PrecomputedEmbedder.layer(vectors, 384),
      index: Stack.noIndex,
      batchSize: size,
      batchConcurrency: concurrency
    })
    const input = items()
    const cpu = process.cpuUsage()
    const started = performance.now()
    const result = yield* memory.storeMany(Stream.fromIterable(input), { namespace: Stack.NAMESPACE })
    const wall = (performance.now() - started) / 1000
    const used = process.cpuUsage(cpu)
    const cpuSeconds = (used.user + used.system) / 1e6
    console.log(
      `${result.stored} rows, batch ${size} × ${concurrency}${typed ? ", typed requests" : ""}: ${Math.round(rows / wall).toLocaleString("en-US")} rows/s; ` +
        `client CPU ${(cpuSeconds * 1e6 / rows).toFixed(0)} µs/row against ${(wall * 1e6 / rows).toFixed(0)} µs/row of wall time ` +
        `(${((cpuSeconds / wall) * 100).toFixed(0)}% of one core); load ${loadavg().map((l) => l.toFixed(2)).join(" ")}`
    )
  })))
  await Db.dropSchema(url, schema)
}

main().catch((e) => {
  console.error(e)
  process.exitCode = 1
})
