/**
 * HTTP: POST /v1/search against the real server process (layers/main.ts, as
 * `npm start` runs it) on loopback, driven by autocannon from a process of its
 * own. Three runs: every search a cache hit (the queries asked once before),
 * sharing both cores; the same with the server pinned to one core and autocannon
 * to the other (`taskset`); and every search a miss (search and embedding caches
 * off). The server answers the benchmark's queries with the precomputed
 * embedder, loaded as a plugin (BenchEmbedderPlugin.ts).
 */
import { execFile } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"
import * as BenchEmbedderPlugin from "./BenchEmbedderPlugin.ts"
import type { BenchContext } from "./context.ts"
import { searchSchema } from "./ingest.ts"
import { autocannonEntry } from "./langchain/peers.ts"
import { cpuSeconds, pinnedTo, withServer } from "./serverProcess.ts"
import * as Stack from "./stack.ts"
import type { Summary } from "./stats.ts"

const root = fileURLToPath(new URL("..", import.meta.url))

export interface HttpFigure {
  /** cache-hit-pinned: the server on a core of its own (taskset), the load generator on another. */
  readonly run: "cache-hit" | "cache-miss" | "cache-hit-pinned" | "cache-hit-redis" | "cache-hit-2-workers"
  readonly connections: number
  readonly seconds: number
  readonly requestsPerSecond: number
  readonly ok: number
  readonly failed: number
  readonly latency: Summary
  /** The server process's CPU time (user + system) per answered request, when measured (pinned). */
  readonly serverCpuUs?: number | undefined
}

interface LoadgenOutput {
  readonly seconds: number
  readonly requestsPerSecond: number
  readonly ok: number
  readonly non2xx: number
  readonly errors: number
  readonly timeouts: number
  readonly latency: Summary
}

/** The server's core and the load generator's, for the pinned run (the figure is then the server's). */
const SERVER_CORE = "1"
const LOADGEN_CORE = "0"

const loadgen = (
  dir: string,
  config: { readonly url: string; readonly connections: number; readonly duration: number; readonly bodies: ReadonlyArray<string> },
  cores?: string
) =>
  new Promise<LoadgenOutput>((resolve, reject) => {
    autocannonEntry() // installs the bench's dependencies when missing
    const file = join(dir, `loadgen-${Date.now()}.json`)
    writeFileSync(file, JSON.stringify(config))
    const [command, ...args] = pinnedTo(cores, [process.execPath, "--import", "tsx", join(root, "bench/langchain/loadgen.ts"), file])
    execFile(command, args, { cwd: root, maxBuffer: 1 << 24 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`load generator failed: ${stderr || error.message}`))
      resolve(JSON.parse(stdout) as LoadgenOutput)
    })
  })

/** The server over the search schema with the given cache sizes, around `use`. */
const withSearchServer = <A>(
  ctx: BenchContext,
  url: string,
  dir: string,
  caches: { readonly query: number; readonly embedding: number },
  use: (base: string, pid: number) => Promise<A>,
  cores?: string,
  env: Readonly<Record<string, string>> = {}
) =>
  withServer({
    MEMORY_STORE: "pgvector",
    DATABASE_URL: url,
    MEMORY_PG_SCHEMA: searchSchema(ctx),
    MEMORY_PLUGINS: "./bench/BenchEmbedderPlugin.ts",
    MEMORY_EMBEDDER: "bench-precomputed",
    BENCH_VECTORS: join(dir, "vectors.json"),
    MEMORY_HNSW_EF_SEARCH: String(ctx.options.defaultEf),
    MEMORY_CACHE_QUERY_SIZE: String(caches.query),
    MEMORY_CACHE_EMBEDDING_SIZE: String(caches.embedding),
    ...env
  }, use, 60_000, cores)

