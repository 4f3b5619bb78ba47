/** Direct PostgreSQL access for the benchmark: schemas, checkpoints, server facts; outside the code under test. */
import Pg from "pg"

export const withClient = async <A>(url: string, use: (client: Pg.Client) => Promise<A>): Promise<A> => {
  const client = new Pg.Client({ connectionString: url, application_name: "agent-memory-bench" })
  await client.connect()
  try {
    return await use(client)
  } finally {
    await client.end()
  }
}

export const exec = (url: string, ...statements: ReadonlyArray<string>) =>
  withClient(url, async (client) => {
    for (const statement of statements) await client.query(statement)
  })

export const rows = <R extends object>(url: string, text: string, params: Array<unknown> = []) =>
  withClient(url, async (client) => (await client.query<R>(text, params)).rows)

export const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`

export const dropSchema = (url: string, schema: string) => exec(url, `DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`)

export const createSchema = (url: string, schema: string) =>
  exec(url, `DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`, `CREATE SCHEMA ${quoteIdent(schema)}`)

/** A checkpoint before a timed load, so the previous load's dirty pages are not written during this one. */
export const checkpoint = (url: string) => exec(url, "CHECKPOINT").catch(() => undefined)

export const tableBytes = async (url: string, table: string) => {
  const [row] = await rows<{ table: string; indexes: string }>(
    url,
    "SELECT pg_table_size($1::regclass)::text AS table, pg_indexes_size($1::regclass)::text AS indexes",
    [table]
  )
  return { table: Number(row?.table ?? 0), indexes: Number(row?.indexes ?? 0) }
}

export interface ServerFacts {
  readonly version: string
  readonly pgvector: string
  readonly settings: Readonly<Record<string, string>>
  /** Standbys streaming from this server (they replay every write on the same machine). */
  readonly standbys: number
}

const SETTINGS = [
  "shared_buffers", "work_mem", "maintenance_work_mem", "max_parallel_maintenance_workers", "max_parallel_workers",
  "effective_cache_size", "synchronous_commit", "fsync", "wal_level", "max_wal_size", "max_connections"
]

export const serverFacts = (url: string): Promise<ServerFacts> =>
  withClient(url, async (client) => {
    const version = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v
    await client.query("CREATE EXTENSION IF NOT EXISTS vector")
    const pgvector = (await client.query<{ v: string }>("SELECT extversion AS v FROM pg_extension WHERE extname = 'vector'")).rows[0]?.v ?? "?"
    const settings: Record<string, string> = {}
    for (const row of (await client.query<{ name: string; value: string }>(
      "SELECT name, current_setting(name) AS value FROM pg_settings WHERE name = ANY($1)", [SETTINGS]
    )).rows) settings[row.name] = row.value
    const standbys = Number((await client.query<{ n: string }>("SELECT count(*)::text AS n FROM pg_stat_replication")).rows[0]?.n ?? 0)
    return { version, pgvector, settings, standbys }
  })
