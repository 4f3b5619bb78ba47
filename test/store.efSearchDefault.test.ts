/**
 * The vector index follows the embedder when MEMORY_INDEX is not set: HNSW for a
 * model's embeddings, exact search for the local hashing embedder, whose sparse
 * vectors HNSW loses half the neighbours of at 100k records (bench/PERFORMANCE.md).
 * ef_search follows it too when MEMORY_HNSW_EF_SEARCH is not set: the local
 * hashing embedder's sparse vectors need a long candidate list to keep ≥ 0.95 of
 * the exact top 10 (bench/PERFORMANCE.md, "ef_search on the default embedder's
 * vectors"); dense model embeddings keep it at 40. A value the user sets wins.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { indexConfig } from "../layers/store/sql/SqlStoreConfig.ts"

const efSearchWith = (env: Record<string, string>) =>
  indexConfig.pipe(
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({ MEMORY_INDEX: "hnsw", ...env })))),
    Effect.map((index) => (index._tag === "hnsw" ? index.efSearch : undefined))
  )

const indexWith = (env: Record<string, string>) =>
  indexConfig.pipe(
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
    Effect.map((index) => index._tag)
  )

describe("default vector index", () => {
  it.effect("none (exact search) with the local embedder (the default), HNSW with a model's embeddings", () =>
    Effect.gen(function*() {
      expect(yield* indexWith({})).toBe("none")
      expect(yield* indexWith({ MEMORY_EMBEDDER: "local" })).toBe("none")
      expect(yield* indexWith({ MEMORY_EMBEDDER: "openai" })).toBe("hnsw")
      expect(yield* indexWith({ MEMORY_EMBEDDER: "onnx" })).toBe("hnsw")
      expect(yield* indexWith({ MEMORY_EMBEDDER: "my-plugin" })).toBe("hnsw")
    }))

  it.effect("MEMORY_INDEX wins over the embedder's default, and is still validated", () =>
    Effect.gen(function*() {
      expect(yield* indexWith({ MEMORY_INDEX: "hnsw" })).toBe("hnsw")
      expect(yield* indexWith({ MEMORY_EMBEDDER: "openai", MEMORY_INDEX: "none" })).toBe("none")
      const bad = yield* Effect.flip(indexWith({ MEMORY_INDEX: "btree" }))
      expect(String(bad)).toContain("MEMORY_INDEX")
    }))
})

describe("default ef_search", () => {
  it.effect("700 with the local embedder (the default), 40 with a model's embeddings", () =>
    Effect.gen(function*() {
      expect(yield* efSearchWith({})).toBe(700)
      expect(yield* efSearchWith({ MEMORY_EMBEDDER: "local" })).toBe(700)
      expect(yield* efSearchWith({ MEMORY_EMBEDDER: "openai" })).toBe(40)
      expect(yield* efSearchWith({ MEMORY_EMBEDDER: "onnx" })).toBe(40)
    }))

  it.effect("MEMORY_HNSW_EF_SEARCH wins over the embedder's default, and is still validated", () =>
    Effect.gen(function*() {
      expect(yield* efSearchWith({ MEMORY_HNSW_EF_SEARCH: "40" })).toBe(40)
      expect(yield* efSearchWith({ MEMORY_EMBEDDER: "openai", MEMORY_HNSW_EF_SEARCH: "120" })).toBe(120)
      const bad = yield* Effect.flip(efSearchWith({ MEMORY_HNSW_EF_SEARCH: "0" }))
      expect(String(bad)).toContain("MEMORY_HNSW_EF_SEARCH")
    }))
})
