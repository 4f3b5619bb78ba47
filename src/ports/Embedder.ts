/**
 * The Embedding port: text in, unit-length Float32Array vectors out.
 * Providers: `local` (offline hashing, the default), `openai`, or a plugin's.
 */
import { Context, type Effect } from "effect"
import type { EmbeddingFailed } from "../domain/errors.ts"

export interface EmbedderService {
  /** Names the vector space, e.g. `local-hash-v2` or `text-embedding-3-small`; stored with each record. */
  readonly model: string
  readonly dimensions: number
  /**
   * True when an approximate vector index loses this embedder's nearest neighbours, so stores
   * search its vectors exactly unless told otherwise (the local hashing embedder: sparse
   * vectors, where HNSW keeps half the exact top 10 at 100k records). Absent: an index serves.
   */
  readonly exactSearch?: boolean | undefined
  /** One vector per text, in order. */
  readonly embedMany: (texts: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Float32Array>, EmbeddingFailed>
  readonly embed: (text: string) => Effect.Effect<Float32Array, EmbeddingFailed>
}

export class Embedder extends Context.Tag("agent-memory/Embedder")<Embedder, EmbedderService>() {}
