/**
 * Tenant isolation at a real server process with MEMORY_API_KEYS_FILE: tenant A
 * (two namespaces), tenant B (one namespace, a prefix of one of A's) and an
 * admin key. Every /v1 route of /openapi.json and POST /mcp answers 401 without
 * a key and 403 to the other tenant; then B attacks A's data by every route and
 * namespace form (body, query, batch items, NDJSON, MCP tools, resources and
 * prompts, A's ids in B's own namespace). A cross-tenant read is any success
 * on A's namespace or any answer holding A's secret token; a cross-tenant
 * write is any success on A's namespace or any change to what A sees. The
 * count must be 0, and A's rows in the store must checksum the same after.
 */
import { randomUUID } from "node:crypto"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import Pg from "pg"
import { deleteTestKeys, freshPrefix } from "../support/redis.ts"
import { pgliteChecksum, postgresChecksum } from "./checksum.ts"
import { errorBody, type RawResponse, send } from "./rawHttp.ts"
import { spawnServer } from "./serverProcess.ts"

const KEY_A = `sk-tenant-a-${randomUUID()}`
const KEY_B = `sk-tenant-b-${randomUUID()}`
const KEY_ADMIN = `sk-admin-${randomUUID()}`
// B's namespace is a prefix of A's, so prefix matching or ":"-joined keys would show.
const A_NS = ["team:alpha", "alpha-archive"] as const
const B_NS = "team"
/** Namespaces B must never reach: A's, case and suffix variants, and one nobody owns. */
const FORBIDDEN_FOR_B = [...A_NS, "TEAM:ALPHA", "team:alpha/", "team:", "default"]
/** A token only A's data holds: B never sends it, so an answer to B that holds it is a leak. */
const MARK = `zq${randomUUID().replaceAll("-", "").slice(0, 16)}`
/** A's document: every chunk different (identical chunks are stored once). */
const DOC_A = Array.from({ length: 40 }, (_, i) => `Chapter ${i} on secrets ${MARK}.`).join(" ")

interface Req {
  readonly method: string
  readonly path: string
  readonly body?: unknown
  readonly ndjson?: string
  readonly headers?: Record<string, string>
}

/** What a route is aimed at: a record, a kv key, a session, a document, and text to write. */
interface Target {
  readonly ns: string
  readonly id: string
  readonly key: string
  readonly session: string
  readonly doc: string
  readonly text: string
  readonly topic: string
}

const enc = encodeURIComponent
const withNs = (ns: string | undefined) => (ns === undefined ? {} : { namespace: ns })
const query = (ns: string | undefined) => (ns === undefined ? "" : `?namespace=${enc(ns)}`)
const rpc = (method: string, params: unknown): Req => ({ method: "POST", path: "/mcp", body: { jsonrpc: "2.0", id: 1, method, params } })
const tool = (name: string, args: Record<string, unknown>) => rpc("tools/call", { name, arguments: args })

/**
 * One valid request per documented route, in the namespace given (undefined: the
 * key's default). Keys are `METHOD path` as /openapi.json names them: a route
 * the server documents without a case here fails the test.
 */
