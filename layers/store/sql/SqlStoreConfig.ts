/**
 * Settings shared by the two SQL stores (pgvector and pglite): vector storage,
 * the vector index and its tuning, and extra session settings.
 */
import { Config, ConfigError, Effect, Either, Option } from "effect"
import { positiveInt } from "../../../src/config/values.ts"
import { Embedder } from "../../../src/ports/Embedder.ts"

export type VectorType = "vector" | "halfvec"

export type VectorIndex =
  | { readonly _tag: "hnsw"; readonly m: number; readonly efConstruction: number; readonly efSearch: number }
  | { readonly _tag: "ivfflat"; readonly lists?: number | undefined; readonly probes?: number | undefined }
  | { readonly _tag: "none" }

export interface SqlStoreSettings {
  readonly vectorType: VectorType
  readonly index: VectorIndex
  /** Extra PostgreSQL settings for every session, e.g. `{ work_mem: "256MB" }`. */
  readonly pgSettings: Readonly<Record<string, string>>
  /**
   * `maintenance_work_mem` for the session that builds the vector index (pgvector only):
   * `auto` (the default) sizes it to hold the HNSW graph in memory, up to 4GB; or a
   * PostgreSQL amount such as `4GB`. A graph that does not fit is built on disk, ~3× slower.
   */
  readonly indexBuildMemory?: string | undefined
}

/**
 * ef_construction 128, not pgvector's 64: at a million rows a graph built with 64 keeps
 * 0.940 of the exact top 10 at ef_search 40 and at 80 alike (the graph, not the search
 * depth, is the limit); see bench/PERFORMANCE.md, "One million rows".
 */
export const DEFAULT_EF_CONSTRUCTION = 128

export const defaultIndex: VectorIndex = { _tag: "hnsw", m: 16, efConstruction: DEFAULT_EF_CONSTRUCTION, efSearch: 40 }

export const defaultSettings: SqlStoreSettings = { vectorType: "vector", index: defaultIndex, pgSettings: {} }

const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/
const SETTING_VALUE = /^[A-Za-z0-9_.:+-]+$/

/** `work_mem=256MB,maintenance_work_mem=1GB` → a record; names and values are checked so they can be sent safely. */
export const parsePgSettings = (text: string): Either.Either<Record<string, string>, string> => {
  const out: Record<string, string> = {}
  for (const part of text.split(",").map((s) => s.trim()).filter((s) => s.length > 0)) {
    const eq = part.indexOf("=")
    const name = part.slice(0, eq).trim()
    const value = part.slice(eq + 1).trim()
    if (eq <= 0 || !SETTING_NAME.test(name) || !SETTING_VALUE.test(value)) {
      return Either.left(`"${part}" is not name=value (letters, digits, _ . : + -)`)
    }
    out[name] = value
  }
  return Either.right(out)
}

const MEMORY_AMOUNT = /^[1-9][0-9]*(kB|MB|GB|TB)?$/

const optionalPositiveInt = (name: string) =>
  Config.option(
    Config.integer(name).pipe(Config.validate({ message: "must be a whole number of 1 or more", validation: (n) => n >= 1 }))
  )

/** What the store knows of its embedder when choosing defaults (its `exactSearch`, src/ports/Embedder.ts). */
export interface EmbedderHint {
  readonly exactSearch?: boolean | undefined
}

/**
 * The vector index when MEMORY_INDEX is not set (or a store is built without settings):
 * HNSW for a model's dense embeddings; none (exact search) for an embedder that declares
 * `exactSearch`, the local hashing embedder. Graph search fails on its sparse vectors as the
 * table grows: at 100k records of real text the HNSW scan keeps 0.44–0.50 of the exact top
 * 10 at every ef_search from 100 to 700 (0.97 at 700 on 8.5k), so an index would cost every
 * write and lose half the nearest records (bench/PERFORMANCE.md, "The local embedder at
 * 100,000 records").
 */
export const defaultIndexKindFor = (embedder: EmbedderHint): VectorIndex["_tag"] => (embedder.exactSearch === true ? "none" : "hnsw")

/**
 * ef_search when MEMORY_HNSW_EF_SEARCH is not set. With an index over the local hashing
 * embedder's vectors (MEMORY_INDEX=hnsw), graph search needs a long candidate list: on the
 * labelled corpus (8.5k texts, `npm run bench -- efsearch`) the HNSW scan keeps 0.567 of
 * the exact top 10 at 40, 0.908 at 600 and 0.971 at 700. Dense model embeddings keep ≥ 0.95 at 40.
 */
