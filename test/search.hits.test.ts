/**
 * What a search hit carries: every field of the record it is, occurredAt included, on the
 * in-memory store and on PGlite (the SQL stores' rows), computed and cached alike; and
 * `trusted` (how hits and rows are built on the search path) makes the instance the Schema
 * constructor makes.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Equal, type Layer, Schema } from "effect"
import * as AgentMemory from "../layers/app.ts"
import * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
import * as InMemoryStore from "../layers/store/memory/InMemoryStore.ts"
import * as PgliteStore from "../layers/store/pglite/PgliteStore.ts"
import { MemoryRecord, StoreMemoryRequest } from "../src/domain/Memory.ts"
import { SearchHit, SearchRequest } from "../src/domain/Search.ts"
import { trusted } from "../src/domain/trusted.ts"
import { Memory } from "../src/memory/Memory.ts"
import type { MemoryStore } from "../src/ports/MemoryStore.ts"
import { newNamespace } from "./support/records.ts"

const stores: ReadonlyArray<readonly [string, (dimensions: number) => Layer.Layer<MemoryStore, unknown>]> = [
  ["memory", (dimensions) => InMemoryStore.layer({ dimensions })],
  ["pglite", (dimensions) => PgliteStore.layer({ dataDir: "memory://", dimensions })]
]

describe("search hits", () => {
  it("trusted(SearchHit, …) and trusted(MemoryRecord, …) are the instances the constructors make", () => {
    const fields = {
      id: "a", namespace: "n", content: "c", score: 0.5, kind: "memory" as const, tags: ["t"], metadata: { x: 1 },
      sessionId: null, createdAt: new Date(0), expiresAt: null, occurredAt: new Date(1)
    }
    const made = new SearchHit(fields, true)
    const fast = trusted(SearchHit, fields)
    expect(fast).toBeInstanceOf(SearchHit)
    expect(Reflect.ownKeys(fast)).toEqual(Reflect.ownKeys(made))
    expect(Equal.equals(fast, made)).toBe(true)
    expect(Schema.is(SearchHit)(fast)).toBe(true)
    expect(Schema.encodeSync(SearchHit)(fast)).toEqual(Schema.encodeSync(SearchHit)(made))
    const { score: _, ...rest } = fields
    const recordFields = { ...rest, contentHash: "h", updatedAt: new Date(2), embeddingModel: "m", embeddingDimensions: 3 }
    const record = trusted(MemoryRecord, recordFields)
    expect(record).toBeInstanceOf(MemoryRecord)
    expect(Equal.equals(record, new MemoryRecord(recordFields, true))).toBe(true)
  })

  for (const [name, store] of stores) {
    it.live(`${name}: a hit carries its record's fields, occurredAt included, computed and cached`, () =>
      Effect.gen(function*() {
        const memory = yield* Memory
        const namespace = newNamespace()
        const occurredAt = new Date("2024-03-01T12:00:00.000Z")
        const stored = yield* memory.store(new StoreMemoryRequest({
          namespace, content: "otters hold hands while they sleep", tags: ["otter"], metadata: { source: "zoo" }, sessionId: "s1", occurredAt
        }))
        const ask = memory.search(new SearchRequest({ query: "otters sleep", namespace }))
        for (const cached of [false, true]) {
          const found = yield* ask
          expect(found.cached).toBe(cached)
          const [hit] = found.hits
          expect(hit).toBeInstanceOf(SearchHit)
          expect(hit).toMatchObject({
            id: stored.id, namespace, content: stored.content, kind: "memory", tags: ["otter"],
            metadata: { source: "zoo" }, sessionId: "s1", createdAt: stored.createdAt, expiresAt: null, occurredAt
          })
        }
      }).pipe(Effect.provide(AgentMemory.layer({
        embedder: HashingEmbedder.layer({ dimensions: 256 }),
        store: ({ dimensions }) => store(dimensions)
      }))), 60_000)
  }
})
