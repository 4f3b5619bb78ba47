/** Batch ingestion: many records in one request, each with its own outcome. */
import { Schema } from "effect"
import { MemoryKind, Namespace } from "./Memory.ts"
import { strictStruct } from "./Strict.ts"

export const MAX_BATCH_ITEMS = 10_000
/** Failures listed in a batch result; past this only the count grows. */
export const MAX_LISTED_FAILURES = 10_000

/** `{items: […]}`; each item is checked on its own, so one bad item fails alone. */
export class BatchRequest extends Schema.Class<BatchRequest>("BatchRequest")(strictStruct({
  items: Schema.Array(Schema.Unknown).pipe(
    Schema.maxItems(MAX_BATCH_ITEMS, { message: () => `at most ${MAX_BATCH_ITEMS} items; send more as NDJSON` })
  ),
  namespace: Schema.optional(Namespace),
  kind: Schema.optional(MemoryKind)
})) {}

export class BatchFailure extends Schema.Class<BatchFailure>("BatchFailure")({
  /** 0-based position of the item (for NDJSON, among the non-blank lines). */
  index: Schema.Int,
  _tag: Schema.String,
  message: Schema.String
}) {}

export class BatchResult extends Schema.Class<BatchResult>("BatchResult")({
  stored: Schema.Int,
  duplicates: Schema.Int,
  failed: Schema.Array(BatchFailure),
  /** All failures, including any past the listed ones. */
  failedCount: Schema.Int
}) {}
