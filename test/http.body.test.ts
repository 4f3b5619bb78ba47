/**
 * A body with a Content-Length is read in one bounded read (src/http/RequestBody.ts): a client
 * that declares more than it sends and goes away must end its request (nothing left in flight
 * for the shutdown to wait on), and the server goes on answering.
 */
import { connect } from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { request, startServer } from "./support/process.ts"

const shortBody = (port: number) =>
  Effect.async<string>((resume) => {
    let answer = ""
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(`POST /v1/search HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"query":`)
      setTimeout(() => socket.destroy(), 300)
    })
    socket.on("data", (d) => (answer += d))
    socket.on("close", () => resume(Effect.succeed(answer)))
  })

describe("request bodies with a Content-Length", () => {
  it.live("a body cut short ends its request; the server answers the next one and shuts down without waiting", () =>
    Effect.gen(function*() {
      const output = yield* Effect.scoped(Effect.gen(function*() {
        const server = yield* startServer({ MEMORY_STORE: "memory", MEMORY_SHUTDOWN_GRACE: "20s" })
        const port = Number(new URL(server.url).port)
        expect(yield* shortBody(port)).toBe("")
        const ok = yield* request(`${server.url}/v1/search`, { body: { query: "anything" } })
        expect(ok.status).toBe(200)
        expect(ok.body.hits).toEqual([])
        return server.output
      }))
      // The scope sent SIGTERM and waited for the exit: nothing was left in flight.
      expect(output()).not.toMatch(/waiting for \d+ request/)
    }), 90_000)
})
