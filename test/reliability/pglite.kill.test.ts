/**
 * kill -9 of the server process on the embedded store (PGlite, its own
 * MEMORY_DATA_DIR) mid-ingest, three times: after each kill the directory
 * reopens (the data-directory lock died with its process) and every write the
 * server acknowledged (201, or an item of a 200 NDJSON batch not listed as
 * failed) is in the table. Each check opens the directory under the same lock the
 * server takes, and each round after the first starts the server on it again.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { PGlite } from "@electric-sql/pglite"
import { vector } from "@electric-sql/pglite-pgvector"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as DataDirLock from "../../layers/store/pglite/DataDirLock.ts"
import { kill9, send, type ServerProcess, spawnServer } from "./serverProcess.ts"

/** The contents stored in the directory, read by this process under the same lock the server takes. */
const storedContents = (dir: string) =>
  Effect.scoped(Effect.gen(function*() {
    yield* DataDirLock.acquire(dir)
    const db = yield* Effect.acquireRelease(
      Effect.promise(() => PGlite.create({ dataDir: dir, extensions: { vector } })),
      (db) => Effect.promise(() => db.close())
    )
    const rows = yield* Effect.promise(() => db.query<{ content: string }>("SELECT content FROM memories"))
    return new Set(rows.rows.map((r) => r.content))
  }))

/** Single POSTs and NDJSON batches until `stop`; what the server acknowledged goes into `acknowledged`. */
const writer = (server: ServerProcess, label: string, acknowledged: Array<string>, stop: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; !stop(); i++) {
      if (i % 2 === 0) {
        const content = `${label} single ${i}`
        const answer = yield* send(`${server.url}/v1/memories`, { body: JSON.stringify({ content }) })
        if (answer.status === 201) acknowledged.push(content)
      } else {
        const items = Array.from({ length: 5 }, (_, j) => `${label} batch ${i} item ${j}`)
        const answer = yield* send(`${server.url}/v1/memories/batch`, {
          body: items.map((content) => JSON.stringify({ content })).join("\n") + "\n",
          contentType: "application/x-ndjson"
        })
        if (answer.status !== 200) continue
        const failed = new Set((answer.body as { failed: Array<{ index: number }> }).failed.map((f) => f.index))
        items.forEach((content, j) => failed.has(j) || acknowledged.push(content))
      }
    }
  })

describe("PGlite killed mid-ingest", () => {
  it.live("kill -9 three times: the directory reopens and no acknowledged write is lost", () =>
    Effect.gen(function*() {
      const root = mkdtempSync(join(tmpdir(), "agent-memory-pglite-kill-"))
      const dir = join(root, "data")
      const env = { MEMORY_STORE: "pglite", MEMORY_DATA_DIR: dir }
      const acknowledged: Array<string> = []
      const lostPerRound: Array<number> = []
      try {
        for (let round = 0; round < 3; round++) {
          yield* Effect.scoped(Effect.gen(function*() {
            const server = yield* spawnServer(env)
            let stop = false
            const before = acknowledged.length
            const writers = yield* Effect.fork(Effect.all(
              [0, 1, 2].map((w) => writer(server, `round ${round} writer ${w}`, acknowledged, () => stop)),
              { concurrency: "unbounded" }
            ))
            // Killed once writes are being acknowledged, with more in flight.
            while (acknowledged.length < before + 30) yield* Effect.sleep("50 millis")
            yield* kill9(server)
            stop = true
            yield* writers.await
          }))
          const stored = yield* storedContents(dir)
          lostPerRound.push(acknowledged.filter((c) => !stored.has(c)).length)
        }
        const lost = lostPerRound.reduce((a, b) => a + b, 0)
        console.log(`pglite kill -9 x3: acknowledged writes lost: ${lost} (${acknowledged.length} acknowledged; per round ${lostPerRound.join("/")})`)
        expect(lostPerRound).toEqual([0, 0, 0])
        expect(acknowledged.length).toBeGreaterThanOrEqual(90)
      } finally {
        rmSync(root, { recursive: true, force: true })
      }
    }), 170_000)
})
