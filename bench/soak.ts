/**
 * `npm run bench -- soak [--minutes N] [--connections C] [--interval S]`: a
 * mixed load against the real server process (`agent-memory serve`) on
 * loopback for a bounded time. Every interval it prints throughput, errors,
 * p50/p99 and the server's heap and RSS; at the end, the growth from minute 1
 * to the last reading, which is what a leak shows as.
 *
 * The mix: searches over a working set (most repeat, so most are cache hits),
 * single stores, NDJSON batches, deletes of records it stored, and contexts,
 * so every write invalidates cached searches under load. With DATABASE_URL the
 * server runs on pgvector (in a schema of its own, dropped at the end); without
 * it, on PGlite in a temporary directory.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { UsageError } from "./options.ts"
import { freePort, stop, waitReady } from "./serverProcess.ts"
import { summarise } from "./stats.ts"

const root = fileURLToPath(new URL("..", import.meta.url))

export interface SoakOptions {
  readonly minutes: number
  readonly connections: number
  readonly intervalSeconds: number
  readonly out: string
}


export const parseSoak = (argv: ReadonlyArray<string>): SoakOptions => {
  const options = { minutes: 5, connections: 8, intervalSeconds: 30, out: "results" }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "soak") continue
    const [flag, inline] = arg.split("=", 2) as [string, string | undefined]
    const value = inline ?? argv[++i]
    const number = Number(value)
    switch (flag) {
      case "--minutes":
      case "--connections":
      case "--interval":
        if (!(number > 0) || !Number.isFinite(number)) throw new UsageError(`${flag} takes a number above 0`)
        if (flag === "--minutes") options.minutes = number
        else if (flag === "--connections") options.connections = Math.round(number)
        else options.intervalSeconds = number
        break
      case "--out":
        if (value === undefined) throw new UsageError("--out takes a folder")
        options.out = value
        break
      default:
        throw new UsageError(`unknown soak flag ${flag} (known: --minutes, --connections, --interval, --out)`)
    }
  }
  return options
}

/** The server's resident memory, from /proc (Linux); 0 elsewhere. */
const rssBytes = (pid: number) => {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))
    return Number(line?.split(/\s+/)[1] ?? 0) * 1024
  } catch {
    return 0
  }
}

/** The server's V8 heap in use, as its heap monitor last read it (Prometheus text at /metrics). */
const heapBytes = async (base: string) => {
  const text = await (await fetch(`${base}/metrics`)).text()
  const line = text.split("\n").find((l) => l.startsWith("agent_memory_heap_used_bytes"))
  return Number(line?.split(/\s+/).pop() ?? 0)
}

const WORDS = (
  "agent memory vector search cache index postgres embedding context session message user prefers tea coffee " +
  "meeting tuesday project deadline invoice travel berlin tokyo paris budget report draft review release bug " +
  "feature customer support ticket latency throughput replica pool heap trace span metric alert"
).split(" ")

const sentence = (n: number, salt: number) =>
  Array.from({ length: n }, (_, i) => WORDS[(salt * 7919 + i * 104729) % WORDS.length]).join(" ") + ` #${salt}`

interface Reading {
  readonly minute: number
  readonly requests: number
  readonly errors: number
  readonly requestsPerSecond: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly heapMB: number
  readonly rssMB: number
}

const MB = 1024 * 1024

