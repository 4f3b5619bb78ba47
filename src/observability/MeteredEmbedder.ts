/**
 * An Embedder in front of the provider: a span and the embedding metrics
 * (requests, inputs, failures, latency) on every call that reaches it. Put it
 * under the embedding cache, so that what it counts is what the provider does.
 * Metering an embedder twice is harmless: one already metered is answered as it is.
 */
import { Effect, Layer } from "effect"
import { Embedder, type EmbedderService } from "../ports/Embedder.ts"
import * as HandSpan from "./handSpan.ts"
import { trackEmbedding } from "./Metrics.ts"

const metered = new WeakSet<EmbedderService>()

export const make = (inner: EmbedderService): EmbedderService => {
  if (metered.has(inner)) return inner
  // A span made by hand (HandSpan.around): Effect.withSpan cost as much as a local embedding.
  const observed = (name: string, inputs: number) => <A, E>(call: Effect.Effect<A, E>) =>
    HandSpan.around(
      name,
      { "embedding.model": inner.model, "embedding.inputs": inputs, "embedding.dimensions": inner.dimensions },
      () => trackEmbedding(inner.model, inputs)(call)
    )
  const result: EmbedderService = {
    model: inner.model,
    dimensions: inner.dimensions,
    exactSearch: inner.exactSearch,
    embed: (text) => observed("Embedder.embed", 1)(inner.embed(text)),
    embedMany: (texts) => observed("Embedder.embedMany", texts.length)(inner.embedMany(texts))
  }
  metered.add(result)
  return result
}

/** Replaces the provided Embedder with a metered one. */
export const layer: Layer.Layer<Embedder, never, Embedder> = Layer.effect(Embedder, Effect.map(Embedder, make))
