/**
 * The Store port: where records and their vectors live, and how they are found
 * again. Providers: `pglite` (embedded), `pgvector` (a PostgreSQL server),
 * `memory` (in-process), or a plugin's. All pass test/store.conformance.ts.
 */
import { Context, type Effect, type Option } from "effect"
import type { DimensionMismatch, IdConflict, StoreUnavailable } from "../domain/errors.ts"
import type { MetadataFilter } from "../domain/Filter.ts"
import type { MemoryKind, MemoryRecord } from "../domain/Memory.ts"

/** A record ready to be written: the Memory service has filled in id, hash and times. */
export interface NewRecord {
  readonly record: MemoryRecord
  readonly embedding: Float32Array
}

export interface InsertOutcome {
  /** The stored record: the new one, or the one already holding the same content. */
  readonly record: MemoryRecord
  readonly deduplicated: boolean
}

export interface VectorQuery {
  readonly namespace: string
  readonly embedding: Float32Array
  readonly k: number
  readonly minScore: number
  readonly kinds?: ReadonlyArray<MemoryKind> | undefined
  /** Every one of these tags must be present. */
  readonly tags?: ReadonlyArray<string> | undefined
  readonly sessionId?: string | undefined
  readonly filter?: MetadataFilter | undefined
}

export interface ScoredRecord {
  readonly record: MemoryRecord
  /** Cosine similarity clamped to [0, 1]. */
  readonly score: number
}

export interface MemoryStoreService {
  /** The provider's name, for stats and spans. */
  readonly provider: string
  /** The width of the vectors this store holds. */
  readonly dimensions: number
  /**
   * Writes records atomically: all or none. A record whose (namespace, kind,
   * content hash) is already stored (kind ≠ message) is not written again; its
   * outcome names the existing record. Returns once the write is durable.
   */
  readonly insert: (
    records: ReadonlyArray<NewRecord>
  ) => Effect.Effect<ReadonlyArray<InsertOutcome>, StoreUnavailable | IdConflict | DimensionMismatch>
  readonly get: (namespace: string, id: string) => Effect.Effect<Option.Option<MemoryRecord>, StoreUnavailable>
  /** True when a record was deleted. */
  readonly delete: (namespace: string, id: string) => Effect.Effect<boolean, StoreUnavailable>
  /** Nearest records by cosine similarity, best first; expired records never appear. */
  readonly search: (query: VectorQuery) => Effect.Effect<ReadonlyArray<ScoredRecord>, StoreUnavailable | DimensionMismatch>
  /** Succeeds when the store answers and its schema is in place. */
  readonly ping: Effect.Effect<void, StoreUnavailable>
}

export class MemoryStore extends Context.Tag("agent-memory/MemoryStore")<MemoryStore, MemoryStoreService>() {}
