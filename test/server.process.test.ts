/** The server as a user runs it: `npm start`'s entry point in a child process. */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { failedStart, request, startServer } from "./support/process.ts"

describe("server process", () => {
  it.scoped("serves with the defaults (pglite + local embedder) and keeps data in MEMORY_DATA_DIR", () =>
    Effect.gen(function*() {
      const dataDir = join(mkdtempSync(join(tmpdir(), "agent-memory-")), "data")
      const first = yield* Effect.scoped(Effect.gen(function*() {
        const server = yield* startServer({ MEMORY_DATA_DIR: dataDir })
        const stored = yield* request(`${server.url}/v1/memories`, { body: { content: "The cat sat on the mat" } })
        expect(stored.status).toBe(201)
        yield* request(`${server.url}/v1/memories`, { body: { content: "Quarterly revenue grew by ten percent" } })
        const found = yield* request(`${server.url}/v1/search`, { body: { query: "where did the cat sit" } })
        expect(found.body.hits[0].content).toBe("The cat sat on the mat")
        return stored.body.id as string
      }))
      // A restart finds what was stored before.
      const server = yield* startServer({ MEMORY_DATA_DIR: dataDir })
      const again = yield* request(`${server.url}/v1/memories/${first}`)
      expect(again.status).toBe(200)
      expect(again.body.content).toBe("The cat sat on the mat")
    }), 120_000)

  it.scopedLive("logs a line per request only when MEMORY_LOG_REQUESTS=true", () =>
    Effect.gen(function*() {
      const quiet = yield* startServer({ MEMORY_STORE: "memory" })
      const loud = yield* startServer({ MEMORY_STORE: "memory", MEMORY_LOG_REQUESTS: "true" })
      for (const server of [quiet, loud]) {
        const found = yield* request(`${server.url}/v1/search`, { body: { query: "anything" } })
        expect(found.status).toBe(200)
      }
      // The line is written once the response has gone: give the logger a moment.
      yield* Effect.sleep("300 millis")
      const lines = (server: { readonly output: () => string }) => server.output().split("\n").filter((l) => l.includes("/v1/search"))
      expect(lines(quiet)).toEqual([])
      expect(lines(loud).length).toBe(1)
      expect(loud.output()).toMatch(/http\.method: POST/)
      const bad = yield* failedStart({ MEMORY_STORE: "memory", MEMORY_LOG_REQUESTS: "sometimes" })
      expect(bad.code).toBe(1)
      expect(bad.stderr).toContain("MEMORY_LOG_REQUESTS")
    }), 120_000)

  it.effect("a bad setting stops start-up with exit code 1 and one line naming the variable", () =>
    Effect.gen(function*() {
      const { code, stderr } = yield* failedStart({ MEMORY_STORE: "nope" })
      expect(code).toBe(1)
      expect(stderr.trim()).toBe(`agent-memory: configuration: MEMORY_STORE: unknown store "nope" (known: memory, pglite, pgvector)`)
    }), 60_000)

  it.scoped("reads MEMORY_CONFIG, and the environment wins over it", () =>
    Effect.gen(function*() {
      const file = join(mkdtempSync(join(tmpdir(), "agent-memory-")), "config.json")
      writeFileSync(file, JSON.stringify({ MEMORY_STORE: "memory", MEMORY_DIMENSIONS: 512 }))
      const server = yield* startServer({ MEMORY_CONFIG: file, MEMORY_DIMENSIONS: "256" })
      const ready = yield* request(`${server.url}/ready`)
      expect(ready.body).toMatchObject({ status: "ready", store: "memory", dimensions: 256 })
      const broken = join(mkdtempSync(join(tmpdir(), "agent-memory-")), "broken.json")
      writeFileSync(broken, "{ not json")
      const failed = yield* failedStart({ MEMORY_CONFIG: broken })
      expect(failed.code).toBe(1)
      expect(failed.stderr).toContain("MEMORY_CONFIG")
    }), 120_000)
})
