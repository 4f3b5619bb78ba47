/**
 * POST /v1/search cache hits are answered before the Effect app (src/http/SearchFastPath.ts).
 * Two real servers on loopback, one with the fast path and one without, get the same requests
 * in the same order: every answer (status, headers but Date, body but the time taken) must be
 * the same, and the fast path must have answered the hits and only them.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { request as httpRequest } from "node:http"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import * as AgentMemory from "../layers/app.ts"
import * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
import * as PgliteStore from "../layers/store/pglite/PgliteStore.ts"
import * as Server from "../src/http/Server.ts"

const ACME = "sk-acme-0123456789abcdef"
const OTHER = "sk-other-0123456789abcdef"
const ADMIN = "sk-admin-0123456789abcdef"
const dir = mkdtempSync(join(tmpdir(), "agent-memory-fastpath-"))
const keysFile = join(dir, "keys.json")
writeFileSync(keysFile, JSON.stringify({ [ACME]: ["acme"], [OTHER]: ["other"], [ADMIN]: "*" }))

const freePort = () =>
  Effect.async<number>((resume) => {
    const probe = createServer()
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resume(Effect.succeed(port)))
    })
  })

interface Answer {
  readonly status: number
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly body: string
}

interface Sent {
  readonly method?: string
  readonly path?: string
  readonly headers?: Record<string, string>
  readonly body?: string
  /** Sent with Transfer-Encoding: chunked instead of a Content-Length. */
  readonly chunked?: boolean
}

const send = (port: number, sent: Sent) =>
  Effect.async<Answer>((resume) => {
    const req = httpRequest(
      { host: "127.0.0.1", port, method: sent.method ?? "POST", path: sent.path ?? "/v1/search", headers: sent.headers ?? {} },
      (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() })))
      }
    )
    req.on("error", (e) => resume(Effect.die(e)))
    if (sent.body !== undefined) {
      if (sent.chunked) req.setHeader("transfer-encoding", "chunked")
      else req.setHeader("content-length", Buffer.byteLength(sent.body))
      req.write(sent.body)
    }
    req.end()
  })

// What two servers make differently for the same request: ids, times, the time taken.
const UNSTABLE = new Set(["id", "createdAt", "updatedAt", "tookMs"])
const unstable = (key: string, value: unknown) => (UNSTABLE.has(key) ? "…" : value)

/** The answer with what differs between two runs of the same request taken out. */
const comparable = (answer: Answer) => {
  const { date: _date, ...headers } = answer.headers
  if (headers["content-type"] === "application/json" && answer.body.startsWith("{")) {
    return { status: answer.status, headers: { ...headers, "content-length": "…" }, body: JSON.parse(answer.body, unstable) }
  }
  return { status: answer.status, headers, body: answer.body }
}

const startServer = (fastPath: boolean, onFastAnswer: () => void, env: ReadonlyArray<[string, string]> = [["MEMORY_API_KEYS_FILE", keysFile]]) =>
  Effect.gen(function*() {
    const port = yield* freePort()
    yield* Layer.build(
      Server.layer({ host: "127.0.0.1", port, searchFastPath: fastPath, onFastAnswer }).pipe(
        Layer.provide(
          AgentMemory.layer({
            embedder: HashingEmbedder.layer(),
            store: ({ dimensions }) => PgliteStore.layer({ dataDir: "memory://", dimensions })
          })
        ),
        Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(env))))
      )
    )
    return port
  })

/** Sends the request to both servers, the fast path's first; their answers must be the same. Answers the fast path's. */
const sameAnswer = (fast: number, slow: number) => (sent: Sent) =>
  Effect.gen(function*() {
    const a = yield* send(fast, sent)
    const b = yield* send(slow, sent)
    expect(comparable(a), JSON.stringify(sent)).toEqual(comparable(b))
    return a
  })

const json = (key: string | undefined, body: unknown, extra: Record<string, string> = {}): Sent => ({
  headers: { "content-type": "application/json", ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), ...extra },
  body: typeof body === "string" ? body : JSON.stringify(body)
})

