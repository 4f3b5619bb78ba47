/** Runs the real server process (`tsx layers/main.ts`: the sources of what `npm start` runs) for tests. */
import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"
import { Effect } from "effect"

export const freePort = Effect.async<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

export interface RunningServer {
  readonly url: string
  readonly child: ChildProcess
  readonly output: () => string
}

const tsx = new URL("../../node_modules/.bin/tsx", import.meta.url).pathname
const main = new URL("../../layers/main.ts", import.meta.url).pathname

const launch = (env: Record<string, string>) => {
  const child = spawn(tsx, [main], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  child.stdout.on("data", (d) => (output += d))
  child.stderr.on("data", (d) => (output += d))
  return { child, output: () => output }
}

/** Starts the server and waits until it listens; stopped with SIGTERM when the scope closes. */
export const startServer = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const port = yield* freePort
      const { child, output } = launch({ HOST: "127.0.0.1", PORT: String(port), ...env })
      yield* Effect.async<void, Error>((resume) => {
        const check = setInterval(() => {
          if (output().includes("Listening on")) done(Effect.void)
        }, 50)
        const done = (result: Effect.Effect<void, Error>) => {
          clearInterval(check)
          child.off("exit", onExit)
          resume(result)
        }
        const onExit = (code: number | null) => done(Effect.fail(new Error(`server exited with ${code}:\n${output()}`)))
        child.on("exit", onExit)
      }).pipe(Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error(`server did not start:\n${output()}`) }))
      return { url: `http://127.0.0.1:${port}`, child, output } satisfies RunningServer
    }),
    ({ child }) =>
      Effect.async<void>((resume) => {
        if (child.exitCode !== null) return resume(Effect.void)
        child.once("exit", () => resume(Effect.void))
        child.kill("SIGTERM")
      })
  )

/** Runs the server expecting it to fail at start; answers its exit code and output. */
export const failedStart = (env: Record<string, string>) =>
  Effect.flatMap(freePort, (port) =>
    Effect.async<{ readonly code: number | null; readonly stderr: string }>((resume) => {
      const child = spawn(tsx, [main], { env: { ...process.env, PORT: String(port), ...env }, stdio: ["ignore", "pipe", "pipe"] })
      let stderr = ""
      child.stderr.on("data", (d) => (stderr += d))
      child.on("exit", (code) => resume(Effect.succeed({ code, stderr })))
      // A start that does not fail is stopped, so the test sees it (exit by signal, code null).
      const timer = setTimeout(() => child.kill("SIGTERM"), 30_000)
      child.on("exit", () => clearTimeout(timer))
    }))

export const request = (url: string, init?: { method?: string; body?: unknown; headers?: Record<string, string> }) =>
  Effect.promise(async () => {
    const response = await fetch(url, {
      method: init?.method ?? (init?.body === undefined ? "GET" : "POST"),
      headers: { "content-type": "application/json", ...init?.headers },
      ...(init?.body === undefined ? {} : { body: JSON.stringify(init.body) })
    })
    const text = await response.text()
    return { status: response.status, body: text ? JSON.parse(text) : undefined }
  })
