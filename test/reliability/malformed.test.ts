/**
 * Hundreds of malformed requests, across every /v1 route, at a real server
 * process (PostgreSQL through DATABASE_URL when set, else PGlite): every one
 * is a 4xx with a one-line `{_tag, message}` body, none is a 5xx, the server
 * stays up, and the store's checksum does not move.
 */
import { randomUUID } from "node:crypto"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import Pg from "pg"
import { pgliteChecksum, postgresChecksum } from "./checksum.ts"
import { errorBody, type RawRequest, send } from "./rawHttp.ts"
import { spawnServer } from "./serverProcess.ts"

const DATABASE_URL = process.env.DATABASE_URL
const JSON_TYPE = { "content-type": "application/json" }

/** Body routes: method, path, a valid body to mutate. */
const bodyRoutes: ReadonlyArray<readonly [string, string, Record<string, unknown>]> = [
  ["POST", "/v1/memories", { content: "a fact" }],
  ["POST", "/v1/memories/batch", { items: [{ content: "a fact" }] }],
  ["POST", "/v1/memories/delete", { filter: { topic: "x" } }],
  ["POST", "/v1/search", { query: "fact" }],
  ["POST", "/v1/documents", { content: "a document" }],
  ["POST", "/v1/context", { query: "fact" }],
  ["PATCH", "/v1/memories/seed-1", { tags: ["x"] }],
  ["PUT", "/v1/kv/seed.key", { value: 1 }],
  ["POST", "/v1/sessions/seed-session/messages", { role: "user", content: "hello" }]
]

const queryRoutes: ReadonlyArray<readonly [string, string]> = [
  ["GET", "/v1/memories/seed-1"],
  ["DELETE", "/v1/memories/seed-1"],
  ["GET", "/v1/kv/seed.key"],
  ["DELETE", "/v1/kv/seed.key"],
  ["GET", "/v1/sessions/seed-session/messages"],
  ["DELETE", "/v1/sessions/seed-session/messages"]
]

const json = (method: string, path: string, body: unknown, headers: Record<string, string> = JSON_TYPE): RawRequest => ({
  method,
  path,
  headers,
  body: JSON.stringify(body)
})

const deep = (n: number) => "[".repeat(n) + "]".repeat(n)
const BAD_NAMESPACES = ["bad namespace!", "", "x".repeat(200), "../etc/passwd", "ns\u0000", "-leading", "ns;DROP TABLE memories", 42, null, ["a"]]

