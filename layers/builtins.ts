/**
 * The built-in providers, registered as plugins like any external one. Each
 * provider's module is imported when its layer is built, so a process loads only
 * the drivers and SDKs it was configured for (no pg, PGlite or openai otherwise).
 */
import { Effect, Layer } from "effect"
import type { Plugin } from "../src/plugins/Plugin.ts"

/** A layer built from a module imported on first use; a built-in that fails to import is a broken install (a defect). */
const lazy = <M, A, E>(load: () => Promise<M>, build: (module: M) => Layer.Layer<A, E>): Layer.Layer<A, E> =>
  Layer.unwrapEffect(Effect.map(Effect.promise(load), build))

export const builtins: ReadonlyArray<Plugin> = [
  {
    port: "store",
    name: "pglite",
    description: "embedded PostgreSQL + pgvector (PGlite), data in MEMORY_DATA_DIR",
    layer: (context) =>
      lazy(() => import("./store/pglite/PgliteStore.ts"), (PgliteStore) => PgliteStore.layerConfig(PgliteStore.config(context.dimensions, context)))
  },
  {
    port: "store",
    name: "pgvector",
    description: "a PostgreSQL server with pgvector at DATABASE_URL",
    layer: (context) =>
      lazy(() => import("./store/pgvector/PgvectorStore.ts"), (PgvectorStore) => PgvectorStore.layerConfig(PgvectorStore.config(context.dimensions, context)))
  },
  {
    port: "store",
    name: "memory",
    description: "in-process exact search; nothing persists",
    layer: ({ dimensions }) => lazy(() => import("./store/memory/InMemoryStore.ts"), (InMemoryStore) => InMemoryStore.layer({ dimensions }))
  },
  {
    port: "embedder",
    name: "local",
    description: "offline feature-hashing embedder (lexical)",
    layer: () => lazy(() => import("./embedder/HashingEmbedder.ts"), (HashingEmbedder) => HashingEmbedder.layerConfig())
  },
  {
    port: "embedder",
    name: "openai",
    description: "OpenAI, or any OpenAI-compatible server at OPENAI_BASE_URL",
    layer: () => lazy(() => import("./embedder/OpenAiEmbedder.ts"), (OpenAiEmbedder) => OpenAiEmbedder.layerConfig())
  },
  {
    port: "embedder",
    name: "onnx",
    description: "a local ONNX model in MEMORY_ONNX_MODEL_DIR (optional packages onnxruntime-node, @huggingface/tokenizers)",
    layer: () => lazy(() => import("./embedder/OnnxEmbedder.ts"), (OnnxEmbedder) => OnnxEmbedder.layerConfig())
  },
  {
    port: "reranker",
    name: "http",
    description: "a /rerank server (Cohere, Jina, TEI protocol) at MEMORY_RERANK_URL",
    layer: () => lazy(() => import("./reranker/HttpReranker.ts"), (HttpReranker) => HttpReranker.layerConfig())
  }
]
