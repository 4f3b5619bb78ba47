/**
 * The registry of providers by port and name, and the loader for external
 * plugin modules. A module that cannot be imported, or whose export is not a
 * plugin, is a start-up error naming the module and what is wrong with it.
 */
import { pathToFileURL } from "node:url"
import { resolve } from "node:path"
import { Data, Effect, ParseResult, Schema } from "effect"
import type { EmbedderPlugin, Plugin, RerankerPlugin, StorePlugin } from "./Plugin.ts"

export class PluginLoadError extends Data.TaggedError("PluginLoadError")<{ readonly message: string }> {}

const PluginShape = Schema.Struct({
  port: Schema.Literal("store", "embedder", "reranker"),
  name: Schema.String.pipe(Schema.pattern(/^[a-z][a-z0-9-]{0,39}$/, { message: () => "name must be lower-case letters, digits and -" })),
  description: Schema.optional(Schema.String),
  layer: Schema.declare((u): u is (...args: ReadonlyArray<unknown>) => unknown => typeof u === "function", {
    identifier: "function returning a Layer"
  })
})
const decodePlugins = Schema.decodeUnknownEither(Schema.Union(PluginShape, Schema.NonEmptyArray(PluginShape)))

export interface PluginRegistry {
  readonly stores: ReadonlyMap<string, StorePlugin>
  readonly embedders: ReadonlyMap<string, EmbedderPlugin>
  readonly rerankers: ReadonlyMap<string, RerankerPlugin>
}

export const makeRegistry = (plugins: ReadonlyArray<Plugin>): Effect.Effect<PluginRegistry, PluginLoadError> =>
  Effect.suspend(() => {
    const stores = new Map<string, StorePlugin>()
    const embedders = new Map<string, EmbedderPlugin>()
    const rerankers = new Map<string, RerankerPlugin>()
    for (const plugin of plugins) {
      const table: Map<string, Plugin> = plugin.port === "store" ? stores : plugin.port === "embedder" ? embedders : rerankers
      if (table.has(plugin.name)) {
        return Effect.fail(new PluginLoadError({ message: `two ${plugin.port} plugins are named "${plugin.name}"` }))
      }
      table.set(plugin.name, plugin)
    }
    return Effect.succeed({ stores, embedders, rerankers })
  })

/** Imports one module (a path relative to the working directory, or a package name) and checks its export. */
export const loadPlugin = (specifier: string): Effect.Effect<ReadonlyArray<Plugin>, PluginLoadError> =>
  Effect.gen(function*() {
    const url = /^[./]/.test(specifier) ? pathToFileURL(resolve(specifier)).href : specifier
    const module = yield* Effect.tryPromise({
      try: () => import(url) as Promise<{ readonly default?: unknown; readonly plugins?: unknown }>,
      catch: (cause) =>
        new PluginLoadError({ message: `MEMORY_PLUGINS: cannot import "${specifier}": ${cause instanceof Error ? cause.message : String(cause)}` })
    })
    const exported = module.default ?? module.plugins
    const decoded = decodePlugins(exported)
    if (decoded._tag === "Left") {
      return yield* new PluginLoadError({
        message: `MEMORY_PLUGINS: "${specifier}" does not export a plugin: ${ParseResult.TreeFormatter.formatErrorSync(decoded.left)}`
      })
    }
    // The shape is checked; the layer's own types are the plugin author's promise.
    return (Array.isArray(exported) ? exported : [exported]) as ReadonlyArray<Plugin>
  })