describe("the search fast path", () => {
  it.scopedLive("answers what the Effect app answers, byte for byte, and only cache hits", () =>
    Effect.gen(function*() {
      let fastAnswers = 0
      let slowAnswers = 0
      const fast = yield* startServer(true, () => void fastAnswers++)
      const slow = yield* startServer(false, () => void slowAnswers++)
      const both = sameAnswer(fast, slow)

      for (const content of ["the cat sat on the mat", "rates rose again this quarter", "the train leaves at nine"]) {
        const stored = yield* both({ ...json(ACME, { content, namespace: "acme" }), path: "/v1/memories" })
        expect(stored.status).toBe(201)
      }
      const search = { query: "cat on a mat", k: 2, namespace: "acme" }

      // The first is a miss (the Effect app), the second a hit (the fast path).
      const miss = yield* both(json(ACME, search))
      expect(JSON.parse(miss.body).cached).toBe(false)
      expect(fastAnswers).toBe(0)
      const hit = yield* both(json(ACME, search))
      expect(JSON.parse(hit.body)).toMatchObject({ cached: true })
      expect(JSON.parse(hit.body).hits[0].content).toBe("the cat sat on the mat")
      expect(fastAnswers).toBe(1)

      // Asked without naming the namespace, the key's only one is searched: the same search, a hit.
      yield* both(json(ACME, { query: "cat on a mat", k: 2 }))
      yield* both(json(ACME, { query: "cat on a mat", k: 2 }))
      const answeredHits = fastAnswers
      expect(answeredHits).toBe(3)

      // Everything else goes to the Effect app, and is answered alike.
      const refusals: Array<[string, Sent]> = [
        ["no key", json(undefined, search)],
        ["a wrong key", json("sk-wrong-0123456789abcdef", search)],
        ["a prefix of a key", json(ACME.slice(0, -1), search)],
        ["another tenant's namespace", json(OTHER, search)],
        ["another tenant, its own namespace by default", json(OTHER, { query: "cat on a mat", k: 2 })],
        ["a query-string namespace", { ...json(ACME, { query: "cat on a mat", k: 2 }), path: "/v1/search?namespace=other" }],
        ["a query-string namespace that is allowed", { ...json(ACME, { query: "cat on a mat", k: 2 }), path: "/v1/search?namespace=acme" }],
        ["Basic auth", json(undefined, search, { authorization: `Basic ${Buffer.from(`x:${ACME}`).toString("base64")}` })],
        ["a cross-site Origin", json(ACME, search, { origin: "https://evil.example" })],
        ["a same-site Origin", json(ACME, search, { origin: "http://127.0.0.1" })],
        ["text/plain", { ...json(ACME, search), headers: { "content-type": "text/plain", authorization: `Bearer ${ACME}` } }],
        ["a form", { ...json(ACME, search), headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Bearer ${ACME}` } }],
        ["multipart", { ...json(ACME, search), headers: { "content-type": "multipart/form-data; boundary=x", authorization: `Bearer ${ACME}` } }],
        ["no content type", { ...json(ACME, search), headers: { authorization: `Bearer ${ACME}` } }],
        ["json with a charset", json(ACME, search, { "content-type": "application/json; charset=utf-8" })],
        ["malformed JSON", json(ACME, "{\"query\": ")],
        ["an unknown field", json(ACME, { ...search, extra: 1 })],
        ["a wrong type", json(ACME, { ...search, k: "2" })],
        ["an empty body", json(ACME, "")],
        ["a chunked body", { ...json(ACME, search), chunked: true }],
        ["an oversize body", json(ACME, JSON.stringify({ ...search, query: "x".repeat(3 * 1024 * 1024) }))],
        ["a trace header", json(ACME, search, { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" })],
        ["another method", { ...json(ACME, search), method: "PUT" }],
        ["another path", { ...json(ACME, search), path: "/v1/search/" }]
      ]
      for (const [, sent] of refusals) yield* both(sent)
      // A charset on JSON is still JSON, so that one may be answered here; nothing else was.
      expect(fastAnswers - answeredHits).toBeLessThanOrEqual(1)
      expect(slowAnswers).toBe(0)

      // A write makes the cached answer stale: the next search is computed again, by the Effect app.
      yield* both({ ...json(ACME, { content: "a cat naps on a mat", namespace: "acme" }), path: "/v1/memories" })
      const before = fastAnswers
      const fresh = yield* both(json(ACME, search))
      expect(JSON.parse(fresh.body).cached).toBe(false)
      expect(fastAnswers).toBe(before)

      // The hits it answered are counted in /v1/stats like any other search.
      const stats = (port: number) =>
        Effect.map(send(port, { method: "GET", path: "/v1/stats", headers: { authorization: `Bearer ${ADMIN}` } }), (a) => {
          expect(a.status).toBe(200)
          return JSON.parse(a.body)
        })
      const [fastStats, slowStats] = [yield* stats(fast), yield* stats(slow)]
      expect(fastStats.searches).toBeGreaterThan(0)
      expect(fastStats.searches).toBe(slowStats.searches)
      expect(fastStats.caches.searches).toEqual(slowStats.caches.searches)
    }), 60_000)

  it.scopedLive("a body seen before is searched in the namespace of the key that sends it", () =>
    Effect.gen(function*() {
      let fastAnswers = 0
      const fast = yield* startServer(true, () => void fastAnswers++)
      const slow = yield* startServer(false, () => {})
      const both = sameAnswer(fast, slow)
      yield* both({ ...json(ACME, { content: "acme's otter ate the clams", namespace: "acme" }), path: "/v1/memories" })
      yield* both({ ...json(OTHER, { content: "other's otter slept all day", namespace: "other" }), path: "/v1/memories" })
      // The same bytes from both keys: no namespace named, so each key's only namespace.
      const body = { query: "what did the otter do", k: 1 }
      const content = (answer: Answer) => JSON.parse(answer.body).hits[0]?.content
      expect(content(yield* both(json(ACME, body)))).toBe("acme's otter ate the clams") // miss
      expect(content(yield* both(json(ACME, body)))).toBe("acme's otter ate the clams") // hit
      expect(fastAnswers).toBe(1)
      // Decoded and planned for acme before; for the other key it is the other namespace, a miss there.
      const otherMiss = yield* both(json(OTHER, body))
      expect([content(otherMiss), JSON.parse(otherMiss.body).cached]).toEqual(["other's otter slept all day", false])
      expect(fastAnswers).toBe(1)
      for (const [key, expected] of [[OTHER, "other's otter slept all day"], [ACME, "acme's otter ate the clams"], [OTHER, "other's otter slept all day"]]) {
        const hit = yield* both(json(key, body))
        expect([content(hit), JSON.parse(hit.body).cached]).toEqual([expected, true])
      }
      expect(fastAnswers).toBe(4)
      // A write to acme: its next answer is computed again, the other namespace's is still a hit.
      yield* both({ ...json(ACME, { content: "acme's otter did nothing at all", namespace: "acme" }), path: "/v1/memories" })
      expect(JSON.parse((yield* both(json(ACME, body))).body).cached).toBe(false)
      expect(JSON.parse((yield* both(json(OTHER, body))).body).cached).toBe(true)
      expect(fastAnswers).toBe(5)
    }), 60_000)

  it.scopedLive("without an API keys file, a hit with or without an Authorization header is answered alike", () =>
    Effect.gen(function*() {
      let fastAnswers = 0
      const fast = yield* startServer(true, () => void fastAnswers++, [])
      const slow = yield* startServer(false, () => {}, [])
      const both = sameAnswer(fast, slow)
      yield* both({ ...json(undefined, { content: "the cat sat on the mat" }), path: "/v1/memories" })
      for (const key of [undefined, undefined, "anything-at-all", ACME]) {
        const answer = yield* both(json(key, { query: "cat on a mat", k: 1 }))
        expect(answer.status).toBe(200)
      }
      // The first was the miss; the three after it were hits, answered here.
      expect(fastAnswers).toBe(3)
    }), 60_000)
})
