/**
 * MEMORY_STORE=pgvector end to end: the configured stack against a real
 * PostgreSQL, with the rows, the index and the vector storage checked in the
 * database itself.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Redacted } from "effect"
import * as AgentMemory from "../layers/app.ts"
import { StoreMemoryRequest } from "../src/domain/Memory.ts"
import { SearchRequest } from "../src/domain/Search.ts"
import { Memory } from "../src/memory/Memory.ts"
import { databaseUrl, freshSchema, postgresAvailable, query } from "./support/postgres.ts"

const withStack = (env: Record<string, string>) => <A, E>(effect: Effect.Effect<A, E, Memory>) =>
  effect.pipe(
    Effect.provide(Layer.fresh(AgentMemory.layerConfig())),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
  )

describe.skipIf(!postgresAvailable)("pgvector end to end", () => {
  it.scoped("MEMORY_STORE=pgvector stores rows in PostgreSQL and finds them by meaning", () =>
    Effect.gen(function*() {
      const url = yield* databaseUrl
      const schema = yield* freshSchema(url)
      const env = { MEMORY_STORE: "pgvector", DATABASE_URL: Redacted.value(url), MEMORY_PG_SCHEMA: schema }
      const stored = yield* Effect.gen(function*() {
        const memory = yield* Memory
        const cat = yield* memory.store(new StoreMemoryRequest({ content: "The cat sat on the mat", tags: ["pets"] }))
        yield* memory.store(new StoreMemoryRequest({ content: "Interest rates rose again this quarter" }))
        yield* memory.store(new StoreMemoryRequest({ content: "The train to Paris leaves at nine" }))
        const found = yield* memory.search(new SearchRequest({ query: "where did the cat sit" }))
        expect(found.hits[0]!.id).toBe(cat.id)
        return cat
      }).pipe(withStack(env))

      const rows = yield* query<{ id: string; content: string; dims: number; type: string; tags: Array<string> }>(
        url,
        `SELECT id, content, vector_dims(embedding) AS dims, pg_typeof(embedding)::text AS type, tags
         FROM "${schema}".memories ORDER BY created_at`
      )
      expect(rows.map((r) => r.content)).toEqual([
        "The cat sat on the mat",
        "Interest rates rose again this quarter",
        "The train to Paris leaves at nine"
      ])
      expect(rows[0]).toMatchObject({ id: stored.id, dims: 1024, type: "vector", tags: ["pets"] })
      const vectorIndexes = () =>
        query<{ indexdef: string }>(
          url,
          `SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname LIKE 'memories_embedding_%'`,
          [schema]
        ).pipe(Effect.map((rows) => rows.map((i) => i.indexdef)))
      // The local embedder's default is exact search (no vector index), its vectors kept in the row.
      expect(yield* vectorIndexes()).toEqual([])
      const [column] = yield* query<{ storage: string }>(
        url,
        `SELECT attstorage AS storage FROM pg_attribute WHERE attrelid = '"${schema}".memories'::regclass AND attname = 'embedding'`
      )
      expect(column!.storage).toBe("p")

      // MEMORY_INDEX=hnsw builds the HNSW index with the product's tuning, and the planner can take it.
      yield* Effect.gen(function*() {
        const memory = yield* Memory
        const found = yield* memory.search(new SearchRequest({ query: "cat on a mat", k: 1 }))
        expect(found.hits[0]!.content).toBe("The cat sat on the mat")
      }).pipe(withStack({ ...env, MEMORY_INDEX: "hnsw" }))
      expect(yield* vectorIndexes()).toEqual([
        expect.stringMatching(/USING hnsw \(embedding vector_cosine_ops\) WITH \(m='?16'?, ef_construction='?128'?\)/)
      ])
      const plan = yield* query<{ "QUERY PLAN": string }>(
        url,
        `EXPLAIN SELECT id FROM memories ORDER BY embedding <=> (SELECT embedding FROM memories LIMIT 1) LIMIT 5`,
        [],
        ["SET enable_seqscan = off", `SET search_path = "${schema}", public`]
      )
      expect(JSON.stringify(plan)).toContain("memories_embedding_hnsw")

      // A restart with another index choice replaces ours; with a different width it refuses to start.
      yield* Effect.gen(function*() {
        const memory = yield* Memory
        const found = yield* memory.search(new SearchRequest({ query: "cat on a mat", k: 1 }))
        expect(found.hits[0]!.content).toBe("The cat sat on the mat")
      }).pipe(withStack({ ...env, MEMORY_INDEX: "ivfflat", MEMORY_IVFFLAT_LISTS: "1" }))
      const after = yield* query<{ indexname: string }>(
        url,
        `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND indexname LIKE 'memories_embedding_%'`,
        [schema]
      )
      expect(after.map((i) => i.indexname)).toEqual(["memories_embedding_ivfflat"])
      const mismatch = yield* Effect.flip(Memory.pipe(withStack({ ...env, MEMORY_DIMENSIONS: "384" })))
      expect(mismatch, JSON.stringify(mismatch)).toMatchObject({ _tag: "DimensionMismatch" })
      expect(mismatch.message).toContain("MEMORY_DIMENSIONS")
    }), 120_000)
})
