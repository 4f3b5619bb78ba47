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
import * as Monitor from "../src/monitor/Monitor.ts"
import * as Readings from "../src/monitor/Readings.ts"
import * as MeteredEmbedder from "../src/observability/MeteredEmbedder.ts"
import * as MetricsPoller from "../src/observability/MetricsPoller.ts"
import { PoolRegistry } from "../src/observability/PoolRegistry.ts"
import { SearchStats } from "../src/observability/SearchStats.ts"
import * as TracedCache from "../src/observability/TracedCache.ts"
import type { MemoryStore } from "../src/ports/MemoryStore.ts"
import type { Reranker } from "../src/ports/Reranker.ts"
import type { Plugin, ProviderStartError, StoreContext } from "../src/plugins/Plugin.ts"
import { loadPlugin, makeRegistry, type PluginLoadError } from "../src/plugins/PluginRegistry.ts"
import { builtins } from "./builtins.ts"
import * as Prometheus from "../otel/Prometheus.ts"
import type { MetricsText } from "../src/observability/MetricsText.ts"

export { builtins }
import * as TieredCache from "./cache/TieredCache.ts"

export type StartupError = ProviderStartError | PluginLoadError

export interface ProviderChoice {
  readonly store: string
  readonly embedder: string
  /** A reranker plugin's name, or "none" (the default). */
  readonly reranker: string
  /** Module specifiers of external plugins. */
  readonly plugins: ReadonlyArray<string>
}

export const providerConfig: Config.Config<ProviderChoice> = Config.all({
  store: Config.string("MEMORY_STORE").pipe(Config.withDefault("pglite")),
  embedder: Config.string("MEMORY_EMBEDDER").pipe(Config.withDefault("local")),
  reranker: Config.string("MEMORY_RERANKER").pipe(Config.withDefault("none")),
  plugins: Config.string("MEMORY_PLUGINS").pipe(
    Config.withDefault(""),
    Config.map((list) => list.split(",").map((s) => s.trim()).filter((s) => s.length > 0))
  )
})

/** What the memory stack provides. */
export type Services =
  | Memory
  | MemoryStore
  | Embedder
  | MemoryCache
  | SearchStats
  | PoolRegistry
  | Monitor.Monitor
  | MetricsPoller.MetricsPoller
  | MetricsText

/**
 * The memory stack from explicit provider layers: Memory over the store, the
 * cache (in process by default) and the embedder behind the embedding cache,
 * with the search statistics, the heap monitor and the metrics poller beside
 * it. The store learns the vector width from the embedder.
 */
export const layer = <E1, E2, E3 = never, E4 = never, E5 = never, E6 = never, E7 = never>(options: {
  readonly embedder: Layer.Layer<Embedder, E1>
  readonly store: (context: StoreContext) => Layer.Layer<MemoryStore, E2>
  readonly cache?: Layer.Layer<MemoryCache, E3> | undefined
  readonly settings?: Layer.Layer<MemorySettings.MemorySettings, E4> | undefined
  readonly monitor?: Layer.Layer<Monitor.Monitor, E5, MemoryCache> | undefined
  readonly metricsPoller?: Layer.Layer<MetricsPoller.MetricsPoller, E6, MemoryCache> | undefined
  /** An optional second search stage; none when left out. */
  readonly reranker?: Layer.Layer<Reranker, E7> | undefined
}): Layer.Layer<Services, E1 | E2 | E3 | E4 | E5 | E6 | E7> => {
  const cache = TracedCache.layer.pipe(Layer.provide(options.cache ?? (TieredCache.layer() as Layer.Layer<MemoryCache, E3>)))
  const settings = options.settings ?? (MemorySettings.layer() as Layer.Layer<MemorySettings.MemorySettings, E4>)
  const monitor = options.monitor ??
    (Monitor.layer(Monitor.defaults()).pipe(Layer.provide(Readings.layer)) as Layer.Layer<Monitor.Monitor, E5, MemoryCache>)
  const poller = options.metricsPoller ?? (MetricsPoller.layer() as Layer.Layer<MetricsPoller.MetricsPoller, E6, MemoryCache>)
  const store = Layer.unwrapEffect(Effect.map(Embedder, (embedder) => options.store({ dimensions: embedder.dimensions, exactSearch: embedder.exactSearch === true })))
  const embedder = CachedEmbedder.layer.pipe(
    Layer.provide(MeteredEmbedder.layer),
    Layer.provide(options.embedder),
    Layer.provideMerge(cache)
  )
  return Memory.Default.pipe(
    Layer.provide(settings),
    Layer.provide(options.reranker ?? Layer.empty),
    Layer.provideMerge(Layer.mergeAll(SearchStats.Default, monitor, poller)),
    Layer.provideMerge(store),
    Layer.provideMerge(embedder),
    // Stores register their pools here for /v1/stats.
    Layer.provideMerge(PoolRegistry.Default),
    Layer.provideMerge(Prometheus.layer)
  )
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
): Layer.Layer<Services, StartupError> =>
  Layer.unwrapEffect(
    Effect.gen(function*() {
      const choice = yield* providerConfig
      const external = yield* Effect.forEach(choice.plugins, loadPlugin)
      const registry = yield* makeRegistry([...builtins, ...plugins, ...external.flat()])
      const store = registry.stores.get(choice.store)
      if (!store) return yield* Effect.fail(unknownProvider("MEMORY_STORE", "store", choice.store, registry.stores.keys()))
      const embedder = registry.embedders.get(choice.embedder)
      if (!embedder) return yield* Effect.fail(unknownProvider("MEMORY_EMBEDDER", "embedder", choice.embedder, registry.embedders.keys()))
      const reranker = choice.reranker === "none" ? undefined : registry.rerankers.get(choice.reranker)
      if (choice.reranker !== "none" && !reranker) {
        return yield* Effect.fail(unknownProvider("MEMORY_RERANKER", "reranker", choice.reranker, ["none", ...registry.rerankers.keys()]))
      }
      const tuning = Layer.effect(
        MemorySettings.MemorySettings,
        Effect.map(MemorySettings.config, (fromEnv) => ({ ...fromEnv, ...settings }))
      )
      return layer({
        embedder: embedder.layer(),
        store: store.layer,
        cache: TieredCache.layerConfig(),
        settings: tuning,
        monitor: Monitor.layerConfig().pipe(Layer.provide(Readings.layer)),
        metricsPoller: MetricsPoller.layerConfig,
        reranker: reranker?.layer()
      })
    })
  )
