/** The built-in providers, registered as plugins like any external one. */
import type { Plugin } from "../src/plugins/Plugin.ts"
import * as HashingEmbedder from "./embedder/HashingEmbedder.ts"
import * as OpenAiEmbedder from "./embedder/OpenAiEmbedder.ts"
import * as InMemoryStore from "./store/memory/InMemoryStore.ts"
import * as PgliteStore from "./store/pglite/PgliteStore.ts"
import * as PgvectorStore from "./store/pgvector/PgvectorStore.ts"

export const builtins: ReadonlyArray<Plugin> = [
  {
    port: "store",
    name: "pglite",
    description: "embedded PostgreSQL + pgvector (PGlite), data in MEMORY_DATA_DIR",
    layer: ({ dimensions }) => PgliteStore.layerConfig(PgliteStore.config(dimensions))
  },
  {
    port: "store",
    name: "pgvector",
    description: "a PostgreSQL server with pgvector at DATABASE_URL",
    layer: ({ dimensions }) => PgvectorStore.layerConfig(PgvectorStore.config(dimensions))
  },
  {
    port: "store",
    name: "memory",
    description: "in-process exact search; nothing persists",
    layer: ({ dimensions }) => InMemoryStore.layer({ dimensions })
  },
  {
    port: "embedder",
    name: "local",
    description: "offline feature-hashing embedder (lexical)",
    layer: () => HashingEmbedder.layerConfig()
  },
  {
    port: "embedder",
    name: "openai",
    description: "OpenAI, or any OpenAI-compatible server at OPENAI_BASE_URL",
    layer: () => OpenAiEmbedder.layerConfig()
  }
]
