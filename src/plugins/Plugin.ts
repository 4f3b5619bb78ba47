/**
 * The plugin contract. A plugin names a port and builds a Layer for it from
 * its own configuration. Built-in providers are plugins too (layers/builtins.ts);
 * external ones are ES modules listed in MEMORY_PLUGINS whose default export is
 * a plugin or an array of plugins:
 *
 *   export default { port: "store", name: "my-store", description: "…", layer: ({ dimensions }) => MyStore.layer(…) }
 */
import type { ConfigError, Layer } from "effect"
import type { DimensionMismatch, EmbeddingFailed, StoreUnavailable } from "../domain/errors.ts"
import type { Embedder } from "../ports/Embedder.ts"
import type { MemoryStore } from "../ports/MemoryStore.ts"
import type { Reranker } from "../ports/Reranker.ts"

/** What a provider may fail with while starting. */
export type ProviderStartError = ConfigError.ConfigError | StoreUnavailable | DimensionMismatch | EmbeddingFailed

export interface StoreContext {
  /** The embedder's vector width, which the store's vectors must have. */
  readonly dimensions: number
  /** The embedder's `exactSearch`: a store whose index is not configured searches exactly when true. */
  readonly exactSearch?: boolean | undefined
}

export interface StorePlugin {
  readonly port: "store"
  readonly name: string
  readonly description?: string | undefined
  readonly layer: (context: StoreContext) => Layer.Layer<MemoryStore, ProviderStartError>
}

export interface EmbedderPlugin {
  readonly port: "embedder"
  readonly name: string
  readonly description?: string | undefined
  readonly layer: () => Layer.Layer<Embedder, ProviderStartError>
}

/** An optional search stage, chosen by MEMORY_RERANKER (none by default). */
export interface RerankerPlugin {
  readonly port: "reranker"
  readonly name: string
  readonly description?: string | undefined
  readonly layer: () => Layer.Layer<Reranker, ProviderStartError>
}

export type Plugin = StorePlugin | EmbedderPlugin | RerankerPlugin
