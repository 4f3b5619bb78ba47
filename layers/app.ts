/**
 * Composition: picks one provider per port from configuration (MEMORY_STORE,
 * MEMORY_EMBEDDER), loads external plugins (MEMORY_PLUGINS), and builds the
 * memory stack as one Layer: Memory over a Store over an Embedder.
 */
import { Config, ConfigError, Effect, Layer } from "effect"
import * as CachedEmbedder from "../src/embedding/CachedEmbedder.ts"
import { Memory } from "../src/memory/Memory.ts"
import { Embedder } from "../src/ports/Embedder.ts"
import type { MemoryCache } from "../src/ports/MemoryCache.ts"
import * as MemorySettings from "../src/memory/MemorySettings.ts"
import type { MemoryStore } from "../src/ports/MemoryStore.ts"
import type { Plugin, ProviderStartError, StoreContext } from "../src/plugins/Plugin.ts"
import { loadPlugin, makeRegistry, type PluginLoadError } from "../src/plugins/PluginRegistry.ts"
import { builtins } from "./builtins.ts"
import * as TieredCache from "./cache/TieredCache.ts"

export type StartupError = ProviderStartError | PluginLoadError

export interface ProviderChoice {
  readonly store: string
  readonly embedder: string
  /** Module specifiers of external plugins. */
  readonly plugins: ReadonlyArray<string>
}

export const providerConfig: Config.Config<ProviderChoice> = Config.all({
  store: Config.string("MEMORY_STORE").pipe(Config.withDefault("pglite")),
  embedder: Config.string("MEMORY_EMBEDDER").pipe(Config.withDefault("local")),
  plugins: Config.string("MEMORY_PLUGINS").pipe(
    Config.withDefault(""),
    Config.map((list) => list.split(",").map((s) => s.trim()).filter((s) => s.length > 0))
  )
})

/**
 * The memory stack from explicit provider layers: Memory over the store, the
 * cache (in process by default) and the embedder behind the embedding cache.
 * The store learns the vector width from the embedder.
 */
export const layer = <E1, E2, E3 = never, E4 = never>(options: {
  readonly embedder: Layer.Layer<Embedder, E1>
  readonly store: (context: StoreContext) => Layer.Layer<MemoryStore, E2>
  readonly cache?: Layer.Layer<MemoryCache, E3> | undefined
  readonly settings?: Layer.Layer<MemorySettings.MemorySettings, E4> | undefined
}): Layer.Layer<Memory | MemoryStore | Embedder | MemoryCache, E1 | E2 | E3 | E4> => {
  const cache = options.cache ?? (TieredCache.layer() as Layer.Layer<MemoryCache, E3>)
  const settings = options.settings ?? (MemorySettings.layer() as Layer.Layer<MemorySettings.MemorySettings, E4>)
  const store = Layer.unwrapEffect(Effect.map(Embedder, (embedder) => options.store({ dimensions: embedder.dimensions })))
  const embedder = CachedEmbedder.layer.pipe(Layer.provide(options.embedder), Layer.provideMerge(cache))
  return Memory.Default.pipe(Layer.provide(settings), Layer.provideMerge(store), Layer.provideMerge(embedder))
}

const unknownProvider = (variable: string, port: string, name: string, known: Iterable<string>) =>
  ConfigError.InvalidData([variable], `unknown ${port} "${name}" (known: ${[...known].sort().join(", ")})`)

/**
 * The memory stack as configured by the environment (and MEMORY_CONFIG);
 * `plugins` adds providers in code, `settings` overrides tuning (the CLI's flags).
 */
export const layerConfig = (
  plugins: ReadonlyArray<Plugin> = [],
  settings: Partial<MemorySettings.MemorySettingsShape> = {}
): Layer.Layer<Memory | MemoryStore | Embedder | MemoryCache, StartupError> =>
  Layer.unwrapEffect(
    Effect.gen(function*() {
      const choice = yield* providerConfig
      const external = yield* Effect.forEach(choice.plugins, loadPlugin)
      const registry = yield* makeRegistry([...builtins, ...plugins, ...external.flat()])
      const store = registry.stores.get(choice.store)
      if (!store) return yield* Effect.fail(unknownProvider("MEMORY_STORE", "store", choice.store, registry.stores.keys()))
      const embedder = registry.embedders.get(choice.embedder)
      if (!embedder) return yield* Effect.fail(unknownProvider("MEMORY_EMBEDDER", "embedder", choice.embedder, registry.embedders.keys()))
      const tuning = Layer.effect(
        MemorySettings.MemorySettings,
        Effect.map(MemorySettings.config, (fromEnv) => ({ ...fromEnv, ...settings }))
      )
      return layer({ embedder: embedder.layer(), store: store.layer, cache: TieredCache.layerConfig(), settings: tuning })
    })
  )
