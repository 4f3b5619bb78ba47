/**
 * LangChain.js PGVectorStore as the search peer. Its table is loaded once per
 * run with the same rows and vectors (langchainIngest: addDocuments with the
 * precomputed embeddings), indexed by its own `createHnswIndex` with the
 * product's m and ef_construction (maintenance_work_mem raised as
 * agent-memory's start-up raises it), and ANALYZEd. Each ef_search then gets a
 * store whose pg pool is the size of agent-memory's and sets hnsw.ef_search,
 * searched by `similaritySearch(text, k)` as LangChain's documentation shows:
 * the query embedded (embedQuery, the same precomputed vectors), then searched.
 */
import { Duration } from "effect"
import { defaultPoolSettings } from "../layers/store/pgvector/PgPool.ts"
import * as SqlSchema from "../layers/store/sql/SqlSchema.ts"
import type { Dataset } from "./dataset.ts"
import * as Db from "./db.ts"
import { langchainIngest, open, TABLE } from "./langchainIngest.ts"
import * as Stack from "./stack.ts"

export interface LangchainTable {
  readonly url: string
  readonly schema: string
  readonly data: Dataset
  readonly vectors: ReadonlyMap<string, Float32Array>
}

/** Loads every row into a fresh schema with `concurrency` callers, builds the HNSW index, ANALYZEs; answers the seconds of each part. */
export const loadTable = async (table: LangchainTable, concurrency: number) => {
  const loaded = await langchainIngest({ ...table, rows: table.data.rows, concurrency, liveIndex: false })
  if (loaded.rows !== table.data.rows) throw new Error(`LangChain stored ${loaded.rows} of ${table.data.rows}`)
  const started = performance.now()
  const [server] = await Db.rows<{ bytes: number }>(table.url, "SELECT setting::float8 * 1024 AS bytes FROM pg_settings WHERE name = 'maintenance_work_mem'")
  const wanted = SqlSchema.autoBuildMemoryBytes(table.data.rows, table.data.dims, "vector")
  const builder = await open(table, wanted > (server?.bytes ?? 0) ? { options: `-c maintenance_work_mem=${Math.ceil(wanted / 1024)}kB` } : {})
  try {
    await builder.createHnswIndex({ dimensions: table.data.dims, m: Stack.HNSW_M, efConstruction: Stack.HNSW_EF_CONSTRUCTION })
  } finally {
    await builder.end()
  }
  // createHnswIndex logs a failure and returns; without the index every search would be an exact scan.
  const indexes = await Db.rows<{ name: string }>(table.url, "SELECT indexname AS name FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 AND indexdef ILIKE '%USING hnsw%'", [table.schema, TABLE])
  if (indexes.length === 0) throw new Error(`LangChain's createHnswIndex made no index on ${table.schema}.${TABLE}`)
  await Db.exec(table.url, `ANALYZE ${Db.quoteIdent(table.schema)}.${TABLE}`)
  return { loadSeconds: loaded.seconds, indexSeconds: (performance.now() - started) / 1000 }
}

export interface LangchainSearcher {
  /** The rows of the k nearest documents to the query text. */
  readonly search: (query: string, k: number) => Promise<ReadonlyArray<number>>
  readonly end: () => Promise<void>
}

/** A store over the loaded table whose pool (agent-memory's size) searches at `efSearch`. */
export const openSearcher = async (table: LangchainTable, efSearch: number, rowOfText: ReadonlyMap<string, number>): Promise<LangchainSearcher> => {
  // The pool agent-memory's store opens: as many connections, as many kept open, idle as long.
  const store = await open(table, {
    max: defaultPoolSettings.max,
    min: defaultPoolSettings.min,
    idleTimeoutMillis: Duration.toMillis(defaultPoolSettings.idleTimeout),
    options: `-c hnsw.ef_search=${efSearch}`
  })
  return {
    search: async (query, k) => (await store.similaritySearch(query, k)).map((d) => rowOfText.get(d.pageContent) ?? -1),
    end: () => store.end()
  }
}
