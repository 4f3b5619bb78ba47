/**
 * kill -9 of PostgreSQL's postmaster mid-ingest, on a cluster of the test's
 * own (initdb on a free port, as the postgres OS user): every write the server
 * acknowledged is in the table after the restart; during the outage the server
 * answers 503 StoreUnavailable (JSON), and it recovers without a restart.
 */
import { execFileSync } from "node:child_process"
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { freePort } from "../support/process.ts"
import { query } from "../support/postgres.ts"
import { send, spawnServer } from "./serverProcess.ts"

const BIN = "/usr/lib/postgresql/15/bin"
const canRun = existsSync(`${BIN}/initdb`) && process.getuid?.() === 0

const asPostgres = (command: string, args: ReadonlyArray<string>) =>
  execFileSync("runuser", ["-u", "postgres", "--", `${BIN}/${command}`, ...args], { stdio: "pipe" }).toString()

/** A throwaway cluster on a free port; stopped and removed when the scope closes. */
const cluster = Effect.acquireRelease(
  Effect.gen(function*() {
    const port = yield* freePort
    const root = mkdtempSync(join(tmpdir(), "agent-memory-pgkill-"))
    chmodSync(root, 0o777)
    const data = join(root, "data")
    asPostgres("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"])
    const start = () =>
      asPostgres("pg_ctl", ["-D", data, "-l", join(root, "log"), "-w", "-t", "60", "-o", `-p ${port} -k ${root} -c listen_addresses=127.0.0.1 -c fsync=on`, "start"])
    start()
    const postmasterPid = () => Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0])
    return { root, data, port, start, postmasterPid, url: `postgres://postgres@127.0.0.1:${port}/postgres` }
  }),
  ({ data, postmasterPid, root }) =>
    Effect.sync(() => {
      try {
        process.kill(postmasterPid(), "SIGKILL")
      } catch {
        // already gone
      }
      void data
      rmSync(root, { recursive: true, force: true })
    })
)

describe.skipIf(!canRun)("PostgreSQL killed mid-ingest", () => {
  it.scopedLive("every acknowledged write survives kill -9 of the postmaster; 503 during the outage; recovery without a restart", () =>
    Effect.gen(function*() {
      const pg = yield* cluster
      const server = yield* spawnServer({
        MEMORY_STORE: "pgvector",
        DATABASE_URL: pg.url,
        MEMORY_POOL_CONNECT_TIMEOUT: "2 seconds",
        MEMORY_POOL_PROBE_INTERVAL: "500 millis"
      })
      const acknowledged: Array<string> = []
      const outage: Array<number> = []
      let phase: "before" | "down" | "after" = "before"
      let firstSuccessAfter = 0
      let restartedAt = 0
      let stop = false
      let n = 0
      const writer = Effect.gen(function*() {
        while (!stop) {
          const i = n++
          if (i % 3 === 0) {
            const items = [0, 1, 2, 3].map((j) => `batch ${i} item ${j}`)
            const answer = yield* send(`${server.url}/v1/memories/batch`, { body: JSON.stringify({ items: items.map((content) => ({ content })) }) })
            const result = answer.body as { stored?: number; failedCount?: number } | undefined
            if (answer.status === 200 && result?.failedCount === 0) acknowledged.push(...items)
            else if (phase !== "before") outage.push(answer.status)
            if (answer.status === 200 && phase === "after" && firstSuccessAfter === 0) firstSuccessAfter = Date.now()
          } else {
            const content = `single ${i}`
            const answer = yield* send(`${server.url}/v1/memories`, { body: JSON.stringify({ content }) })
            if (answer.status === 201) {
              acknowledged.push(content)
              if (phase === "after" && firstSuccessAfter === 0) firstSuccessAfter = Date.now()
            } else {
              outage.push(answer.status)
              if (answer.status === 503) expect((answer.body as { _tag?: string })._tag).toBe("StoreUnavailable")
            }
          }
        }
      })
      const writers = yield* Effect.fork(Effect.all([writer, writer, writer], { concurrency: "unbounded" }))
      yield* Effect.sleep("2 seconds")
      process.kill(pg.postmasterPid(), "SIGKILL")
      phase = "down"
      yield* Effect.sleep("3 seconds")
      phase = "after"
      restartedAt = Date.now()
      pg.start()
      for (let i = 0; i < 600 && firstSuccessAfter === 0; i++) yield* Effect.sleep("100 millis")
      yield* Effect.sleep("1 second")
      stop = true
      yield* writers.await

      const stored = new Set(
        (yield* query<{ content: string }>(Redacted.make(pg.url), "SELECT content FROM memories")).map((r) => r.content)
      )
      const lost = acknowledged.filter((c) => !stored.has(c))
      const recovery = firstSuccessAfter - restartedAt
      console.log(
        `acknowledged writes lost: ${lost.length}, recovery: ${recovery} ms ` +
          `(${acknowledged.length} acknowledged, outage answers: ${[...new Set(outage)].join(", ")})`
      )
      expect(lost).toEqual([])
      expect(acknowledged.length).toBeGreaterThan(0)
      expect(firstSuccessAfter).toBeGreaterThan(0)
      // The server stayed up and answered: 503s, never a dropped connection or a 500.
      expect(outage.length).toBeGreaterThan(0)
      expect(outage.filter((s) => s !== 503)).toEqual([])
      expect(server.child.exitCode).toBe(null)
    }), 300_000)
})
