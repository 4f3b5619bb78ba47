/**
 * The vector index follows the embedder when it is not configured: HNSW for a model's
 * embeddings, exact search for an embedder that declares `exactSearch` (the local hashing
 * embedder, whose sparse vectors HNSW loses half the neighbours of at 100k records,
 * bench/PERFORMANCE.md). The same rule whether the store comes from the environment (the
 * server) or is composed in code beside the embedder (a library user). ef_search follows it
 * too (700 for an index over the hashing embedder's vectors, 40 otherwise). A value the
 * user sets wins.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import * as AgentMemory from "../layers/app.ts"
import * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
import * as PgliteClient from "../layers/store/pglite/PgliteClient.ts"
import * as PgliteStore from "../layers/store/pglite/PgliteStore.ts"
import { type EmbedderHint, indexConfigFor } from "../layers/store/sql/SqlStoreConfig.ts"
import { SearchRequest } from "../src/domain/Search.ts"
import { Memory } from "../src/memory/Memory.ts"
import { Embedder, type EmbedderService } from "../src/ports/Embedder.ts"
import { MemoryStore } from "../src/ports/MemoryStore.ts"

const local = HashingEmbedder.make({ dimensions: 64 })
/** A model's embedder as far as the store can tell: no `exactSearch`. */
const dense: EmbedderService = { ...local, model: "dense-test", exactSearch: undefined }

const indexWith = (embedder: EmbedderHint, env: Record<string, string> = {}) =>
  indexConfigFor(embedder).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))

describe("the index from the environment (the server)", () => {
  it.effect("none (exact search) with the local embedder, HNSW at ef_search 40 with a model's", () =>
    Effect.gen(function*() {
      expect(yield* indexWith(local)).toEqual({ _tag: "none" })
      expect(yield* indexWith(dense)).toEqual({ _tag: "hnsw", m: 16, efConstruction: 128, efSearch: 40 })
    }))

  it.effect("MEMORY_INDEX and MEMORY_HNSW_EF_SEARCH win, and are still validated; ef_search 700 for HNSW over the local embedder", () =>
    Effect.gen(function*() {
      expect(yield* indexWith(local, { MEMORY_INDEX: "hnsw" })).toMatchObject({ _tag: "hnsw", efSearch: 700 })
      expect(yield* indexWith(local, { MEMORY_INDEX: "hnsw", MEMORY_HNSW_EF_SEARCH: "200" })).toMatchObject({ efSearch: 200 })
      expect(yield* indexWith(dense, { MEMORY_INDEX: "none" })).toEqual({ _tag: "none" })
      expect(String(yield* Effect.flip(indexWith(local, { MEMORY_INDEX: "btree" })))).toContain("MEMORY_INDEX")
      expect(String(yield* Effect.flip(indexWith(dense, { MEMORY_HNSW_EF_SEARCH: "0" })))).toContain("MEMORY_HNSW_EF_SEARCH")
    }))
})

describe("config(dimensions) without the store context", () => {
  it.effect("follows the embedder MEMORY_EMBEDDER names: exact search for local (the default), HNSW for openai", () =>
    Effect.gen(function*() {
      const kind = (env: Record<string, string>) =>
        PgliteStore.config(64).pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
          Effect.map((options) => options.settings?.index._tag)
        )
      expect(yield* kind({})).toBe("none")
      expect(yield* kind({ MEMORY_EMBEDDER: "openai" })).toBe("hnsw")
      expect(yield* kind({ MEMORY_EMBEDDER: "openai", MEMORY_INDEX: "none" })).toBe("none")
    }))
})

/** The vector indexes of a memory stack composed in code, the store left without settings. */
const indexesComposedWith = (embedder: EmbedderService) =>
  Effect.gen(function*() {
    const { client } = yield* PgliteClient.make({ dataDir: "memory://" })
    const stack = AgentMemory.layer({
      embedder: Layer.succeed(Embedder, embedder),
      store: ({ dimensions }) => Layer.scoped(MemoryStore, PgliteStore.makeWith(client, { dimensions }))
    })
    yield* Effect.gen(function*() {
      const memory = yield* Memory
      yield* memory.store({ content: "the wifi password is on the fridge" })
      const found = yield* memory.search(new SearchRequest({ query: "where is the wifi password", k: 1 }))
      expect(found.hits[0]?.content).toBe("the wifi password is on the fridge")
    }).pipe(Effect.provide(stack))
    const rows = yield* client.unsafe<{ readonly name: string }>(
      "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'memories' AND indexname LIKE 'memories_embedding_%'"
    )
    return rows.map((r) => r.name)
  })

describe("the index of a store composed in code (a library user)", () => {
  it.scoped("beside the local embedder: no vector index, as the server chooses", () =>
    Effect.map(indexesComposedWith(local), (names) => expect(names).toEqual([])), 60_000)

  it.scoped("beside a model's embedder: the HNSW index", () =>
    Effect.map(indexesComposedWith(dense), (names) => expect(names).toEqual(["memories_embedding_hnsw_m16_efc128"])), 60_000)
})
