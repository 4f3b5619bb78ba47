/**
 * ef_search follows the embedder when MEMORY_HNSW_EF_SEARCH is not set: the local
 * hashing embedder's sparse vectors need a long candidate list to keep ≥ 0.95 of
 * the exact top 10 (bench/PERFORMANCE.md, "ef_search on the default embedder's
 * vectors"); dense model embeddings keep it at 40. A value the user sets wins.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import { indexConfig } from "../layers/store/sql/SqlStoreConfig.ts"

const efSearchWith = (env: Record<string, string>) =>
  indexConfig.pipe(
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))),
    Effect.map((index) => (index._tag === "hnsw" ? index.efSearch : undefined))
  )

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
