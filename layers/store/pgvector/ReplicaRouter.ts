/**
 * Read-replica routing for the `pgvector` store. Searches (vector and keyword)
 * go to the replicas in turn; everything else (writes, and the reads that must
 * see a write at once: get, list, key/value) goes to the primary.
 *
 * A search never misses an acknowledged write of this instance: after a write,
 * the namespace is pinned to the primary's WAL position, and a replica takes
 * that namespace's searches again only once it has replayed up to it (asked
 * when needed, one short query). Without this, a search right after a write
 * could read a lagging replica and cache a result the write made wrong.
 *
 * A replica whose search fails is skipped for `retryAfter` and the search runs
 * on the primary; the next search after that tries the replica again.
 */
import { Duration, Effect, Metric } from "effect"
import type { StoreUnavailable } from "../../../src/domain/errors.ts"
import * as Metrics from "../../../src/observability/Metrics.ts"
import type { MemoryStoreService } from "../../../src/ports/MemoryStore.ts"

export interface ReadReplica {
  /** `replica-1`, …: the pool name, in logs, spans and metrics. */
  readonly name: string
  readonly store: MemoryStoreService
  /** The replica's pg_last_wal_replay_lsn(). */
  readonly replayedLsn: Effect.Effect<bigint, StoreUnavailable>
}

export interface ReplicaRouterOptions {
  readonly primary: MemoryStoreService
  /** The primary's pg_current_wal_lsn(), read after each write. */
  readonly primaryLsn: Effect.Effect<bigint, StoreUnavailable>
  readonly replicas: ReadonlyArray<ReadReplica>
  readonly retryAfter: Duration.DurationInput
  /** Namespaces pinned at once before the oldest pins fold into one floor for all (bounds memory). */
  readonly maxPins?: number | undefined
}

export interface ReplicaRouter {
  readonly store: MemoryStoreService
  /** False while the replica is skipped after a failure. */
  readonly isUp: (name: string) => boolean
}

/** A WAL position `16/B374D848` as a number. */
export const parseLsn = (text: string): bigint => {
  const [high, low] = text.split("/")
  return (BigInt(`0x${high ?? "0"}`) << 32n) + BigInt(`0x${low ?? "0"}`)
}

interface ReplicaState {
  readonly replica: ReadReplica
  /** Skipped until this time (ms since epoch). */
  downUntil: number
  /** The highest replay position seen on it. */
  replayed: bigint
}

const isUnavailable = <E extends { readonly _tag: string }>(error: E): error is Extract<E, StoreUnavailable> =>
  error._tag === "StoreUnavailable"

// Tagged once each (see Metrics.taggedOnce): counted on every routed search.
const storeReadsBy = Metrics.taggedOnce(Metrics.storeReads, "target", "reason")
const replicaUpBy = Metrics.taggedOnce(Metrics.replicaUp, "replica")
const replicaFallbacksBy = Metrics.taggedOnce(Metrics.replicaFallbacks, "replica")