const cases = (): Array<RawRequest> => {
  const out: Array<RawRequest> = []
  for (const [method, path, valid] of bodyRoutes) {
    // Not JSON at all, or not an object.
    for (const text of ["{content: nope", "", "null", "[]", "\"text\"", "42", "{\"a\":", deep(10_000), deep(100), "{\"a\":1}{\"b\":2}"]) {
      out.push({ method, path, headers: JSON_TYPE, body: text })
    }
    // Strings PostgreSQL cannot store, invalid UTF-8, unknown and misplaced fields.
    const firstString = Object.keys(valid).find((k) => typeof valid[k] === "string") ?? "namespace"
    out.push(json(method, path, { ...valid, [firstString]: "nul\u0000byte" }))
    out.push(json(method, path, { ...valid, [firstString]: "lone\ud800surrogate" }))
    out.push({ method, path, headers: JSON_TYPE, body: Buffer.concat([Buffer.from("{\"x\":\""), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from("\"}")]) })
    out.push(json(method, path, { ...valid, namspace: "typo" }))
    out.push(json(method, path, { ...valid, __proto__: { admin: true }, constructor: "x" }))
    out.push(json(`${method}`, `${path}?namespace=elsewhere`, valid))
    out.push(json(method, `${path}?unknown=1`, valid))
    for (const namespace of BAD_NAMESPACES) out.push(json(method, path, { ...valid, namespace }))
    // Wrong content types, and none.
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "application/jsonx"]) {
      out.push({ method, path, headers: { "content-type": type }, body: JSON.stringify(valid) })
    }
    out.push({ method, path, body: JSON.stringify(valid) })
    out.push({ method, path, headers: JSON_TYPE })
    // Too large: by Content-Length, and chunked.
    out.push({ method, path, headers: JSON_TYPE, body: JSON.stringify({ ...valid, content: "x".repeat(5 * 1024 * 1024) }) })
    out.push({ method, path, headers: JSON_TYPE, body: JSON.stringify({ ...valid, content: "y".repeat(5 * 1024 * 1024) }), chunked: true })
    // Wrong types in every field.
    for (const key of Object.keys(valid)) {
      // Some of these are valid for some fields (any JSON is a kv value; [] items is an empty batch; a document is long).
      const valid_ = (v: unknown) =>
        key === "value" || (key === "items" && Array.isArray(v)) || (key === "filter" && typeof v === "object" && v !== null && !Array.isArray(v)) ||
        (key === "tags" && Array.isArray(v)) ||
        (path === "/v1/documents" && typeof v === "string")
      for (const wrong of [42, true, null, {}, [], "x".repeat(70_000)]) {
        if (!valid_(wrong)) out.push(json(method, path, { ...valid, [key]: wrong }))
      }
    }
  }
  // Field rules, route by route.
  for (const k of [0, -1, 2.5, 1e9, "10", "NaN", null]) out.push(json("POST", "/v1/search", { query: "x", k }))
  for (const minScore of [-1, 2, "high"]) out.push(json("POST", "/v1/search", { query: "x", minScore }))
  for (const mode of ["psychic", 1]) out.push(json("POST", "/v1/search", { query: "x", mode }))
  const filters: Array<unknown> = [
    { "x; DROP TABLE memories": 1 },
    { "a'--": 1 },
    { "metadata->>'a'": 1 },
    { "1=1 OR": true },
    { nested: { $regex: "a.*" } },
    { $where: "1=1" },
    { n: { $gt: [1] } },
    { $or: [] },
    { $and: "x" },
    { a: { $in: "notalist" } },
    { a: { $in: Array.from({ length: 300 }, (_, i) => i) } },
    { a: { $exists: "yes" } },
    { a: {} },
    { a: { $eq: { b: 1 } } },
    JSON.parse(`{"a":${"{\"$not\":".repeat(10)}{"b":1}${"}".repeat(10)}}`),
    "lang=en",
    [1, 2]
  ]
  for (const filter of filters) {
    out.push(json("POST", "/v1/search", { query: "x", filter }))
    out.push(json("POST", "/v1/memories/delete", { filter }))
  }
  out.push(json("POST", "/v1/memories/delete", {}))
  out.push(json("POST", "/v1/memories/delete", { namespace: "default" }))
  for (const ttlSeconds of [0, -5, 1e12, "10", 1.5]) {
    out.push(json("POST", "/v1/memories", { content: "x", ttlSeconds }))
    out.push(json("PUT", "/v1/kv/seed.key", { value: 1, ttlSeconds }))
    out.push(json("PATCH", "/v1/memories/seed-1", { ttlSeconds }))
  }
  for (const id of ["a b", "../x", "", "x".repeat(300), "-x", 7]) out.push(json("POST", "/v1/memories", { content: "x", id }))
  for (const kind of ["secret", 1]) out.push(json("POST", "/v1/memories", { content: "x", kind }))
  out.push(json("POST", "/v1/memories", { content: "x", tags: [""] }))
  out.push(json("POST", "/v1/memories", { content: "x", tags: Array.from({ length: 100 }, (_, i) => `t${i}`) }))
  out.push(json("POST", "/v1/memories", { content: "x", metadata: { big: "z".repeat(20_000) } }))
  out.push(json("PUT", "/v1/kv/seed.key", { namespace: "default" }))
  out.push(json("PUT", "/v1/kv/seed.key", { value: "v".repeat(70_000) }))
  out.push(json("POST", "/v1/sessions/seed-session/messages", { role: "robot", content: "x" }))
  out.push(json("POST", "/v1/documents", { content: "doc", chunkSize: 5 }))
  out.push(json("POST", "/v1/documents", { content: "doc", chunkSize: 200, chunkOverlap: 150 }))
  out.push(json("POST", "/v1/context", { query: "x", maxTokens: -1 }))
  out.push(json("POST", "/v1/context", { query: "x", template: "{{secrets}}" }))
  // The batch route: query with a JSON body, bad query values, too many items, a huge NDJSON line.
  out.push(json("POST", "/v1/memories/batch?namespace=x", { items: [{ content: "a" }] }))
  out.push(json("POST", "/v1/memories/batch", { items: "x" }))
  out.push(json("POST", "/v1/memories/batch", { items: Array.from({ length: 10_001 }, () => ({})) }))
  for (const query of ["namespace=bad%20ns", "kind=weird", "foo=1", "namespace=a&namespace=b"]) {
    out.push({ method: "POST", path: `/v1/memories/batch?${query}`, headers: { "content-type": "application/x-ndjson" }, body: "{\"content\":\"a\"}\n" })
  }
  out.push({ method: "POST", path: "/v1/memories", headers: { "content-type": "application/x-ndjson" }, body: "{\"content\":\"a\"}\n" })
  // Routes without a body: odd ids, namespaces and parameters, and bodies they must not take.
  for (const [method, path] of queryRoutes) {
    for (const query of ["namespace=bad%20ns", "namespace=", "namespace=a&namespace=b", "extra=1", `namespace=${"n".repeat(200)}`, "namespace=%00"]) {
      out.push({ method, path: `${path}?${query}` })
    }
    out.push({ method, path, headers: JSON_TYPE, body: JSON.stringify({ namespace: "default" }) })
    out.push({ method, path, headers: { "transfer-encoding": "chunked" }, body: "x", chunked: true })
  }
  for (const id of ["%00", "a%20b", "x".repeat(300), "%2E%2E%2Fsecret", "%FF%FE", "'%20OR%201=1", "-"]) {
    out.push({ method: "GET", path: `/v1/memories/${id}` })
    out.push({ method: "DELETE", path: `/v1/memories/${id}` })
    out.push({ method: "GET", path: `/v1/kv/${id}` })
    out.push({ method: "GET", path: `/v1/sessions/${id}/messages` })
  }
  for (const limit of ["0", "-1", "NaN", "1e9", "2.5", "abc"]) out.push({ method: "GET", path: `/v1/sessions/seed-session/messages?limit=${limit}` })
  // Unknown routes and methods.
  for (const [method, path] of [["GET", "/v1/nope"], ["PUT", "/v1/search"], ["GET", "/v1/search"], ["POST", "/v1/stats"], ["TRACE", "/v1/memories"], ["GET", "/v2/memories"], ["GET", "/v1/memories/a/b/c"]]) {
    out.push({ method: method!, path: path! })
  }
  // Cross-site and rebinding attempts.
  out.push({ ...json("POST", "/v1/memories/delete", { filter: {} }), headers: { ...JSON_TYPE, origin: "https://evil.example" } })
  out.push({ method: "POST", path: "/v1/memories/delete", headers: { "content-type": "text/plain", origin: "https://evil.example" }, body: "{\"filter\":{}}" })
  out.push({ ...json("POST", "/v1/memories/delete", { filter: {} }), headers: { ...JSON_TYPE, host: "evil.example" } })
  out.push({ method: "GET", path: "/v1/stats", headers: { host: "rebind.attacker.test:8080" } })
  return out
}

