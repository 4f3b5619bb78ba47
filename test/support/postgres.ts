/**
 * Where the pgvector tests find PostgreSQL: the server named by DATABASE_URL
 * (CI builds pgvector and sets it), or else a container started through
 * testcontainers when a Docker engine is present. Each suite gets a schema of
 * its own, dropped afterwards, so suites and reruns never see each other's rows.
 */
import { existsSync } from "node:fs"
import { Effect, Redacted } from "effect"
import Pg from "pg"

const dockerAvailable = () => process.env.DOCKER_HOST !== undefined || existsSync("/var/run/docker.sock")

/** True when some PostgreSQL with pgvector can be reached for the tests. */
export const postgresAvailable = process.env.DATABASE_URL !== undefined || dockerAvailable()

/** The server's URL: DATABASE_URL, or a pgvector container started for this test file and stopped after it. */
export const databaseUrl = Effect.acquireRelease(
  Effect.promise(async () => {
    if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: async () => {} }
    const { GenericContainer, Wait } = await import("testcontainers")
    const container = await new GenericContainer("pgvector/pgvector:pg17")
      .withEnvironment({ POSTGRES_PASSWORD: "test", POSTGRES_DB: "test" })
      .withExposedPorts(5432)
      .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .start()
    const url = `postgres://postgres:test@${container.getHost()}:${container.getMappedPort(5432)}/test`
    return { url, stop: async () => void (await container.stop()) }
  }),
  ({ stop }) => Effect.promise(stop)
).pipe(Effect.map(({ url }) => Redacted.make(url)))

/** A fresh schema name, dropped (with its tables) when the scope closes. */
export const freshSchema = (url: Redacted.Redacted) =>
  Effect.acquireRelease(
    Effect.sync(() => `test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`),
    (schema) =>
      Effect.promise(async () => {
        const client = new Pg.Client({ connectionString: Redacted.value(url) })
        await client.connect()
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
        await client.end()
      })
  )

/** Runs a query on a connection of its own, outside the code under test (to look at what it stored). */
export const query = <Row extends object>(
  url: Redacted.Redacted,
  text: string,
  params: Array<unknown> = [],
  /** Statements run first on the same connection, e.g. SET. */
  setup: ReadonlyArray<string> = []
) =>
  Effect.promise(async () => {
    const client = new Pg.Client({ connectionString: Redacted.value(url) })
    await client.connect()
    try {
      for (const statement of setup) await client.query(statement)
      return (await client.query<Row>(text, params)).rows
    } finally {
      await client.end()
    }
  })
