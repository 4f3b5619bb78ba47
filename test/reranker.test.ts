/**
 * The http reranker against a real loopback server speaking the /rerank
 * protocol: what it sends, what it reads, its retries and timeout, and search
 * through the HTTP API with it: reranked order, a 502 JSON error for a 500, a
 * hang or a malformed answer, and nothing cached from a failed rerank.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { expect, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Exit, Layer, Redacted } from "effect"
import * as AgentMemory from "../layers/app.ts"
import * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
import * as HttpReranker from "../layers/reranker/HttpReranker.ts"
import * as InMemoryStore from "../layers/store/memory/InMemoryStore.ts"
import { HttpAppLive } from "../src/http/Server.ts"
import { planSearch, searchKey } from "../src/memory/SearchPlan.ts"
import { SearchRequest } from "../src/domain/Search.ts"
import { Reranker } from "../src/ports/Reranker.ts"
import { type FakeReranker, makeFakeReranker } from "./support/FakeReranker.ts"
import { post } from "./support/http.ts"
import { newNamespace } from "./support/records.ts"

class Fake extends Effect.Tag("test/FakeReranker")<Fake, FakeReranker>() {}

const options = (fake: FakeReranker) => ({
  url: fake.baseUrl,
  model: "test-rerank",
  apiKey: Redacted.make("sk-very-secret"),
  depth: 20,
  timeout: "300 millis" as const,
  retries: 1,
  backoff: "10 millis" as const
})

const stack = Layer.unwrapScoped(
  Effect.map(makeFakeReranker, (fake) => {
    const reranker = HttpReranker.layer(options(fake))
    const server = HttpAppLive.pipe(
      Layer.provide(
        AgentMemory.layer({
          embedder: HashingEmbedder.layer(),
          store: ({ dimensions }) => InMemoryStore.layer({ dimensions }),
          reranker
        })
      ),
      Layer.provideMerge(NodeHttpServer.layerTest),
      Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map())))
    )
    return Layer.mergeAll(server, reranker, Layer.succeed(Fake, fake))
  })
)

// The live clock: under the TestClock (the default) the retry pause and the per-try timeout
// never elapse, in the test's fiber and in the server's alike, so the fault cases hung.
layer(stack, { timeout: 60_000, excludeTestServices: true })("http reranker", (it) => {
  it.effect("speaks the /rerank protocol: {model, query, documents, top_n} with a bearer key; answers best first, TEI's shape too", () =>
    Effect.gen(function*() {
      const fake = yield* Fake
      fake.reset()
      const reranker = yield* Reranker
      const scores = yield* reranker.rerank("red apple", ["a green pear", "a red apple", "red wine"])
      expect(scores.map((s) => s.index)).toEqual([1, 2, 0])
      expect(scores[0]!.score).toBe(1)
      expect(fake.requests[0]).toMatchObject({
        path: "/v1/rerank",
        authorization: "Bearer sk-very-secret",
        body: { model: "test-rerank", query: "red apple", documents: ["a green pear", "a red apple", "red wine"], top_n: 3 }
      })
      expect(reranker.id).toBe("http:test-rerank")
      fake.shape = "tei"
      expect((yield* reranker.rerank("red apple", ["x", "red apple"])).map((s) => s.index)).toEqual([1, 0])
    }))

  it.effect("tries a 500 or a 429 again; a hang times out; a malformed answer or a wrong index fails at once; the key never shows", () =>
    Effect.gen(function*() {
      const fake = yield* Fake
      const reranker = yield* Reranker
      fake.reset()
      fake.fault({ _tag: "Status", status: 500 })
      expect((yield* reranker.rerank("q", ["q"])).length).toBe(1)
      expect(fake.requests.length).toBe(2)
      fake.reset()
      fake.fault({ _tag: "Status", status: 429 }, { _tag: "Status", status: 503 })
      const down = yield* Effect.flip(reranker.rerank("q", ["q"]))
      expect(down._tag).toBe("RerankFailed")
      expect(down.message).toContain("HTTP 503 (2 tries)")
      fake.reset()
      fake.fault({ _tag: "Hang" }, { _tag: "Hang" })
      const started = Date.now()
      const hung = yield* Effect.flip(reranker.rerank("q", ["q"]))
      expect(hung.message).toContain("did not answer within")
      expect(Date.now() - started).toBeLessThan(3000)
      fake.reset()
      fake.fault({ _tag: "Malformed", body: "{not json" })
      const garbled = yield* Effect.flip(reranker.rerank("q", ["q"]))
      expect(garbled.message).toContain("not a ranking")
      expect(fake.requests.length).toBe(1)
      fake.reset()
      fake.fault({ _tag: "Malformed", body: JSON.stringify({ results: [{ index: 7, relevance_score: 0.9 }] }) })
      expect((yield* Effect.flip(reranker.rerank("q", ["q"]))).message).toContain("index 7")
      fake.reset()
      fake.fault({ _tag: "Status", status: 401 })
      const refused = yield* Effect.flip(reranker.rerank("q", ["q"]))
      expect(refused.message).toContain("HTTP 401")
      for (const e of [down, hung, garbled, refused]) expect(e.message).not.toContain("sk-very-secret")
    }))

  it.effect("search reranks the retrieved candidates; a failed rerank is a 502 JSON error and nothing is cached from it", () =>
    Effect.gen(function*() {
      const fake = yield* Fake
      fake.reset()
      const namespace = newNamespace()
      for (const content of ["apple pie recipe", "apple orchard in autumn", "apple tree pruning", "the golden apple of myth"]) {
        expect((yield* post("/v1/memories", { namespace, content })).status).toBe(201)
      }
      // The reranker prefers the one about gold, whatever retrieval thought.
      fake.score = (_q, d) => (d.includes("golden") ? 0.97 : 0.2)
      const first = yield* post("/v1/search", { namespace, query: "apple", k: 2, mode: "keyword" })
      expect(first.status).toBe(200)
      expect(first.body.hits[0]).toMatchObject({ content: "the golden apple of myth", score: 0.97 })
      expect(first.body.hits.length).toBe(2)
      // Every candidate went to the reranker, not only k.
      expect(fake.requests[0]!.body.documents.length).toBe(4)
      const again = yield* post("/v1/search", { namespace, query: "apple", k: 2, mode: "keyword" })
      expect(again.body.cached).toBe(true)
      expect(fake.requests.length).toBe(1)
      for (const fault of [{ _tag: "Status", status: 500 }, { _tag: "Hang" }, { _tag: "Malformed", body: "[[[" }] as const) {
        fake.reset()
        fake.fault(fault, fault)
        const failed = yield* post("/v1/search", { namespace, query: "apple pie", k: 2, mode: "keyword" })
        expect(failed.status).toBe(502)
        expect(failed.body._tag).toBe("RerankFailed")
        expect(typeof failed.body.message).toBe("string")
      }
      fake.reset()
      const recovered = yield* post("/v1/search", { namespace, query: "apple pie", k: 2, mode: "keyword" })
      expect(recovered.status).toBe(200)
      expect(recovered.body.cached).toBe(false)
      expect(fake.requests.length).toBe(1)
    }))

  it("the cache key names the reranker", () => {
    const request = new SearchRequest({ query: "q" })
    const embedder = { model: "m", dimensions: 8 }
    const none = searchKey(planSearch(request, embedder))
    const one = searchKey(planSearch(request, embedder, { id: "http:a" }))
    const other = searchKey(planSearch(request, embedder, { id: "http:b" }))
    expect(new Set([none, one, other]).size).toBe(3)
  })
})

layer(Layer.empty)("reranker configuration", (it) => {
  const start = (env: Record<string, string>) =>
    Effect.exit(Layer.build(AgentMemory.layerConfig()).pipe(
      Effect.scoped,
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({ MEMORY_STORE: "memory", ...env }))))
    ))

  it.effect("MEMORY_RERANKER=http needs MEMORY_RERANK_URL; an unknown reranker names the known ones", () =>
    Effect.gen(function*() {
      const missing = yield* start({ MEMORY_RERANKER: "http" })
      expect(Exit.isFailure(missing) && String(missing.cause)).toContain("MEMORY_RERANK_URL")
      const bad = yield* start({ MEMORY_RERANKER: "http", MEMORY_RERANK_URL: "ftp://x" })
      expect(Exit.isFailure(bad) && String(bad.cause)).toContain("not an http(s) URL")
      const unknown = yield* start({ MEMORY_RERANKER: "magic" })
      expect(Exit.isFailure(unknown) && String(unknown.cause)).toContain("known: http, none")
      expect(Exit.isSuccess(yield* start({}))).toBe(true)
    }))
})
