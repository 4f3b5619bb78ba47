/**
 * Graceful shutdown: requests are counted while they run; on SIGTERM the
 * server stops taking new ones (503 ShuttingDown, connection closed) and waits
 * up to MEMORY_SHUTDOWN_GRACE for those in flight to finish, before the
 * listener closes and the stack below it is released. A request still running
 * when the grace is over is interrupted and answered by its `cut` response, so
 * the listener can close (Node's waits for every open response) and the
 * process exits within the grace.
 */
import { Context, Deferred, Duration, Effect, Fiber, Layer, Schedule } from "effect"
import { EdgeSettings } from "./EdgeSettings.ts"

export interface DrainShape {
  readonly draining: () => boolean
  /** Runs a request, counted as in flight; when the grace runs out first, `cut` answers instead. */
  readonly track: <A, E, R>(request: Effect.Effect<A, E, R>, cut: Effect.Effect<A>) => Effect.Effect<A, E, R>
  /** Refuses new requests from now on and waits (at most `grace`) for the running ones, then cuts them. */
  readonly drain: (grace: Duration.Duration) => Effect.Effect<void>
}

export class Drain extends Context.Tag("agent-memory/Drain")<Drain, DrainShape>() {}

// How long the cut requests get to write their answers before the listener closes regardless.
const CUT_ANSWER_WAIT = Duration.seconds(1)

export const make: Effect.Effect<DrainShape> = Effect.map(Deferred.make<void>(), (graceOver) => {
  let inFlight = 0
  let draining = false
  // Polled on a schedule bounded by time, not cut by a timeout: this runs in a finalizer, where
  // nothing can be interrupted (a timeout would wait for the requests, grace or not).
  const settled = (within: Duration.Duration) =>
    Effect.repeat(Effect.sync(() => inFlight), {
      until: (n) => n === 0,
      schedule: Schedule.spaced("20 millis").pipe(Schedule.upTo(within))
    }).pipe(Effect.map(() => inFlight))
  return {
    draining: () => draining,
    track: <A, E, R>(request: Effect.Effect<A, E, R>, cut: Effect.Effect<A>) =>
      Effect.gen(function*() {
        inFlight++
        // The request runs on a child fiber: when the grace is over this fiber answers `cut`
        // while the child still runs (were it interrupted first, the app would answer its own
        // empty 503); the child is interrupted once this fiber has answered and ends.
        // The HTTP app runs uninterruptibly: both sides of the race are made interruptible.
        const child = yield* Effect.fork(request)
        const exit = yield* Effect.raceFirst(
          Effect.interruptible(Fiber.await(child)),
          Effect.interruptible(Effect.as(Deferred.await(graceOver), undefined))
        ).pipe(Effect.ensuring(Effect.sync(() => void inFlight--)))
        return yield* (exit === undefined ? cut : exit)
      }),
    drain: (grace) =>
      Effect.gen(function*() {
        draining = true
        if (inFlight === 0) return
        yield* Effect.logInfo(`shutting down: waiting for ${inFlight} request(s), at most ${Duration.format(grace)}`)
        const left = yield* settled(grace)
        if (left === 0) return
        yield* Effect.logWarning(`shutting down: ${left} request(s) still running after ${Duration.format(grace)}: cut`)
        yield* Deferred.succeed(graceOver, undefined)
        yield* settled(CUT_ANSWER_WAIT)
      })
  }
})

export const layer = Layer.effect(Drain, make)

/** Built above the listening server, so at shutdown this runs before the listener closes. */
export const onShutdown = Layer.scopedDiscard(
  Effect.gen(function*() {
    const drain = yield* Drain
    const { shutdownGrace } = yield* EdgeSettings
    yield* Effect.addFinalizer(() => drain.drain(shutdownGrace))
  })
)
