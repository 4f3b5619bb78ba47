/**
 * MEMORY_WORKERS: real server processes. Two workers behind one port (node:cluster hands
 * connections round-robin), pgvector and Redis: a write through one worker is never answered
 * stale by the other, whose L1 had the old answer. And the configurations that cannot run
 * several workers are refused before any starts, in one line.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { request as httpRequest } from "node:http"
import { randomUUID } from "node:crypto"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { databaseUrl, freshSchema, postgresAvailable } from "./support/postgres.ts"
import { freePort } from "./support/process.ts"
import { deleteTestKeys, freshPrefix, redisAvailable, redisUrl } from "./support/redis.ts"

const tsx = new URL("../node_modules/.bin/tsx", import.meta.url).pathname
const main = new URL("../layers/main.ts", import.meta.url).pathname

/** The environment without the variables a test decides itself. */
const baseEnv = () => {
  const env = { ...process.env }
  for (const name of ["REDIS_URL", "MEMORY_STORE", "DATABASE_URL", "MEMORY_WORKERS", "MEMORY_CONFIG"]) delete env[name]
  return env
}

const launch = (env: Record<string, string>) => {
  const child = spawn(tsx, [main], { env: { ...baseEnv(), ...env }, stdio: ["ignore", "pipe", "pipe"] })
  let output = ""
  child.stdout!.on("data", (d) => (output += d))
  child.stderr!.on("data", (d) => (output += d))
  return { child, output: () => output }
}

const exited = (child: ChildProcess, timeoutMs: number) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode)
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.once("exit", (code) => {
      clearTimeout(timer)
      resolve(code)
    })
  })

/** The node processes whose parent is `pid` (the tsx wrapper's child is the primary; its children the workers). */
const children = (pid: number) =>
  readdirSync("/proc").filter((e) => /^\d+$/.test(e)).flatMap((e) => {
    try {
      const [, rest] = readFileSync(`/proc/${e}/stat`, "utf8").split(") ")
      const cmdline = readFileSync(`/proc/${e}/cmdline`, "utf8")
      return rest!.split(" ")[1] === String(pid) && cmdline.includes("main.ts") ? [Number(e)] : []
    } catch {
      return []
    }
  })

/** One request on a connection of its own (no keep-alive), so the cluster picks the worker afresh. */
const call = (port: number, method: string, path: string, body?: unknown) =>
  new Promise<{ status: number; body: any }>((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body)
    const req = httpRequest({
      host: "127.0.0.1",
      port,
      method,
      path,
      agent: false,
      headers: { connection: "close", ...(data ? { "content-type": "application/json" } : {}) }
    }, (res) => {
      let text = ""
      res.on("data", (d) => (text += d))
      res.on("end", () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined }))
    })
    req.on("error", reject)
    req.end(data)
  })

afterAll(() => deleteTestKeys())

describe("MEMORY_WORKERS", () => {
  const refused = [
    ["the embedded pglite store", { MEMORY_DATA_DIR: "memory://" }, /MEMORY_WORKERS: 2 workers need a store that processes share \(MEMORY_STORE=pgvector\): the embedded pglite store/],
    ["the memory store", { MEMORY_STORE: "memory" }, /MEMORY_WORKERS: 2 workers need a store that processes share .*the memory store/],
    ["pgvector without REDIS_URL", { MEMORY_STORE: "pgvector", DATABASE_URL: "postgres://nobody@127.0.0.1:1/none" }, /MEMORY_WORKERS: 2 workers need REDIS_URL/]
  ] as const
  for (const [name, env, message] of refused) {
    it.live(`refuses several workers over ${name}, in one line, before any starts`, () =>
      Effect.promise(async () => {
        const { child, output } = launch({ PORT: String(await Effect.runPromise(freePort)), MEMORY_WORKERS: "2", ...env })
        expect(await exited(child, 30_000)).toBe(1)
        const lines = output().trim().split("\n")
        expect(lines, output()).toHaveLength(1)
        expect(lines[0]).toMatch(message)
      }), 40_000)
  }

  it.live("refuses a worker count below 1", () =>
    Effect.promise(async () => {
      const { child, output } = launch({ PORT: String(await Effect.runPromise(freePort)), MEMORY_WORKERS: "0", MEMORY_STORE: "memory" })
      expect(await exited(child, 30_000)).toBe(1)
      expect(output().trim()).toBe("agent-memory: configuration: MEMORY_WORKERS: must be a whole number of 1 or more")
    }), 40_000)

  it.scopedLive.skipIf(!postgresAvailable || !redisAvailable)(
    "two workers on one port: a write through one is never answered stale by the other",
    () =>
      Effect.gen(function*() {
        const url = yield* databaseUrl
        const schema = yield* freshSchema(url)
        const port = yield* freePort
        const { child, output } = launch({
          HOST: "127.0.0.1",
          PORT: String(port),
          MEMORY_WORKERS: "2",
          MEMORY_STORE: "pgvector",
          DATABASE_URL: Redacted.value(url),
          MEMORY_PG_SCHEMA: schema,
          REDIS_URL: redisUrl,
          MEMORY_REDIS_PREFIX: freshPrefix()
        })
        yield* Effect.addFinalizer(() => Effect.promise(() => (child.kill("SIGTERM"), exited(child, 20_000))))
        yield* Effect.promise(async () => {
          const deadline = Date.now() + 90_000
          while ((output().match(/Listening on/g) ?? []).length < 2) {
            if (child.exitCode !== null || Date.now() > deadline) throw new Error(`two workers did not start:\n${output()}`)
            await new Promise((r) => setTimeout(r, 100))
          }
        })
        // tsx runs node as its child: that is the primary, and its children are the two workers.
        const [primary] = children(child.pid!)
        expect(children(primary!)).toHaveLength(2)

        const namespace = `cluster-${randomUUID().slice(0, 8)}`
        const search = () => Effect.promise(() => call(port, "POST", "/v1/search", { query: "what do otters eat", namespace, k: 5 }))
        const ids = (r: { body: { hits: ReadonlyArray<{ id: string }> } }) => r.body.hits.map((h) => h.id)
        const store = (content: string) =>
          Effect.promise(() => call(port, "POST", "/v1/memories", { content, namespace })).pipe(Effect.map((r) => r.body.id as string))

        const first = yield* store("otters eat clams and crabs")
        // Both workers answer the question from their caches (connections alternate between them).
        const warm = yield* Effect.all(Array.from({ length: 6 }, search))
        for (const r of warm) expect(ids(r)).toEqual([first])
        expect(warm.filter((r) => r.body.cached).length).toBeGreaterThanOrEqual(4)

        // A new record: every later answer holds it, whichever worker answers.
        const second = yield* store("sea otters eat sea urchins")
        for (let i = 0; i < 6; i++) expect(ids(yield* search()).sort()).toEqual([first, second].sort())

        // A delete: no later answer holds it.
        expect((yield* Effect.promise(() => call(port, "DELETE", `/v1/memories/${first}?namespace=${namespace}`))).status).toBe(204)
        for (let i = 0; i < 6; i++) expect(ids(yield* search())).toEqual([second])

        // SIGTERM to the primary stops both workers and then itself.
        process.kill(primary!, "SIGTERM")
        expect(yield* Effect.promise(() => exited(child, 20_000))).toBe(0)
        expect(children(primary!)).toEqual([])
      }),
    180_000
  )
})
