/**
 * An Embedder in front of the provider: a span and the embedding metrics
 * (requests, inputs, failures, latency) on every call that reaches it. Put it
 * under the embedding cache, so that what it counts is what the provider does.
 */
import { Effect, Layer } from "effect"
import { Embedder, type EmbedderService } from "../ports/Embedder.ts"
import { trackEmbedding } from "./Metrics.ts"

export const make = (inner: EmbedderService): EmbedderService => {
  const observed = (name: string, inputs: number) => <A, E>(call: Effect.Effect<A, E>) =>
    call.pipe(
      trackEmbedding(inner.model, inputs),
      Effect.withSpan(name, { attributes: { "embedding.model": inner.model, "embedding.inputs": inputs, "embedding.dimensions": inner.dimensions } })
    )
  return {
    model: inner.model,
    dimensions: inner.dimensions,
    embed: (text) => observed("Embedder.embed", 1)(inner.embed(text)),
    embedMany: (texts) => observed("Embedder.embedMany", texts.length)(inner.embedMany(texts))
  }
}

/** Replaces the provided Embedder with a metered one. */
export const layer: Layer.Layer<Embedder, never, Embedder> = Layer.effect(Embedder, Effect.map(Embedder, make))
