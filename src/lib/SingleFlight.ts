/**
 * Concurrent calls for the same key share one computation: the first caller
 * runs it, the others wait for its result (or its failure). If the first
 * caller is interrupted (a client went away), the waiters start afresh rather
 * than fail with someone else's interruption.
 */
import { Deferred, Effect, Exit, FiberId } from "effect"

const LEADER_INTERRUPTED = Symbol("LeaderInterrupted")
type LeaderInterrupted = typeof LEADER_INTERRUPTED

export class SingleFlight {
  private readonly inFlight = new Map<string, Deferred.Deferred<unknown, unknown>>()

  run<A, E, R>(key: string, compute: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.suspend((): Effect.Effect<A, E, R> => {
      const pending = this.inFlight.get(key) as Deferred.Deferred<A, E | LeaderInterrupted> | undefined
      if (pending) {
        return Deferred.await(pending).pipe(
          Effect.catchIf((e): e is LeaderInterrupted => e === LEADER_INTERRUPTED, () => this.run(key, compute))
        ) as Effect.Effect<A, E, R>
      }
      const deferred = Deferred.unsafeMake<A, E | LeaderInterrupted>(FiberId.none)
      this.inFlight.set(key, deferred as Deferred.Deferred<unknown, unknown>)
      return compute.pipe(
        Effect.onExit((exit) => {
          this.inFlight.delete(key)
          return Deferred.done(deferred, Exit.isInterrupted(exit) ? Exit.fail(LEADER_INTERRUPTED) : exit)
        })
      )
    })
  }

  get size(): number {
    return this.inFlight.size
  }
}
