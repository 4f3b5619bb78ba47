/**
 * The `pgvector` store: a PostgreSQL server with the pgvector extension,
 * reached through @effect/sql-pg. Start-up runs the migrations over one
 * connection, then opens the pool with the search settings baked into every
 * connection. Vectors travel in pgvector's binary form.
 *
 * With read replicas (DATABASE_REPLICA_URLS), each gets a pool and a SQL store
 * of its own and ReplicaRouter sends searches to them; everything else stays on
 * the primary. Pools are metered (PgPool) and listed in the PoolRegistry when
 * one is provided; each pool's health is kept current by its checkouts and, when
 * idle, a probe every MEMORY_POOL_PROBE_INTERVAL.
 */
import { Reactivity } from "@effect/experimental"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Config, Duration, Effect, Layer, Option, Redacted } from "effect"
import { StoreUnavailable } from "../../../src/domain/errors.ts"
import { duration, positiveInt } from "../../../src/config/values.ts"
import { type PoolReading, PoolRegistry } from "../../../src/observability/PoolRegistry.ts"
import { MemoryStore } from "../../../src/ports/MemoryStore.ts"
import * as AutoAnalyze from "../sql/AutoAnalyze.ts"
import { vectorBinary } from "../sql/pgText.ts"
import * as SqlSchema from "../sql/SqlSchema.ts"
import * as SqlStore from "../sql/SqlStore.ts"
import { type EmbedderHint, settingsConfigFor, settingsFromEmbedder, type SqlStoreSettings } from "../sql/SqlStoreConfig.ts"
import * as VectorStorage from "../sql/VectorStorage.ts"
import * as CopyInsert from "./CopyInsert.ts"
import * as PgPool from "./PgPool.ts"
import * as DirectQuery from "./DirectQuery.ts"
import * as ReplicaRouter from "./ReplicaRouter.ts"

