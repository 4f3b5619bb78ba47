import { HttpClient } from "@effect/platform"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { MAX_CONTENT_LENGTH } from "../src/domain/Memory.ts"
import { del, get, post, postRaw, serverLayer } from "./support/http.ts"
import { newNamespace } from "./support/records.ts"

layer(serverLayer, { timeout: 60_000 })("HTTP API", (it) => {
  it.effect("stores memories and finds the right one first by meaning", () =>
    Effect.gen(function*() {
      const namespace = newNamespace()
      const stored = yield* post("/v1/memories", { content: "The cat sat on the mat", namespace, tags: ["pets"] })
      expect(stored.status).toBe(201)
      expect(stored.body).toMatchObject({ content: "The cat sat on the mat", namespace, kind: "memory", deduplicated: false, tags: ["pets"] })
      for (const content of ["Stock prices fell sharply on Monday", "The meeting moved to Thursday at noon", "A dog barked at the mailman"]) {
        expect((yield* post("/v1/memories", { content, namespace })).status).toBe(201)
      }
      const found = yield* post("/v1/search", { query: "where did the cat sit", namespace, k: 3 })
      expect(found.status).toBe(200)
      expect(found.body.hits[0].content).toBe("The cat sat on the mat")
      expect(found.body.hits[0].id).toBe(stored.body.id)
      // At most k, and no unrelated zero-score record fills the list (the vector floor).
      expect(found.body.hits.length).toBeLessThanOrEqual(3)
      expect(found.body.cached).toBe(false)
      expect(typeof found.body.tookMs).toBe("number")
      for (const hit of found.body.hits) {
        expect(hit.score).toBeGreaterThan(0)
        expect(hit.score).toBeLessThanOrEqual(1)
      }
      const pets = yield* post("/v1/search", { query: "a cat or a dog", namespace, tags: ["pets"], filter: {} })
      expect(pets.body.hits.map((h: any) => h.content)).toEqual(["The cat sat on the mat"])
    }))

  it.effect("deduplicates the same content and reports it", () =>
    Effect.gen(function*() {
      const namespace = newNamespace()
      const first = yield* post("/v1/memories", { content: "I prefer green tea", namespace })
      const second = yield* post("/v1/memories", { content: "I prefer green tea", namespace })
      expect(second.status).toBe(201)
      expect(second.body.deduplicated).toBe(true)
      expect(second.body.id).toBe(first.body.id)
    }))

  it.effect("gets and deletes by id; unknown ids are 404", () =>
    Effect.gen(function*() {
      const namespace = newNamespace()
      const stored = yield* post("/v1/memories", { content: "Remember the milk", namespace, metadata: { list: "groceries" } })
      const got = yield* get(`/v1/memories/${stored.body.id}?namespace=${namespace}`)
      expect(got.status).toBe(200)
      expect(got.body).toMatchObject({ id: stored.body.id, content: "Remember the milk", metadata: { list: "groceries" } })
      const elsewhere = yield* get(`/v1/memories/${stored.body.id}`)
      expect(elsewhere.status).toBe(404)
      expect(elsewhere.body._tag).toBe("MemoryNotFound")
      expect(elsewhere.body.message).toContain(stored.body.id)
      const deleted = yield* del(`/v1/memories/${stored.body.id}?namespace=${namespace}`)
      expect(deleted.status).toBe(204)
      expect((yield* get(`/v1/memories/${stored.body.id}?namespace=${namespace}`)).status).toBe(404)
      expect((yield* del(`/v1/memories/${stored.body.id}?namespace=${namespace}`)).status).toBe(404)
    }))

  it.effect("a client-chosen id that holds other content is a 409 conflict", () =>
    Effect.gen(function*() {
      const namespace = newNamespace()
      expect((yield* post("/v1/memories", { id: "note-1", content: "first", namespace })).status).toBe(201)
      const retry = yield* post("/v1/memories", { id: "note-1", content: "first", namespace })
      expect(retry.status).toBe(201)
      expect(retry.body.deduplicated).toBe(true)
      const clash = yield* post("/v1/memories", { id: "note-1", content: "second", namespace })
      expect(clash.status).toBe(409)
      expect(clash.body._tag).toBe("IdConflict")
    }))

  it.effect("rejects bad input with a 400 that names the field, and stores nothing", () =>
    Effect.gen(function*() {
      const namespace = newNamespace()
      const cases: Array<[string, unknown, string]> = [
        ["/v1/memories", { namespace }, "content"],
        ["/v1/memories", { content: "   ", namespace }, "content must not be empty"],
        ["/v1/memories", { content: "x".repeat(MAX_CONTENT_LENGTH + 1), namespace }, `content is at most ${MAX_CONTENT_LENGTH}`],
        ["/v1/memories", { content: 42, namespace }, "content"],
        ["/v1/memories", { content: "ok", namespace, kind: "secret" }, "kind"],
        ["/v1/memories", { content: "ok", namespace, ttlSeconds: -5 }, "ttlSeconds"],
        ["/v1/memories", { content: "ok", namespace, tags: [""] }, "tag must not be empty"],
        ["/v1/memories", { content: "ok", namespace: "bad namespace!" }, "namespace must be"],
        ["/v1/memories", { content: "ok", namespace, metadata: [1, 2] }, "metadata"],
        ["/v1/search", { namespace }, "query"],
        ["/v1/search", { query: "cat", namespace, k: 0 }, "k must be a whole number from 1 to 200"],
        ["/v1/search", { query: "cat", namespace, k: 1000 }, "k must be a whole number"],
        ["/v1/search", { query: "cat", namespace, k: 2.5 }, "k"],
        ["/v1/search", { query: "cat", namespace, minScore: 2 }, "minScore"],
        ["/v1/search", { query: "cat", namespace, filter: { "x; DROP TABLE memories": 1 } }, "filter.x; DROP TABLE memories: a field is a name"],
        ["/v1/search", { query: "cat", namespace, filter: { nested: { $regex: "a.*" } } }, "filter.nested.$regex: unknown operator"],
        ["/v1/search", { query: "cat", namespace, filter: { n: { $gt: [1] } } }, "filter.n.$gt: must be a number or a string"],
        ["/v1/search", { query: "cat", namespace, filter: { $or: [] } }, "filter.$or: must be a non-empty array"],
        ["/v1/search", { query: "cat", namespace, filter: { $where: "1=1" } }, "filter.$where: unknown operator"],
        ["/v1/search", { query: "cat", namespace, filter: "lang=en" }, "filter"],
        ["/v1/search", { query: "cat", namespace, mode: "psychic" }, "mode"]
      ]
      for (const [path, body, expected] of cases) {
        const response = yield* post(path, body)
        expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(400)
        expect(response.body._tag).toBe("InvalidInput")
        expect(response.body.message).not.toContain("\n")
        expect(response.body.message, JSON.stringify(body).slice(0, 80)).toContain(expected)
      }
      const notJson = yield* postRaw("/v1/memories", "{content: nope")
      expect(notJson.status).toBe(400)
      expect(notJson.body).toMatchObject({ _tag: "InvalidInput" })
      expect(notJson.body.message).toContain("the body is not JSON")
      const found = yield* post("/v1/search", { query: "ok", namespace, k: 10 })
      expect(found.body.hits).toEqual([])
    }))

  it.effect("answers health, readiness, the OpenAPI document and the docs page", () =>
    Effect.gen(function*() {
      expect((yield* get("/health")).body).toEqual({ status: "ok" })
      const ready = yield* get("/ready")
      expect(ready.status).toBe(200)
      expect(ready.body).toEqual({ status: "ready", store: "pglite", embedder: "local-hash-v2", dimensions: 1024 })
      const openapi = yield* get("/openapi.json")
      expect(openapi.status).toBe(200)
      expect(Object.keys(openapi.body.paths).sort()).toEqual([
        "/health",
        "/metrics",
        "/ready",
        "/v1/alerts",
        "/v1/context",
        "/v1/documents",
        "/v1/kv/{key}",
        "/v1/memories",
        "/v1/memories/batch",
        "/v1/memories/delete",
        "/v1/memories/{id}",
        "/v1/search",
        "/v1/sessions/{id}/messages",
        "/v1/stats"
      ])
      expect(Object.keys(openapi.body.paths["/v1/memories/{id}"]).sort()).toEqual(["delete", "get", "patch"])
      expect(Object.keys(openapi.body.paths["/v1/kv/{key}"]).sort()).toEqual(["delete", "get", "put"])
      expect(Object.keys(openapi.body.paths["/v1/sessions/{id}/messages"]).sort()).toEqual(["delete", "get", "post"])
      const docs = yield* HttpClient.get("/docs")
      expect(docs.status).toBe(200)
      expect(docs.headers["content-type"]).toContain("text/html")
    }))
})
