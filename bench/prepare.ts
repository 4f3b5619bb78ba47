/** Builds what every scenario shares: the data, its ground truth, the text → vector map and the content hashes. */
import { Effect } from "effect"
import { contentHash } from "../src/memory/contentHash.ts"
import type { BenchContext } from "./context.ts"
import * as Dataset from "./dataset.ts"
import * as GroundTruth from "./groundTruth.ts"
import type { BenchOptions } from "./options.ts"

export interface Prepared extends BenchContext {
  readonly generateMs: number
  readonly truthMs: number
}

export const prepare = (options: BenchOptions, context: { readonly url: string | undefined; readonly prefix: string; readonly log: (line: string) => void }) =>
  Effect.gen(function*() {
    const { log } = context
    let started = performance.now()
    const data = Dataset.make({ rows: options.rows, dims: options.dims, seed: options.seed, clusters: options.clusters, queries: options.queries })
    const vectors = new Map<string, Float32Array>()
    for (let row = 0; row < data.rows; row++) vectors.set(data.texts[row]!, data.vector(row))
    for (let q = 0; q < data.queries; q++) vectors.set(data.queryTexts[q]!, data.queryVector(q))
    const hashes = data.texts.map(contentHash)
    const generateMs = performance.now() - started
    log(`data: ${data.rows.toLocaleString("en-US")} rows × ${data.dims} dims in ${data.clusters} clusters, ${data.queries} queries, seed ${data.seed} (${(generateMs / 1000).toFixed(1)} s)`)
    started = performance.now()
    const truth = yield* GroundTruth.compute(data, { k: options.k, filtered: options.filteredQueries })
    const truthMs = performance.now() - started
    log(`ground truth: exact top-${options.k} of ${data.queries} queries (and ${options.filteredQueries} filtered at 1% and 10%) in ${(truthMs / 1000).toFixed(1)} s`)
    return { options, data, truth, vectors, hashes, generateMs, truthMs, ...context } satisfies Prepared
  })