export interface PgvectorStoreOptions {
  readonly url: Redacted.Redacted
  readonly dimensions: number
  readonly settings?: SqlStoreSettings | undefined
  readonly pool?: PgPool.PoolSettings | undefined
  /** A schema of its own for the tables (created if missing); default `public`. */
  readonly schema?: string | undefined
  /** Read replicas (hot standbys of the primary) for searches. */
  readonly replicas?: ReadonlyArray<Redacted.Redacted> | undefined
  /** How long a replica whose search failed is skipped (default 5 seconds). */
  readonly replicaRetryAfter?: Duration.DurationInput | undefined
  /** How often an idle pool is asked whether its server answers (default 5 seconds). */
  readonly probeInterval?: Duration.DurationInput | undefined
  /** How often this process's writes are checked against the ANALYZE rule (AutoAnalyze; default 5 seconds). */
  readonly analyzeInterval?: Duration.DurationInput | undefined
  /** How batches are written: `copy` (default; binary COPY into a staging table, then one INSERT … SELECT) or `values` (one INSERT … VALUES). */
  readonly insertVia?: "copy" | "values" | undefined
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

const unavailable = (e: { readonly message: string; readonly cause?: unknown }) =>
  new StoreUnavailable({ message: `${e.message}${e.cause instanceof Error ? `: ${e.cause.message}` : ""}` })

const clientOver = (options: PgPool.PgPoolOptions) =>
  PgClient.fromPool({ acquire: PgPool.acquire(options) }).pipe(
    Effect.provideServiceEffect(Reactivity.Reactivity, Reactivity.make),
    Effect.mapError(unavailable)
  )

/** A metered pool and a client over it; the pool is closed after the client. */
const meteredClient = (options: PgPool.PgPoolOptions & { readonly name: string }) =>
  Effect.gen(function*() {
    const pool = yield* PgPool.acquireMetered(options).pipe(Effect.mapError(unavailable))
    const client = yield* PgClient.fromPool({ acquire: Effect.succeed(pool) }).pipe(
      Effect.provideServiceEffect(Reactivity.Reactivity, Reactivity.make),
      Effect.mapError(unavailable)
    )
    return { pool, client }
  })

const lsnQuery = (client: PgClient.PgClient, what: "pg_current_wal_lsn" | "pg_last_wal_replay_lsn") =>
  client<{ readonly lsn: string | null }>`SELECT ${client.literal(what)}()::text AS lsn`.pipe(
    Effect.map((rows) => ReplicaRouter.parseLsn(rows[0]?.lsn ?? "0/0")),
    Effect.mapError(unavailable)
  )

const reading = (
  pool: PgPool.MeteredPool,
  fields: { readonly name: string; readonly role: PoolReading["role"]; readonly address: string; readonly up: () => boolean }
) =>
(): PoolReading => {
  const counts = pool.acquireCounts
  return {
    name: fields.name,
    role: fields.role,
    address: fields.address,
    max: pool.options.max,
    total: pool.totalCount,
    idle: pool.idleCount,
    waiting: pool.waitingCount,
    acquires: counts.acquires,
    acquireFailures: counts.failures,
    avgAcquireMs: counts.acquires === 0 ? 0 : counts.totalMs / counts.acquires,
    up: fields.up()
  }
}

/** Rows one batch-ingest insert takes when embedded batches are coalesced (see MemoryStoreService.writeBatchRows). */
const WRITE_BATCH_ROWS = 1000

export const make = (options: PgvectorStoreOptions) =>
  Effect.gen(function*() {
    const settings = yield* VectorStorage.fit(options.dimensions, options.settings ?? (yield* settingsFromEmbedder))
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
    const { session, vectorType } = yield* Effect.gen(function*() {
      const client = yield* clientOver({ url: options.url, pool: single, sessionSettings: searchPath })
      return yield* SqlSchema.migrate({ dimensions: options.dimensions, settings, sizeBuildMemory: true }).pipe(
        Effect.provideService(SqlClient.SqlClient, client)
      )
    }).pipe(Effect.scoped)

    // Phase 2: the serving pools, the primary's and one per replica (opened unverified: one that is down must not stop start-up).
    const sessionSettings = { ...searchPath, ...session }
    const storeOver = (client: PgClient.PgClient, connections: PgPool.MeteredPool) =>
      SqlStore.make({
        provider: "pgvector",
        dimensions: options.dimensions,
        vectorType,
        encodeVector: vectorBinary,
        runDirect: DirectQuery.runner(connections, {
          "db.system.name": "postgresql",
          "db.namespace": client.config.database ?? client.config.username ?? "postgres",
          "server.address": client.config.host ?? "localhost",
          "server.port": client.config.port ?? 5432
        }),
        bulkInsert: options.insertVia === "values" ? undefined : CopyInsert.make({ dimensions: options.dimensions, vectorType })
      }).pipe(Effect.provideService(SqlClient.SqlClient, client))
    const primary = yield* meteredClient({ url: options.url, pool, sessionSettings, name: "primary" })
    const primaryStore = yield* storeOver(primary.client, primary.pool)
    const replicas = yield* Effect.forEach(options.replicas ?? [], (url, i) =>
      Effect.gen(function*() {
        const name = `replica-${i + 1}`
        const { client, pool: replicaPool } = yield* meteredClient({ url, pool, sessionSettings, name, verify: false })
        return {
          name,
          url,
          pool: replicaPool,
          store: yield* storeOver(client, replicaPool),
          replayedLsn: lsnQuery(client, "pg_last_wal_replay_lsn")
        }
      }))
    const router = yield* ReplicaRouter.make({
      primary: primaryStore,
      primaryLsn: lsnQuery(primary.client, "pg_current_wal_lsn"),
      replicas,
      retryAfter: options.replicaRetryAfter ?? Duration.seconds(5)
    })

    const probe = { interval: Duration.decode(options.probeInterval ?? Duration.seconds(5)), timeout: pool.connectTimeout }
    yield* PgPool.keepHealth(primary.pool, probe)
    for (const replica of replicas) yield* PgPool.keepHealth(replica.pool, probe)

    const registry = yield* Effect.serviceOption(PoolRegistry)
    if (Option.isSome(registry)) {
      yield* registry.value.register(
        reading(primary.pool, { name: "primary", role: "primary", address: PgPool.addressOf(options.url), up: () => primary.pool.up })
      )
      for (const replica of replicas) {
        yield* registry.value.register(
          reading(replica.pool, {
            name: replica.name,
            role: "replica",
            address: PgPool.addressOf(replica.url),
            up: () => replica.pool.up && router.isUp(replica.name)
          })
        )
      }
    }
    if (replicas.length > 0) {
      yield* Effect.logInfo(`pgvector: searches go to ${replicas.length} read replica(s): ${replicas.map((r) => PgPool.addressOf(r.url)).join(", ")}`)
    }
    // Statistics on the primary (replicas receive them by replication): first whatever loaded before start-up, then this process's writes.
    const changed: AutoAnalyze.WriteCount = { count: 0 }
    yield* AutoAnalyze.keep(primary.client, changed, options.analyzeInterval ?? "5 seconds", AutoAnalyze.analyzeIfServerCountsGrown(primary.client))
    // A pool of sessions: a large ingest transaction holds one while single writes take others.
    return { ...AutoAnalyze.counting(router.store, changed), writeBatchRows: WRITE_BATCH_ROWS }
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
  maxLifetime: duration("MEMORY_POOL_MAX_LIFETIME", PgPool.defaultPoolSettings.maxLifetime),
  preparedStatements: Config.boolean("MEMORY_PG_PREPARED_STATEMENTS").pipe(Config.withDefault(true))
})

/** DATABASE_REPLICA_URLS: comma-separated; each URL stays Redacted. */
export const replicasConfig: Config.Config<ReadonlyArray<Redacted.Redacted>> = Config.redacted("DATABASE_REPLICA_URLS").pipe(
  Config.withDefault(Redacted.make("")),
  Config.map((list) =>
    Redacted.value(list).split(",").map((s) => s.trim()).filter((s) => s.length > 0).map((url) => Redacted.make(url))
  )
)

/** From the environment; the index's defaults follow `embedder` (the store context), else MEMORY_EMBEDDER. */
export const config = (dimensions: number, embedder?: EmbedderHint): Config.Config<PgvectorStoreOptions> =>
  Config.all({
    url: Config.redacted("DATABASE_URL"),
    dimensions: Config.succeed(dimensions),
    settings: settingsConfigFor(embedder),
    pool: poolConfig,
    schema: Config.string("MEMORY_PG_SCHEMA").pipe(Config.withDefault("public")),
    replicas: replicasConfig,
    replicaRetryAfter: duration("MEMORY_REPLICA_RETRY_AFTER", Duration.seconds(5)),
    probeInterval: duration("MEMORY_POOL_PROBE_INTERVAL", Duration.seconds(5))
  })

export const layerConfig = (options: Config.Config<PgvectorStoreOptions>) =>
  Layer.scoped(MemoryStore, Effect.flatMap(options, make))
