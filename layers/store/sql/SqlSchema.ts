/**
 * Brings a database to the schema the SQL stores expect: runs the migrations,
 * checks that the vector column matches the configured width and storage, makes
 * the configured vector index (dropping one of ours that no longer matches) and
 * answers the session settings that searches need (ef_search / probes and
 * pgvector 0.8's iterative scans, which keep filtered searches returning k rows).
 */
import { SqlClient, type SqlError } from "@effect/sql"
import * as Migrator from "@effect/sql/Migrator"
import { Effect } from "effect"
import { DimensionMismatch, StoreUnavailable } from "../../../src/domain/errors.ts"
import { migrations } from "./migrations.ts"
import type { SqlStoreSettings, VectorIndex, VectorType } from "./SqlStoreConfig.ts"
import { INDEXABLE_WIDTH, ROW_TOAST_TARGET, storedInline } from "./VectorStorage.ts"

export const MIGRATIONS_TABLE = "agent_memory_migrations"

export interface SchemaOptions {
  readonly dimensions: number
  readonly settings: SqlStoreSettings
  /** Size `maintenance_work_mem` for index builds (a server does; the embedded store does not). */
  readonly sizeBuildMemory?: boolean | undefined
}

/** PostgreSQL settings to apply to every session that searches. */
export type SessionSettings = Readonly<Record<string, string>>

export const storeUnavailable = (what: string) => (error: SqlError.SqlError | Migrator.MigrationError) => {
  const cause = "cause" in error && error.cause instanceof Error ? `: ${error.cause.message}` : ""
  return new StoreUnavailable({ message: `${what}: ${error.message}${cause}` })
}

const runMigrations = Migrator.make({})

/** Never more than this by default (a million 384-wide rows need ~2.2GB): a server has other work, and parallel builds take it as shared memory. */
const AUTO_BUILD_MEMORY_CAP = 4 * 2 ** 30

/**
 * pgvector builds an HNSW graph in memory while it fits in maintenance_work_mem:
 * about the vectors plus ~600 bytes of links per row, with room to spare.
 */
export const autoBuildMemoryBytes = (rows: number, dimensions: number, vectorType: VectorType) =>
  Math.min(AUTO_BUILD_MEMORY_CAP, Math.ceil(1.5 * rows * (dimensions * (vectorType === "halfvec" ? 2 : 4) + 600)))

/** Raises maintenance_work_mem for this session when the build needs more than the server gives. */
const sizeBuildMemory = (options: SchemaOptions) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const wanted = options.settings.indexBuildMemory ?? "auto"
    let amount = wanted
    if (wanted === "auto") {
      const [row] = yield* sql<{ readonly rows: number; readonly current: number }>`
        SELECT (SELECT count(*) FROM memories)::float8 AS rows,
               (SELECT setting::float8 * 1024 FROM pg_settings WHERE name = 'maintenance_work_mem') AS current`
      const bytes = autoBuildMemoryBytes(row?.rows ?? 0, options.dimensions, options.settings.vectorType)
      if (bytes <= (row?.current ?? 0)) return
      amount = `${Math.ceil(bytes / 2 ** 20)}MB`
    }
    yield* Effect.logInfo(`index build with maintenance_work_mem = ${amount}`)
    yield* sql`SELECT set_config('maintenance_work_mem', ${amount}, false)`
  }).pipe(Effect.mapError(storeUnavailable("sizing maintenance_work_mem failed")))

/**
 * Keeps vectors in the row where they fit (VectorStorage.storedInline): the column PLAIN,
 * and the table's rows compressed or moved out of line only past a page
 * (`toast_tuple_target`), so the other columns a scan reads stay in the row, uncompressed,
 * beside the vector. Decided from the column as it is, and altered only where the table
 * differs: an upgraded table gets it once, and rows already stored keep their vectors in
 * TOAST until `VACUUM FULL memories` rewrites them.
 */
const keepVectorsInline = (dimensions: number, vectorType: VectorType) =>
  Effect.gen(function*() {
    if (!storedInline(dimensions, vectorType)) return
    const sql = yield* SqlClient.SqlClient
    const [table] = yield* sql<{ readonly storage: string; readonly options: ReadonlyArray<string> | null }>`
      SELECT a.attstorage AS storage, c.reloptions AS options FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      WHERE a.attrelid = 'memories'::regclass AND a.attname = 'embedding'`
    const target = `toast_tuple_target=${ROW_TOAST_TARGET}`
    if (table?.storage === "p" && (table.options ?? []).includes(target)) return
    yield* Effect.logInfo(`keeping vectors in the row: memories.embedding STORAGE PLAIN, ${target}`)
    yield* sql.unsafe(`ALTER TABLE memories ALTER COLUMN embedding SET STORAGE PLAIN, SET (${target})`)
  }).pipe(Effect.mapError(storeUnavailable("setting the vector storage failed")))

const opsClass = (vectorType: VectorType) => `${vectorType}_cosine_ops`

const indexName = (index: VectorIndex): string | undefined => {
  switch (index._tag) {
    case "hnsw":
      return `memories_embedding_hnsw_m${index.m}_efc${index.efConstruction}`
    case "ivfflat":
      return "memories_embedding_ivfflat"
    case "none":
      return undefined
  }
}

/** pgvector's advice: rows / 1000 lists up to a million rows, √rows above. */
const defaultLists = (rows: number) => Math.max(1, rows <= 1_000_000 ? Math.floor(rows / 1000) : Math.floor(Math.sqrt(rows)))

/** The session settings searches need, and the vector type the table holds (see `migrate`). */
export interface Schema {
  readonly session: SessionSettings
  readonly vectorType: VectorType
}

