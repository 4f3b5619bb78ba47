/**
 * The Redis the L2 tests use: REDIS_URL, or the one on 127.0.0.1:6379; each test gets a key
 * prefix of its own, and `deleteTestKeys` (in afterAll) removes every key under the prefixes
 * this file handed out, so tests leave the shared Redis as they found it. `redisServer` runs a
 * Redis of the test's own (a child process on a free port, data kept in a temp dir) to kill.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer, Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import { Redis } from "ioredis"
import { freePort } from "./process.ts"

export const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"

const reachable = (url: string) =>
  new Promise<boolean>((resolve) => {
    const { hostname, port } = new URL(url)
    const socket = new Socket()
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once("error", () => done(false))
    socket.connect(Number(port || 6379), hostname, () => done(true))
  })

export const redisAvailable = await reachable(redisUrl)

const handedOut = new Set<string>()

export const freshPrefix = () => {
  const prefix = `agent-memory-test:${randomUUID().slice(0, 8)}:`
  handedOut.add(prefix)
  return prefix
}

/** Deletes every key under the prefixes handed out so far (SCAN, not KEYS: the Redis may be shared). */
export const deleteTestKeys = async (url: string = redisUrl) => {
  if (handedOut.size === 0 || !(await reachable(url))) return
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  try {
    await redis.connect()
    for (const prefix of handedOut) {
      let cursor = "0"
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000)
        if (keys.length > 0) await redis.del(...keys)
        cursor = next
      } while (cursor !== "0")
    }
    handedOut.clear()
  } finally {
    redis.disconnect()
  }
}

/** Keys under a prefix that have no TTL (should be none). */
export const keysWithoutTtl = async (prefix: string, url: string = redisUrl) => {
  const redis = new Redis(url)
  try {
    const keys = await redis.keys(`${prefix}*`)
    const ttls = await Promise.all(keys.map((k) => redis.pttl(k)))
    return keys.filter((_, i) => ttls[i] === -1)
  } finally {
    redis.disconnect()
  }
}

export const redisServerAvailable = await new Promise<boolean>((resolve) => {
  const child = spawn("redis-server", ["--version"], { stdio: "ignore" })
  child.once("error", () => resolve(false))
  child.once("exit", (code) => resolve(code === 0))
})

export interface OwnRedis {
  readonly url: string
  readonly port: number
  /** SIGKILL: the process dies at once, its AOF as it was. */
  readonly kill: Effect.Effect<void>
  /** Starts it again on the same port over the same data. */
  readonly restart: Effect.Effect<void, Error>
}

/**
 * A redis-server of the test's own on a free port, with `appendonly yes` and `appendfsync always`
 * in a temp dir, so a kill -9 keeps every acknowledged write (a Redis that keeps its data).
 * Killed and its dir removed when the scope closes.
 */
export const redisServer = Effect.acquireRelease(
  Effect.gen(function*() {
    const port = yield* freePort
    const dir = mkdtempSync(join(tmpdir(), "am-redis-"))
    let child: ChildProcess | undefined
    const start = Effect.gen(function*() {
      const proc = spawn("redis-server", [
        "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "",
        "--appendonly", "yes", "--appendfsync", "always", "--protected-mode", "no"
      ], { stdio: "ignore" })
      child = proc
      yield* Effect.tryPromise({
        try: async () => {
          for (let i = 0; i < 200; i++) {
            if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`)
            if (await reachable(`redis://127.0.0.1:${port}`)) return
            await new Promise((r) => setTimeout(r, 25))
          }
          throw new Error("redis-server did not listen within 5 s")
        },
        catch: (e) => (e instanceof Error ? e : new Error(String(e)))
      })
    })
    const kill = Effect.async<void>((resume) => {
      const proc = child
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return resume(Effect.void)
      proc.once("exit", () => resume(Effect.void))
      proc.kill("SIGKILL")
    })
    yield* start
    return { url: `redis://127.0.0.1:${port}`, port, kill, restart: start, dir, stop: kill } as const
  }),
  ({ dir, stop }) => Effect.andThen(stop, Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
)

/** A TCP server that accepts connections and never answers: Redis at its slowest. */
export const blackhole = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly close: () => void }>((resume) => {
    const sockets = new Set<Socket>()
    const server = createServer((socket) => {
      sockets.add(socket)
      socket.on("close", () => sockets.delete(socket))
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address ? address.port : 0
      resume(Effect.succeed({
        url: `redis://127.0.0.1:${port}`,
        close: () => {
          for (const s of sockets) s.destroy()
          server.close()
        }
      }))
    })
  }),
  ({ close }) => Effect.sync(close)
)

/**
 * A TCP gate in front of a Redis: while shut it drops its connections and refuses new ones,
 * so one client stays cut off (reconnecting) while others reach the Redis directly.
 */
export const gate = (port: number) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly shut: () => void; readonly open: () => void; readonly close: () => void }>((resume) => {
      let isOpen = true
      const sockets = new Set<Socket>()
      const track = (socket: Socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
        socket.on("error", () => socket.destroy())
      }
      const server = createServer((client) => {
        track(client)
        if (!isOpen) return client.destroy()
        const upstream = new Socket()
        track(upstream)
        upstream.connect(port, "127.0.0.1")
        client.pipe(upstream).pipe(client)
        client.on("close", () => upstream.destroy())
        upstream.on("close", () => client.destroy())
      })
      const dropAll = () => {
        for (const s of sockets) s.destroy()
      }
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const listening = typeof address === "object" && address ? address.port : 0
        resume(Effect.succeed({
          url: `redis://127.0.0.1:${listening}`,
          shut: () => {
            isOpen = false
            dropAll()
          },
          open: () => {
            isOpen = true
          },
          close: () => {
            dropAll()
            server.close()
          }
        }))
      })
    }),
    ({ close }) => Effect.sync(close)
  )
