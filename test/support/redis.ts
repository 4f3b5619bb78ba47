/** The Redis the L2 tests use: REDIS_URL, or the one on 127.0.0.1:6379; each test gets a key prefix of its own. */
import { randomUUID } from "node:crypto"
import { createServer, Socket } from "node:net"
import { Effect } from "effect"

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

export const freshPrefix = () => `agent-memory-test:${randomUUID().slice(0, 8)}:`

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
