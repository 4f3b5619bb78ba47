/** The whole memory API over HTTP: batches, documents and context, hybrid search, updates, key/value, sessions. */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { get, post, postRaw, send, serverLayer } from "./support/http.ts"
import { newNamespace } from "./support/records.ts"

layer(serverLayer, { timeout: 60_000 })("memory API", (it) => {
  it.effect("POST /v1/memories/batch takes {items} and reports each item's outcome", () =>
    Effect.gen(function*() {
      const namespace = newNamespace()
      const result = yield* post("/v1/memories/batch", {
        namespace,
        items: [
          { content: "first fact" },
          { content: "" },
          { content: "second fact", tags: ["t"] },
          { nope: true },
          { content: "first fact" },
          { content: "third fact", kind: "weird" }
        ]
      })
      expect(result.status).toBe(200)
      expect(result.body).toMatchObject({ stored: 2, duplicates: 1, failedCount: 3 })
      expect(result.body.failed.map((f: any) => [f.index, f._tag])).toEqual([[1, "InvalidInput"], [3, "InvalidInput"], [5, "InvalidInput"]])
      expect(result.body.failed[0].message).toContain("content")
      expect(result.body.failed[2].message).toContain("kind")
      const found = yield* post("/v1/search", { namespace, query: "fact", k: 10 })
      expect(found.body.hits.map((h: any) => h.content).sort()).toEqual(["first fact", "second fact"])
      const bad = yield* post("/v1/memories/batch", { things: [] })
      expect(bad.status).toBe(400)
      expect(bad.body._tag).toBe("InvalidInput")
    }))

  it.effect("POST /v1/memories/batch streams NDJSON; a bad line is reported by index and every other line is stored", () =>
    Effect.gen(function*() {
      const namespace = newNamespace()
      const lines = [
        JSON.stringify({ content: "line zero" }),
        "",
        "{not json",
        JSON.stringify({ content: "line two", metadata: { n: 2 } }),
        JSON.stringify({ metadata: { n: 3 } }),
        JSON.stringify({ content: "line four", namespace: "elsewhere" })
      ]
      const result = yield* postRaw(`/v1/memories/batch?namespace=${namespace}`, lines.join("\n") + "\n", "application/x-ndjson")
      expect(result.status).toBe(200)
      expect(result.body).toMatchObject({ stored: 3, duplicates: 0, failedCount: 2 })
      expect(result.body.failed.map((f: any) => f.index)).toEqual([1, 3])
      expect(result.body.failed[0].message).toContain("item 1 is not JSON")
      const here = yield* post("/v1/search", { namespace, query: "line", k: 10 })
      expect(here.body.hits.map((h: any) => h.content).sort()).toEqual(["line two", "line zero"])
      const there = yield* post("/v1/search", { namespace: "elsewhere", query: "line four" })
      expect(there.body.hits[0].content).toBe("line four")
    }))

  it.effect("a document asked about through /v1/context yields text within maxTokens quoting the right chunk, with its source", () =>
    Effect.gen(function*() {
      const namespace = newNamespace()
      const paragraphs = [
        "The Arctic tern migrates from pole to pole every year. It sees two summers annually.",
        "Honey never spoils. Archaeologists found edible honey in ancient Egyptian tombs.",
        "The Eiffel Tower grows about fifteen centimetres taller in summer because iron expands in the heat.",
        "Octopuses have three hearts and blue blood. Two hearts pump blood to the gills.",
        "Bananas are berries, botanically speaking, while strawberries are not."
      ]
      const doc = yield* post("/v1/documents", {
        namespace,
        id: "facts-1",
        title: "Odd facts",
        source: "https://example.org/facts",
        type: "article",
        content: paragraphs.join("\n\n"),
        chunkSize: 150,
        chunkOverlap: 20
      })
      expect(doc.status).toBe(201)
      expect(doc.body).toMatchObject({ documentId: "facts-1", duplicates: 0 })
      expect(doc.body.chunks).toBeGreaterThanOrEqual(5)
      yield* post("/v1/memories", { namespace, content: "The user is planning a trip to Paris in July" })
      yield* post(`/v1/sessions/s1/messages`, { namespace, role: "user", content: "I want to see the Eiffel Tower" })
      const context = yield* post("/v1/context", { namespace, query: "Why is the Eiffel Tower taller in summer?", maxTokens: 120, sessionId: "s1" })
      expect(context.status).toBe(200)
      expect(context.body.tokenCount).toBeLessThanOrEqual(120)
      expect(context.body.tokenCount).toBeGreaterThan(0)
      expect(context.body.text).toContain("iron expands in the heat")
      expect(context.body.text).toContain("Odd facts — https://example.org/facts")
      const source = context.body.sources.find((s: any) => s.documentId === "facts-1")
      expect(source).toMatchObject({ title: "Odd facts", source: "https://example.org/facts", kind: "knowledge" })
      expect(context.body.history.map((m: any) => m.content)).toEqual(["I want to see the Eiffel Tower"])
      // A tighter budget still holds, and a template is really applied.
      const tight = yield* post("/v1/context", {
        namespace,
        query: "Eiffel Tower summer",
        maxTokens: 60,
        template: "Q: {{query}}\nFacts:\n{{knowledge}}",
        includeSources: false
      })
      expect(tight.body.tokenCount).toBeLessThanOrEqual(60)
      expect(tight.body.text.startsWith("Q: Eiffel Tower summer\nFacts:\n[1] ")).toBe(true)
      const badTemplate = yield* post("/v1/context", { namespace, query: "x", template: "{{memories}} {{secrets}}" })
      expect(badTemplate.status).toBe(400)
      expect(badTemplate.body.message).toContain("unknown placeholder {{secrets}}")
      // Re-ingesting the document replaces its chunks.
      const again = yield* post("/v1/documents", { namespace, id: "facts-1", title: "Odd facts", content: paragraphs[0] })
      expect(again.body.chunks).toBe(1)
      // The old chunks are gone: at most the one chunk left answers, never the replaced text.
      const gone = yield* post("/v1/search", { namespace, query: "honey tombs", kinds: ["knowledge"], k: 10 })
      expect(gone.body.hits.length).toBeLessThanOrEqual(1)
      expect(gone.body.hits.some((h: any) => h.content.includes("Honey"))).toBe(false)
      const knowledge = yield* post("/v1/search", { namespace, query: "arctic tern summers", kinds: ["knowledge"], k: 10 })
      expect(knowledge.body.hits.map((h: any) => h.metadata.documentId)).toEqual(["facts-1"])
      expect(knowledge.body.hits[0].content).toContain("Arctic tern")
    }))

  it.effect("hybrid search finds an exact rare identifier that vector search alone ranks low", () =>
    Effect.gen(function*() {
      const namespace = newNamespace()
      const filler = Array.from({ length: 30 }, (_, i) =>
        `The payment service reported a connection error while the database was failing over, attempt ${i}`)
      yield* post("/v1/memories/batch", {
        namespace,
        items: [...filler.map((content) => ({ content })), { content: "Incident note: XK-7731 means the ledger lock timed out" }]
      })
      const query = "payment service connection error XK-7731"
      const vector = yield* post("/v1/search", { namespace, query, k: 5, mode: "vector" })
      const rankInVector = vector.body.hits.findIndex((h: any) => h.content.includes("XK-7731"))
      expect(rankInVector === -1 || rankInVector > 0).toBe(true)
      const hybrid = yield* post("/v1/search", { namespace, query, k: 5, mode: "hybrid" })
      expect(hybrid.body.hits[0].content).toContain("XK-7731")
      const keyword = yield* post("/v1/search", { namespace, query: "XK-7731", k: 5, mode: "keyword" })
      expect(keyword.body.hits[0].content).toContain("XK-7731")
      for (const h of [...hybrid.body.hits, ...keyword.body.hits]) {
        expect(h.score).toBeGreaterThan(0)
        expect(h.score).toBeLessThanOrEqual(1)
      }
    }))

  it.effect("PATCH re-embeds new content; POST /v1/memories/delete removes what a filter selects", () =>
    Effect.gen(function*() {
      const namespace = newNamespace()
      const a = yield* post("/v1/memories", { namespace, content: "The office is on the third floor", metadata: { topic: "office", v: 1 } })
      yield* post("/v1/memories", { namespace, content: "Parking is free after six", metadata: { topic: "parking", v: 1 } })
      const patched = yield* send("PATCH", `/v1/memories/${a.body.id}`, {
        namespace,
        content: "The office moved to the seventh floor",
        metadata: { topic: "office", v: 2 },
        ttlSeconds: 3600
      })
      expect(patched.status).toBe(200)
      expect(patched.body).toMatchObject({ id: a.body.id, content: "The office moved to the seventh floor", metadata: { v: 2 } })
      expect(patched.body.expiresAt).not.toBeNull()
      const found = yield* post("/v1/search", { namespace, query: "seventh floor", k: 1 })
      expect(found.body.hits[0].id).toBe(a.body.id)
      expect((yield* send("PATCH", "/v1/memories/nope", { namespace, tags: ["x"] })).status).toBe(404)
      const dup = yield* send("PATCH", `/v1/memories/${a.body.id}`, { namespace, content: "Parking is free after six" })
      expect(dup.status).toBe(409)
      expect(dup.body._tag).toBe("DuplicateContent")
      expect((yield* post("/v1/memories/delete", { namespace })).status).toBe(400)
      const deleted = yield* post("/v1/memories/delete", { namespace, filter: { topic: { $in: ["office"] } } })
      expect(deleted.body).toEqual({ deleted: 1 })
      const left = yield* post("/v1/search", { namespace, query: "floor parking", k: 10 })
      expect(left.body.hits.map((h: any) => h.content)).toEqual(["Parking is free after six"])
    }))

  it.effect("key/value: remember, recall, forget", () =>
    Effect.gen(function*() {
      const namespace = newNamespace()
      const put = yield* send("PUT", "/v1/kv/user.timezone", { namespace, value: { tz: "Europe/Paris", dst: true } })
      expect(put.status).toBe(200)
      expect(put.body).toMatchObject({ key: "user.timezone", namespace, value: { tz: "Europe/Paris", dst: true } })
      const got = yield* get(`/v1/kv/user.timezone?namespace=${namespace}`)
      expect(got.body.value).toEqual({ tz: "Europe/Paris", dst: true })
      expect((yield* get("/v1/kv/user.timezone")).status).toBe(404)
      expect((yield* send("PUT", "/v1/kv/bad key!", { value: 1 })).status).toBe(400)
      expect((yield* send("PUT", "/v1/kv/k", { namespace })).status).toBe(400)
      expect((yield* send("DELETE", `/v1/kv/user.timezone?namespace=${namespace}`)).status).toBe(204)
      const gone = yield* get(`/v1/kv/user.timezone?namespace=${namespace}`)
      expect(gone.status).toBe(404)
      expect(gone.body._tag).toBe("KeyNotFound")
    }))

  it.effect("sessions: add messages, read the latest in order, clear", () =>
    Effect.gen(function*() {
      const namespace = newNamespace()
      for (const [role, content] of [["user", "hi"], ["assistant", "hello!"], ["user", "hi"], ["user", "what's new?"]]) {
        const added = yield* post(`/v1/sessions/chat-1/messages`, { namespace, role, content })
        expect(added.status).toBe(201)
        expect(added.body).toMatchObject({ sessionId: "chat-1", role, content })
      }
      const all = yield* get(`/v1/sessions/chat-1/messages?namespace=${namespace}`)
      expect(all.body.messages.map((m: any) => `${m.role}:${m.content}`)).toEqual(["user:hi", "assistant:hello!", "user:hi", "user:what's new?"])
      const last2 = yield* get(`/v1/sessions/chat-1/messages?namespace=${namespace}&limit=2`)
      expect(last2.body.messages.map((m: any) => m.content)).toEqual(["hi", "what's new?"])
      expect((yield* get(`/v1/sessions/chat-1/messages?limit=0`)).status).toBe(400)
      expect((yield* post(`/v1/sessions/chat-1/messages`, { namespace, role: "robot", content: "x" })).status).toBe(400)
      const cleared = yield* send("DELETE", `/v1/sessions/chat-1/messages?namespace=${namespace}`)
      expect(cleared.body).toEqual({ deleted: 4 })
      expect((yield* get(`/v1/sessions/chat-1/messages?namespace=${namespace}`)).body.messages).toEqual([])
    }))
})