export const make = (options: ReplicaRouterOptions): Effect.Effect<ReplicaRouter> =>
  Effect.sync(() => {
    const { primary } = options
    const retryAfterMs = Duration.toMillis(Duration.decode(options.retryAfter))
    const maxPins = options.maxPins ?? 10_000
    const states: ReadonlyArray<ReplicaState> = options.replicas.map((replica) => ({ replica, downUntil: 0, replayed: 0n }))
    let turn = 0
    // Namespace → the primary's WAL position after its last write (oldest first).
    const pins = new Map<string, bigint>()
    // Applies to every namespace: pins folded in when there were too many.
    let floor = 0n
    // After a write whose position could not be read: every search to the primary until then.
    let primaryOnlyUntil = 0

    for (const { replica } of states) replicaUpBy(replica.name).unsafeUpdate(1, [])

    const countRead = (target: string, reason: string) => Metric.increment(storeReadsBy(target, reason))

    const markDown = (state: ReplicaState, error: StoreUnavailable) =>
      Effect.gen(function*() {
        const wasUp = state.downUntil <= Date.now()
        state.downUntil = Date.now() + retryAfterMs
        yield* Metric.set(replicaUpBy(state.replica.name), 0)
        yield* Metric.increment(replicaFallbacksBy(state.replica.name))
        if (wasUp) {
          yield* Effect.logWarning(
            `read replica ${state.replica.name} failed (${error.message}); searches go to the primary for ${Duration.format(Duration.millis(retryAfterMs))}`
          )
        }
      })

    const markUp = (state: ReplicaState) =>
      state.downUntil === 0 ? Effect.void : Effect.gen(function*() {
        state.downUntil = 0
        yield* Metric.set(replicaUpBy(state.replica.name), 1)
        yield* Effect.logInfo(`read replica ${state.replica.name} takes searches again`)
      })

    /** The next replica in turn that is not being skipped. */
    const pick = (): ReplicaState | undefined => {
      const now = Date.now()
      for (let i = 0; i < states.length; i++) {
        const state = states[(turn + i) % states.length]!
        if (state.downUntil <= now) {
          turn = (turn + i + 1) % states.length
          return state
        }
      }
      return undefined
    }

    const pin = (namespace: string) =>
      options.primaryLsn.pipe(
        Effect.map((lsn) => {
          pins.delete(namespace)
          pins.set(namespace, lsn)
          for (const [oldest, at] of pins) {
            if (pins.size <= maxPins) break
            pins.delete(oldest)
            if (at > floor) floor = at
          }
        }),
        Effect.catchAll(() => Effect.sync(() => void (primaryOnlyUntil = Date.now() + retryAfterMs)))
      )

    const afterWrite = <A, E>(write: Effect.Effect<A, E>, namespaces: () => Iterable<string>) =>
      states.length === 0 ? write : Effect.tap(write, () => Effect.forEach(new Set(namespaces()), pin, { discard: true }))

    /** Runs a search on a replica that has every write of the namespace, else on the primary. */
    const route = <A, E extends { readonly _tag: string }>(
      namespace: string,
      run: (store: MemoryStoreService) => Effect.Effect<A, E>
    ): Effect.Effect<A, E> =>
      Effect.gen(function*() {
        if (states.length === 0) return yield* run(primary)
        if (Date.now() < primaryOnlyUntil) {
          yield* countRead("primary", "write-position-unknown")
          return yield* run(primary)
        }
        const state = pick()
        if (state === undefined) {
          yield* countRead("primary", "replicas-down")
          return yield* run(primary)
        }
        const pinned = pins.get(namespace) ?? 0n
        const needed = pinned > floor ? pinned : floor
        if (state.replayed < needed) {
          const replayed = yield* Effect.either(state.replica.replayedLsn)
          if (replayed._tag === "Left") {
            yield* markDown(state, replayed.left)
            yield* countRead("primary", "fallback")
            return yield* run(primary)
          }
          if (replayed.right > state.replayed) state.replayed = replayed.right
          if (state.replayed < needed) {
            yield* countRead("primary", "read-your-writes")
            return yield* run(primary)
          }
        }
        // Every replica has it: the pin is no longer needed.
        if (pinned > 0n && states.every((s) => s.replayed >= pinned)) pins.delete(namespace)
        if (floor > 0n && states.every((s) => s.replayed >= floor)) floor = 0n
        return yield* run(state.replica.store).pipe(
          Effect.annotateSpans("db.replica", state.replica.name),
          Effect.tap(() => Effect.zipRight(countRead(state.replica.name, "replica"), markUp(state))),
          Effect.catchIf(isUnavailable, (error) =>
            Effect.zipRight(
              Effect.zipRight(markDown(state, error), countRead("primary", "fallback")),
              run(primary)
            ))
        )
      })

    const store: MemoryStoreService = {
      ...primary,
      insert: (records) => afterWrite(primary.insert(records), () => records.map((r) => r.record.namespace)),
      replace: (selector, records) =>
        afterWrite(primary.replace(selector, records), () => [selector.namespace, ...records.map((r) => r.record.namespace)]),
      update: (namespace, id, patch) => afterWrite(primary.update(namespace, id, patch), () => [namespace]),
      delete: (namespace, id) => afterWrite(primary.delete(namespace, id), () => [namespace]),
      deleteWhere: (selector) => afterWrite(primary.deleteWhere(selector), () => [selector.namespace]),
      // Without replicas a search is the primary's, with nothing around it.
      search: states.length === 0 ? primary.search : (query) => route(query.namespace, (s) => s.search(query)),
      keywordSearch: states.length === 0 ? primary.keywordSearch : (query) => route(query.namespace, (s) => s.keywordSearch(query))
    }

    return {
      store,
      isUp: (name) => (states.find((s) => s.replica.name === name)?.downUntil ?? 0) <= Date.now()
    }
  })
