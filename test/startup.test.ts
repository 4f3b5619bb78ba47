/** Start-up: provider choice, plugins, configuration errors as one clear line. */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import * as AgentMemory from "../layers/app.ts"
import { describeStartupFailure } from "../src/config/StartupFailure.ts"
import { Memory } from "../src/memory/Memory.ts"
import { StoreMemoryRequest } from "../src/domain/Memory.ts"
import { SearchRequest } from "../src/domain/Search.ts"

const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

/** Builds the configured stack and answers the one line a failed start prints. */
const startupFailure = (env: Record<string, string>) =>
  Layer.build(AgentMemory.layerConfig()).pipe(Effect.scoped, withEnv(env), Effect.flip, Effect.map(describeStartupFailure))

describe("start-up configuration", () => {
  it.effect("an unknown provider name stops start-up with a line naming the variable and the known names", () =>
    Effect.gen(function*() {
      expect(yield* startupFailure({ MEMORY_STORE: "nope" })).toBe(
        `configuration: MEMORY_STORE: unknown store "nope" (known: memory, pglite, pgvector)`
      )
      expect(yield* startupFailure({ MEMORY_STORE: "memory", MEMORY_EMBEDDER: "magic" })).toBe(
        `configuration: MEMORY_EMBEDDER: unknown embedder "magic" (known: local, onnx, openai)`
      )
    }))

  it.effect("malformed values name their variable", () =>
    Effect.gen(function*() {
      expect(yield* startupFailure({ MEMORY_STORE: "memory", MEMORY_DIMENSIONS: "wide" })).toContain("MEMORY_DIMENSIONS")
      expect(yield* startupFailure({ MEMORY_STORE: "memory", MEMORY_DIMENSIONS: "1" })).toContain("MEMORY_DIMENSIONS")
      expect(yield* startupFailure({ MEMORY_STORE: "pglite", MEMORY_DATA_DIR: "memory://", MEMORY_INDEX: "btree" })).toContain("MEMORY_INDEX")
      expect(yield* startupFailure({ MEMORY_STORE: "pglite", MEMORY_DATA_DIR: "memory://", MEMORY_PG_SETTINGS: "work_mem" })).toContain(
        "MEMORY_PG_SETTINGS"
      )
      expect(yield* startupFailure({ MEMORY_STORE: "pglite", MEMORY_DATA_DIR: "memory://", MEMORY_PG_SETTINGS: "x='1'; DROP" })).toContain(
        "MEMORY_PG_SETTINGS"
      )
      expect(yield* startupFailure({ MEMORY_STORE: "pglite", MEMORY_DATA_DIR: "memory://", MEMORY_HNSW_M: "0" })).toContain("MEMORY_HNSW_M")
      expect(yield* startupFailure({ MEMORY_STORE: "pgvector", MEMORY_POOL_IDLE_TIMEOUT: "soon", DATABASE_URL: "postgres://x" })).toContain(
        "MEMORY_POOL_IDLE_TIMEOUT"
      )
    }))

  it.effect("the pgvector store needs DATABASE_URL, and says so", () =>
    Effect.gen(function*() {
      expect(yield* startupFailure({ MEMORY_STORE: "pgvector" })).toBe("configuration: DATABASE_URL: required but not set")
    }))

  it.effect("an unreachable database is a StoreUnavailable start-up error, within the connect timeout", () =>
    Effect.gen(function*() {
      const line = yield* startupFailure({
        MEMORY_STORE: "pgvector",
        DATABASE_URL: "postgres://nobody@127.0.0.1:1/none",
        MEMORY_POOL_CONNECT_TIMEOUT: "2s"
      })
      expect(line).toMatch(/^StoreUnavailable: could not connect to PostgreSQL/)
    }))

  it.effect("the memory stack runs with the store chosen by configuration", () =>
    Effect.gen(function*() {
      const memory = yield* Memory
      expect(memory.provider).toBe("memory")
      const stored = yield* memory.store(new StoreMemoryRequest({ content: "Configured by the environment" }))
      const found = yield* memory.search(new SearchRequest({ query: "environment configuration" }))
      expect(found.hits[0]!.id).toBe(stored.id)
    }).pipe(Effect.provide(AgentMemory.layerConfig()), withEnv({ MEMORY_STORE: "memory", MEMORY_DIMENSIONS: "256" })))
})

describe("plugins", () => {
  it.effect("an external store plugin from MEMORY_PLUGINS is chosen by name", () =>
    Effect.gen(function*() {
      const memory = yield* Memory
      expect(memory.provider).toBe("memory")
      yield* memory.store(new StoreMemoryRequest({ content: "stored through a plugin" }))
      const found = yield* memory.search(new SearchRequest({ query: "plugin" }))
      expect(found.hits.map((h) => h.content)).toEqual(["stored through a plugin"])
    }).pipe(
      Effect.provide(AgentMemory.layerConfig()),
      withEnv({ MEMORY_PLUGINS: "./test/fixtures/store-plugin.ts", MEMORY_STORE: "fixture-store" })
    ))

  it.effect("a malformed or missing plugin is a clear start-up error", () =>
    Effect.gen(function*() {
      const malformed = yield* startupFailure({ MEMORY_PLUGINS: "./test/fixtures/malformed-plugin.mjs" })
      expect(malformed).toContain(`PluginLoadError: MEMORY_PLUGINS: "./test/fixtures/malformed-plugin.mjs" does not export a plugin`)
      expect(malformed).toContain("port")
      const missing = yield* startupFailure({ MEMORY_PLUGINS: "./test/fixtures/no-such-plugin.mjs" })
      expect(missing).toContain(`MEMORY_PLUGINS: cannot import "./test/fixtures/no-such-plugin.mjs"`)
      const twice = yield* startupFailure({ MEMORY_PLUGINS: "./test/fixtures/store-plugin.ts,./test/fixtures/store-plugin.ts" })
      expect(twice).toContain(`two store plugins are named "fixture-store"`)
    }))
})