export const migrate = (options: SchemaOptions) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const { index } = options.settings
    // The Migrator finds its table by `::regclass`, through the search_path, which ends in public
    // (where the vector type usually lives): a schema of our own beside an install in public would
    // read public's migrations as done and make no tables. So the table is made here first, in the
    // first schema of the path (ours), with the Migrator's own columns.
    yield* sql`CREATE TABLE IF NOT EXISTS ${sql(MIGRATIONS_TABLE)} (
      migration_id integer primary key,
      created_at timestamp with time zone not null default now(),
      name text not null
    )`.pipe(Effect.retry({ times: 2 }), Effect.mapError(storeUnavailable("migrations failed")))
    yield* runMigrations({
      loader: Migrator.fromRecord(migrations({ dimensions: options.dimensions, vectorType: options.settings.vectorType })),
      table: MIGRATIONS_TABLE
    }).pipe(Effect.mapError(storeUnavailable("migrations failed")))

    const [column] = yield* sql<{ readonly type: string }>`
      SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
      WHERE attrelid = 'memories'::regclass AND attname = 'embedding'`.pipe(
      Effect.mapError(storeUnavailable("reading the schema failed"))
    )
    const match = /^(vector|halfvec)\((\d+)\)$/.exec(column?.type ?? "")
    if (!match) {
      return yield* new StoreUnavailable({ message: `memories.embedding has unexpected type ${column?.type}` })
    }
    if (Number(match[2]) !== options.dimensions) {
      return yield* DimensionMismatch.of(Number(match[2]), options.dimensions, "the memories table")
    }
    const stored = match[1] as VectorType
    // Above 2000 dimensions the type follows the index (VectorStorage.fit), not the user: a table
    // made as halfvec for an index keeps it when the index is none (the local embedder's
    // default since), and is searched as halfvec.
    const wide = options.dimensions > INDEXABLE_WIDTH.vector
    if (wide && stored === "vector" && options.settings.vectorType === "halfvec") {
      return yield* new StoreUnavailable({
        message: `memories.embedding is vector(${options.dimensions}), made without a vector index; pgvector indexes vector up to ${INDEXABLE_WIDTH.vector} dimensions, so this table can be searched exactly (MEMORY_INDEX=none) or made again for ${options.settings.index._tag}`
      })
    }
    if (stored !== options.settings.vectorType && !(wide && stored === "halfvec")) {
      return yield* new StoreUnavailable({
        message: `memories.embedding is stored as ${stored} but MEMORY_VECTOR_TYPE=${options.settings.vectorType}; keep ${stored} or start a new table`
      })
    }
    const vectorType = stored
    yield* keepVectorsInline(options.dimensions, vectorType)

    const wanted = indexName(index)
    const existing = yield* sql<{ readonly name: string; readonly options: ReadonlyArray<string> | null }>`
      SELECT c.relname AS name, c.reloptions AS options
      FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE i.indrelid = 'memories'::regclass AND c.relname LIKE 'memories\\_embedding\\_%'`.pipe(
      Effect.mapError(storeUnavailable("reading the indexes failed"))
    )
    for (const stale of existing.filter((i) => i.name !== wanted)) {
      // A warning: since the local embedder's default became exact search, an upgrade drops an index nobody asked to drop.
      yield* Effect.logWarning(
        `dropping vector index ${stale.name}: the configuration asks for ${wanted ?? "no index (exact search)"}` +
          (wanted === undefined ? "; with the local embedder that is MEMORY_INDEX's default, set MEMORY_INDEX=hnsw to keep an HNSW index" : "")
      )
      yield* sql`DROP INDEX ${sql(stale.name)}`.pipe(Effect.mapError(storeUnavailable("dropping an index failed")))
    }
    const present = existing.find((i) => i.name === wanted)
    const settings: Record<string, string> = {}
    if (index._tag === "hnsw") {
      if (!present) {
        if (options.sizeBuildMemory) yield* sizeBuildMemory(options)
        yield* Effect.logInfo(`building HNSW index (m=${index.m}, ef_construction=${index.efConstruction})`)
        yield* sql`CREATE INDEX IF NOT EXISTS ${sql(wanted!)} ON memories USING hnsw (embedding ${sql.literal(opsClass(vectorType))})
          WITH (m = ${sql.literal(String(index.m))}, ef_construction = ${sql.literal(String(index.efConstruction))})`.pipe(
          Effect.mapError(storeUnavailable("building the HNSW index failed"))
        )
      }
      settings["hnsw.ef_search"] = String(index.efSearch)
      settings["hnsw.iterative_scan"] = "relaxed_order"
    } else if (index._tag === "ivfflat") {
      let lists = index.lists
      if (!present) {
        if (lists === undefined) {
          const [count] = yield* sql<{ readonly n: number }>`SELECT count(*)::int AS n FROM memories`.pipe(
            Effect.mapError(storeUnavailable("counting rows failed"))
          )
          lists = defaultLists(count?.n ?? 0)
        }
        yield* Effect.logInfo(`building IVFFlat index (lists=${lists})`)
        yield* sql`CREATE INDEX IF NOT EXISTS ${sql(wanted!)} ON memories USING ivfflat (embedding ${sql.literal(opsClass(vectorType))})
          WITH (lists = ${sql.literal(String(lists))})`.pipe(Effect.mapError(storeUnavailable("building the IVFFlat index failed")))
      } else {
        const option = present.options?.find((o) => o.startsWith("lists="))
        lists = option ? Number(option.slice("lists=".length)) : 100
      }
      settings["ivfflat.probes"] = String(index.probes ?? Math.max(1, Math.round(Math.sqrt(lists))))
      settings["ivfflat.iterative_scan"] = "relaxed_order"
    }
    return { session: { ...settings, ...options.settings.pgSettings }, vectorType } satisfies Schema
  })