export const defaultEfSearchFor = (embedder: EmbedderHint): number => (embedder.exactSearch === true ? 700 : 40)

/** The settings of a store built without any: the defaults, with the index its embedder wants. */
export const defaultSettingsFor = (embedder: EmbedderHint): SqlStoreSettings =>
  defaultIndexKindFor(embedder) === "none" ? { ...defaultSettings, index: { _tag: "none" } } : defaultSettings

/**
 * The settings of a store built without any, from the Embedder in context (the memory stack
 * builds its store beside its embedder): a library user who composes the local embedder with a
 * store gets exact search, as the server does. No embedder in context: the defaults (HNSW).
 */
export const settingsFromEmbedder: Effect.Effect<SqlStoreSettings> = Effect.map(
  Effect.serviceOption(Embedder),
  (embedder) => defaultSettingsFor(Option.getOrElse(embedder, () => ({})))
)

/** The index from the environment; where MEMORY_INDEX or MEMORY_HNSW_EF_SEARCH is not set, `embedder`'s defaults. */
const indexConfigWith = (embedder: Config.Config<EmbedderHint>): Config.Config<VectorIndex> =>
  Config.all({
    embedder,
    kind: Config.option(Config.literal("hnsw", "ivfflat", "none")("MEMORY_INDEX")),
    m: positiveInt("MEMORY_HNSW_M", 16),
    efConstruction: positiveInt("MEMORY_HNSW_EF_CONSTRUCTION", DEFAULT_EF_CONSTRUCTION),
    efSearch: optionalPositiveInt("MEMORY_HNSW_EF_SEARCH"),
    lists: optionalPositiveInt("MEMORY_IVFFLAT_LISTS"),
    probes: optionalPositiveInt("MEMORY_IVFFLAT_PROBES")
  }).pipe(
    Config.map(({ efConstruction, efSearch, embedder, kind, lists, m, probes }): VectorIndex => {
      switch (Option.getOrElse(kind, () => defaultIndexKindFor(embedder))) {
        case "hnsw":
          return { _tag: "hnsw", m, efConstruction, efSearch: Option.getOrElse(efSearch, () => defaultEfSearchFor(embedder)) }
        case "ivfflat":
          return { _tag: "ivfflat", lists: Option.getOrUndefined(lists), probes: Option.getOrUndefined(probes) }
        case "none":
          return { _tag: "none" }
      }
    })
  )

export const indexConfigFor = (embedder: EmbedderHint): Config.Config<VectorIndex> => indexConfigWith(Config.succeed(embedder))

const settingsWith = (embedder: Config.Config<EmbedderHint>): Config.Config<SqlStoreSettings> => Config.all({
  vectorType: Config.literal("vector", "halfvec")("MEMORY_VECTOR_TYPE").pipe(Config.withDefault("vector" as const)),
  index: indexConfigWith(embedder),
  indexBuildMemory: Config.string("MEMORY_INDEX_BUILD_MEMORY").pipe(
    Config.validate({ message: "must be auto or an amount such as 512MB or 2GB", validation: (v) => v === "auto" || MEMORY_AMOUNT.test(v) }),
    Config.withDefault("auto")
  ),
  pgSettings: Config.string("MEMORY_PG_SETTINGS").pipe(
    Config.withDefault(""),
    Config.mapOrFail((text) =>
      Either.mapLeft(parsePgSettings(text), (message) => ConfigError.InvalidData(["MEMORY_PG_SETTINGS"], message))
    )
  )
})

/** Without a hint, the embedder MEMORY_EMBEDDER names: the built-in `local` searches exactly. */
const hintFromEnvironment: Config.Config<EmbedderHint> = Config.map(
  Config.string("MEMORY_EMBEDDER").pipe(Config.withDefault("local")),
  (name) => ({ exactSearch: name === "local" })
)

/**
 * The store settings from the environment. The index's defaults follow the embedder: the
 * hint given (a store plugin's context), else the embedder MEMORY_EMBEDDER names.
 */
export const settingsConfigFor = (embedder?: EmbedderHint): Config.Config<SqlStoreSettings> =>
  settingsWith(embedder === undefined ? hintFromEnvironment : Config.succeed(embedder))
