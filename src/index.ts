/**
 * agent-memory's core, the package root (`agent-memory`): the service tags, the
 * domain schemas and typed errors, and the plugin contract. It loads no driver
 * or SDK: the layers that implement the ports come from their own subpaths
 * (`agent-memory/layers` for the stack as configured, `agent-memory/store/pglite`,
 * `agent-memory/embedder/openai`, …), so an app loads only the providers it uses.
 *
 *   import * as AgentMemory from "agent-memory"
 *   import * as MemoryLayers from "agent-memory/layers"
 *   const program = Effect.gen(function*() {
 *     const memory = yield* AgentMemory.Memory
 *     yield* memory.store(new AgentMemory.StoreMemoryRequest({ content: "…" }))
 *   })
 *   await Effect.runPromise(program.pipe(Effect.provide(MemoryLayers.layerConfig())))
 */
export * from "./domain/errors.ts"
export * from "./domain/Filter.ts"
export * from "./domain/Memory.ts"
export * from "./domain/Search.ts"
export { Memory } from "./memory/Memory.ts"
export { type MemorySettingsShape, MemorySettings } from "./memory/MemorySettings.ts"
export { Embedder, type EmbedderService } from "./ports/Embedder.ts"
export * from "./ports/MemoryCache.ts"
export * from "./ports/MemoryStore.ts"
export { Reranker, type RerankerService, type RerankScore } from "./ports/Reranker.ts"
export * from "./domain/TimeRange.ts"
export type * from "./plugins/Plugin.ts"
export { PluginLoadError } from "./plugins/PluginRegistry.ts"
export { Api } from "./http/Api.ts"
export * as ConfigFile from "./config/ConfigFile.ts"
