/**
 * Where connection pools make themselves visible to /v1/stats. A store that
 * opens pools registers each for as long as it is open, when this service is in
 * its context (it is optional: a store without it still works and still
 * updates the pool metrics).
 */
import { Effect } from "effect"

export interface PoolReading {
  /** `primary`, or `replica-1`, `replica-2`, … in DATABASE_REPLICA_URLS order. */
  readonly name: string
  readonly role: "primary" | "replica"
  /** host:port, never credentials. */
  readonly address: string
  readonly max: number
  /** Open connections, idle and in use. */
  readonly total: number
  readonly idle: number
  /** Requests queued for a connection. */
  readonly waiting: number
  readonly acquires: number
  readonly acquireFailures: number
  readonly avgAcquireMs: number
  /** False while the pool cannot reach its server (a checkout or probe failed); for a replica also while it is skipped after a failure. */
  readonly up: boolean
}

export class PoolRegistry extends Effect.Service<PoolRegistry>()("agent-memory/PoolRegistry", {
  sync: () => {
    const pools = new Set<() => PoolReading>()
    return {
      /** Lists the pool until the scope closes. */
      register: (read: () => PoolReading) =>
        Effect.acquireRelease(
          Effect.sync(() => void pools.add(read)),
          () => Effect.sync(() => void pools.delete(read))
        ),
      readings: Effect.sync((): ReadonlyArray<PoolReading> => [...pools].map((read) => read()))
    } as const
  }
}) {}
