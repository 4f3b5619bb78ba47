/**
 * Ground truth by exact search, split over worker threads (one per core): the
 * rows are shared with the workers, not copied.
 */
import { createRequire } from "node:module"
import { availableParallelism } from "node:os"
import { dirname, join } from "node:path"
import { pathToFileURL } from "node:url"
import { Worker } from "node:worker_threads"
import { Effect } from "effect"
import type { Dataset } from "./dataset.ts"
import type { ExactInput, ExactOutput } from "./exactSearch.ts"

export interface GroundTruth {
  readonly k: number
  /** The true k nearest rows of query j, nearest first. */
  readonly nearest: (query: number) => Int32Array
  /** The true k nearest among rows with p1 = filterValue1(j) (1%) or p10 = filterValue10(j) (10%). */
  readonly nearestP1: (query: number) => Int32Array
  readonly nearestP10: (query: number) => Int32Array
  readonly filtered: number
}

// Workers run TypeScript through tsx's ESM loader, as the bench itself does (also under vitest).
const tsxApi = () => {
  const root = dirname(createRequire(import.meta.url).resolve("tsx/package.json"))
  return pathToFileURL(join(root, "dist/esm/api/index.mjs")).href
}
const bootstrap = (file: string) =>
  `import(${JSON.stringify(tsxApi())}).then(({ register }) => { register(); return import(${JSON.stringify(file)}) })`

const runWorker = (input: ExactInput) =>
  Effect.async<ExactOutput, Error>((resume) => {
    const worker = new Worker(bootstrap(new URL("./exactSearchWorker.ts", import.meta.url).href), { eval: true, workerData: input })
    worker.once("message", (out: ExactOutput) => resume(Effect.succeed(out)))
    worker.once("error", (error) => resume(Effect.fail(error)))
    return Effect.promise(() => worker.terminate())
  })

export const compute = (data: Dataset, options: { readonly k: number; readonly filtered: number }) =>
  Effect.gen(function*() {
    const workers = Math.max(1, Math.min(availableParallelism(), 8))
    const share = Math.ceil(data.queries / workers / 4) * 4
    const parts = Array.from({ length: workers }, (_, w) => ({ from: w * share, to: Math.min(data.queries, (w + 1) * share) }))
      .filter((p) => p.from < p.to)
    const outputs = yield* Effect.forEach(parts, (part) =>
      runWorker({
        vectors: data.vectors,
        dims: data.dims,
        rows: data.rows,
        queryVectors: data.queryVectors,
        p1: data.p1,
        p10: data.p10,
        k: options.k,
        filtered: options.filtered,
        ...part
      }), { concurrency: "unbounded" })
    const { k } = options
    const at = (field: keyof ExactOutput) => (query: number) => {
      const w = Math.floor(query / share)
      const local = query - parts[w]!.from
      return outputs[w]![field].subarray(local * k, (local + 1) * k)
    }
    return { k, nearest: at("all"), nearestP1: at("p1"), nearestP10: at("p10"), filtered: options.filtered } satisfies GroundTruth
  })

/** recall@k of one answer: the share of the true k nearest that it holds. */
export const recallOf = (truth: Int32Array, answered: ReadonlyArray<number>) => {
  const wanted = new Set<number>()
  for (const row of truth) if (row >= 0) wanted.add(row)
  if (wanted.size === 0) return 1
  let found = 0
  for (const row of answered) if (wanted.has(row)) found++
  return found / wanted.size
}
