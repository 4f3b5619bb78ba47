/** A benchmark's server process: a free port, readiness, a stop that ends it for sure, and all three around a piece of work. */
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { createServer } from "node:net"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))))
    })
  })

/** CPU seconds a process has used so far (Linux /proc: utime + stime, in USER_HZ, 100 on Linux). */
export const cpuSeconds = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** A command line run on the given CPUs (`taskset -c`, which execs it: the pid is the command's), or as it is. */
export const pinnedTo = (cores: string | undefined, argv: ReadonlyArray<string>): [string, ...Array<string>] =>
  (cores === undefined ? [...argv] : ["taskset", "-c", cores, ...argv]) as [string, ...Array<string>]

export const waitReady = async (base: string, child: ChildProcess, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`)
    try {
      if ((await fetch(`${base}/ready`)).ok) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`the server was not ready within ${timeoutMs / 1000} s`)
}

export const stop = (child: ChildProcess, graceMs = 5000) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve()
    const kill = setTimeout(() => child.kill("SIGKILL"), graceMs)
    child.once("exit", () => {
      clearTimeout(kill)
      resolve()
    })
    child.kill("SIGTERM")
  })

/**
 * Starts the server (layers/main.ts, the process `npm start` runs) on a free
 * loopback port with `env` as its whole configuration (nothing of this
 * process's environment leaks in but PATH and HOME), waits until it is ready,
 * runs `use` with its base URL (and its pid), and stops it.
 */
export const withServer = async <A>(
  env: Readonly<Record<string, string>>,
  use: (base: string, pid: number) => Promise<A>,
  readyTimeoutMs = 60_000,
  /** CPUs to pin the server to (`taskset -c`), e.g. "1"; unpinned when undefined. */
  cores?: string | undefined
): Promise<A> => {
  const port = await freePort()
  const [command, ...args] = pinnedTo(cores, [process.execPath, "--import", "tsx", "layers/main.ts"])
  const child = spawn(command, args, {
    cwd: root,
    stdio: ["ignore", "ignore", "pipe"],
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", HOST: "127.0.0.1", PORT: String(port), ...env }
  })
  let stderr = ""
  child.stderr?.on("data", (chunk: Buffer) => void (stderr = (stderr + chunk.toString()).slice(-4000)))
  const base = `http://127.0.0.1:${port}`
  try {
    await waitReady(base, child, readyTimeoutMs).catch((e: Error) => {
      throw new Error(`${e.message}\n${stderr}`)
    })
    return await use(base, child.pid!)
  } finally {
    await stop(child)
  }
}
