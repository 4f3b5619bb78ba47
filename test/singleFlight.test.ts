/**
 * SingleFlight: concurrent calls for a key share one computation; its failure is theirs too;
 * a leader interrupted leaves its waiters to start afresh; a waiter interrupted leaves the others.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import { SingleFlight } from "../src/lib/SingleFlight.ts"

/** A computation that counts its runs and finishes when `gate` opens. */
const gated = <A>(gate: Deferred.Deferred<A, string>) => {
  const runs = { n: 0 }
  return { runs, compute: Effect.suspend(() => (runs.n++, Deferred.await(gate))) }
}

describe("SingleFlight", () => {
  it.effect("concurrent calls for one key run it once and all get its value; a later call runs it again", () =>
    Effect.gen(function*() {
      const flights = new SingleFlight()
      const gate = yield* Deferred.make<number, string>()
      const { compute, runs } = gated(gate)
      const callers = yield* Effect.forEach([1, 2, 3, 4], () => Effect.fork(flights.run("k", compute)))
      yield* Effect.yieldNow()
      expect(runs.n).toBe(1)
      yield* Deferred.succeed(gate, 42)
      expect(yield* Effect.forEach(callers, Fiber.join)).toEqual([42, 42, 42, 42])
      expect(flights.size).toBe(0)
      yield* flights.run("k", compute)
      expect(runs.n).toBe(2)
    }))

  it.effect("another key is another computation", () =>
    Effect.gen(function*() {
      const flights = new SingleFlight()
      const gate = yield* Deferred.make<number, string>()
      const { compute, runs } = gated(gate)
      const a = yield* Effect.fork(flights.run("a", compute))
      const b = yield* Effect.fork(flights.run("b", compute))
      yield* Effect.yieldNow()
      expect(runs.n).toBe(2)
      yield* Deferred.succeed(gate, 1)
      expect([yield* Fiber.join(a), yield* Fiber.join(b)]).toEqual([1, 1])
    }))

  it.effect("the computation's failure is every waiter's failure", () =>
    Effect.gen(function*() {
      const flights = new SingleFlight()
      const gate = yield* Deferred.make<number, string>()
      const { compute, runs } = gated(gate)
      const callers = yield* Effect.forEach([1, 2, 3], () => Effect.fork(flights.run("k", compute)))
      yield* Effect.yieldNow()
      yield* Deferred.fail(gate, "store down")
      const exits = yield* Effect.forEach(callers, Fiber.await)
      expect(exits.map((e) => Exit.isFailure(e) && e.cause._tag === "Fail" ? e.cause.error : "?")).toEqual(["store down", "store down", "store down"])
      expect(runs.n).toBe(1)
    }))

  it.effect("a leader interrupted (its client went away): the waiters compute afresh instead of failing", () =>
    Effect.gen(function*() {
      const flights = new SingleFlight()
      const first = yield* Deferred.make<number, string>()
      const leader = yield* Effect.fork(flights.run("k", Deferred.await(first)))
      yield* Effect.yieldNow()
      const waiter = yield* Effect.fork(flights.run("k", Effect.succeed(7)))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(leader)
      expect(yield* Fiber.join(waiter)).toBe(7)
      expect(flights.size).toBe(0)
    }))

  it.effect("a waiter interrupted leaves; the leader and the other waiters go on", () =>
    Effect.gen(function*() {
      const flights = new SingleFlight()
      const gate = yield* Deferred.make<number, string>()
      const { compute } = gated(gate)
      const leader = yield* Effect.fork(flights.run("k", compute))
      yield* Effect.yieldNow()
      const leaving = yield* Effect.fork(flights.run("k", compute))
      const staying = yield* Effect.fork(flights.run("k", compute))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(leaving)
      yield* Deferred.succeed(gate, 5)
      expect([yield* Fiber.join(leader), yield* Fiber.join(staying)]).toEqual([5, 5])
    }))
})
