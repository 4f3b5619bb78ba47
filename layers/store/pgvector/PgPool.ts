/**
 * The node-postgres pool behind the `pgvector` store. We open it ourselves
 * (rather than through PgClient.make) to pass what the PgClient constructor
 * does not: session settings in the startup packet, so every connection has
 * ef_search / probes / search_path from its first statement at no extra round
 * trip; and to meter it: a named pool keeps the pool gauges current on every
 * checkout, release and removal, and times every checkout.
 *
 * Health: a metered pool is up while it can open connections and answer. Each
 * checkout says so as it happens; a pool with no checkouts for a while is asked
 * (`SELECT 1`) on a schedule (keepHealth), so an idle pool whose server went
 * away does not look up.
 */
import { SqlError } from "@effect/sql"
import { Duration, Effect, Metric, Redacted, Schedule } from "effect"
import Pg from "pg"
import * as Metrics from "../../../src/observability/Metrics.ts"
import { PreparingClient } from "./PreparingClient.ts"
import { types } from "./TypeParsers.ts"

export interface PoolSettings {
  readonly max: number
  readonly min: number
  readonly idleTimeout: Duration.Duration
  readonly connectTimeout: Duration.Duration
  readonly maxLifetime: Duration.Duration
  /**
   * Send the statements marked PREPARED (the plain vector search) as named prepared statements
   * (default true). Off for a pooler that cannot keep them (PgBouncer in transaction mode before 1.21).
   */
  readonly preparedStatements?: boolean | undefined
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
  /**
   * Answer one query before the pool is handed out (default true). A read
   * replica is opened without: a replica that is down must not stop start-up.
   */
  readonly verify?: boolean | undefined
}

const startupOptions = (settings: Readonly<Record<string, string>>) =>
  Object.entries(settings)
    .map(([name, value]) => `-c ${name}=${value.replace(/([\\ ])/g, "\\$1")}`)
    .join(" ")

/** Checkout counts of a metered pool, for /v1/stats. */
export interface AcquireCounts {
  readonly acquires: number
  readonly failures: number
  readonly totalMs: number
}

/** pg.Pool#connect's callback (the last overload). */
type ConnectCallback = Parameters<Pg.Pool["connect"]>[0]

/**
 * A pg.Pool that times every checkout (pg-pool's own `query` and @effect/sql-pg
 * both go through `connect`) and mirrors its counts into the pool gauges.
 */
export class MeteredPool extends Pg.Pool {
  private readonly counts = { acquires: 0, failures: 0, totalMs: 0 }
  private readonly gauges: ReadonlyArray<readonly [Metric.Metric.Gauge<number>, () => number]>
  private readonly acquireDuration: Metric.Metric.Histogram<number>
  private readonly acquireFailures: Metric.Metric.Counter<number>
  private readonly upGauge: Metric.Metric.Gauge<number>
  private healthy = true
  /** performance.now() of the last checkout outcome or probe answer. */
  private lastHeard = performance.now()

  constructor(config: Pg.PoolConfig, readonly poolName: string) {
    super(config)
    // Tagged once (Metrics.taggedOnce): Metric.tagged would build and look up its key on every update.
    this.gauges = [
      [Metrics.taggedOnce(Metrics.poolConnections, "pool")(poolName), () => this.totalCount],
      [Metrics.taggedOnce(Metrics.poolIdleConnections, "pool")(poolName), () => this.idleCount],
      [Metrics.taggedOnce(Metrics.poolWaitingRequests, "pool")(poolName), () => this.waitingCount]
    ]
    this.acquireDuration = Metrics.taggedOnce(Metrics.poolAcquireDuration, "pool")(poolName)
    this.acquireFailures = Metrics.taggedOnce(Metrics.poolAcquireFailures, "pool")(poolName)
    this.upGauge = Metrics.taggedOnce(Metrics.poolUp, "pool")(poolName)
    this.upGauge.unsafeUpdate(1, [])
    // pg-pool emits before it moves the client between its lists: look once it has.
    const later = () => this.refreshGauges()
    this.on("acquire", later).on("release", later).on("remove", later).on("connect", later)
  }

  private refreshPending = false
  private gaugesCleared = false

  /** Reads the pool's counts into its gauges in a microtask: once for all the events of a moment. */
  refreshGauges(): void {
    if (this.refreshPending || this.gaugesCleared) return
    this.refreshPending = true
    queueMicrotask(() => {
      this.refreshPending = false
      for (const [gauge, read] of this.gauges) gauge.unsafeUpdate(read(), [])
    })
  }

  /** False since the last checkout or probe failed, until one succeeds. */
  get up(): boolean {
    return this.healthy
  }

  /** Milliseconds since a checkout or probe last told whether the server answers. */
  get silentForMs(): number {
    return performance.now() - this.lastHeard
  }

