/**
 * The `pgvector` store: a PostgreSQL server with the pgvector extension,
 * reached through @effect/sql-pg. Start-up runs the migrations over one
 * connection, then opens the pool with the search settings baked into every
 * connection. Vectors travel in pgvector's binary form.
 */
import { Reactivity } from "@effect/experimental"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Config, Effect, Layer, type Redacted } from "effect"
import { StoreUnavailable } from "../../../src/domain/errors.ts"
import { duration, positiveInt } from "../../../src/config/values.ts"
import { MemoryStore } from "../../../src/ports/MemoryStore.ts"
import { vectorBinary } from "../sql/pgText.ts"
import * as SqlSchema from "../sql/SqlSchema.ts"
import * as SqlStore from "../sql/SqlStore.ts"
import { defaultSettings, settingsConfig, type SqlStoreSettings } from "../sql/SqlStoreConfig.ts"
import * as PgPool from "./PgPool.ts"

export interface PgvectorStoreOptions {
  readonly url: Redacted.Redacted
  readonly dimensions: number
  readonly settings?: SqlStoreSettings | undefined
  readonly pool?: PgPool.PoolSettings | undefined
  /** A schema of its own for the tables (created if missing); default `public`. */
  readonly schema?: string | undefined
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

const unavailable = (e: { readonly message: string; readonly cause?: unknown }) =>
  new StoreUnavailable({ message: `${e.message}${e.cause instanceof Error ? `: ${e.cause.message}` : ""}` })

const clientOver = (options: PgPool.PgPoolOptions) =>
  PgClient.fromPool({ acquire: PgPool.acquire(options) }).pipe(
    Effect.provideServiceEffect(Reactivity.Reactivity, Reactivity.make),
    Effect.mapError(unavailable)
  )

export const make = (options: PgvectorStoreOptions) =>
  Effect.gen(function*() {
    const settings = options.settings ?? defaultSettings
    const pool = options.pool ?? PgPool.defaultPoolSettings
    const schema = options.schema ?? "public"
    if (!SCHEMA_NAME.test(schema)) {
      return yield* new StoreUnavailable({ message: `schema "${schema}" must be a lower-case SQL identifier` })
    }
    const single = { ...pool, max: 1, min: 0 }

    // Phase 1a: the extension (in the user's own default schema, usually public) and our schema.
    const vectorSchema = yield* Effect.gen(function*() {
      const client = yield* clientOver({ url: options.url, pool: single, sessionSettings: {} })
      // Retried: two servers starting at once on a new database can race to create it.
      yield* client`CREATE EXTENSION IF NOT EXISTS vector`.pipe(Effect.retry({ times: 2 }), Effect.mapError(unavailable))
      if (schema !== "public") {
        yield* client`CREATE SCHEMA IF NOT EXISTS ${client(schema)}`.pipe(Effect.mapError(unavailable))
      }
      const [row] = yield* client<{ readonly name: string }>`
        SELECT extnamespace::regnamespace::text AS name FROM pg_extension WHERE extname = 'vector'`.pipe(
        Effect.mapError(unavailable)
      )
      return row?.name ?? "public"
    }).pipe(Effect.scoped)
    // Our tables first, then wherever the vector type lives.
    const searchPath = { search_path: [...new Set([schema, vectorSchema, "public"])].join(",") }

    // Phase 1b: migrations and the vector index over one connection, closed when done.
    const session = yield* Effect.gen(function*() {
      const client = yield* clientOver({ url: options.url, pool: single, sessionSettings: searchPath })
      return yield* SqlSchema.migrate({ dimensions: options.dimensions, settings }).pipe(
        Effect.provideService(SqlClient.SqlClient, client)
      )
    }).pipe(Effect.scoped)

    // Phase 2: the serving pool.
    const client = yield* clientOver({ url: options.url, pool, sessionSettings: { ...searchPath, ...session } })
    return yield* SqlStore.make({
      provider: "pgvector",
      dimensions: options.dimensions,
      vectorType: settings.vectorType,
      encodeVector: vectorBinary
    }).pipe(Effect.provideService(SqlClient.SqlClient, client))
  })

export const layer = (options: PgvectorStoreOptions) => Layer.scoped(MemoryStore, make(options))

export const poolConfig: Config.Config<PgPool.PoolSettings> = Config.all({
  max: positiveInt("MEMORY_POOL_MAX", PgPool.defaultPoolSettings.max),
  min: Config.integer("MEMORY_POOL_MIN").pipe(
    Config.validate({ message: "must be a whole number of 0 or more", validation: (n) => n >= 0 }),
    Config.withDefault(PgPool.defaultPoolSettings.min)
  ),
  idleTimeout: duration("MEMORY_POOL_IDLE_TIMEOUT", PgPool.defaultPoolSettings.idleTimeout),
  connectTimeout: duration("MEMORY_POOL_CONNECT_TIMEOUT", PgPool.defaultPoolSettings.connectTimeout),
  maxLifetime: duration("MEMORY_POOL_MAX_LIFETIME", PgPool.defaultPoolSettings.maxLifetime)
})

export const config = (dimensions: number): Config.Config<PgvectorStoreOptions> =>
  Config.all({
    url: Config.redacted("DATABASE_URL"),
    dimensions: Config.succeed(dimensions),
    settings: settingsConfig,
    pool: poolConfig,
    schema: Config.string("MEMORY_PG_SCHEMA").pipe(Config.withDefault("public"))
  })

export const layerConfig = (options: Config.Config<PgvectorStoreOptions>) =>
  Layer.scoped(MemoryStore, Effect.flatMap(options, make))
