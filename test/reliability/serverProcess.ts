/**
 * The server as one real OS process (node with tsx's loader, no wrapper
 * process), for the fault tests: its pid is the server's, so `kill -9` kills
 * the server itself. Every process started here is killed when its scope
 * closes, whatever the test did to it.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { Effect } from "effect"
import { freePort } from "../support/process.ts"

const root = new URL("../../", import.meta.url).pathname
// The server's entry: layers/main.ts (src/main.ts before the composition moved there).
const entry = ["layers/main.ts", "src/main.ts"].map((p) => root + p).find((p) => existsSync(p))!

export interface ServerProcess {
  readonly url: string
  readonly port: number
  readonly child: ChildProcess
  readonly output: () => string
  /** Waits until the process has exited. */
  readonly exited: Effect.Effect<void>
}

const exitedOf = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
  })

/** Spawns the server; answers once it listens (or fails with its output). `port` reuses a port (a restart). */
export const spawnServer = (env: Record<string, string>, options: { readonly port?: number } = {}) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const port = options.port ?? (yield* freePort)
      const child = spawn(process.execPath, ["--import", "tsx", entry], {
        cwd: root,
        env: { ...process.env, HOST: "127.0.0.1", PORT: String(port), ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      child.stdout!.on("data", (d) => (output += d))
      child.stderr!.on("data", (d) => (output += d))
      yield* Effect.async<void, Error>((resume) => {
        const check = setInterval(() => output.includes("Listening on") && done(Effect.void), 25)
        const done = (result: Effect.Effect<void, Error>) => {
          clearInterval(check)
          child.off("exit", onExit)
          resume(result)
        }
        const onExit = (code: number | null) => done(Effect.fail(new Error(`server exited with ${code}:\n${output}`)))
        child.on("exit", onExit)
      }).pipe(Effect.timeoutFail({ duration: "90 seconds", onTimeout: () => new Error(`server did not start:\n${output}`) }))
      return { url: `http://127.0.0.1:${port}`, port, child, output: () => output, exited: exitedOf(child) } satisfies ServerProcess
    }),
    ({ child }) =>
      Effect.async<void>((resume) => {
        if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
        child.once("exit", () => {
          clearTimeout(timer)
          resume(Effect.void)
        })
        child.kill("SIGTERM")
      })
  )

/** Runs the server expecting it not to start; answers its exit code and output. */
export const failedServer = (env: Record<string, string>) =>
  Effect.flatMap(freePort, (port) =>
    Effect.async<{ readonly code: number | null; readonly output: string }>((resume) => {
      const child = spawn(process.execPath, ["--import", "tsx", entry], {
        cwd: root,
        env: { ...process.env, HOST: "127.0.0.1", PORT: String(port), ...env },
        stdio: ["ignore", "pipe", "pipe"]
      })
      let output = ""
      child.stdout!.on("data", (d) => (output += d))
      child.stderr!.on("data", (d) => (output += d))
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
      child.on("exit", (code) => {
        clearTimeout(timer)
        resume(Effect.succeed({ code, output }))
      })
    }))

/** SIGKILL, and wait for the exit. */
export const kill9 = (server: ServerProcess) =>
  Effect.zipRight(Effect.sync(() => server.child.kill("SIGKILL")), server.exited)

export interface Answer {
  readonly status: number
  readonly body: unknown
  readonly ms: number
}

/** One JSON request; a connection error is status 0 (the server is down), never a throw. */
export const send = (url: string, init: { readonly method?: string; readonly body?: string; readonly contentType?: string } = {}) =>
  Effect.promise(async (): Promise<Answer> => {
    const started = performance.now()
    try {
      const response = await fetch(url, {
        method: init.method ?? (init.body === undefined ? "GET" : "POST"),
        headers: { "content-type": init.contentType ?? "application/json" },
        ...(init.body === undefined ? {} : { body: init.body }),
        signal: AbortSignal.timeout(30_000)
      })
      const text = await response.text()
      let body: unknown = text
      try {
        body = JSON.parse(text)
      } catch {
        // not JSON: kept as text, which the tests reject where they expect JSON
      }
      return { status: response.status, body, ms: performance.now() - started }
    } catch {
      return { status: 0, body: undefined, ms: performance.now() - started }
    }
  })
