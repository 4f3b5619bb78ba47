/**
 * The Store port: where records, their vectors and key/value facts live, and
 * how they are found again. Providers: `pglite` (embedded), `pgvector` (a
 * PostgreSQL server), `memory` (in-process), or a plugin's. All pass
 * test/store.conformance.ts. Every operation is confined to one namespace.
 */
import { Context, type Effect, type Option } from "effect"
import type { DimensionMismatch, DuplicateContent, IdConflict, StoreUnavailable } from "../domain/errors.ts"
import type { FilterNode } from "../domain/Filter.ts"
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

/** Which live records of a namespace an operation applies to; every condition given must hold. */
export interface RecordSelector {
  readonly namespace: string
  readonly kinds?: ReadonlyArray<MemoryKind> | undefined
  readonly tags?: ReadonlyArray<string> | undefined
  /** `all` (default): every tag present; `any`: at least one. */
  readonly tagMatch?: "all" | "any" | undefined
  readonly sessionId?: string | undefined
  readonly filter?: FilterNode | undefined
  /** Inclusive bounds on the record's time: occurredAt when set, else createdAt. */
  readonly since?: Date | undefined
  readonly until?: Date | undefined
}

export interface VectorQuery extends RecordSelector {
  readonly embedding: Float32Array
  readonly k: number
  readonly minScore: number
}

export interface KeywordQuery extends RecordSelector {
  readonly text: string
  readonly k: number
}

export interface ScoredRecord {
  readonly record: MemoryRecord
  /** In [0, 1]: cosine similarity (clamped) for vector search, a normalised text rank for keyword search. */
  readonly score: number
}

/** Fields an update changes; the Memory service re-embeds when content changes. */
export interface RecordPatch {
  readonly content?: { readonly text: string; readonly hash: string; readonly embedding: Float32Array; readonly model: string } | undefined
  readonly kind?: MemoryKind | undefined
  readonly tags?: ReadonlyArray<string> | undefined
  readonly metadata?: Record<string, unknown> | undefined
  /** null clears the expiry. */
  readonly expiresAt?: Date | null | undefined
  readonly updatedAt: Date
}

export interface KvEntry {
  readonly namespace: string
  readonly key: string
  readonly value: unknown
  readonly createdAt: Date
  readonly updatedAt: Date
  readonly expiresAt: Date | null
}

export interface MemoryStoreService {
  /** The provider's name, for stats and spans. */
  readonly provider: string
  /** The width of the vectors this store holds. */
  readonly dimensions: number
  /**
   * Rows one insert may take when batch ingestion coalesces embedded batches into
   * fewer, larger transactions; unset = one insert per embedding batch. Set only by
   * stores whose other writers do not wait behind a long transaction (not PGlite's one session).
   */
  readonly writeBatchRows?: number | undefined
  /**
   * Writes records atomically: all or none. A record whose (namespace, kind,
   * content hash) is already stored (kind ≠ message) is not written again; its
   * outcome names the existing record. Returns once the write is durable.
   */
  readonly insert: (
    records: ReadonlyArray<NewRecord>
  ) => Effect.Effect<ReadonlyArray<InsertOutcome>, StoreUnavailable | IdConflict | DimensionMismatch>
  /** Deletes the records the selector matches and inserts these, atomically (re-ingesting a document). */
  readonly replace: (
    selector: RecordSelector,
    records: ReadonlyArray<NewRecord>
  ) => Effect.Effect<ReadonlyArray<InsertOutcome>, StoreUnavailable | IdConflict | DimensionMismatch>
  /** None when there is no live record with that id. */
  readonly update: (
    namespace: string,
    id: string,
    patch: RecordPatch
  ) => Effect.Effect<Option.Option<MemoryRecord>, StoreUnavailable | DuplicateContent | DimensionMismatch>
  readonly get: (namespace: string, id: string) => Effect.Effect<Option.Option<MemoryRecord>, StoreUnavailable>
  /** True when a record was deleted. */
  readonly delete: (namespace: string, id: string) => Effect.Effect<boolean, StoreUnavailable>
  /** Deletes what the selector matches; answers how many. */
  readonly deleteWhere: (selector: RecordSelector) => Effect.Effect<number, StoreUnavailable>
  /** Live records the selector matches, by their time (occurredAt, else createdAt; oldest first unless `newestFirst`). */
  readonly list: (
    selector: RecordSelector,
    options: { readonly limit: number; readonly newestFirst?: boolean | undefined }
  ) => Effect.Effect<ReadonlyArray<MemoryRecord>, StoreUnavailable>
  /** Nearest records by cosine similarity, best first; expired records never appear. */
  readonly search: (query: VectorQuery) => Effect.Effect<ReadonlyArray<ScoredRecord>, StoreUnavailable | DimensionMismatch>
  /** Records whose text matches any of the query's words, best first (full-text search). */
  readonly keywordSearch: (query: KeywordQuery) => Effect.Effect<ReadonlyArray<ScoredRecord>, StoreUnavailable>
  /** Deletes expired records and key/value entries; answers how many. */
  readonly deleteExpired: Effect.Effect<number, StoreUnavailable>
  readonly kvGet: (namespace: string, key: string) => Effect.Effect<Option.Option<KvEntry>, StoreUnavailable>
  readonly kvSet: (
    namespace: string,
    key: string,
    value: unknown,
    expiresAt: Date | null
  ) => Effect.Effect<KvEntry, StoreUnavailable>
  readonly kvDelete: (namespace: string, key: string) => Effect.Effect<boolean, StoreUnavailable>
  /** Succeeds when the store answers and its schema is in place. */
  readonly ping: Effect.Effect<void, StoreUnavailable>
}

export class MemoryStore extends Context.Tag("agent-memory/MemoryStore")<MemoryStore, MemoryStoreService>() {}
