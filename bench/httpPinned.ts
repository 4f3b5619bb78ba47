/**
 * HTTP cache hits with the server on a core of its own: the server process
 * (layers/main.ts, as `npm run dev` runs it) pinned to one core with `taskset`,
 * autocannon (bench/langchain/loadgen.ts) pinned to another, so the figure is
 * the server's. 100 records, 100 queries each asked once, then a warm-up and
 * the measured run cycling through those queries (every answer a cache hit).
 *
 *   node --import tsx bench/httpPinned.ts [--root DIR] [--seconds 10] [--connections 8]
 *     [--server-cores 1] [--loadgen-cores 0] [--workers N] [--cpu-prof DIR]
 *
 * The store is MEMORY_STORE from the environment (default memory; pgvector needs DATABASE_URL);
 * MEMORY_WORKERS is passed through by --workers. Prints one JSON line after a summary line.
 */
import { execFile, execFileSync, spawn } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { ensureInstalled } from "./langchain/peers.ts"
import { cpuSeconds, freePort, pinnedTo, stop, waitReady } from "./serverProcess.ts"

const here = fileURLToPath(new URL("..", import.meta.url))
const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1]! : fallback
}
const root = resolve(arg("root", here))
const seconds = Number(arg("seconds", "10"))
const connections = Number(arg("connections", "8"))
const serverCores = arg("server-cores", "1")
const loadgenCores = arg("loadgen-cores", "0")
const workers = arg("workers", "")
const profileDir = arg("cpu-prof", "")

/** With workers: the primary and every child process it forked. */
const treeCpuSeconds = (pid: number): number => {
  let total = cpuSeconds(pid)
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8")
      if (stat.split(") ")[1]!.split(" ")[1] === String(pid)) total += cpuSeconds(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return total
}

const post = (base: string, path: string, body: unknown) =>
  fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then(async (r) => {
    if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`)
    return r.json() as Promise<Record<string, unknown>>
  })

const loadgen = (dir: string, bodies: ReadonlyArray<string>, url: string, duration: number) =>
  new Promise<{ requestsPerSecond: number; ok: number; non2xx: number; errors: number; latency: { p50Ms: number; p99Ms: number } }>((done, fail) => {
    const file = join(dir, `loadgen-${duration}-${Date.now()}.json`)
    writeFileSync(file, JSON.stringify({ url, connections, duration, bodies }))
    const [command, ...args] = pinnedTo(loadgenCores, [process.execPath, "--import", "tsx", join(here, "bench/langchain/loadgen.ts"), file])
    execFile(command, args, { cwd: here, maxBuffer: 1 << 24 }, (error, stdout, stderr) =>
      error ? fail(new Error(stderr || error.message)) : done(JSON.parse(stdout)))
  })

ensureInstalled()
const dir = mkdtempSync(join(tmpdir(), "agent-memory-http-pinned-"))
const port = await freePort()
const base = `http://127.0.0.1:${port}`
const [command, ...args] = pinnedTo(serverCores, [
  process.execPath,
  ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : []),
  "--import",
  "tsx",
  "layers/main.ts"
])
const child = spawn(command, args, {
  cwd: root,
  stdio: ["ignore", "ignore", "pipe"],
  env: {
    ...process.env,
    HOST: "127.0.0.1",
    PORT: String(port),
    MEMORY_STORE: process.env["MEMORY_STORE"] ?? "memory",
    MEMORY_DIMENSIONS: process.env["MEMORY_DIMENSIONS"] ?? "384",
    ...(workers ? { MEMORY_WORKERS: workers } : {})
  }
})
let stderr = ""
child.stderr?.on("data", (chunk: Buffer) => void (stderr = (stderr + chunk.toString()).slice(-4000)))
try {
  await waitReady(base, child, 120_000).catch((e: Error) => {
    throw new Error(`${e.message}\n${stderr}`)
  })
  const namespace = `pinned-${Date.now()}`
  for (let i = 0; i < 100; i++) await post(base, "/v1/memories", { content: `note ${i}: the otter ate ${i} clams by the river bend`, namespace })
  const bodies = Array.from({ length: 100 }, (_, i) => JSON.stringify({ query: `how many clams did otter ${i} eat`, namespace, k: 10 }))
  for (const body of bodies) await post(base, "/v1/search", JSON.parse(body))
  const url = `${base}/v1/search`
  await loadgen(dir, bodies, url, Math.max(2, Math.round(seconds / 3)))
  const load = loadavg()[0]!.toFixed(2)
  const cpuBefore = treeCpuSeconds(child.pid!)
  const out = await loadgen(dir, bodies, url, seconds)
  const serverCpuUs = ((treeCpuSeconds(child.pid!) - cpuBefore) * 1e6) / Math.max(1, out.ok)
  const uptime = execFileSync("uptime").toString().trim()
  console.log(`http cache hits, server on core ${serverCores}${workers ? ` (${workers} workers)` : ""}, autocannon on core ${loadgenCores}, ${connections} connections, ${seconds} s: ` +
    `${Math.round(out.requestsPerSecond)} req/s, p50 ${out.latency.p50Ms.toFixed(2)} ms, p99 ${out.latency.p99Ms.toFixed(2)} ms, ` +
    `server CPU ${Math.round(serverCpuUs)} µs a request, ${out.non2xx + out.errors} failed; load ${load} at start, ${uptime.replace(/.*load average: /, "")} after`)
  console.log(JSON.stringify({ root, serverCores, loadgenCores, connections, seconds, workers: workers || 1, ...out, serverCpuUs, loadAtStart: Number(load), uptime }))
} finally {
  await stop(child)
  rmSync(dir, { recursive: true, force: true })
}
