/**
 * The HTTP load generator, in a process of its own: autocannon against one
 * URL, POSTing the request bodies of a JSON file in turn. Prints one JSON
 * line: requests per second, status counts and latency percentiles taken from
 * every response's own time (autocannon's histogram rounds to whole ms).
 *
 *   node --import tsx bench/langchain/loadgen.ts <config.json>
 */
import { readFileSync } from "node:fs"

interface Config {
  readonly url: string
  readonly connections: number
  readonly duration: number
  readonly bodies: ReadonlyArray<string>
}

interface AutocannonRequest {
  readonly method?: string
  readonly body?: string
}

interface AutocannonResult {
  readonly duration: number
  readonly requests: { readonly total: number; readonly average: number }
  readonly non2xx: number
  readonly errors: number
  readonly timeouts: number
}

interface AutocannonInstance {
  on(event: "response", listener: (client: unknown, statusCode: number, bytes: number, ms: number) => void): void
}

type Autocannon = (
  options: Record<string, unknown>,
  done: (error: Error | null, result: AutocannonResult) => void
) => AutocannonInstance

const config = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as Config
const name = "autocannon"
const autocannon = ((await import(name)) as { default: Autocannon }).default

const samples: Array<number> = []
let next = 0
const result = await new Promise<AutocannonResult>((resolve, reject) => {
  const instance = autocannon({
    url: config.url,
    method: "POST",
    headers: { "content-type": "application/json" },
    connections: config.connections,
    duration: config.duration,
    requests: [{ setupRequest: (request: AutocannonRequest) => ({ ...request, body: config.bodies[next++ % config.bodies.length] }) }]
  }, (error, r) => (error ? reject(error) : resolve(r)))
  instance.on("response", (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) samples.push(ms)
  })
})

samples.sort((a, b) => a - b)
const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0
process.stdout.write(JSON.stringify({
  seconds: result.duration,
  requests: result.requests.total,
  requestsPerSecond: samples.length / result.duration,
  ok: samples.length,
  non2xx: result.non2xx,
  errors: result.errors,
  timeouts: result.timeouts,
  latency: {
    count: samples.length,
    meanMs: samples.reduce((s, x) => s + x, 0) / Math.max(1, samples.length),
    p50Ms: at(0.5),
    p95Ms: at(0.95),
    p99Ms: at(0.99)
  }
}) + "\n")
