/**
 * SIGTERM on the real server process with slow requests in flight (the
 * embedding provider, a loopback stand-in, answers after a delay): those in
 * flight finish with their real answers, a request arriving during the drain
 * gets 503 ShuttingDown (JSON), and the process exits 0 once they are done;
 * with a grace shorter than the work, the process still exits within the
 * grace and the requests it cut get a 503 ShuttingDown too, never a reset.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Schedule } from "effect"
import { makeFakeOpenAi, serverEnvOver } from "../support/FakeOpenAi.ts"
import { type Answer, send, type ServerProcess, spawnServer } from "./serverProcess.ts"

const slowServer = (latencyMs: number, grace: string) =>
  Effect.gen(function*() {
    const fake = yield* makeFakeOpenAi({ latencyMs })
    const server = yield* spawnServer({
      ...serverEnvOver(fake),
      MEMORY_EMBEDDING_TIMEOUT: "30 seconds",
      MEMORY_EMBEDDING_DEADLINE: "30 seconds",
      MEMORY_SHUTDOWN_GRACE: grace
    })
    return { fake, server }
  })

/** N stores in flight: forked, and answered once the provider has seen every one of them. */
const inFlight = (server: ServerProcess, fake: { readonly requests: () => ReadonlyArray<{ readonly inputs: ReadonlyArray<unknown> }> }, n: number, label: string) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Effect.forEach(
      Array.from({ length: n }, (_, i) => `${label} request ${i} in flight at shutdown`),
      (content) => send(`${server.url}/v1/memories`, { body: JSON.stringify({ content }) }),
      { concurrency: "unbounded" }
    ))
    yield* Effect.repeat(Effect.sync(() => fake.requests().reduce((sum, r) => sum + r.inputs.length, 0)), {
      until: (seen) => seen >= n,
      schedule: Schedule.spaced("20 millis")
    }).pipe(Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => new Error(`the provider never saw ${n} requests:\n${server.output()}`) }))
    return fiber
  })

const exitOf = (server: ServerProcess) =>
  Effect.map(server.exited, () => ({ code: server.child.exitCode, signal: server.child.signalCode }))

describe("SIGTERM drain on the server process", () => {
  it.scopedLive("in-flight requests finish with their answers, new ones get 503 ShuttingDown, exit 0", () =>
    Effect.gen(function*() {
      const latency = 2500
      const { fake, server } = yield* slowServer(latency, "15 seconds")
      const requests = yield* inFlight(server, fake, 8, "drained")
      const signalled = performance.now()
      server.child.kill("SIGTERM")
      yield* Effect.sleep("150 millis")
      const during = yield* send(`${server.url}/v1/memories`, { body: JSON.stringify({ content: "arrives during the drain" }) })
      const answers: ReadonlyArray<Answer> = yield* Fiber.join(requests)
      const exit = yield* exitOf(server)
      const exitedAfter = performance.now() - signalled
      const after = yield* send(`${server.url}/health`)
      console.log(`drain: ${answers.filter((a) => a.status === 201).length}/8 in-flight answered 201, during drain ${during.status}, exit ${exit.code} after ${Math.round(exitedAfter)} ms`)

      // Every in-flight request got its real answer: the stored record (a reset would be status 0).
      for (const answer of answers) {
        expect(answer.status, JSON.stringify(answer.body)).toBe(201)
        expect(answer.body).toMatchObject({ content: expect.stringContaining("in flight at shutdown"), id: expect.any(String) })
      }
      // The request that arrived while draining was refused in JSON, not reset.
      expect(during.status).toBe(503)
      expect(during.body).toMatchObject({ _tag: "ShuttingDown", message: expect.any(String) })
      // The provider never saw it: it was not started.
      expect(fake.requests().flatMap((r) => r.inputs)).not.toContain("arrives during the drain")
      // Exit 0 once the work was done, well before the grace.
      expect(exit).toEqual({ code: 0, signal: null })
      expect(exitedAfter).toBeLessThan(latency + 5000)
      // Then the listener is closed: nothing answers.
      expect(after.status).toBe(0)
    }), 90_000)

  it.scopedLive("a grace shorter than the work: the process exits within the grace, the cut requests get 503 ShuttingDown", () =>
    Effect.gen(function*() {
      const { fake, server } = yield* slowServer(10_000, "1 second")
      const requests = yield* inFlight(server, fake, 4, "cut")
      const signalled = performance.now()
      server.child.kill("SIGTERM")
      const exit = yield* exitOf(server)
      const exitedAfter = performance.now() - signalled
      const answers: ReadonlyArray<Answer> = yield* Fiber.join(requests)
      console.log(`drain with a 1 s grace over 10 s of work: exit ${exit.code} after ${Math.round(exitedAfter)} ms; cut requests answered ${answers.map((a) => a.status).join(",")}`)

      expect(exit).toEqual({ code: 0, signal: null })
      expect(exitedAfter).toBeGreaterThanOrEqual(900)
      expect(exitedAfter).toBeLessThan(1000 + 3000)
      for (const answer of answers) {
        expect(answer.status).toBe(503)
        expect(answer.body).toMatchObject({ _tag: "ShuttingDown" })
      }
    }), 90_000)
})
