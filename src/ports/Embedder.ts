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
  /** One vector per text, in order. */
  readonly embedMany: (texts: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<Float32Array>, EmbeddingFailed>
  readonly embed: (text: string) => Effect.Effect<Float32Array, EmbeddingFailed>
}

export class Embedder extends Context.Tag("agent-memory/Embedder")<Embedder, EmbedderService>() {}
