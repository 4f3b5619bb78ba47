/**
 * agent-memory as a library for other Effect applications:
 *
 *   import * as AgentMemory from "agent-memory"
 *   const program = Effect.gen(function*() {
 *     const memory = yield* AgentMemory.Memory
 *     yield* memory.store(new AgentMemory.StoreMemoryRequest({ content: "…" }))
 *   })
 *   program.pipe(Effect.provide(AgentMemory.layerConfig()))
 */
export * from "./domain/errors.ts"
export * from "./domain/Filter.ts"
export * from "./domain/Memory.ts"
export * from "./domain/Search.ts"
export { Memory } from "./memory/Memory.ts"
export { Embedder, type EmbedderService } from "./ports/Embedder.ts"
export * from "./ports/MemoryStore.ts"
export type * from "./plugins/Plugin.ts"
export { PluginLoadError } from "./plugins/PluginRegistry.ts"
export { Api } from "./http/Api.ts"
export * as HttpServer from "./http/Server.ts"
export * as ConfigFile from "./config/ConfigFile.ts"

export { layer, layerConfig, providerConfig, type ProviderChoice, type StartupError } from "../layers/app.ts"
export { builtins } from "../layers/builtins.ts"
export * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
export * as InMemoryStore from "../layers/store/memory/InMemoryStore.ts"
export * as PgliteStore from "../layers/store/pglite/PgliteStore.ts"
export * as PgvectorStore from "../layers/store/pgvector/PgvectorStore.ts"
