/**
 * Batch ingestion as a Stream: items are checked one by one, grouped into
 * batches (one embedding request and one INSERT each), and the batches run
 * with bounded concurrency; the stream pulls no faster than batches complete,
 * so memory does not grow with the input. Every item gets an outcome: stored,
 * duplicate, or failed with its typed error; one bad item never loses others.
 * A store that goes down mid-stream fails the batches it could not take
 * (StoreUnavailable each) and the summary still answers; only a batch of which
 * every item failed because the store is down is itself a StoreUnavailable.
 */
import { Effect, Either, Schema, Stream } from "effect"
import { BatchFailure, BatchResult, MAX_LISTED_FAILURES } from "../domain/Batch.ts"
import { describeParseError } from "../domain/describeParseError.ts"
import { Forbidden, InvalidInput, StoreUnavailable } from "../domain/errors.ts"
import { DEFAULT_NAMESPACE, type MemoryKind, StoreMemoryRequest } from "../domain/Memory.ts"
import * as Metrics from "../observability/Metrics.ts"
import type { EmbedderService } from "../ports/Embedder.ts"
import type { MemoryCacheService } from "../ports/MemoryCache.ts"
import type { InsertOutcome, MemoryStoreService, NewRecord } from "../ports/MemoryStore.ts"
import type { MemorySettingsShape } from "./MemorySettings.ts"
import { buildRecord } from "./records.ts"

/** One input item: a value to check, a request already checked (built in process: not decoded again), or a line that could not even be parsed. */
export type IngestItem =
  | { readonly index: number; readonly value: unknown }
  | { readonly index: number; readonly request: StoreMemoryRequest }
  | { readonly index: number; readonly error: InvalidInput }

export interface IngestDefaults {
  readonly namespace?: string | undefined
  readonly kind?: MemoryKind | undefined
  /** Which namespaces the caller may write; an item for another one fails with Forbidden. */
  readonly allow?: ((namespace: string) => boolean) | undefined
}

type Outcome =
  | { readonly index: number; readonly _tag: "stored" | "duplicate" }
  | { readonly index: number; readonly _tag: "failed"; readonly error: { readonly _tag: string; readonly message: string } }

const decode = Schema.decodeUnknownEither(StoreMemoryRequest)

