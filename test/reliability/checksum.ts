/**
 * A checksum of everything the store holds (records with their vectors, key/value
 * entries), to prove that refused requests changed nothing. PostgreSQL is read
 * live; a PGlite directory only once its server has stopped (one owner at a time).
 * With `namespaces`, only those namespaces' rows count (one tenant's data).
 */
import { PGlite } from "@electric-sql/pglite"
import { vector } from "@electric-sql/pglite-pgvector"
import Pg from "pg"

const TABLES = ["memories", "memory_kv"]

const statement = (schema: string, table: string, namespaces: ReadonlyArray<string> | undefined) =>
  `SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS sum FROM "${schema}"."${table}" t` +
  (namespaces === undefined ? "" : " WHERE t.namespace = ANY($1::text[])")

const params = (namespaces: ReadonlyArray<string> | undefined) => (namespaces === undefined ? [] : [namespaces])

export const postgresChecksum = async (url: string, schema: string, namespaces?: ReadonlyArray<string>): Promise<string> => {
  const client = new Pg.Client({ connectionString: url })
  await client.connect()
  try {
    const parts: Array<string> = []
    for (const table of TABLES) {
      const { rows } = await client.query<{ n: number; sum: string }>(statement(schema, table, namespaces), params(namespaces))
      parts.push(`${table}:${rows[0]!.n}:${rows[0]!.sum}`)
    }
    return parts.join(" ")
  } finally {
    await client.end()
  }
}

export const pgliteChecksum = async (dataDir: string, namespaces?: ReadonlyArray<string>): Promise<string> => {
  const db = await PGlite.create({ dataDir, extensions: { vector } })
  try {
    const parts: Array<string> = []
    for (const table of TABLES) {
      const { rows } = await db.query<{ n: number; sum: string }>(statement("public", table, namespaces), params(namespaces))
      parts.push(`${table}:${rows[0]!.n}:${rows[0]!.sum}`)
    }
    return parts.join(" ")
  } finally {
    await db.close()
  }
}
