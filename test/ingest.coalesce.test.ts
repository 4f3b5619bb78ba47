/**
 * Batch ingestion into pgvector coalesces embedded batches into fewer inserts
 * (store.writeBatchRows): the outcomes and the stored rows are those of one
 * insert per embedding batch, a repeat across two embedding batches is still
 * a duplicate, and a failed coalesced write fails exactly the items it held.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import * as AgentMemory from "../layers/app.ts"
import * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
import * as PgvectorStore from "../layers/store/pgvector/PgvectorStore.ts"
import { StoreUnavailable } from "../src/domain/errors.ts"
import { Memory } from "../src/memory/Memory.ts"
import * as MemorySettings from "../src/memory/MemorySettings.ts"
import { MemoryStore, type MemoryStoreService } from "../src/ports/MemoryStore.ts"
import { databaseUrl, freshSchema, postgresAvailable, query } from "./support/postgres.ts"

const noIndex = { vectorType: "vector" as const, index: { _tag: "none" as const }, pgSettings: {} }
const ITEMS = 250
const BAD = 42
// The same content in the first and in the second embedding batch (of 100).
const REPEATED = [7, 160]

const items = Stream.range(0, ITEMS - 1).pipe(
  Stream.map((index) => ({
    index,
    value: index === BAD ? { content: "" } : { content: REPEATED.includes(index) ? "the repeated memory" : `memory number ${index}` }
  }))
)

/** How one insert behaves, by its position (0 = first). */
type InsertHook = (n: number, store: MemoryStoreService, records: Parameters<MemoryStoreService["insert"]>[0]) => ReturnType<MemoryStoreService["insert"]>

/** Ingests `items` through a pgvector store in a fresh schema; answers the result, each insert's size and the stored contents. */
const ingestInto = (options: { readonly coalesce: boolean; readonly hook?: InsertHook }) =>
  Effect.gen(function*() {
    const url = yield* databaseUrl
    const schema = yield* freshSchema(url)
    const sizes: Array<number> = []
    const store = Layer.scoped(
      MemoryStore,
      Effect.gen(function*() {
        const real = yield* PgvectorStore.make({ url, schema, dimensions: 64, settings: noIndex })
        expect(real.writeBatchRows).toBe(1000)
        return {
          ...real,
          writeBatchRows: options.coalesce ? real.writeBatchRows : undefined,
          insert: (records) => {
            const n = sizes.push(records.length) - 1
            return options.hook ? options.hook(n, real, records) : real.insert(records)
          }
        } satisfies MemoryStoreService
      })
    )
    const result = yield* Effect.flatMap(Memory, (m) => m.storeMany(items, { namespace: "coalesce" })).pipe(
      Effect.provide(AgentMemory.layer({
        embedder: HashingEmbedder.layer({ dimensions: 64 }),
        store: () => store,
        settings: MemorySettings.layer({ batchSize: 100, batchConcurrency: 4 })
      }))
    )
    const rows = yield* query<{ content: string }>(url, `SELECT content FROM "${schema}".memories ORDER BY content`)
    return { result, sizes, contents: rows.map((r) => r.content) }
  })

// The first insert waits, so the batches embedded meanwhile are there to coalesce.
const slowFirst: InsertHook = (n, store, records) => n === 0 ? Effect.zipRight(Effect.sleep("300 millis"), store.insert(records)) : store.insert(records)

describe.skipIf(!postgresAvailable)("coalesced batch ingestion (pgvector)", () => {
  it.scopedLive("gives the outcomes and rows of one insert per embedding batch, in fewer inserts", () =>
    Effect.gen(function*() {
      const perBatch = yield* ingestInto({ coalesce: false, hook: slowFirst })
      const coalesced = yield* ingestInto({ coalesce: true, hook: slowFirst })
      expect(perBatch.result.stored).toBe(ITEMS - 2)
      expect(perBatch.result.duplicates).toBe(1)
      expect(perBatch.result.failed.map((f) => f.index)).toEqual([BAD])
      expect(coalesced.result).toEqual(perBatch.result)
      expect(coalesced.contents).toEqual(perBatch.contents)
      expect(coalesced.contents.filter((c) => c === "the repeated memory")).toHaveLength(1)
      expect(perBatch.sizes.every((s) => s <= 100)).toBe(true)
      expect(coalesced.sizes.reduce((a, b) => a + b, 0)).toBe(ITEMS - 1)
      expect(coalesced.sizes.length).toBeLessThan(perBatch.sizes.length)
      expect(Math.max(...coalesced.sizes)).toBeGreaterThan(100)
    }), 120_000)

  it.scopedLive("a coalesced write that fails (store unavailable) fails exactly its items", () =>
    Effect.gen(function*() {
      const failSecond: InsertHook = (n, store, records) =>
        n === 1 ? Effect.fail(new StoreUnavailable({ message: "store went away" })) : slowFirst(n, store, records)
      const { contents, result, sizes } = yield* ingestInto({ coalesce: true, hook: failSecond })
      expect(sizes.length).toBeGreaterThanOrEqual(2)
      const failedWrite = sizes[1]!
      expect(failedWrite).toBeGreaterThan(100)
      expect(result.stored + result.duplicates).toBe(ITEMS - 1 - failedWrite)
      expect(result.failedCount).toBe(1 + failedWrite)
      const unavailable = result.failed.filter((f) => f._tag === "StoreUnavailable").map((f) => f.index)
      // The first embedding batch (0-99, less the bad item) was written first; the failed write held what came next.
      expect(unavailable.every((i) => i >= 100)).toBe(true)
      expect(contents).toHaveLength(result.stored)
      expect(contents).toContain("memory number 0")
      expect(contents).not.toContain("memory number 100")
    }), 120_000)
})