  markHealth(up: boolean): void {
    this.lastHeard = performance.now()
    if (up === this.healthy) return
    this.healthy = up
    this.upGauge.unsafeUpdate(up ? 1 : 0, [])
  }

  get acquireCounts(): AcquireCounts {
    return { ...this.counts }
  }

  override connect(): Promise<Pg.PoolClient>
  override connect(callback: ConnectCallback): void
  override connect(callback?: ConnectCallback): Promise<Pg.PoolClient> | void {
    const started = performance.now()
    const done = (failed: boolean) => {
      const ms = performance.now() - started
      this.counts.acquires++
      this.counts.totalMs += ms
      this.markHealth(!failed)
      if (failed) {
        this.counts.failures++
        this.acquireFailures.unsafeUpdate(1, [])
      } else {
        this.acquireDuration.unsafeUpdate(ms / 1000, [])
      }
      this.refreshGauges()
    }
    if (callback === undefined) {
      const pending = super.connect()
      this.refreshGauges() // a queued request shows in `waiting` at once
      return pending.then(
        (client) => (done(false), client),
        (error) => {
          done(true)
          throw error
        }
      )
    }
    super.connect((err, client, release) => {
      done(err !== undefined && err !== null)
      callback(err, client, release)
    })
    this.refreshGauges()
  }

  /** Zeroes the gauges: a closed pool holds nothing. */
  clearGauges(): void {
    this.gaugesCleared = true
    for (const [gauge] of this.gauges) gauge.unsafeUpdate(0, [])
    this.upGauge.unsafeUpdate(0, [])
  }
}

/**
 * Asks the pool `SELECT 1` every `interval` in which no checkout said whether
 * the server answers (a busy pool is judged by its checkouts, so the probe never
 * queues behind real work). A probe with no answer within `timeout` is a failure.
 * Runs until the scope closes.
 */
export const keepHealth = (pool: MeteredPool, options: { readonly interval: Duration.Duration; readonly timeout: Duration.Duration }) =>
  Effect.suspend(() =>
    pool.silentForMs < Duration.toMillis(options.interval)
      ? Effect.void
      : Effect.tryPromise(() => pool.query("SELECT 1")).pipe(
        Effect.timeout(options.timeout),
        Effect.match({ onFailure: () => pool.markHealth(false), onSuccess: () => pool.markHealth(true) })
      )
  ).pipe(
    Effect.repeat(Schedule.spaced(options.interval)),
    Effect.interruptible,
    Effect.forkScoped,
    Effect.asVoid
  )

/** host:port of a connection URL, for stats and logs (never the credentials). */
export const addressOf = (url: Redacted.Redacted): string => {
  try {
    const parsed = new URL(Redacted.value(url) as string)
    return `${parsed.hostname || "localhost"}:${parsed.port || "5432"}`
  } catch {
    return "unknown"
  }
}

/** A scoped pool; a verified one has answered one query (within the connect timeout) before it is handed out. */
const open = <P extends Pg.Pool>(options: PgPoolOptions, create: (config: Pg.PoolConfig) => P) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const config: Pg.PoolConfig = {
          connectionString: Redacted.value(options.url) as string,
          max: options.pool.max,
          min: options.pool.min,
          idleTimeoutMillis: Duration.toMillis(options.pool.idleTimeout),
          connectionTimeoutMillis: Duration.toMillis(options.pool.connectTimeout),
          maxLifetimeSeconds: Math.max(1, Math.round(Duration.toSeconds(options.pool.maxLifetime))),
          application_name: options.applicationName ?? "agent-memory",
          types,
          ...(options.pool.preparedStatements === false
            ? { options: startupOptions(options.sessionSettings) }
            : {
              // Named statements, planned per call still: a generic plan would ignore the namespace asked.
              options: startupOptions({ plan_cache_mode: "force_custom_plan", ...options.sessionSettings }),
              Client: PreparingClient
            })
        }
        const pool = create(config)
        // An idle client's error (server restart) must not crash the process; the pool replaces it.
        pool.on("error", () => {})
        if (options.verify ?? true) {
          try {
            await pool.query("SELECT 1")
          } catch (error) {
            await pool.end().catch(() => {})
            throw error
          }
        }
        return pool
      },
      catch: (cause) => new SqlError.SqlError({ cause, message: "could not connect to PostgreSQL" })
    }),
    (pool) =>
      Effect.promise(() => pool.end()).pipe(
        Effect.timeoutOption("5 seconds"),
        Effect.ensuring(Effect.sync(() => pool instanceof MeteredPool && pool.clearGauges()))
      )
  )

export const acquire = (options: PgPoolOptions) => open(options, (config) => new Pg.Pool(config))

/** A pool metered under `name` (the `pool` label of the pool metrics). */
export const acquireMetered = (options: PgPoolOptions & { readonly name: string }) =>
  open(options, (config) => new MeteredPool(config, options.name))
