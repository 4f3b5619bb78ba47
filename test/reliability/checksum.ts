/**
 * A checksum of everything the store holds (records with their vectors, key/value
 * entries), to prove that refused requests changed nothing. PostgreSQL is read
 * live; a PGlite directory only once its server has stopped (one owner at a time).
 */
import { PGlite } from "@electric-sql/pglite"
import { vector } from "@electric-sql/pglite-pgvector"
import Pg from "pg"

const TABLES = ["memories", "memory_kv"]

const statement = (schema: string, table: string) =>
  `SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS sum FROM "${schema}"."${table}" t`

export const postgresChecksum = async (url: string, schema: string): Promise<string> => {
  const client = new Pg.Client({ connectionString: url })
  await client.connect()
  try {
    const parts: Array<string> = []
    for (const table of TABLES) {
      const { rows } = await client.query<{ n: number; sum: string }>(statement(schema, table))
      parts.push(`${table}:${rows[0]!.n}:${rows[0]!.sum}`)
    }
    return parts.join(" ")
  } finally {
    await client.end()
  }
}

export const pgliteChecksum = async (dataDir: string): Promise<string> => {
  const db = await PGlite.create({ dataDir, extensions: { vector } })
  try {
    const parts: Array<string> = []
    for (const table of TABLES) {
      const { rows } = await db.query<{ n: number; sum: string }>(statement("public", table))
      parts.push(`${table}:${rows[0]!.n}:${rows[0]!.sum}`)
    }
    return parts.join(" ")
  } finally {
    await db.close()
  }
}
