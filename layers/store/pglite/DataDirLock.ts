/**
 * One process at a time in a PGlite data directory. PGlite is PostgreSQL in
 * one process with no postmaster to refuse a second one: two processes writing
 * the same files corrupt them (`missing chunk number 0 for toast value …`).
 *
 * The lock is a file in the directory, created exclusively, naming the holder:
 * its pid and (on Linux) the process's start time. A lock whose holder is gone
 * (the pid no longer runs, or now belongs to a process started later) is stale
 * and taken over at once, so a crash or `kill -9` never leaves the directory
 * locked. The file is removed when the scope that took it closes.
 */
import { readFileSync } from "node:fs"
import { link, mkdir, open, readFile, rename, unlink } from "node:fs/promises"
import { join, resolve } from "node:path"
import { Data, Effect } from "effect"

export const LOCK_FILE = "agent-memory.lock"

export class DataDirLocked extends Data.TaggedError("DataDirLocked")<{
  readonly message: string
  readonly dataDir: string
  readonly pid: number
}> {}

export class DataDirLockFailed extends Data.TaggedError("DataDirLockFailed")<{
  readonly message: string
  readonly cause: unknown
}> {}

interface Holder {
  readonly pid: number
  /** Clock ticks since boot when the process started (Linux), or null where unknown. */
  readonly started: string | null
}

/** Field 22 of /proc/<pid>/stat: when the process started; null off Linux or for a pid that does not run. */
const startTimeOf = (pid: number): string | null => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null
  } catch {
    return null
  }
}

const runs = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Whether the process that wrote the lock still runs (not merely a later process with its pid). */
const alive = (holder: Holder): boolean => {
  if (!runs(holder.pid)) return false
  if (holder.started === null) return true
  const now = startTimeOf(holder.pid)
  return now === null || now === holder.started
}

const parse = (text: string): Holder | undefined => {
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value === "object" && value !== null && "pid" in value && typeof value.pid === "number") {
      const started = "started" in value && typeof value.started === "string" ? value.started : null
      return { pid: value.pid, started }
    }
  } catch {
    // A torn write (crash while writing): no holder named, so stale.
  }
  return undefined
}

const message = (dataDir: string, pid: number) =>
  `the data directory ${dataDir} is in use by process ${pid} (an agent-memory server or another command). ` +
  `PGlite allows one process per directory: stop that process first, or send the data through the running server ` +
  `(agent-memory ingest --url http://HOST:PORT …)`

/** Takes the lock or fails at once; one retry after clearing a stale lock. */
const take = async (dataDir: string): Promise<Holder> => {
  await mkdir(dataDir, { recursive: true })
  const path = join(dataDir, LOCK_FILE)
  const me: Holder = { pid: process.pid, started: startTimeOf(process.pid) }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const file = await open(path, "wx")
      try {
        await file.writeFile(JSON.stringify({ ...me, at: new Date().toISOString() }))
        await file.sync()
      } finally {
        await file.close()
      }
      return me
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    }
    const holder = parse(await readFile(path, "utf8").catch(() => ""))
    if (holder !== undefined && alive(holder)) {
      throw new DataDirLocked({ message: message(dataDir, holder.pid), dataDir, pid: holder.pid })
    }
    // Stale: moved aside atomically, then looked at again: if another process cleared it and
    // locked first, what was moved is that live lock, and it is put back.
    const aside = `${path}.stale-${process.pid}`
    const moved = await rename(path, aside).then(() => true, () => false)
    if (!moved) continue
    const was = parse(await readFile(aside, "utf8").catch(() => ""))
    if (was !== undefined && alive(was)) await link(aside, path).catch(() => {})
    await unlink(aside).catch(() => {})
  }
  throw new DataDirLocked({ message: message(dataDir, -1), dataDir, pid: -1 })
}

/** Holds `dataDir` for this process until the scope closes. */
export const acquire = (dataDir: string) =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: () => take(resolve(dataDir)),
      catch: (error) =>
        error instanceof DataDirLocked
          ? error
          : new DataDirLockFailed({ message: `could not lock the data directory ${dataDir}: ${(error as Error).message}`, cause: error })
    }),
    (me) =>
      Effect.promise(async () => {
        const path = join(resolve(dataDir), LOCK_FILE)
        // Only our own lock: never one another process took over.
        if (parse(await readFile(path, "utf8").catch(() => ""))?.pid === me.pid) await unlink(path).catch(() => {})
      })
  )