/** Broken NDJSON streams: every line fails on its own, so the request answers 200 with nothing stored. */
const brokenNdjson = [
  "{not json\n",
  "{\"content\":\"\\u0000\"}\n",
  "{\"content\":42}\n{\"nope\":true}\n",
  `${"[".repeat(5000)}\n`,
  "{\"content\":\"ok\",\"namspace\":\"typo\"}\n",
  Buffer.concat([Buffer.from("{\"content\":\""), Buffer.from([0xc3, 0x28]), Buffer.from("\"}\n")]),
  `{"content":"${"l".repeat(5 * 1024 * 1024)}"}\n`
]

const seed = async (url: string) => {
  const post = (method: string, path: string, body: unknown) => send(url, json(method, path, body))
  const results = [
    await post("POST", "/v1/memories", { id: "seed-1", content: "The seed record", metadata: { topic: "seed" } }),
    await post("POST", "/v1/memories", { content: "Another seed", tags: ["t"] }),
    await post("PUT", "/v1/kv/seed.key", { value: { a: 1 } }),
    await post("POST", "/v1/sessions/seed-session/messages", { role: "user", content: "hello" }),
    await post("POST", "/v1/documents", { id: "seed-doc", content: "A short seed document about nothing much." })
  ]
  for (const r of results) expect(r.status, r.text).toBeLessThan(300)
}

