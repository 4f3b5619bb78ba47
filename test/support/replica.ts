/**
 * A streaming replica (hot standby) of the PostgreSQL named by DATABASE_URL, for tests that read from a
 * standby: `.ci/replica.sh` makes it (pg_basebackup) or starts it; it is shared by every test file and
 * worker, so nothing stops it when a scope closes.
 *
 *   it.effect.skipIf(!replicaAvailable)("reads from the standby", () =>
 *     Effect.gen(function*() {
 *       const replica = yield* streamingReplica
 *       ... write on DATABASE_URL ...
 *       yield* waitForReplication(process.env.DATABASE_URL!, replica.url)
 *       ... read on replica.url ...
 *     }).pipe(Effect.scoped))
 */
import { execFile } from "node:child_process"
import { existsSync, readdirSync } from "node:fs"
import { userInfo } from "node:os"
import { fileURLToPath } from "node:url"
import { Clock, Duration, Effect, Redacted, Schedule, type Scope } from "effect"
import Pg from "pg"

const script = fileURLToPath(new URL("../../.ci/replica.sh", import.meta.url))

/** The standby's port (REPLICA_PORT, default 5433). */
export const replicaPort = Number(process.env.REPLICA_PORT ?? 5433)

const primary = (() => {
  try {
    return process.env.DATABASE_URL ? new URL(process.env.DATABASE_URL) : undefined
  } catch {
    return undefined
  }
})()

const pgBasebackupInstalled = (() => {
  try {
    return readdirSync("/usr/lib/postgresql").some((major) => existsSync(`/usr/lib/postgresql/${major}/bin/pg_basebackup`))
  } catch {
    return false
  }
})()

/**
 * True when a replica can be made here: pg_basebackup is installed under /usr/lib/postgresql/<major>/bin,
 * DATABASE_URL names a server on this machine (127.0.0.1 or localhost), and we may act as the postgres OS
 * user (root, or postgres itself), which the script needs to own and run the standby's data directory.
 */
export const replicaAvailable: boolean =
  pgBasebackupInstalled &&
  primary !== undefined &&
  ["127.0.0.1", "localhost"].includes(primary.hostname) &&
  (process.getuid?.() === 0 || userInfo().username === "postgres")

export interface StreamingReplica {
  /** `postgres://postgres@127.0.0.1:5433/<the database of DATABASE_URL>`. */
  readonly url: string
  /** Stops the standby (fast shutdown; its data is kept). Shared: other tests see it stopped too. */
  readonly stop: Effect.Effect<void>
  /** Starts it again and waits until it has replayed everything the primary had written. */
  readonly start: Effect.Effect<void>
}

/** Runs `.ci/replica.sh <command>` and answers its one line of output. */
export const replicaScript = (command: "start" | "stop" | "status") =>
  Effect.async<string, Error>((resume) => {
    const child = execFile(
      "bash",
      [script, command],
      {
        env: { ...process.env, PRIMARY_PORT: primary?.port || "5432", REPLICA_PORT: String(replicaPort) },
        timeout: 600_000
      },
      (error, stdout, stderr) =>
        resume(
          error
            ? Effect.fail(new Error(`.ci/replica.sh ${command} failed (${error.code ?? error.signal}): ${`${stdout}${stderr}`.trim()}`))
            : Effect.succeed(stdout.trim())
        )
    )
    return Effect.sync(() => void child.kill())
  })

const urlText = (url: string | Redacted.Redacted<string>) => (typeof url === "string" ? url : Redacted.value(url))

/** The URL for messages: without its password. */
const shown = (url: string) => {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = "***"
    return parsed.toString()
  } catch {
    return "<unparsable url>"
  }
}

/** A connection for `use`; closed afterwards, also when the effect is interrupted (signal aborted). */
const withClient = <A>(url: string, use: (client: Pg.Client, signal: AbortSignal) => Promise<A>) =>
  Effect.tryPromise({
    try: async (signal) => {
      const client = new Pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 })
      client.on("error", () => {}) // a server going away (stop) must not crash the test process
      try {
        await client.connect()
        return await use(client, signal)
      } finally {
        await client.end().catch(() => {})
      }
    },
    catch: (error) => new Error(`${shown(url)}: ${error instanceof Error ? error.message : String(error)}`)
  })

/**
 * Waits until the replica has replayed all the WAL the primary had written when this was called (its
 * `pg_last_wal_replay_lsn()` reaches the primary's `pg_current_wal_lsn()`): what was committed on the
 * primary before is then visible on the replica. Retries while the replica is not reachable yet (starting,
 * or the database not replicated yet); fails at once if it is not in recovery, or after `timeout`.
 * Runs on the real clock, also under @effect/vitest's it.effect (whose TestClock would never fire the timeout).
 */
export const waitForReplication = (
  primaryUrl: string | Redacted.Redacted<string>,
  replicaUrl: string | Redacted.Redacted<string>,
  timeout: Duration.DurationInput = "30 seconds"
): Effect.Effect<void, Error> =>
  Effect.gen(function*() {
    const target = yield* withClient(urlText(primaryUrl), async (client) =>
      (await client.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn")).rows[0]!.lsn)
    let last = "not connected yet"
    const poll = withClient(urlText(replicaUrl), async (client, signal) => {
      while (!signal.aborted) {
        const row = (await client.query<{ standby: boolean; replayed: string | null; done: boolean | null }>(
          "SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS replayed, pg_last_wal_replay_lsn() >= $1::pg_lsn AS done",
          [target]
        )).rows[0]!
        if (!row.standby) throw new Error("not in recovery: not a standby")
        if (row.done) return
        last = `replayed up to ${row.replayed ?? "nothing"}`
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    }).pipe(
      Effect.tapError((error) => Effect.sync(() => void (last = error.message))),
      Effect.retry({ schedule: Schedule.spaced("100 millis"), while: (error) => !error.message.endsWith("not in recovery: not a standby") })
    )
    yield* poll.pipe(
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () =>
          new Error(`replica did not replay up to the primary's ${target} within ${Duration.format(Duration.decode(timeout))} (${last})`)
      })
    )
  }).pipe(Effect.withClock(Clock.make()))

/**
 * Makes sure the standby runs (`.ci/replica.sh start`: seconds the first time, ~20 ms when it already
 * streams) and has caught up with the primary, then answers its URL for DATABASE_URL's database, and
 * effects to stop and start it. Releasing does nothing: the standby is shared.
 */
export const streamingReplica: Effect.Effect<StreamingReplica, Error, Scope.Scope> = Effect.acquireRelease(
  Effect.gen(function*() {
    if (primary === undefined) return yield* Effect.fail(new Error("DATABASE_URL is not set (or not a URL)"))
    const database = decodeURIComponent(primary.pathname.replace(/^\//, "")) || "postgres"
    const url = `postgres://postgres@127.0.0.1:${replicaPort}/${encodeURIComponent(database)}`
    const primaryUrl = primary.toString()
    const start = replicaScript("start").pipe(Effect.zipRight(waitForReplication(primaryUrl, url)))
    yield* start
    return {
      url,
      start: Effect.orDie(start),
      stop: Effect.orDie(Effect.asVoid(replicaScript("stop")))
    } satisfies StreamingReplica
  }),
  () => Effect.void
)