export const makeIngest = (deps: {
  readonly store: MemoryStoreService
  readonly embedder: EmbedderService
  readonly cache: MemoryCacheService
  readonly settings: MemorySettingsShape
}) => {
  const { cache, embedder, settings, store } = deps

  const failAll = (indexes: ReadonlyArray<number>, error: { readonly _tag: string; readonly message: string }): Array<Outcome> =>
    indexes.map((index) => ({ index, _tag: "failed", error }))

  const fromInsert = (index: number, outcome: InsertOutcome): Outcome => ({ index, _tag: outcome.deduplicated ? "duplicate" : "stored" })

  /** One batch: embed the valid items in one request, insert them in one statement (item by item only if that conflicts). */
  const storeBatch = (items: ReadonlyArray<{ readonly index: number; readonly request: StoreMemoryRequest }>, defaults: IngestDefaults) =>
    Effect.gen(function*() {
      if (items.length === 0) return []
      const embedded = yield* Effect.either(embedder.embedMany(items.map((i) => i.request.content)))
      if (Either.isLeft(embedded)) return failAll(items.map((i) => i.index), embedded.left)
      const records: Array<NewRecord> = items.map(({ request }, i) => ({
        embedding: embedded.right[i]!,
        record: buildRecord({
          ...request,
          namespace: request.namespace ?? defaults.namespace ?? DEFAULT_NAMESPACE,
          kind: request.kind ?? defaults.kind
        }, embedder)
      }))
      // Through the cache's write guard: the namespaces stay uncached while the batch is written, then move on.
      const changed = (os: ReadonlyArray<{ readonly deduplicated: boolean }>) => os.some((o) => !o.deduplicated)
      const guarded = (rs: ReadonlyArray<NewRecord>) => cache.writing(rs.map((r) => r.record.namespace), store.insert(rs), changed)
      const inserted = yield* Effect.either(guarded(records))
      let outcomes: Array<Outcome>
      if (Either.isRight(inserted)) {
        outcomes = inserted.right.map((o, i) => fromInsert(items[i]!.index, o))
      } else if (inserted.left._tag === "StoreUnavailable") {
        return failAll(items.map((i) => i.index), inserted.left)
      } else {
        // A conflict sinks the whole statement: store item by item to find the one it belongs to.
        outcomes = yield* Effect.forEach(records, (record, i) =>
          guarded([record]).pipe(
            Effect.map(([o]): Outcome => fromInsert(items[i]!.index, o!)),
            Effect.catchAll((error): Effect.Effect<Outcome> => Effect.succeed({ index: items[i]!.index, _tag: "failed", error }))
          ))
      }
      return outcomes
    }).pipe(Effect.withSpan("Memory.ingestBatch", { attributes: { "memory.batch_size": items.length } }))

  const ingest = <E>(items: Stream.Stream<IngestItem, E>, defaults: IngestDefaults = {}) =>
    items.pipe(
      Stream.grouped(settings.batchSize),
      Stream.mapEffect((chunk) => {
        const valid: Array<{ readonly index: number; readonly request: StoreMemoryRequest }> = []
        const invalid: Array<Outcome> = []
        for (const item of chunk) {
          if ("error" in item) {
            invalid.push({ index: item.index, _tag: "failed", error: item.error })
            continue
          }
          // A StoreMemoryRequest instance passed its Schema when it was made.
          const decoded = "request" in item && item.request instanceof StoreMemoryRequest
            ? Either.right(item.request)
            : decode("request" in item ? item.request : item.value)
          if (Either.isLeft(decoded)) {
            invalid.push({ index: item.index, _tag: "failed", error: new InvalidInput({ message: describeParseError(decoded.left) }) })
            continue
          }
          const namespace = decoded.right.namespace ?? defaults.namespace ?? DEFAULT_NAMESPACE
          if (defaults.allow && !defaults.allow(namespace)) invalid.push({ index: item.index, _tag: "failed", error: Forbidden.of(namespace) })
          else valid.push({ index: item.index, request: decoded.right })
        }
        return storeBatch(valid, defaults).pipe(
          Effect.map((stored) => [...invalid, ...stored]),
          Effect.tap((outcomes) =>
            Metrics.recordIngestBatch({
              stored: outcomes.filter((o) => o._tag === "stored").length,
              duplicates: outcomes.filter((o) => o._tag === "duplicate").length,
              failed: outcomes.filter((o) => o._tag === "failed").length
            })
          )
        )
      }, { concurrency: settings.batchConcurrency }),
      Stream.runFold(
        { stored: 0, duplicates: 0, failed: [] as Array<BatchFailure>, failedCount: 0, unavailable: 0, firstUnavailable: "" },
        (acc, outcomes) => {
          for (const o of outcomes) {
            if (o._tag === "stored") acc.stored++
            else if (o._tag === "duplicate") acc.duplicates++
            else if (o._tag === "failed") {
              acc.failedCount++
              if (o.error._tag === "StoreUnavailable") {
                if (acc.unavailable++ === 0) acc.firstUnavailable = o.error.message
              }
              if (acc.failed.length < MAX_LISTED_FAILURES) {
                acc.failed.push(new BatchFailure({ index: o.index, _tag: o.error._tag, message: o.error.message }, true))
              }
            }
          }
          return acc
        }
      ),
      Effect.flatMap(({ firstUnavailable, unavailable, ...acc }) =>
        acc.failedCount > 0 && unavailable === acc.failedCount && acc.stored === 0 && acc.duplicates === 0
          ? Effect.fail(
            new StoreUnavailable({
              message: `none of the ${acc.failedCount} items was stored: ${firstUnavailable}`,
              failedCount: acc.failedCount
            })
          )
          : Effect.succeed(new BatchResult({ ...acc, failed: acc.failed.sort((a, b) => a.index - b.index) }, true))
      ),
      Effect.withSpan("Memory.ingest")
    )

  return { ingest }
}
