/**
 * The embedded store has one owner: a second process opening the same
 * MEMORY_DATA_DIR fails at once, naming the directory and the holder; the
 * lock dies with its process (kill -9 never leaves it stale).
 */
import { execFile, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as DataDirLock from "../../layers/store/pglite/DataDirLock.ts"
import { failedServer, kill9, send, spawnServer } from "./serverProcess.ts"

const bin = new URL("../../bin/agent-memory.mjs", import.meta.url).pathname

const cli = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.async<{ readonly code: number; readonly stdout: string; readonly stderr: string }>((resume) => {
    execFile(bin, [...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      resume(Effect.succeed({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr })))
  })

/** A pid that ran and has exited. */
const deadPid = () => spawnSync("true").pid!

describe("PGlite data directory lock", () => {
  it.scoped("a second holder in the same process is refused; released, the directory is free again", () =>
    Effect.gen(function*() {
      const dir = join(mkdtempSync(join(tmpdir(), "agent-memory-lock-")), "data")
      const first = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
        yield* DataDirLock.acquire(dir)
        expect(existsSync(join(dir, DataDirLock.LOCK_FILE))).toBe(true)
        const second = yield* Effect.flip(Effect.scoped(DataDirLock.acquire(dir)))
        expect(second._tag).toBe("DataDirLocked")
        expect(second.message).toContain(dir)
        expect(second.message).toContain(`process ${process.pid}`)
      })))
      expect(Exit.isSuccess(first)).toBe(true)
      expect(existsSync(join(dir, DataDirLock.LOCK_FILE))).toBe(false)
      yield* Effect.scoped(DataDirLock.acquire(dir))
    }))

  it.scoped("a lock left by a process that is gone, or torn, is taken over", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "agent-memory-lock-"))
      writeFileSync(join(dir, DataDirLock.LOCK_FILE), JSON.stringify({ pid: deadPid(), started: "1" }))
      yield* Effect.scoped(DataDirLock.acquire(dir))
      writeFileSync(join(dir, DataDirLock.LOCK_FILE), "{\"pid\":")
      yield* Effect.scoped(DataDirLock.acquire(dir))
      // Our own pid with another start time: a process that had our pid before us.
      writeFileSync(join(dir, DataDirLock.LOCK_FILE), JSON.stringify({ pid: process.pid, started: "1" }))
      yield* Effect.scoped(DataDirLock.acquire(dir))
    }))

  it.scopedLive("two real processes: the second server and `ingest` fail at once naming the holder; after kill -9 the directory opens", () =>
    Effect.gen(function*() {
      const root = mkdtempSync(join(tmpdir(), "agent-memory-lock-"))
      const dir = join(root, "data")
      const env = { MEMORY_DATA_DIR: dir }
      const holder = yield* spawnServer(env)
      const stored = yield* send(`${holder.url}/v1/memories`, { body: JSON.stringify({ content: "kept through a crash" }) })
      expect(stored.status).toBe(201)

      const started = Date.now()
      const second = yield* failedServer(env)
      expect(second.code).not.toBe(0)
      expect(second.output).toContain(`the data directory ${dir} is in use by process ${holder.child.pid}`)
      expect(Date.now() - started).toBeLessThan(30_000)

      mkdirSync(join(root, "docs"))
      writeFileSync(join(root, "docs", "a.md"), "# A\n\nsome text\n")
      const ingest = yield* cli(["ingest", join(root, "docs")], env)
      expect(ingest.code).not.toBe(0)
      expect(ingest.stderr).toContain(`in use by process ${holder.child.pid}`)
      expect(ingest.stderr).toContain("--url")
      expect(ingest.stderr).not.toMatch(/\n\s+at /) // a line, not a stack trace

      yield* kill9(holder)
      const after = yield* spawnServer(env)
      const found = yield* send(`${after.url}/v1/search`, { body: JSON.stringify({ query: "kept through a crash", k: 1 }) })
      expect(found.status).toBe(200)
      expect((found.body as { hits: Array<{ content: string }> }).hits[0]?.content).toBe("kept through a crash")
    }), 240_000)
})