const ROUTES: Record<string, { readonly build: (ns: string | undefined, t: Target) => Req; readonly adminOnly?: true }> = {
  "POST /v1/memories": {
    build: (ns, t) => ({ method: "POST", path: "/v1/memories", body: { id: t.id, content: t.text, metadata: { topic: t.topic }, ...withNs(ns) } })
  },
  "POST /v1/memories/batch": {
    build: (ns, t) => ({
      method: "POST",
      path: "/v1/memories/batch",
      body: { items: [{ id: `${t.id}-b`, content: `${t.text} in a batch`, metadata: { topic: t.topic } }], ...withNs(ns) }
    })
  },
  "POST /v1/documents": {
    build: (ns, t) => ({
      method: "POST",
      path: "/v1/documents",
      body: { id: t.doc, title: t.text, content: `${t.text}. `.repeat(12), chunkSize: 200, chunkOverlap: 20, metadata: { topic: t.topic }, ...withNs(ns) }
    })
  },
  "PUT /v1/kv/{key}": { build: (ns, t) => ({ method: "PUT", path: `/v1/kv/${enc(t.key)}`, body: { value: { note: t.text }, ...withNs(ns) } }) },
  "POST /v1/sessions/{id}/messages": {
    build: (ns, t) => ({ method: "POST", path: `/v1/sessions/${enc(t.session)}/messages`, body: { role: "user", content: t.text, ...withNs(ns) } })
  },
  "GET /v1/memories/{id}": { build: (ns, t) => ({ method: "GET", path: `/v1/memories/${enc(t.id)}${query(ns)}` }) },
  "PATCH /v1/memories/{id}": { build: (ns, t) => ({ method: "PATCH", path: `/v1/memories/${enc(t.id)}`, body: { tags: ["patched"], ...withNs(ns) } }) },
  "GET /v1/kv/{key}": { build: (ns, t) => ({ method: "GET", path: `/v1/kv/${enc(t.key)}${query(ns)}` }) },
  "GET /v1/sessions/{id}/messages": { build: (ns, t) => ({ method: "GET", path: `/v1/sessions/${enc(t.session)}/messages${query(ns)}` }) },
  "POST /v1/search": { build: (ns, t) => ({ method: "POST", path: "/v1/search", body: { query: t.text, k: 50, ...withNs(ns) } }) },
  "POST /v1/context": { build: (ns, t) => ({ method: "POST", path: "/v1/context", body: { query: t.text, sessionId: t.session, ...withNs(ns) } }) },
  "DELETE /v1/memories/{id}": { build: (ns, t) => ({ method: "DELETE", path: `/v1/memories/${enc(t.id)}${query(ns)}` }) },
  "DELETE /v1/kv/{key}": { build: (ns, t) => ({ method: "DELETE", path: `/v1/kv/${enc(t.key)}${query(ns)}` }) },
  "DELETE /v1/sessions/{id}/messages": { build: (ns, t) => ({ method: "DELETE", path: `/v1/sessions/${enc(t.session)}/messages${query(ns)}` }) },
  "POST /v1/memories/delete": { build: (ns, t) => ({ method: "POST", path: "/v1/memories/delete", body: { filter: { topic: t.topic }, ...withNs(ns) } }) },
  "GET /v1/stats": { build: () => ({ method: "GET", path: "/v1/stats" }), adminOnly: true },
  "GET /v1/alerts": { build: () => ({ method: "GET", path: "/v1/alerts" }), adminOnly: true },
  "POST /mcp": { build: (ns, t) => tool("search", { query: t.text, ...withNs(ns) }) }
}
/** Documented routes outside /v1 that are open by design: they must not show tenant data. */
const OPEN = ["GET /health", "GET /ready", "GET /metrics"]
const READS = new Set(["GET /v1/memories/{id}", "GET /v1/kv/{key}", "GET /v1/sessions/{id}/messages", "POST /v1/search", "POST /v1/context"])

/** Every MCP call B makes against a namespace: each tool, both resources and the prompt. */
const mcpCalls = (ns: string, t: Target): Array<Req> => [
  tool("remember", { content: "planted by b", namespace: ns }),
  tool("search", { query: t.text, namespace: ns }),
  tool("search", { query: MARK.slice(0, 4), mode: "keyword", namespace: ns }),
  tool("get_context", { query: t.text, sessionId: t.session, namespace: ns }),
  tool("forget", { id: t.id, namespace: ns }),
  tool("forget", { filter: {}, namespace: ns }),
  tool("forget", { tags: ["a"], namespace: ns }),
  tool("kv_set", { key: t.key, value: "planted by b", namespace: ns }),
  tool("kv_get", { key: t.key, namespace: ns }),
  tool("add_message", { sessionId: t.session, role: "user", content: "planted by b", namespace: ns }),
  tool("get_history", { sessionId: t.session, namespace: ns }),
  tool("ingest_document", { id: t.doc, content: "planted by b", namespace: ns }),
  rpc("resources/read", { uri: `memory://${enc(ns)}/${enc(t.id)}` }),
  rpc("resources/read", { uri: `memory://${ns}/${t.id}` }),
  rpc("resources/read", { uri: `session://${enc(ns)}/${enc(t.session)}` }),
  rpc("prompts/get", { name: "answer_from_memory", arguments: { question: t.text, namespace: ns, sessionId: t.session } })
]

