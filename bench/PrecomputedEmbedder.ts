/**
 * An Embedder that answers precomputed vectors (the dataset's rows and
 * queries) by text: agent-memory's real ingest and search paths, without an
 * embedding model's cost in the figures. It counts what it is asked, so the
 * cache scenario can tell how many embedding requests the caches saved.
 */
import { Effect, Layer } from "effect"
import { EmbeddingFailed } from "../src/domain/errors.ts"
import { Embedder, type EmbedderService } from "../src/ports/Embedder.ts"

export const MODEL = "bench-precomputed"

export interface EmbedderCounts {
  /** Calls of `embed` and `embedMany` (what a remote model would see as requests). */
  requests: number
  /** Texts embedded over all calls. */
  texts: number
}

export const make = (vectors: ReadonlyMap<string, Float32Array>, dimensions: number, counts: EmbedderCounts): EmbedderService => {
  const lookup = (text: string) => {
    const vector = vectors.get(text)
    return vector ?? new EmbeddingFailed({ message: `no precomputed vector for "${text.slice(0, 40)}"` })
  }
  return {
    model: MODEL,
    dimensions,
    embed: (text) =>
      Effect.suspend(() => {
        counts.requests++
        counts.texts++
        const v = lookup(text)
        return v instanceof EmbeddingFailed ? Effect.fail(v) : Effect.succeed(v)
      }),
    embedMany: (texts) =>
      Effect.suspend(() => {
        counts.requests++
        counts.texts += texts.length
        const out: Array<Float32Array> = []
        for (const text of texts) {
          const v = lookup(text)
          if (v instanceof EmbeddingFailed) return Effect.fail(v)
          out.push(v)
        }
        return Effect.succeed(out)
      })
  }
}

export const layer = (vectors: ReadonlyMap<string, Float32Array>, dimensions: number, counts: EmbedderCounts = { requests: 0, texts: 0 }) =>
  Layer.succeed(Embedder, make(vectors, dimensions, counts))
