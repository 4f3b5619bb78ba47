/**
 * Concurrent calls for the same key share one computation: the first caller
 * runs it, the others wait for its result (or its failure). If the first
 * caller is interrupted (a client went away), the waiters start afresh rather
 * than fail with someone else's interruption.
 *
 * The leader keeps only a list of waiters, filled when someone waits: nearly
 * every call is alone, and a Deferred costs ~10 µs to make (a copy of its prototype).
 */
import { Effect, Exit } from "effect"

const LEADER_INTERRUPTED = Symbol("LeaderInterrupted")
type LeaderInterrupted = typeof LEADER_INTERRUPTED

type Waiter = (exit: Exit.Exit<unknown, unknown>) => void

export class SingleFlight {
  private readonly inFlight = new Map<string, Array<Waiter>>()

  run<A, E, R>(key: string, compute: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> {
    return Effect.suspend((): Effect.Effect<A, E, R> => {
      const waiters = this.inFlight.get(key)
      if (waiters) {
        return Effect.async<A, E | LeaderInterrupted>((resume) => {
          const waiter: Waiter = (exit) => resume(exit as Exit.Exit<A, E | LeaderInterrupted>)
          waiters.push(waiter)
          // A waiter that is interrupted leaves the list; the leader goes on for the others.
          return Effect.sync(() => {
            const at = waiters.indexOf(waiter)
            if (at >= 0) waiters.splice(at, 1)
          })
        }).pipe(
          Effect.catchIf((e): e is LeaderInterrupted => e === LEADER_INTERRUPTED, () => this.run(key, compute))
        ) as Effect.Effect<A, E, R>
      }
      const mine: Array<Waiter> = []
      this.inFlight.set(key, mine)
      return Effect.onExit(compute, (exit) =>
        Effect.sync(() => {
          this.inFlight.delete(key)
          if (mine.length === 0) return
          const shared: Exit.Exit<unknown, unknown> = Exit.isInterrupted(exit) ? Exit.fail(LEADER_INTERRUPTED) : exit
          for (const waiter of mine.splice(0)) waiter(shared)
        }))
    })
  }

  get size(): number {
    return this.inFlight.size
  }
}