const call = (url: string, key: string | undefined, req: Req): Promise<RawResponse> =>
  send(url, {
    method: req.method,
    path: req.path,
    headers: {
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      ...(req.body !== undefined || req.ndjson !== undefined
        ? { "content-type": req.ndjson !== undefined ? "application/x-ndjson" : "application/json" }
        : {}),
      ...(req.path === "/mcp" ? { accept: "application/json, text/event-stream" } : {}),
      ...req.headers
    },
    ...(req.ndjson !== undefined ? { body: req.ndjson } : req.body !== undefined ? { body: JSON.stringify(req.body) } : {})
  })

const parse = (response: RawResponse): any => {
  try {
    return JSON.parse(response.text)
  } catch {
    return undefined
  }
}

/** An MCP answer that did what was asked: a tool result that is no error, or any JSON-RPC result. */
const mcpSucceeded = (response: RawResponse) => {
  const body = parse(response)
  return response.status === 200 && body?.result !== undefined && body.result.isError !== true
}

const label = (req: Req) => `${req.method} ${req.path.slice(0, 90)} ${JSON.stringify(req.body ?? req.ndjson ?? "").slice(0, 120)}`

const run = (store: "pglite" | "pgvector") =>
  Effect.gen(function*() {
    const dir = mkdtempSync(join(tmpdir(), "agent-memory-tenants-"))
    const keysFile = join(dir, "keys.json")
    writeFileSync(keysFile, JSON.stringify({ [KEY_A]: [...A_NS], [KEY_B]: B_NS, [KEY_ADMIN]: "*" }))
    const schema = `tenants_${randomUUID().slice(0, 8)}`
    const dataDir = join(dir, "data")
    const databaseUrl = process.env.DATABASE_URL!
    const env: Record<string, string> = {
      MEMORY_API_KEYS_FILE: keysFile,
      // With REDIS_URL set the L2 is on too (":"-joined keys there), under a prefix deleted afterwards.
      MEMORY_REDIS_PREFIX: freshPrefix(),
      ...(store === "pgvector"
        ? { MEMORY_STORE: "pgvector", DATABASE_URL: databaseUrl, MEMORY_PG_SCHEMA: schema }
        : { MEMORY_STORE: "pglite", MEMORY_DATA_DIR: dataDir })
    }
    if (store === "pgvector") {
      yield* Effect.addFinalizer(() =>
        Effect.promise(async () => {
          const client = new Pg.Client({ connectionString: databaseUrl })
          await client.connect()
          await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
          await client.end()
        })
      )
    }
    // A's rows only: B's writes to its own namespace are allowed and move the rest.
    const checksumOfA = () => (store === "pgvector" ? postgresChecksum(databaseUrl, schema, A_NS) : pgliteChecksum(dataDir, A_NS))

    const problems: Array<string> = []
    const leaks: Array<string> = []
    let attempts = 0

    // ---- Server 1: the routes' own check (each case is a valid request for its owner), then A's and B's data.
    const seeded = yield* Effect.scoped(Effect.gen(function*() {
      const { url } = yield* spawnServer(env)
      const as = (key: string, req: Req) => Effect.promise(() => call(url, key, req))
      const ok = (key: string, req: Req) =>
        Effect.map(as(key, req), (response) => {
          const success = req.path === "/mcp" ? mcpSucceeded(response) : response.status < 300
          if (!success) problems.push(`owner's request refused: ${label(req)} → ${response.status} ${response.text.slice(0, 200)}`)
          return parse(response)
        })

      // Every case, as A in its own namespace, on scratch data it then deletes.
      const scratch: Target = { ns: A_NS[0], id: "scratch-1", key: "scratch.key", session: "scratch-session", doc: "scratch-doc", text: `scratch ${MARK}`, topic: "scratch" }
      for (const [name, route] of Object.entries(ROUTES)) {
        const req = route.build(scratch.ns, scratch)
        if (route.adminOnly) {
          yield* ok(KEY_ADMIN, req)
          const refused = yield* as(KEY_A, req)
          if (refused.status !== 403) problems.push(`${name} as a tenant: ${refused.status}, want 403`)
        } else yield* ok(KEY_A, req)
      }

      // A's data, through every write route, in both of its namespaces.
      const ids: Array<{ ns: string; id: string }> = []
      for (const ns of A_NS) {
        for (const [i, content] of [`The launch code is ${MARK}-${ns}-1`, `Board meeting notes ${MARK} ${ns}`, `Salary bands ${MARK} for ${ns}`].entries()) {
          const stored = yield* ok(KEY_A, { method: "POST", path: "/v1/memories", body: { ...(i === 0 ? { id: `plan-${i}` } : {}), content, tags: ["a"], metadata: { topic: "plans", owner: MARK }, namespace: ns } })
          ids.push({ ns, id: stored.id })
        }
        const batch = yield* ok(KEY_A, {
          method: "POST",
          path: "/v1/memories/batch",
          body: {
            namespace: ns,
            items: [
              { id: "batch-1", content: `Batch fact one ${MARK} ${ns}`, metadata: { topic: "plans" } },
              { id: "batch-2", content: `Batch fact two ${MARK} ${ns}`, tags: ["a"] },
              // A writing into B's namespace is refused like B writing into A's.
              { id: "batch-into-b", content: `A pushing into B ${MARK}`, namespace: B_NS }
            ]
          }
        })
        attempts++
        if (batch.stored !== 2 || batch.failed?.[0]?.index !== 2 || batch.failed?.[0]?._tag !== "Forbidden") leaks.push(`A's batch item into ${B_NS}: ${JSON.stringify(batch)}`)
        ids.push({ ns, id: "batch-1" }, { ns, id: "batch-2" })
        const ndjson = yield* Effect.promise(() =>
          call(url, KEY_A, {
            method: "POST",
            path: `/v1/memories/batch?namespace=${enc(ns)}`,
            ndjson: [
              { id: "nd-1", content: `Streamed fact ${MARK} ${ns}` },
              { id: "nd-into-b", content: `A streaming into B ${MARK}`, namespace: B_NS },
              { id: "nd-2", content: `Streamed fact two ${MARK} ${ns}`, kind: "knowledge" }
            ].map((line) => JSON.stringify(line)).join("\n") + "\n"
          })
        )
        const streamed = parse(ndjson)
        attempts++
        if (streamed?.stored !== 2 || streamed.failed?.[0]?.index !== 1 || streamed.failed?.[0]?._tag !== "Forbidden") {
          leaks.push(`A's NDJSON line into ${B_NS}: ${ndjson.status} ${ndjson.text.slice(0, 200)}`)
        }
        ids.push({ ns, id: "nd-1" }, { ns, id: "nd-2" })
        const doc = yield* ok(KEY_A, {
          method: "POST",
          path: "/v1/documents",
          body: { id: "handbook", title: `Handbook ${MARK}`, content: DOC_A, chunkSize: 300, chunkOverlap: 30, namespace: ns }
        })
        for (let c = 0; c < doc.chunks; c++) ids.push({ ns, id: `handbook:${c}` })
        yield* ok(KEY_A, { method: "PUT", path: "/v1/kv/plan.launch", body: { value: { code: MARK }, namespace: ns } })
        for (const session of ["alpha-chat", "shared-chat"]) {
          for (const content of [`hello ${MARK}`, `the password is ${MARK}`]) {
            const message = yield* ok(KEY_A, { method: "POST", path: `/v1/sessions/${session}/messages`, body: { role: "user", content, namespace: ns } })
            if (message?.id) ids.push({ ns, id: message.id })
          }
        }
      }
      // Every record A holds, found as A sees them (document chunk ids included).
      const found = new Set(ids.map(({ id, ns }) => `${ns}\u0000${id}`))
      for (const ns of A_NS) {
        const hits = yield* ok(KEY_A, { method: "POST", path: "/v1/search", body: { query: MARK, mode: "keyword", k: 200, namespace: ns } })
        for (const hit of hits.hits) found.add(`${ns}\u0000${hit.id}`)
      }
      // B's own data, under names A uses too.
      yield* ok(KEY_B, { method: "POST", path: "/v1/memories", body: { content: "Bravo's own note about launch plans" } })
      yield* ok(KEY_B, { method: "PUT", path: "/v1/kv/bravo.key", body: { value: "bravo" } })
      yield* ok(KEY_B, { method: "POST", path: "/v1/sessions/shared-chat/messages", body: { role: "user", content: "bravo says hello" } })
      yield* ok(KEY_B, { method: "POST", path: "/v1/documents", body: { id: "handbook", content: "Bravo's handbook, nothing secret." } })
      return [...found].map((k) => {
        const [ns, id] = k.split("\u0000") as [string, string]
        return { ns, id }
      })
    }))
    expect(problems, problems.join("\n")).toEqual([])
    expect(seeded.length).toBeGreaterThan(20)
    const before = yield* Effect.promise(checksumOfA)

    // ---- Server 2: the walk and the attacks.
    yield* Effect.scoped(Effect.gen(function*() {
      const { url } = yield* spawnServer(env)
      const as = (key: string | undefined, req: Req) => Effect.promise(() => call(url, key, req))

      // One record of each sort per namespace: a client id, a generated id, batch and NDJSON items, a chunk, a message.
      const sorts = [(id: string) => id === "plan-0", (id: string) => /^[0-9a-f-]{36}$/.test(id), (id: string) => id === "batch-1", (id: string) => id === "nd-2", (id: string) => id === "handbook:0"]
      const targets: Array<Target> = A_NS.flatMap((ns) =>
        [...sorts.map((sort) => seeded.find((r) => r.ns === ns && sort(r.id))!), seeded.findLast((r) => r.ns === ns)!].map((r, i): Target => ({
          ns,
          id: r.id,
          key: i % 2 === 0 ? "plan.launch" : "plan.missing",
          session: i % 2 === 0 ? "alpha-chat" : "shared-chat",
          doc: "handbook",
          text: "launch code password secrets",
          topic: "plans"
        }))
      )

      /** What A can see, read as the admin: every record (by A's token), the kv entries and histories, and anything planted. */
      const fingerprint = Effect.gen(function*() {
        const parts: Array<string> = []
        for (const ns of A_NS) {
          const all = parse(yield* as(KEY_ADMIN, { method: "POST", path: "/v1/search", body: { query: MARK, mode: "keyword", k: 200, namespace: ns } }))
          parts.push(JSON.stringify(all?.hits?.map(({ score: _, ...hit }: { score: number }) => hit).sort((a: any, b: any) => a.id < b.id ? -1 : 1)))
          for (const key of ["plan.launch", "plan.missing"]) parts.push((yield* as(KEY_ADMIN, { method: "GET", path: `/v1/kv/${key}?namespace=${enc(ns)}` })).text)
          for (const session of ["alpha-chat", "shared-chat"]) {
            parts.push((yield* as(KEY_ADMIN, { method: "GET", path: `/v1/sessions/${session}/messages?namespace=${enc(ns)}` })).text)
          }
          const planted = parse(yield* as(KEY_ADMIN, { method: "POST", path: "/v1/search", body: { query: "planted bravo", mode: "keyword", k: 200, namespace: ns } }))
          parts.push(JSON.stringify(planted?.hits?.map((h: { id: string }) => h.id)))
        }
        return parts.join("\n")
      })
      let seen = yield* fingerprint
      // Every record of A's is in it, so it can tell a change.
      for (const { id } of seeded) expect(seen).toContain(`"id":"${id}"`)

      /** After a write B may make: what A sees must not have moved. */
      const unchanged = (what: string) =>
        Effect.gen(function*() {
          const now = yield* fingerprint
          if (now !== seen) {
            leaks.push(`A's data changed after ${what}`)
            seen = now
          }
        })

      /** A request by a caller who must get nothing of A's: any success or any of A's text is a leak. */
      const refused = (key: string | undefined, req: Req, want?: number) =>
        Effect.gen(function*() {
          attempts++
          const response = yield* as(key, req)
          const mcp = req.path === "/mcp"
          if (response.status === 0 || response.status >= 500) problems.push(`${label(req)} → ${response.status} ${response.error ?? response.text.slice(0, 200)}`)
          if ((mcp ? mcpSucceeded(response) : response.status < 300) || response.text.includes(MARK)) {
            leaks.push(`${key === KEY_B ? "B" : key === KEY_A ? "A" : "no key"}: ${label(req)} → ${response.status} ${response.text.slice(0, 200)}`)
          }
          if (!mcp && response.status >= 400 && errorBody(response) === undefined) problems.push(`${label(req)} → ${response.status} not {_tag, message}: ${response.text.slice(0, 200)}`)
          if (want !== undefined && response.status !== want) problems.push(`${label(req)} → ${response.status}, want ${want}: ${response.text.slice(0, 200)}`)
          return response
        })

      /** A request by B in its own namespace: it may succeed, but must show none of A's text nor change what A sees. */
      const own = (req: Req, write: boolean) =>
        Effect.gen(function*() {
          attempts++
          const response = yield* as(KEY_B, req)
          if (response.status === 0 || response.status >= 500) problems.push(`${label(req)} → ${response.status} ${response.text.slice(0, 200)}`)
          if (response.text.includes(MARK)) leaks.push(`B (own namespace): ${label(req)} → ${response.status} ${response.text.slice(0, 300)}`)
          if (write) yield* unchanged(label(req))
          return response
        })

      // 1. The walk: every documented route has a case; each refuses no key, a wrong key and the other tenant.
      const openapi = parse(yield* as(undefined, { method: "GET", path: "/openapi.json" }))
      const documented: Array<string> = Object.entries(openapi.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) =>
        Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`)
      )
      const uncovered = documented.filter((route) => !(route in ROUTES) && !OPEN.includes(route))
      expect(uncovered, `routes in /openapi.json without a tenant-isolation case here: ${uncovered.join(", ")}`).toEqual([])
      const stale = Object.keys(ROUTES).filter((route) => route !== "POST /mcp" && !documented.includes(route))
      expect(stale, `cases for routes /openapi.json no longer lists: ${stale.join(", ")}`).toEqual([])
      expect(documented.filter((r) => r.includes(" /v1/")).length).toBe(Object.keys(ROUTES).length - 1)

      const target = targets[0]!
      for (const [name, route] of Object.entries(ROUTES)) {
        for (const headers of [{}, { authorization: `Bearer sk-wrong-${randomUUID()}` }, { authorization: `Basic ${KEY_A}` }, { authorization: "Bearer " }]) {
          const response = yield* refused(undefined, { ...route.build(target.ns, target), headers }, 401)
          if (errorBody(response)?._tag !== "Unauthorized") problems.push(`${name} without a key: ${response.text.slice(0, 200)}`)
        }
        for (const ns of A_NS) {
          const response = yield* refused(KEY_B, route.build(ns, target), name === "POST /mcp" ? 200 : 403)
          const tag = name === "POST /mcp" ? JSON.parse(parse(response)?.result?.content?.[0]?.text ?? "{}")._tag : errorBody(response)?._tag
          if (tag !== "Forbidden") problems.push(`${name} as B on ${ns}: want Forbidden, got ${response.text.slice(0, 200)}`)
        }
        // And the other way: A on B's namespace.
        if (!route.adminOnly && name !== "POST /mcp") yield* refused(KEY_A, route.build(B_NS, { ...target, ns: B_NS, text: "a probing b" }), 403)
      }
      for (const route of OPEN) {
        const [method, path] = route.split(" ") as [string, string]
        attempts++
        const response = yield* as(undefined, { method, path })
        if (response.status !== 200) problems.push(`${route} (open) → ${response.status}`)
        // Open by design, so they show nothing of a tenant's: no data, no namespace name.
        if (response.text.includes(MARK) || A_NS.some((ns) => response.text.includes(ns))) leaks.push(`${route} shows A's data or namespace`)
      }

      // 2. A reads its own data by every read route and MCP read (so the same reads would show a leak to B), warming the caches B tries next.
      for (const t of targets) {
        const reads = [
          ...[...READS].filter((name) => name !== "GET /v1/kv/{key}" || t.key === "plan.launch").map((name) => ROUTES[name]!.build(t.ns, t)),
          ...mcpCalls(t.ns, t).filter((r) => /"(search|get_context|get_history|resources\/read)"/.test(JSON.stringify(r.body)) && !/"mode":"keyword"/.test(JSON.stringify(r.body)))
        ]
        for (const req of reads) {
          const response = yield* as(KEY_A, req)
          if (!(req.path === "/mcp" ? mcpSucceeded(response) : response.status === 200) || !response.text.includes(MARK)) {
            problems.push(`A's own read shows none of its data: ${label(req)} → ${response.status} ${response.text.slice(0, 200)}`)
          }
        }
      }

      // 3. B, by every route, at each sort of A's records in its namespace (and, at the first, every variant of A's namespaces).
      for (const [i, t] of targets.entries()) {
        for (const ns of i === 0 ? FORBIDDEN_FOR_B : [t.ns]) {
          for (const route of Object.values(ROUTES)) {
            if (route.adminOnly && ns !== A_NS[0]) continue
            yield* refused(KEY_B, route.build(ns, { ...t, text: "planted by bravo" }))
          }
          for (const req of mcpCalls(ns, t)) yield* refused(KEY_B, req)
        }
        // The namespace in the other place: the query of a body route, a body on a query route, both, repeated, encoded.
        for (const [name, route] of Object.entries(ROUTES)) {
          if (route.adminOnly || name === "POST /mcp") continue
          const req = route.build(undefined, { ...t, text: "planted by bravo" })
          const sep = req.path.includes("?") ? "&" : "?"
          yield* refused(KEY_B, { ...req, path: `${req.path}${sep}namespace=${enc(t.ns)}` })
          yield* refused(KEY_B, { ...req, path: `${req.path}${sep}namespace=${enc(B_NS)}&namespace=${enc(t.ns)}` })
          yield* refused(KEY_B, { ...req, path: `${req.path}${sep}namespace=${t.ns.replace("a", "%61")}` })
          if (req.body === undefined) yield* refused(KEY_B, { ...req, body: { namespace: t.ns } })
        }
        yield* unchanged(`B's attacks on ${t.ns}/${t.id}`)
      }

      // 4. Batches: items naming A's namespaces, the batch default, NDJSON's query and its lines.
      const batchItems = (forms: ReadonlyArray<string>): Array<{ readonly namespace?: string; readonly [field: string]: unknown }> => [
        { content: "bravo's own batch note" },
        ...forms.map((ns, i) => ({ id: i % 2 === 0 ? "batch-1" : `planted-${i}`, content: `planted bravo ${i}`, namespace: ns })),
        ...forms.map((ns) => ({ content: "planted bravo message", kind: "message", sessionId: "alpha-chat", namespace: ns }))
      ]
      const checkBatch = (req: Req, items: ReadonlyArray<{ namespace?: string }>, defaultNs: string | undefined) =>
        Effect.gen(function*() {
          const response = yield* own(req, true)
          attempts += items.length - 1
          const result = parse(response)
          items.forEach((item, index) => {
            const ns = item.namespace ?? defaultNs ?? B_NS
            if (ns === B_NS) return
            const failure = result?.failed?.find((f: { index: number }) => f.index === index)
            if (response.status < 300 && failure?._tag !== "Forbidden") leaks.push(`batch item ${index} into ${ns} stored: ${response.text.slice(0, 300)}`)
          })
          // B's own item is stored (or found stored by an earlier batch); nothing else is.
          if (response.status === 200 && result?.stored + result?.duplicates !== items.filter((i) => (i.namespace ?? defaultNs ?? B_NS) === B_NS).length) {
            problems.push(`batch: want only B's items stored: ${response.text.slice(0, 300)}`)
          }
        })
      const items = batchItems(FORBIDDEN_FOR_B)
      yield* checkBatch({ method: "POST", path: "/v1/memories/batch", body: { items } }, items, undefined)
      yield* checkBatch({ method: "POST", path: "/v1/memories/batch", body: { items, namespace: B_NS } }, items, B_NS)
      yield* checkBatch({ method: "POST", path: "/v1/memories/batch", ndjson: items.map((i) => JSON.stringify(i)).join("\n") + "\n" }, items, undefined)
      yield* checkBatch({ method: "POST", path: `/v1/memories/batch?namespace=${B_NS}`, ndjson: items.map((i) => JSON.stringify(i)).join("\n") + "\n" }, items, B_NS)
      for (const ns of FORBIDDEN_FOR_B) {
        const plain = [{ content: "planted bravo" }, { id: "batch-2", content: "planted bravo 2" }]
        yield* refused(KEY_B, { method: "POST", path: "/v1/memories/batch", body: { items: plain, namespace: ns } })
        yield* refused(KEY_B, { method: "POST", path: `/v1/memories/batch?namespace=${enc(ns)}`, ndjson: plain.map((i) => JSON.stringify(i)).join("\n") + "\n" })
        yield* refused(KEY_B, { method: "POST", path: `/v1/memories/batch?namespace=${enc(ns)}`, body: { items: plain } })
      }
      yield* unchanged("B's batches")

      // 5. B in its own namespace (named and by default) with A's ids, keys, sessions and words: only B's data answers or moves.
      // A's client ids are the same in both its namespaces; its generated ids are not.
      const ownTargets = targets.filter((t) => t.ns === A_NS[0] || /^[0-9a-f-]{36}$/.test(t.id))
      for (const t of ownTargets) {
        const b = { ...t, ns: B_NS, text: "planted by bravo" }
        for (const ns of [undefined, B_NS]) {
          for (const route of Object.values(ROUTES)) {
            if (!route.adminOnly) yield* own(route.build(ns, b), false)
          }
          for (const req of mcpCalls(ns ?? B_NS, b)) yield* own(req, false)
          yield* unchanged(`B's requests in ${ns ?? "its default namespace"} at A's ${t.id}`)
        }
        // B's namespace + ":" + "alpha" is A's "team:alpha": names that ":"-joined cache keys would confuse with A's.
        const joined = { ...b, id: `alpha:${t.id}`, key: `alpha:${t.key}`, session: `alpha:${t.session}` }
        for (const name of READS) yield* own(ROUTES[name]!.build(undefined, joined), false)
        for (const req of mcpCalls(B_NS, joined)) if (/"(kv_get|get_history|resources\/read)"/.test(JSON.stringify(req.body))) yield* own(req, false)
        // B searching for A's words, every mode, with A's filters and session.
        for (const mode of ["vector", "keyword", "hybrid"]) {
          yield* own({ method: "POST", path: "/v1/search", body: { query: "launch code password salary board handbook", mode, k: 200 } }, false)
          yield* own({ method: "POST", path: "/v1/search", body: { query: "plans", mode, filter: { topic: "plans" }, tags: ["a"], sessionId: t.session } }, false)
        }
        yield* own({ method: "POST", path: "/v1/context", body: { query: "what is the launch code", sessionId: t.session, maxTokens: 4000 } }, false)
      }
      yield* own({ method: "POST", path: "/v1/memories/delete", body: { filter: {} } }, true)
      yield* own(tool("forget", { filter: {} }), true)

      // 6. Process-wide figures are the admin's.
      for (const key of [KEY_A, KEY_B]) {
        for (const path of ["/v1/stats", "/v1/alerts"]) yield* refused(key, { method: "GET", path }, 403)
      }
      expect((yield* as(KEY_ADMIN, { method: "GET", path: "/v1/stats" })).status).toBe(200)

      // 7. Last (their answers echo A's text): A's exact content in B's namespace is new to B, never "already stored".
      for (const [i, ns] of [undefined, B_NS].entries()) {
        attempts++
        const copy = parse(yield* as(KEY_B, { method: "POST", path: "/v1/memories", body: { content: `The launch code is ${MARK}-${A_NS[i]}-1`, ...withNs(ns) } }))
        if (copy?.deduplicated !== false || copy?.namespace !== B_NS) leaks.push(`B storing A's text: ${JSON.stringify(copy)}`)
      }
      attempts++
      const doc = parse(yield* as(KEY_B, { method: "POST", path: "/v1/documents", body: { content: DOC_A, chunkSize: 300, chunkOverlap: 30 } }))
      if (doc?.duplicates !== 0) leaks.push(`B's copy of A's document counted as already held: ${JSON.stringify(doc)}`)
      yield* unchanged("B's copies of A's text")
    }))

    // Server 2 has stopped (PGlite has one owner): A's rows, as the store holds them.
    const after = yield* Effect.promise(checksumOfA)
    if (after !== before) leaks.push("A's rows in the store changed")
    return { attempts, leaks, problems, before, after }
  })

const stores: Array<"pglite" | "pgvector"> = process.env.DATABASE_URL ? ["pglite", "pgvector"] : ["pglite"]

describe("tenant isolation", () => {
  afterAll(() => deleteTestKeys())
  for (const store of stores) {
    it.live(`${store}: no key is 401, the other tenant is refused on every route and form, A's rows unchanged`, () =>
      Effect.gen(function*() {
        const { after, attempts, before, leaks, problems } = yield* Effect.scoped(run(store))
        console.log(`tenant isolation (${store}): ${attempts} attempts, cross-tenant: ${leaks.length}`)
        expect({ leaks: leaks.slice(0, 20), problems: problems.slice(0, 20) }).toEqual({ leaks: [], problems: [] })
        expect(before).toMatch(/^memories:[1-9]\d*:/)
        expect(after, "A's rows in the store after B's attempts").toBe(before)
      }), { timeout: 600_000 })
  }
})
