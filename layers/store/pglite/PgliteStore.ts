/**
 * The `pglite` store, the default: PostgreSQL + pgvector embedded in the process
 * (PGlite), running the same migrations and SQL as the `pgvector` store. Data
 * lives in MEMORY_DATA_DIR, or in RAM with `memory://`. Nothing to install.
 */
import { SqlClient } from "@effect/sql"
import { Config, Effect, Layer } from "effect"
import { StoreUnavailable } from "../../../src/domain/errors.ts"
import { MemoryStore } from "../../../src/ports/MemoryStore.ts"
import { vectorText } from "../sql/pgText.ts"
import * as SqlSchema from "../sql/SqlSchema.ts"
import * as SqlStore from "../sql/SqlStore.ts"
import { defaultSettings, settingsConfig, type SqlStoreSettings } from "../sql/SqlStoreConfig.ts"
import * as PgliteClient from "./PgliteClient.ts"

export const DEFAULT_DATA_DIR = "./.agent-memory"

export interface PgliteStoreOptions {
  readonly dataDir: string
  readonly dimensions: number
  readonly settings?: SqlStoreSettings | undefined
}

export const make = (options: PgliteStoreOptions) =>
  Effect.gen(function*() {
    const settings = options.settings ?? defaultSettings
    const { client } = yield* PgliteClient.make({ dataDir: options.dataDir }).pipe(
      Effect.mapError((e) => new StoreUnavailable({ message: `${e.message}: ${e.cause instanceof Error ? e.cause.message : String(e.cause)}` }))
    )
    return yield* Effect.gen(function*() {
      const session = yield* SqlSchema.migrate({ dimensions: options.dimensions, settings })
      // One session: settings made once hold for every later statement.
      for (const [name, value] of Object.entries(session)) {
        yield* client`SELECT set_config(${name}, ${value}, false)`.pipe(
          Effect.mapError(SqlSchema.storeUnavailable(`setting ${name}`))
        )
      }
      return yield* SqlStore.make({
        provider: "pglite",
        dimensions: options.dimensions,
        vectorType: settings.vectorType,
        encodeVector: vectorText
      })
    }).pipe(Effect.provideService(SqlClient.SqlClient, client))
  })

export const layer = (options: PgliteStoreOptions) => Layer.scoped(MemoryStore, make(options))

export const config = (dimensions: number): Config.Config<PgliteStoreOptions> =>
  Config.all({
    dataDir: Config.string("MEMORY_DATA_DIR").pipe(Config.withDefault(DEFAULT_DATA_DIR)),
    dimensions: Config.succeed(dimensions),
    settings: settingsConfig
  })

export const layerConfig = (options: Config.Config<PgliteStoreOptions>) =>
  Layer.scoped(MemoryStore, Effect.flatMap(options, make))