export const runSoak = async (options: SoakOptions, log: (line: string) => void = console.log) => {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const dataDir = mkdtempSync(join(tmpdir(), "agent-memory-soak-"))
  const schema = `soak_${process.pid}`
  const url = process.env["DATABASE_URL"]
  const child: ChildProcess = spawn(process.execPath, [join(root, "bin/agent-memory.mjs"), "serve"], {
    cwd: root,
    stdio: ["ignore", "ignore", "pipe"],
    env: {
      PATH: process.env["PATH"] ?? "",
      HOME: process.env["HOME"] ?? "",
      HOST: "127.0.0.1",
      PORT: String(port),
      MEMORY_MONITOR_INTERVAL: "5s",
      ...(url ? { MEMORY_STORE: "pgvector", DATABASE_URL: url, MEMORY_PG_SCHEMA: schema } : { MEMORY_STORE: "pglite", MEMORY_DATA_DIR: dataDir })
    }
  })
  let stderr = ""
  child.stderr?.on("data", (chunk: Buffer) => void (stderr = (stderr + chunk.toString()).slice(-4000)))
  try {
    await waitReady(base, child, 120_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${stderr}`)
    })

    const json = { "content-type": "application/json" }
    const post = (path: string, body: unknown) => fetch(`${base}${path}`, { method: "POST", headers: json, body: JSON.stringify(body) })
    // A first corpus, so searches find something from the start.
    const seed = Array.from({ length: 500 }, (_, i) => JSON.stringify({ content: sentence(12, i), tags: [`t${i % 5}`] })).join("\n")
    await fetch(`${base}/v1/memories/batch?namespace=soak`, { method: "POST", headers: { "content-type": "application/x-ndjson" }, body: seed })

    const stored: Array<string> = []
    let counter = 1_000
    const operation = async (roll: number): Promise<Response> => {
      if (roll < 0.6) {
        const q = Math.floor(Math.random() ** 2 * 200) // skewed: a few queries are asked most
        return post("/v1/search", { query: sentence(4, q), namespace: "soak", k: 10, mode: q % 3 === 0 ? "hybrid" : "vector" })
      }
      if (roll < 0.78) {
        const response = await post("/v1/memories", { content: sentence(10, counter++), namespace: "soak", ttlSeconds: 600 })
        if (response.status === 201) {
          const { id } = (await response.clone().json()) as { id: string }
          stored.push(id)
        }
        return response
      }
      if (roll < 0.86) {
        const lines = Array.from({ length: 20 }, () => JSON.stringify({ content: sentence(10, counter++) })).join("\n")
        return fetch(`${base}/v1/memories/batch?namespace=soak`, { method: "POST", headers: { "content-type": "application/x-ndjson" }, body: lines })
      }
      if (roll < 0.93 && stored.length > 0) {
        const id = stored.splice(Math.floor(Math.random() * stored.length), 1)[0]!
        return fetch(`${base}/v1/memories/${encodeURIComponent(id)}?namespace=soak`, { method: "DELETE" })
      }
      return post("/v1/context", { query: sentence(4, Math.floor(Math.random() * 200)), namespace: "soak", maxTokens: 500 })
    }

    const started = Date.now()
    const end = started + options.minutes * 60_000
    let window: Array<number> = []
    let windowErrors = 0
    let total = 0
    let totalErrors = 0
    const errorKinds = new Map<string, number>()
    const all: Array<number> = []
    const worker = async () => {
      while (Date.now() < end) {
        const t0 = performance.now()
        try {
          const response = await operation(Math.random())
          await response.arrayBuffer()
          if (response.status >= 400 && response.status !== 404) {
            windowErrors++
            totalErrors++
            const kind = `HTTP ${response.status}`
            errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1)
          }
        } catch (e) {
          windowErrors++
          totalErrors++
          const kind = (e as Error).message
          errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1)
        }
        const ms = performance.now() - t0
        window.push(ms)
        total++
        if (all.length < 2_000_000) all.push(ms)
      }
    }

    const readings: Array<Reading> = []
    const pid = child.pid!
    log(`soak: ${options.minutes} min, ${options.connections} connections, ${url ? "pgvector" : "pglite"} store, readings every ${options.intervalSeconds} s`)
    log("minute  requests  errors   req/s   p50 ms   p99 ms  heap MB   RSS MB")
    let last = started
    const reporter = setInterval(async () => {
      const now = Date.now()
      const latency = summarise(window)
      const reading: Reading = {
        minute: (now - started) / 60_000,
        requests: window.length,
        errors: windowErrors,
        requestsPerSecond: window.length / ((now - last) / 1000),
        p50Ms: latency.p50Ms,
        p99Ms: latency.p99Ms,
        heapMB: (await heapBytes(base).catch(() => 0)) / MB,
        rssMB: rssBytes(pid) / MB
      }
      last = now
      window = []
      windowErrors = 0
      readings.push(reading)
      log(
        `${reading.minute.toFixed(1).padStart(6)}  ${String(reading.requests).padStart(8)}  ${String(reading.errors).padStart(6)}  ` +
          `${reading.requestsPerSecond.toFixed(0).padStart(6)}  ${reading.p50Ms.toFixed(2).padStart(7)}  ${reading.p99Ms.toFixed(2).padStart(7)}  ` +
          `${reading.heapMB.toFixed(1).padStart(7)}  ${reading.rssMB.toFixed(1).padStart(7)}`
      )
    }, options.intervalSeconds * 1000)
    await Promise.all(Array.from({ length: options.connections }, worker))
    clearInterval(reporter)

    const seconds = (Date.now() - started) / 1000
    const overall = summarise(all)
    // Growth is judged from the first reading at or after minute 1 (start-up and warm caches settle before).
    const first = readings.find((r) => r.minute >= 1) ?? readings[0]
    const finalReading = readings[readings.length - 1]
    const result = {
      minutes: options.minutes,
      connections: options.connections,
      store: url ? "pgvector" : "pglite",
      requests: total,
      errors: totalErrors,
      errorKinds: Object.fromEntries(errorKinds),
      requestsPerSecond: total / seconds,
      p50Ms: overall.p50Ms,
      p99Ms: overall.p99Ms,
      heapGrowthMB: first && finalReading ? finalReading.heapMB - first.heapMB : 0,
      rssGrowthMB: first && finalReading ? finalReading.rssMB - first.rssMB : 0,
      readings
    }
    log(
      `soak: ${total} requests in ${seconds.toFixed(0)} s (${result.requestsPerSecond.toFixed(0)} req/s), ${totalErrors} errors, ` +
        `p50 ${overall.p50Ms.toFixed(2)} ms, p99 ${overall.p99Ms.toFixed(2)} ms; from minute ${first?.minute.toFixed(1) ?? "?"} to the end: ` +
        `heap ${result.heapGrowthMB >= 0 ? "+" : ""}${result.heapGrowthMB.toFixed(1)} MB, RSS ${result.rssGrowthMB >= 0 ? "+" : ""}${result.rssGrowthMB.toFixed(1)} MB`
    )
    if (totalErrors > 0) log(`soak: errors by kind: ${JSON.stringify(result.errorKinds)}`)
    const folder = join(options.out, `soak-${new Date().toISOString().replace(/[:.]/g, "-")}`)
    mkdirSync(folder, { recursive: true })
    writeFileSync(join(folder, "soak.json"), JSON.stringify(result, null, 2))
    log(`soak: wrote ${join(folder, "soak.json")}`)
    return result
  } finally {
    await stop(child, 10_000)
    rmSync(dataDir, { recursive: true, force: true })
    if (url) await dropSchema(url, schema)
  }
}

const dropSchema = async (url: string, schema: string) => {
  const { default: pg } = await import("pg")
  const client = new pg.Client({ connectionString: url })
  try {
    await client.connect()
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  } catch {
    // best effort: the schema is named after this process, so a leftover is easy to spot
  } finally {
    await client.end().catch(() => undefined)
  }
}
