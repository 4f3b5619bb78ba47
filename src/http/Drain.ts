/**
 * Graceful shutdown: requests are counted while they run; on SIGTERM the
 * server stops taking new ones (503 ShuttingDown, connection closed) and waits
 * up to MEMORY_SHUTDOWN_GRACE for those in flight to finish, before the
 * listener closes and the stack below it is released.
 */
import { Context, Duration, Effect, Layer, Schedule } from "effect"
import { EdgeSettings } from "./EdgeSettings.ts"

export interface DrainShape {
  readonly draining: () => boolean
  /** Runs a request, counted as in flight. */
  readonly track: <A, E, R>(request: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Refuses new requests from now on and waits (at most `grace`) for the running ones. */
  readonly drain: (grace: Duration.Duration) => Effect.Effect<void>
}

export class Drain extends Context.Tag("agent-memory/Drain")<Drain, DrainShape>() {}

export const make = (): DrainShape => {
  let inFlight = 0
  let draining = false
  return {
    draining: () => draining,
    track: (request) =>
      Effect.suspend(() => {
        inFlight++
        return Effect.ensuring(request, Effect.sync(() => void inFlight--))
      }),
    drain: (grace) =>
      Effect.gen(function*() {
        draining = true
        if (inFlight === 0) return
        yield* Effect.logInfo(`shutting down: waiting for ${inFlight} request(s), at most ${Duration.format(grace)}`)
        const left = yield* Effect.repeat(Effect.sync(() => inFlight), {
          until: (n) => n === 0,
          schedule: Schedule.spaced("20 millis")
        }).pipe(Effect.timeoutTo({ duration: grace, onSuccess: () => 0, onTimeout: () => inFlight }))
        if (left > 0) yield* Effect.logWarning(`shutting down: ${left} request(s) still running after ${Duration.format(grace)}`)
      })
  }
}

export const layer = Layer.sync(Drain, make)

/** Built above the listening server, so at shutdown this runs before the listener closes. */
export const onShutdown = Layer.scopedDiscard(
  Effect.gen(function*() {
    const drain = yield* Drain
    const { shutdownGrace } = yield* EdgeSettings
    yield* Effect.addFinalizer(() => drain.drain(shutdownGrace))
  })
)
