/**
 * Batch ingestion as a Stream: items are checked one by one, grouped into
 * batches (one embedding request and one INSERT each; a store that sets
 * writeBatchRows takes the batches embedded meanwhile in one INSERT), and the
 * batches run with bounded concurrency; the stream pulls no faster than batches complete,
 * so memory does not grow with the input. Every item gets an outcome: stored,
 * duplicate, or failed with its typed error; one bad item never loses others.
 * A store that goes down mid-stream fails the batches it could not take
 * (StoreUnavailable each) and the summary still answers; only a batch of which
 * every item failed because the store is down is itself a StoreUnavailable.
 */
import { Effect, Either, Sink, Stream } from "effect"
import { BatchFailure, BatchResult, MAX_LISTED_FAILURES } from "../domain/Batch.ts"
import { describeParseError } from "../domain/describeParseError.ts"
import { Forbidden, InvalidInput, StoreUnavailable } from "../domain/errors.ts"
import { decodeStoreMemoryRequest, DEFAULT_NAMESPACE, type MemoryKind, StoreMemoryRequest } from "../domain/Memory.ts"
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

/** Coalesced writes in flight at once (store.writeBatchRows set): two, as a live HNSW index makes one insert CPU-bound in its backend (20k rows, 2 cores: one writer 0.56x COPY vs 0.73x for four batch writes). */
const COALESCED_WRITERS = 2

type Outcome =
  | { readonly index: number; readonly _tag: "stored" | "duplicate" }
  | { readonly index: number; readonly _tag: "failed"; readonly error: { readonly _tag: string; readonly message: string } }

const decode = decodeStoreMemoryRequest

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

  type Embedded = {
    readonly outcomes: ReadonlyArray<Outcome>
    readonly indexes: ReadonlyArray<number>
    readonly records: ReadonlyArray<NewRecord>
  }

  /** One embedding batch: the valid items in one request; a failed request fails its items only. */
  const embedBatch = (
    items: ReadonlyArray<{ readonly index: number; readonly request: StoreMemoryRequest }>,
    defaults: IngestDefaults
  ): Effect.Effect<{ readonly failed: ReadonlyArray<Outcome>; readonly records: ReadonlyArray<NewRecord> }> =>
    Effect.gen(function*() {
      if (items.length === 0) return { failed: [], records: [] }
      const embedded = yield* Effect.either(embedder.embedMany(items.map((i) => i.request.content)))
      if (Either.isLeft(embedded)) return { failed: failAll(items.map((i) => i.index), embedded.left), records: [] }
      const records: Array<NewRecord> = items.map(({ request }, i) => ({
        embedding: embedded.right[i]!,
        record: buildRecord(request, { namespace: request.namespace ?? defaults.namespace ?? DEFAULT_NAMESPACE, kind: defaults.kind }, embedder)
      }))
      return { failed: [], records }
    }).pipe(Effect.withSpan("Memory.embedBatch", { attributes: { "memory.batch_size": items.length } }))

  /**
   * One write: every embedded batch that was ready when the writer became free, in one insert
   * (one transaction); in input order, so a repeat dedups against the first as within one batch.
   */
  const writeRecords = (indexes: ReadonlyArray<number>, records: ReadonlyArray<NewRecord>) =>
    Effect.gen(function*() {
      if (records.length === 0) return []
      // Through the cache's write guard: the namespaces stay uncached while the batch is written, then move on.
      const changed = (os: ReadonlyArray<{ readonly deduplicated: boolean }>) => os.some((o) => !o.deduplicated)
      const guarded = (rs: ReadonlyArray<NewRecord>) => cache.writing(rs.map((r) => r.record.namespace), store.insert(rs), changed)
      const inserted = yield* Effect.either(guarded(records))
      if (Either.isRight(inserted)) return inserted.right.map((o, i) => fromInsert(indexes[i]!, o))
      if (inserted.left._tag === "StoreUnavailable") return failAll(indexes, inserted.left)
      // A conflict sinks the whole statement: store item by item to find the one it belongs to.
      return yield* Effect.forEach(records, (record, i) =>
        guarded([record]).pipe(
          Effect.map(([o]): Outcome => fromInsert(indexes[i]!, o!)),
          Effect.catchAll((error): Effect.Effect<Outcome> => Effect.succeed({ index: indexes[i]!, _tag: "failed", error }))
        ))
    }).pipe(Effect.withSpan("Memory.ingestBatch", { attributes: { "memory.batch_size": records.length } }))

  /** One write of the embedded batches given (one or several), with every item's outcome and the batch metrics. */
  const writeBatches = (batches: ReadonlyArray<Embedded>) => {
    const outcomes: Array<Outcome> = []
    const indexes: Array<number> = []
    const records: Array<NewRecord> = []
    for (const b of batches) {
      outcomes.push(...b.outcomes)
      indexes.push(...b.indexes)
      records.push(...b.records)
    }
    return writeRecords(indexes, records).pipe(
      Effect.map((stored) => [...outcomes, ...stored]),
      Effect.tap((outcomes) =>
        Metrics.recordIngestBatch({
          stored: outcomes.filter((o) => o._tag === "stored").length,
          duplicates: outcomes.filter((o) => o._tag === "duplicate").length,
          failed: outcomes.filter((o) => o._tag === "failed").length
        })
      )
    )
  }

  /** Checks one group of items, then embeds the valid ones. */
  const checkAndEmbed = (chunk: Iterable<IngestItem>, defaults: IngestDefaults): Effect.Effect<Embedded> => {
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
    return embedBatch(valid, defaults).pipe(
      Effect.map(({ failed, records }): Embedded => ({
        outcomes: [...invalid, ...failed],
        indexes: records.length === 0 ? [] : valid.map((v) => v.index),
        records
      }))
    )
  }

  /**
   * Batches embedded and written: one write per embedding batch, batchConcurrency at once; or, when
   * the store can take larger transactions (writeBatchRows), the batches embedded while the writer
   * was busy in one write, up to that many rows (the sink's bound is the backpressure).
   */
  const written = <E>(groups: Stream.Stream<Iterable<IngestItem>, E>, defaults: IngestDefaults) => {
    if (store.writeBatchRows === undefined) {
      return groups.pipe(
        Stream.mapEffect((chunk) => Effect.flatMap(checkAndEmbed(chunk, defaults), (b) => writeBatches([b])), {
          concurrency: settings.batchConcurrency
        })
      )
    }
    const coalesce = Sink.foldWeighted({
      initial: [] as ReadonlyArray<Embedded>,
      maxCost: Math.max(store.writeBatchRows, settings.batchSize),
      cost: (_: ReadonlyArray<Embedded>, batch: Embedded) => batch.records.length,
      // Not pushed in place: the sink restarts from the same initial value for every write.
      body: (acc: ReadonlyArray<Embedded>, batch: Embedded): ReadonlyArray<Embedded> => [...acc, batch]
    })
    return groups.pipe(
      Stream.mapEffect((chunk) => checkAndEmbed(chunk, defaults), { concurrency: settings.batchConcurrency }),
      Stream.aggregate(coalesce),
      Stream.mapEffect(writeBatches, { concurrency: COALESCED_WRITERS })
    )
  }

  const ingest = <E>(items: Stream.Stream<IngestItem, E>, defaults: IngestDefaults = {}) =>
    items.pipe(
      Stream.grouped(settings.batchSize),
      (groups) => written(groups, defaults),
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