describe("malformed requests", () => {
  it.scoped("hundreds of malformed requests: all 4xx with {_tag, message}, no 5xx, server up, store unchanged", () =>
    Effect.gen(function*() {
      const schema = `malformed_${randomUUID().slice(0, 8)}`
      const dataDir = mkdtempSync(join(tmpdir(), "agent-memory-malformed-"))
      const env: Record<string, string> = DATABASE_URL
        ? { MEMORY_STORE: "pgvector", DATABASE_URL, MEMORY_PG_SCHEMA: schema }
        : { MEMORY_STORE: "pglite", MEMORY_DATA_DIR: dataDir }
      yield* Effect.addFinalizer(() =>
        DATABASE_URL
          ? Effect.promise(async () => {
            const client = new Pg.Client({ connectionString: DATABASE_URL })
            await client.connect()
            await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
            await client.end()
          })
          : Effect.void
      )
      const checksum = () => (DATABASE_URL ? postgresChecksum(DATABASE_URL, schema) : pgliteChecksum(dataDir))

      // PGlite has one owner: seed and read it with the server stopped.
      let before: string
      if (DATABASE_URL) before = ""
      else {
        before = yield* Effect.scoped(Effect.flatMap(spawnServer(env), (server) => Effect.promise(() => seed(server.url))))
          .pipe(Effect.zipRight(Effect.promise(checksum)))
      }
      const server = yield* spawnServer(env)
      if (DATABASE_URL) {
        yield* Effect.promise(() => seed(server.url))
        before = yield* Effect.promise(checksum)
      }

      const requests = cases()
      const bad: Array<string> = []
      let fiveHundreds = 0
      for (const request of requests) {
        const response = yield* Effect.promise(() => send(server.url, request))
        const label = `${request.method} ${request.path.slice(0, 80)} ${String(request.body ?? "").slice(0, 60)}`
        if (response.status >= 500) fiveHundreds++
        const body = errorBody(response)
        if (response.status < 400 || response.status >= 500 || !body || body.message.includes("\n")) {
          bad.push(`${label} → ${response.status} ${response.error ?? response.text.slice(0, 200)}`)
        }
      }
      for (const ndjson of brokenNdjson) {
        const response = yield* Effect.promise(() =>
          send(server.url, { method: "POST", path: "/v1/memories/batch", headers: { "content-type": "application/x-ndjson" }, body: ndjson })
        )
        const result = JSON.parse(response.text || "{}") as { stored?: number; duplicates?: number; failed?: Array<{ _tag: string; message: string }> }
        if (response.status >= 500) fiveHundreds++
        if (response.status !== 200 || result.stored !== 0 || result.duplicates !== 0 || !result.failed?.every((f) => f._tag === "InvalidInput")) {
          bad.push(`NDJSON ${String(ndjson).slice(0, 60)} → ${response.status} ${response.text.slice(0, 200)}`)
        }
      }
      const tried = requests.length + brokenNdjson.length
      const health = yield* Effect.promise(() => send(server.url, { method: "GET", path: "/health" }))
      expect(health.status).toBe(200)
      expect(server.child.exitCode).toBeNull()

      let after: string
      if (DATABASE_URL) after = yield* Effect.promise(checksum)
      else {
        server.child.kill("SIGTERM")
        yield* server.exited
        after = yield* Effect.promise(checksum)
      }
      console.log(`malformed requests: ${tried} tried, ${fiveHundreds} 5xx, checksum ${after === before ? "unchanged" : "CHANGED"}`)
      expect(bad).toEqual([])
      expect(tried).toBeGreaterThanOrEqual(300)
      expect(fiveHundreds).toBe(0)
      expect(after).toBe(before)
    }), 600_000)
})
