/**
 * The search ceiling: the statement agent-memory's store sends for a vector
 * search (same columns, same conditions, the vector in binary), sent by `pg`
 * itself over a pool of the same size with the same session settings.
 */
import { Duration } from "effect"
import Pg from "pg"
import { defaultPoolSettings } from "../layers/store/pgvector/PgPool.ts"
import { vectorBinary } from "../layers/store/sql/pgText.ts"

const COLUMNS = "namespace, id, kind, content, content_hash, tags, metadata, session_id, embedding_model, created_at, updated_at, expires_at"

/** What SqlStore.search sends (the vector travels twice, as there). */
export const SEARCH_SQL = `SELECT ${COLUMNS}, 1 - (embedding <=> $1::vector) AS score FROM memories
  WHERE (namespace = $2 AND (expires_at IS NULL OR expires_at > now()))
  ORDER BY embedding <=> $3::vector LIMIT $4`

export const openPool = (url: string, schema: string, efSearch: number) =>
  new Pg.Pool({
    connectionString: url,
    max: defaultPoolSettings.max,
    min: defaultPoolSettings.min,
    idleTimeoutMillis: Duration.toMillis(defaultPoolSettings.idleTimeout),
    application_name: "agent-memory-bench",
    options: `-c search_path=${schema},public -c hnsw.ef_search=${efSearch} -c hnsw.iterative_scan=relaxed_order`
  })

export const search = async (pool: Pg.Pool, namespace: string, vector: Float32Array, k: number) => {
  const v = vectorBinary(vector)
  const result = await pool.query<{ id: string; score: number }>(SEARCH_SQL, [v, namespace, v, k])
  return result.rows
}
