/**
 * Widths above pgvector's vector index limit (2000): stored as halfvec (up to
 * 4000) on both SQL stores, so the default HNSW index builds and answers;
 * wider than that, start-up refuses in one line naming the setting to change.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import * as AgentMemory from "../layers/app.ts"
import * as PgliteClient from "../layers/store/pglite/PgliteClient.ts"
import * as PgliteStore from "../layers/store/pglite/PgliteStore.ts"
import * as PgvectorStore from "../layers/store/pgvector/PgvectorStore.ts"
import { defaultSettings } from "../layers/store/sql/SqlStoreConfig.ts"
import { describeStartupFailure } from "../src/config/StartupFailure.ts"
import type { MemoryStoreService } from "../src/ports/MemoryStore.ts"
import { databaseUrl, freshSchema, postgresAvailable, query } from "./support/postgres.ts"
import { newNamespace, newRecord } from "./support/records.ts"

const axis = (dimensions: number, at: number, tilt = 0) => {
  const v = new Float32Array(dimensions)
  v[at] = 1
  v[(at + 1) % dimensions] = tilt
  return v
}

/** The vector index answers at this width: nearest first. */
const searchesAtWidth = (store: MemoryStoreService, dimensions: number) =>
  Effect.gen(function*() {
    const namespace = newNamespace()
    yield* store.insert([
      newRecord({ content: "near", namespace }, axis(dimensions, 2100 % dimensions, 0.1)),
      newRecord({ content: "far", namespace }, axis(dimensions, 7))
    ])
    const hits = yield* store.search({ namespace, embedding: axis(dimensions, 2100 % dimensions), k: 2, minScore: 0 })
    expect(hits.map((h) => h.record.content)).toEqual(["near", "far"])
  })

const columnAndIndex = `SELECT format_type(atttypid, atttypmod) AS type,
  (SELECT string_agg(indexdef, ';') FROM pg_indexes WHERE tablename = 'memories' AND indexname LIKE 'memories_embedding_%') AS index
  FROM pg_attribute WHERE attrelid = 'memories'::regclass AND attname = 'embedding'`

const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("pglite", () => {
  it.scoped("2048 dimensions with the default HNSW index: stored as halfvec, indexed, searched", () =>
    Effect.gen(function*() {
      const { client } = yield* PgliteClient.make({ dataDir: "memory://" })
      const store = yield* PgliteStore.makeWith(client, { dimensions: 2048 })
      const [row] = yield* client.unsafe<{ readonly type: string; readonly index: string }>(columnAndIndex)
      expect(row!.type).toBe("halfvec(2048)")
      expect(row!.index).toContain("USING hnsw (embedding halfvec_cosine_ops)")
      yield* searchesAtWidth(store, 2048)
    }), 60_000)

  it.scoped("4000 dimensions, the widest halfvec HNSW takes, starts", () =>
    Effect.gen(function*() {
      const { client } = yield* PgliteClient.make({ dataDir: "memory://" })
      yield* searchesAtWidth(yield* PgliteStore.makeWith(client, { dimensions: 4000 }), 4000)
    }), 60_000)

  it.scoped("without an index, a wide column stays vector as configured", () =>
    Effect.gen(function*() {
      const { client } = yield* PgliteClient.make({ dataDir: "memory://" })
      const store = yield* PgliteStore.makeWith(client, { dimensions: 2048, settings: { ...defaultSettings, index: { _tag: "none" } } })
      const [row] = yield* client.unsafe<{ readonly type: string; readonly index: string | null }>(columnAndIndex)
      expect(row).toEqual({ type: "vector(2048)", index: null })
      yield* searchesAtWidth(store, 2048)
    }), 60_000)

  it.scoped("a wide vector table made without an index, opened with one: refused, saying it can be searched exactly", () =>
    Effect.gen(function*() {
      const { client } = yield* PgliteClient.make({ dataDir: "memory://" })
      yield* PgliteStore.makeWith(client, { dimensions: 2048, settings: { ...defaultSettings, index: { _tag: "none" } } })
      const error = yield* Effect.flip(PgliteStore.makeWith(client, { dimensions: 2048, settings: defaultSettings }))
      expect(error.message).toContain("memories.embedding is vector(2048), made without a vector index")
      expect(error.message).toContain("searched exactly (MEMORY_INDEX=none)")
    }), 60_000)

  it.effect("MEMORY_DIMENSIONS=4096 with an index refuses to start, in one line naming the settings to change", () =>
    Effect.gen(function*() {
      const line = yield* Layer.build(AgentMemory.layerConfig()).pipe(
        Effect.scoped,
        withEnv({ MEMORY_STORE: "pglite", MEMORY_DATA_DIR: "memory://", MEMORY_DIMENSIONS: "4096", MEMORY_INDEX: "hnsw" }),
        Effect.flip,
        Effect.map(describeStartupFailure)
      )
      expect(line).not.toContain("\n")
      expect(line).toContain("MEMORY_DIMENSIONS=4096 is too wide for a hnsw index")
      expect(line).toContain("set MEMORY_DIMENSIONS to 4000 or less, or MEMORY_INDEX=none")
    }), 60_000)
})

describe.skipIf(!postgresAvailable)("pgvector", () => {
  const open = (dimensions: number, settings = defaultSettings) =>
    Effect.gen(function*() {
      const url = yield* databaseUrl
      const schema = yield* freshSchema(url)
      const store = yield* PgvectorStore.make({ url, schema, dimensions, settings })
      return { url, schema, store }
    })

  it.scoped("2048 dimensions with the default HNSW index: stored as halfvec, indexed, searched", () =>
    Effect.gen(function*() {
      const { schema, store, url } = yield* open(2048)
      const [row] = yield* query<{ type: string; index: string }>(url, columnAndIndex, [], [`SET search_path = ${schema}, public`])
      expect(row!.type).toBe("halfvec(2048)")
      expect(row!.index).toContain("USING hnsw (embedding halfvec_cosine_ops)")
      yield* searchesAtWidth(store, 2048)
    }), 60_000)

  it.scoped("an IVFFlat index at 3000 dimensions is halfvec too", () =>
    Effect.gen(function*() {
      const { store } = yield* open(3000, { ...defaultSettings, index: { _tag: "ivfflat", lists: 1 } })
      yield* searchesAtWidth(store, 3000)
    }), 60_000)

  it.scoped("4001 dimensions refuse before touching the database", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(open(4001))
      expect(error._tag).toBe("StoreUnavailable")
      expect(error.message).toContain("set MEMORY_DIMENSIONS to 4000 or less, or MEMORY_INDEX=none")
    }), 60_000)
})
