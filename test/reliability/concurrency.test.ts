/**
 * Concurrency (issue 10): 50 identical stores at once make one record, on every store; a
 * search that starts after a delete was acknowledged never returns the deleted record.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as AgentMemory from "../../layers/app.ts"
import * as HashingEmbedder from "../../layers/embedder/HashingEmbedder.ts"
import * as InMemoryStore from "../../layers/store/memory/InMemoryStore.ts"
import * as PgliteStore from "../../layers/store/pglite/PgliteStore.ts"
import * as PgvectorStore from "../../layers/store/pgvector/PgvectorStore.ts"
import { StoreMemoryRequest } from "../../src/domain/Memory.ts"
import { SearchRequest } from "../../src/domain/Search.ts"
import { Memory } from "../../src/memory/Memory.ts"
import type { DimensionMismatch, StoreUnavailable } from "../../src/domain/errors.ts"
import { MemoryStore } from "../../src/ports/MemoryStore.ts"
import { databaseUrl, freshSchema, postgresAvailable } from "../support/postgres.ts"
import { newNamespace } from "../support/records.ts"

const DIMENSIONS = 128

const stores: ReadonlyArray<readonly [string, Layer.Layer<MemoryStore, StoreUnavailable | DimensionMismatch>, boolean]> = [
  ["memory", InMemoryStore.layer({ dimensions: DIMENSIONS }), true],
  ["pglite", PgliteStore.layer({ dataDir: "memory://", dimensions: DIMENSIONS }), true],
  [
    "pgvector",
    Layer.scoped(
      MemoryStore,
      Effect.gen(function*() {
        const url = yield* databaseUrl
        const schema = yield* freshSchema(url)
        return yield* PgvectorStore.make({ url, schema, dimensions: DIMENSIONS })
      })
    ),
    postgresAvailable
  ]
]

for (const [name, store, available] of stores) {
  const stack = AgentMemory.layer({ embedder: HashingEmbedder.layer({ dimensions: DIMENSIONS }), store: () => store })
  // One stack per store for both tests (a PGlite start costs seconds).
  describe.skipIf(!available)(`concurrency (${name})`, () => layer(stack, { timeout: 120_000 })((it) => {

    it.effect("50 identical concurrent stores make one record", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        const namespace = newNamespace()
        const request = new StoreMemoryRequest({ namespace, content: "the lighthouse keeper feeds the gulls at dawn" })
        const stored = yield* Effect.forEach(Array.from({ length: 50 }), () => memory.store(request), { concurrency: "unbounded" })
        expect(new Set(stored.map((s) => s.id)).size).toBe(1)
        expect(stored.filter((s) => !s.deduplicated).length).toBe(1)
        const found = yield* memory.search(new SearchRequest({ namespace, query: "lighthouse keeper gulls", k: 50 }))
        expect(found.hits.length).toBe(1)
      }), 60_000)

    it.effect("delete while searching: no search started after an acknowledged delete returns it", () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        const namespace = newNamespace()
        const records = yield* Effect.forEach(
          Array.from({ length: 20 }, (_, i) => i),
          (i) => memory.store(new StoreMemoryRequest({ namespace, content: `tide tables for the harbour, page ${i}` })),
          { concurrency: 4 }
        )
        const acknowledged = new Set<string>()
        let violations = 0
        let searches = 0
        const query = new SearchRequest({ namespace, query: "tide tables harbour", k: 50 })
        const searcher = Effect.gen(function*() {
          while (acknowledged.size < records.length) {
            const deletedBefore = new Set(acknowledged) // deletes acknowledged before this search starts
            const answer = yield* memory.search(query)
            searches++
            violations += answer.hits.filter((h) => deletedBefore.has(h.id)).length
            yield* Effect.yieldNow()
          }
        })
        const deleter = Effect.forEach(records, (r) =>
          memory.delete(r.id, namespace).pipe(
            Effect.tap(() => Effect.sync(() => acknowledged.add(r.id))),
            Effect.zipRight(Effect.yieldNow())
          ), { discard: true })
        yield* Effect.all([deleter, searcher, searcher, searcher], { concurrency: "unbounded" })
        console.log(`delete while searching (${name}): ${records.length} deletes, ${searches} searches, ${violations} answers with a deleted record`)
        expect(violations).toBe(0)
        expect((yield* memory.search(query)).hits).toEqual([])
      }), 60_000)
  }))
}
