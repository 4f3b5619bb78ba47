/**
 * The `pglite` store, the default: PostgreSQL + pgvector embedded in the process
 * (PGlite), running the same migrations and SQL as the `pgvector` store. Data
 * lives in MEMORY_DATA_DIR, or in RAM with `memory://`. Nothing to install.
 */
import { SqlClient } from "@effect/sql"
import { Config, type Duration, Effect, Layer } from "effect"
import { StoreUnavailable } from "../../../src/domain/errors.ts"
import { MemoryStore } from "../../../src/ports/MemoryStore.ts"
import * as AutoAnalyze from "../sql/AutoAnalyze.ts"
import { vectorText } from "../sql/pgText.ts"
import * as SqlSchema from "../sql/SqlSchema.ts"
import * as SqlStore from "../sql/SqlStore.ts"
import { type EmbedderHint, settingsConfigFor, settingsFromEmbedder, type SqlStoreSettings } from "../sql/SqlStoreConfig.ts"
import * as VectorStorage from "../sql/VectorStorage.ts"
import * as BatchLane from "./BatchLane.ts"
import * as PgliteClient from "./PgliteClient.ts"

export const DEFAULT_DATA_DIR = "./.agent-memory"

export interface PgliteStoreOptions {
  readonly dataDir: string
  readonly dimensions: number
  readonly settings?: SqlStoreSettings | undefined
  /** How often to check whether the planner's statistics need refreshing (default 5s). */
  readonly analyzeInterval?: Duration.DurationInput | undefined
}

/**
 * PGlite has no autovacuum, so nothing refreshes the planner's statistics: a
 * table filled since start-up looks empty, and searches fall back from the
 * vector index to exact scans. AutoAnalyze applies autovacuum's own rule.
 * (PGlite's own change counters are not kept up to date, so the store counts its writes.)
 */
export const make = (options: PgliteStoreOptions) =>
  Effect.gen(function*() {
    const { client } = yield* PgliteClient.make({ dataDir: options.dataDir }).pipe(
      Effect.mapError((e) =>
        new StoreUnavailable({
          message: e._tag === "DataDirLocked" ? e.message : `${e.message}: ${e.cause instanceof Error ? e.cause.message : String(e.cause)}`
        })
      )
    )
    return yield* makeWith(client, options)
  })

/** The store over an already open PGlite client (tests look at the database beside it). */
export const makeWith = (client: SqlClient.SqlClient, options: Omit<PgliteStoreOptions, "dataDir">) =>
  Effect.gen(function*() {
    const settings = yield* VectorStorage.fit(options.dimensions, options.settings ?? (yield* settingsFromEmbedder))
    return yield* Effect.gen(function*() {
      const { session, vectorType } = yield* SqlSchema.migrate({ dimensions: options.dimensions, settings })
      // One session: settings made once hold for every later statement.
      for (const [name, value] of Object.entries(session)) {
        yield* client`SELECT set_config(${name}, ${value}, false)`.pipe(
          Effect.mapError(SqlSchema.storeUnavailable(`setting ${name}`))
        )
      }
      yield* client`ANALYZE memories`.pipe(Effect.mapError(SqlSchema.storeUnavailable("analyze")))
      const changed = { count: 0 }
      yield* AutoAnalyze.keep(client, changed, options.analyzeInterval ?? "5 seconds")
      const store = yield* SqlStore.make({
        provider: "pglite",
        dimensions: options.dimensions,
        vectorType,
        encodeVector: vectorText
      })
      // Batches queue in a lane of their own, so single writes are not starved behind them.
      return yield* BatchLane.oneBatchAtATime(AutoAnalyze.counting(store, changed))
    }).pipe(Effect.provideService(SqlClient.SqlClient, client))
  })

export const layer = (options: PgliteStoreOptions) => Layer.scoped(MemoryStore, make(options))

/** From the environment; the index's defaults follow `embedder` (the store context), else MEMORY_EMBEDDER. */
export const config = (dimensions: number, embedder?: EmbedderHint): Config.Config<PgliteStoreOptions> =>
  Config.all({
    dataDir: Config.string("MEMORY_DATA_DIR").pipe(Config.withDefault(DEFAULT_DATA_DIR)),
    dimensions: Config.succeed(dimensions),
    settings: settingsConfigFor(embedder)
  })

export const layerConfig = (options: Config.Config<PgliteStoreOptions>) =>
  Layer.scoped(MemoryStore, Effect.flatMap(options, make))
