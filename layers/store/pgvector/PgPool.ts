/**
 * The node-postgres pool behind the `pgvector` store. We open it ourselves
 * (rather than through PgClient.make) to pass what the PgClient constructor
 * does not: session settings in the startup packet, so every connection has
 * ef_search / probes / search_path from its first statement at no extra round trip.
 */
import { SqlError } from "@effect/sql"
import { Duration, Effect, Redacted } from "effect"
import Pg from "pg"

export interface PoolSettings {
  readonly max: number
  readonly min: number
  readonly idleTimeout: Duration.Duration
  readonly connectTimeout: Duration.Duration
  readonly maxLifetime: Duration.Duration
}

export const defaultPoolSettings: PoolSettings = {
  max: 20,
  min: 2,
  idleTimeout: Duration.seconds(30),
  connectTimeout: Duration.seconds(10),
  maxLifetime: Duration.minutes(30)
}

export interface PgPoolOptions {
  readonly url: Redacted.Redacted
  readonly pool: PoolSettings
  /** Sent as `-c name=value` startup options; names and values are validated by the caller. */
  readonly sessionSettings: Readonly<Record<string, string>>
  readonly applicationName?: string | undefined
}

const startupOptions = (settings: Readonly<Record<string, string>>) =>
  Object.entries(settings)
    .map(([name, value]) => `-c ${name}=${value.replace(/([\\ ])/g, "\\$1")}`)
    .join(" ")

/** A scoped pool that has answered one query (within the connect timeout) before it is handed out. */
export const acquire = (options: PgPoolOptions) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const pool = new Pg.Pool({
          connectionString: Redacted.value(options.url),
          max: options.pool.max,
          min: options.pool.min,
          idleTimeoutMillis: Duration.toMillis(options.pool.idleTimeout),
          connectionTimeoutMillis: Duration.toMillis(options.pool.connectTimeout),
          maxLifetimeSeconds: Math.max(1, Math.round(Duration.toSeconds(options.pool.maxLifetime))),
          application_name: options.applicationName ?? "agent-memory",
          options: startupOptions(options.sessionSettings)
        })
        // An idle client's error (server restart) must not crash the process; the pool replaces it.
        pool.on("error", () => {})
        try {
          await pool.query("SELECT 1")
        } catch (error) {
          await pool.end().catch(() => {})
          throw error
        }
        return pool
      },
      catch: (cause) => new SqlError.SqlError({ cause, message: "could not connect to PostgreSQL" })
    }),
    (pool) => Effect.promise(() => pool.end()).pipe(Effect.timeoutOption("5 seconds"))
  )