export const httpScenario = (ctx: BenchContext, url: string) =>
  Effect.promise(async () => {
    const { data, log, options } = ctx
    const dir = mkdtempSync(join(tmpdir(), "agent-memory-bench-"))
    try {
      writeFileSync(join(dir, "vectors.json"), JSON.stringify(BenchEmbedderPlugin.encode(data.dims, data.queryTexts, data.queryVector)))
      const bodies = data.queryTexts.map((query) => JSON.stringify({ query, namespace: Stack.NAMESPACE, k: options.k }))
      const figures: Array<HttpFigure> = []
      const run = async (name: HttpFigure["run"], base: string, requestBodies: ReadonlyArray<string>, pinned?: { readonly pid: number }) => {
        const common = { url: `${base}/v1/search`, connections: options.httpConnections, bodies: requestBodies }
        const cores = pinned === undefined ? undefined : LOADGEN_CORE
        await loadgen(dir, { ...common, duration: Math.max(1, Math.round(options.httpDuration / 4)) }, cores) // warm-up
        const cpuBefore = pinned === undefined ? 0 : cpuSeconds(pinned.pid)
        const out = await loadgen(dir, { ...common, duration: options.httpDuration }, cores)
        const serverCpuUs = pinned === undefined ? undefined : ((cpuSeconds(pinned.pid) - cpuBefore) * 1e6) / Math.max(1, out.ok)
        const figure: HttpFigure = {
          run: name,
          connections: options.httpConnections,
          seconds: out.seconds,
          requestsPerSecond: out.requestsPerSecond,
          ok: out.ok,
          failed: out.non2xx + out.errors + out.timeouts,
          latency: out.latency,
          serverCpuUs
        }
        figures.push(figure)
        log(`  ${name.padEnd(16)} ${options.httpConnections} connections  ${Math.round(figure.requestsPerSecond).toLocaleString("en-US").padStart(6)} req/s  p50 ${figure.latency.p50Ms.toFixed(2)} ms  p99 ${figure.latency.p99Ms.toFixed(2)} ms  (${figure.failed} failed)${serverCpuUs === undefined ? "" : `  server CPU ${Math.round(serverCpuUs)} µs a request`}`)
      }
      log(`http: POST /v1/search on loopback, the server process (layers/main.ts) vs autocannon (${options.httpConnections} connections, ${options.httpDuration} s)`)
      // Hits: a working set of queries, each asked once before the measurement.
      const hot = bodies.slice(0, Math.min(100, bodies.length))
      const warm = async (base: string) => {
        for (const body of hot) await fetch(`${base}/v1/search`, { method: "POST", headers: { "content-type": "application/json" }, body })
      }
      await withSearchServer(ctx, url, dir, { query: 10_000, embedding: 10_000 }, async (base) => {
        await warm(base)
        await run("cache-hit", base, hot)
      })
      // The same, with the server on a core of its own and autocannon on the other (issue 14's figure).
      await withSearchServer(ctx, url, dir, { query: 10_000, embedding: 10_000 }, async (base, pid) => {
        await warm(base)
        await run("cache-hit-pinned", base, hot, { pid })
      }, SERVER_CORE)
      if (options.redisUrl !== undefined) {
        // MEMORY_WORKERS (node:cluster) needs the Redis L2, which a hit also asks for the
        // namespace's generation: one process with Redis is the fair baseline for two workers.
        const redis = { REDIS_URL: options.redisUrl }
        await withSearchServer(ctx, url, dir, { query: 10_000, embedding: 10_000 }, async (base) => {
          await warm(base)
          await run("cache-hit-redis", base, hot)
        }, undefined, redis)
        await withSearchServer(ctx, url, dir, { query: 10_000, embedding: 10_000 }, async (base) => {
          await warm(base)
          await run("cache-hit-2-workers", base, hot)
        }, undefined, { ...redis, MEMORY_WORKERS: "2" })
      }
      await withSearchServer(ctx, url, dir, { query: 0, embedding: 0 }, (base) => run("cache-miss", base, bodies))
      return figures
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
