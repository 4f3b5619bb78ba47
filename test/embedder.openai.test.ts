/**
 * The `openai` embedder through the real openai SDK against an OpenAI-compatible
 * server on loopback that counts requests and injects faults.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Layer, Redacted } from "effect"
import * as AgentMemory from "../layers/app.ts"
import * as InMemoryStore from "../layers/store/memory/InMemoryStore.ts"
import * as OpenAiEmbedder from "../layers/embedder/OpenAiEmbedder.ts"
import { SearchRequest } from "../src/domain/Search.ts"
import { StoreMemoryRequest } from "../src/domain/Memory.ts"
import { Memory } from "../src/memory/Memory.ts"
import { Embedder } from "../src/ports/Embedder.ts"
import { describeStartupFailure } from "../src/config/StartupFailure.ts"
import { fakeEmbedding, makeFakeOpenAi } from "./support/FakeOpenAi.ts"

const texts = (n: number, prefix = "text") => Array.from({ length: n }, (_, i) => `${prefix} number ${i}`)

const embedder = (baseUrl: string, options: Partial<OpenAiEmbedder.OpenAiEmbedderOptions> = {}) =>
  OpenAiEmbedder.make({ model: "text-embedding-3-small", apiKey: Redacted.make("sk-test"), baseUrl, timeout: "2 seconds", ...options })

/** The whole memory stack (in-memory store, default caches) over the openai embedder. */
const stack = (baseUrl: string, options: Partial<OpenAiEmbedder.OpenAiEmbedderOptions> = {}) =>
  AgentMemory.layer({
    embedder: Layer.scoped(Embedder, embedder(baseUrl, options)),
    store: ({ dimensions }) => InMemoryStore.layer({ dimensions })
  })

describe("openai embedder", () => {
  it.scopedLive("decodes vectors into Float32Array and honours `dimensions`", () =>
    Effect.gen(function*() {
      const server = yield* makeFakeOpenAi({ apiKey: "sk-test" })
      const e = yield* embedder(server.baseUrl, { dimensions: 256 })
      expect(e.dimensions).toBe(256)
      const [v] = yield* e.embedMany(["hello world"])
      expect(v).toBeInstanceOf(Float32Array)
      expect(Array.from(v!)).toEqual(Array.from(Float32Array.from(fakeEmbedding("hello world", 256))))
      expect(server.requests()[0]).toMatchObject({ dimensions: 256, encodingFormat: "base64", model: "text-embedding-3-small" })
      expect(server.requests()[0]!.headers.authorization).toBe("Bearer sk-test")
    }))

  it.scopedLive("1,000 texts at batch size 100 take exactly 10 requests, in order", () =>
    Effect.gen(function*() {
      const server = yield* makeFakeOpenAi()
      const e = yield* embedder(server.baseUrl, { batchSize: 100, dimensions: 64 })
      const input = texts(1000)
      const vectors = yield* e.embedMany(input)
      expect(server.requestCount()).toBe(10)
      expect(server.requests().every((r) => r.inputCount === 100)).toBe(true)
      expect(vectors.length).toBe(1000)
      expect(Array.from(vectors[737]!)).toEqual(Array.from(Float32Array.from(fakeEmbedding(input[737]!, 64))))
    }))

  it.scopedLive("through the memory stack, storing 1,000 new texts makes 10 requests and searching them again makes none", () =>
    Effect.gen(function*() {
      const server = yield* makeFakeOpenAi()
      yield* Effect.gen(function*() {
        const memory = yield* Memory
        const e = yield* Embedder
        const input = texts(1000, "memory")
        yield* e.embedMany(input) // the batch path: one request per 100 texts
        expect(server.requestCount()).toBe(10)
        // Stored afterwards, each text's vector comes from the embedding cache.
        yield* Effect.forEach(input.slice(0, 50), (content) => memory.store(new StoreMemoryRequest({ content })), { concurrency: 10 })
        expect(server.requestCount()).toBe(10)
      }).pipe(Effect.provide(stack(server.baseUrl, { batchSize: 100, dimensions: 32 })))
    }))

  it.scopedLive("100 concurrent searches with distinct texts are coalesced; repeating them makes no request", () =>
    Effect.gen(function*() {
      const server = yield* makeFakeOpenAi({ latencyMs: 20 })
      yield* Effect.gen(function*() {
        const memory = yield* Memory
        yield* memory.store(new StoreMemoryRequest({ content: "something to find" }))
        server.reset()
        const queries = texts(100, "query")
        const first = yield* Effect.forEach(queries, (query) => memory.search(new SearchRequest({ query })), { concurrency: "unbounded" })
        expect(first.every((r) => !r.cached)).toBe(true)
        expect(server.requestCount()).toBeLessThanOrEqual(Math.ceil(100 / 100) + 1)
        expect(server.requests().reduce((n, r) => n + r.inputCount, 0)).toBe(100)
        const before = server.requestCount()
        const again = yield* Effect.forEach(queries, (query) => memory.search(new SearchRequest({ query })), { concurrency: "unbounded" })
        expect(again.every((r) => r.cached)).toBe(true)
        expect(server.requestCount()).toBe(before)
      }).pipe(Effect.provide(stack(server.baseUrl, { batchSize: 100, dimensions: 32 })))
    }))

  it.scopedLive("identical texts in flight at once are embedded once", () =>
    Effect.gen(function*() {
      const server = yield* makeFakeOpenAi({ latencyMs: 30 })
      yield* Effect.gen(function*() {
        const e = yield* Embedder
        const vectors = yield* Effect.forEach(Array.from({ length: 50 }, () => "the same question"), (t) => e.embed(t), {
          concurrency: "unbounded"
        })
        expect(new Set(vectors).size).toBe(1)
        expect(server.requestCount()).toBe(1)
        expect(server.requests()[0]!.inputCount).toBe(1)
      }).pipe(Effect.provide(stack(server.baseUrl, { dimensions: 16 })))
    }))

  it.scopedLive("retries 429 after its Retry-After, and 500s, with backoff", () =>
    Effect.gen(function*() {
      const server = yield* makeFakeOpenAi()
      const e = yield* embedder(server.baseUrl, { dimensions: 8 })
      server.fail({ _tag: "RateLimited", retryAfterMs: 400 }, { _tag: "ServerError", status: 503 })
      const started = Date.now()
      const [v] = yield* e.embedMany(["retry me"])
      expect(Date.now() - started).toBeGreaterThanOrEqual(400)
      expect(v!.length).toBe(8)
      expect(server.requests().map((r) => r.status)).toEqual([429, 503, 200])
    }))

  it.scopedLive("a Retry-After past the request's deadline fails at once, naming it", () =>
    Effect.gen(function*() {
      const server = yield* makeFakeOpenAi()
      const e = yield* embedder(server.baseUrl, { dimensions: 8, deadline: "5 seconds" })
      server.fail({ _tag: "RateLimited", retryAfterSeconds: 3600 })
      const started = Date.now()
      const error = yield* Effect.flip(e.embedMany(["wait an hour?"]))
      expect(Date.now() - started).toBeLessThan(2000)
      expect(error._tag).toBe("EmbeddingFailed")
      expect(error.message).toContain("429")
      expect(error.message).toContain("retry after 1h")
      expect(server.requestCount()).toBe(1)
    }))

  it.scopedLive("every try of a request shares one deadline", () =>
    Effect.gen(function*() {
      const server = yield* makeFakeOpenAi()
      const e = yield* embedder(server.baseUrl, { dimensions: 8, timeout: "400 millis", deadline: "1 second", maxRetries: 10 })
      server.fail(...Array.from({ length: 10 }, () => ({ _tag: "Hang" as const })))
      const started = Date.now()
      const error = yield* Effect.flip(e.embedMany(["hangs"]))
      expect(Date.now() - started).toBeLessThan(2500)
      expect(error.message).toContain("deadline")
    }))

  it.scopedLive("NaN in a vector is EmbeddingFailed, not retried", () =>
    Effect.gen(function*() {
      const server = yield* makeFakeOpenAi()
      const e = yield* embedder(server.baseUrl, { dimensions: 8 })
      server.fail({ _tag: "NonFinite" })
      const error = yield* Effect.flip(e.embedMany(["a", "b"]))
      expect(error._tag).toBe("EmbeddingFailed")
      expect(error.message).toContain("input 0 has a vector with NaN or Infinity")
      expect(server.requestCount()).toBe(1)
    }))

  it.scopedLive("a request that hangs past the timeout is abandoned and retried", () =>
    Effect.gen(function*() {
      const server = yield* makeFakeOpenAi()
      const e = yield* embedder(server.baseUrl, { dimensions: 8, timeout: "300 millis" })
      server.fail({ _tag: "Hang" })
      const [v] = yield* e.embedMany(["slow"])
      expect(v!.length).toBe(8)
      expect(server.requestCount()).toBe(2)
    }))

  it.scopedLive("gives up after the last retry with EmbeddingFailed", () =>
    Effect.gen(function*() {
      const server = yield* makeFakeOpenAi()
      const e = yield* embedder(server.baseUrl, { dimensions: 8, maxRetries: 2 })
      server.fail({ _tag: "ServerError" }, { _tag: "ServerError" }, { _tag: "ServerError" })
      const error = yield* Effect.flip(e.embedMany(["doomed"]))
      expect(error._tag).toBe("EmbeddingFailed")
      expect(error.message).toContain("500")
      expect(server.requestCount()).toBe(3)
    }))

  it.scopedLive("malformed, short or wrongly sized answers are EmbeddingFailed, not crashes, and are not retried", () =>
    Effect.gen(function*() {
      const server = yield* makeFakeOpenAi()
      const e = yield* embedder(server.baseUrl, { dimensions: 8 })
      server.fail({ _tag: "Malformed" })
      expect((yield* Effect.flip(e.embedMany(["a"]))).message).toContain("malformed response")
      server.fail({ _tag: "Malformed", body: JSON.stringify({ object: "list" }) })
      expect((yield* Effect.flip(e.embedMany(["a"]))).message).toContain("0 embeddings for 1 inputs")
      server.fail({ _tag: "WrongCount" })
      expect((yield* Effect.flip(e.embedMany(["a", "b"]))).message).toContain("1 embeddings for 2 inputs")
      server.fail({ _tag: "WrongDimensions" })
      expect((yield* Effect.flip(e.embedMany(["a"]))).message).toContain("expected 8")
      expect(server.requestCount()).toBe(4)
      // A bad request (here, a wrong key) is not retried either.
      const locked = yield* makeFakeOpenAi({ apiKey: "sk-other" })
      const denied = yield* Effect.flip((yield* embedder(locked.baseUrl, { dimensions: 8 })).embedMany(["a"]))
      expect(denied.message).toContain("401")
      expect(locked.requestCount()).toBe(1)
    }))

  it.scopedLive("an unknown model's width is asked of the server once at start-up", () =>
    Effect.gen(function*() {
      const server = yield* makeFakeOpenAi()
      const e = yield* embedder(server.baseUrl, { model: "nomic-embed-text" })
      expect(e.dimensions).toBe(1536)
      expect(server.requestCount()).toBe(1)
      expect(server.requests()[0]!.dimensions).toBeUndefined()
    }))

  it.scopedLive("an embedding failure reaches the caller as EmbeddingFailed and stores nothing", () =>
    Effect.gen(function*() {
      const server = yield* makeFakeOpenAi()
      yield* Effect.gen(function*() {
        const memory = yield* Memory
        server.fail({ _tag: "Malformed" })
        const error = yield* Effect.flip(memory.store(new StoreMemoryRequest({ content: "lost?" })))
        expect(error._tag).toBe("EmbeddingFailed")
        const found = yield* memory.search(new SearchRequest({ query: "lost?" }))
        expect(found.hits).toEqual([])
      }).pipe(Effect.provide(stack(server.baseUrl, { dimensions: 8, maxRetries: 0 })))
    }))

  it.live("configuration: MEMORY_EMBEDDER=openai needs a key or a base URL, and checks the batch size", () =>
    Effect.gen(function*() {
      const fail = (env: Record<string, string>) =>
        Layer.build(AgentMemory.layerConfig()).pipe(
          Effect.scoped,
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({ MEMORY_STORE: "memory", MEMORY_EMBEDDER: "openai", ...env })))),
          Effect.flip,
          Effect.map(describeStartupFailure)
        )
      expect(yield* fail({})).toBe("configuration: OPENAI_API_KEY: required unless OPENAI_BASE_URL names a server that needs none")
      expect(yield* fail({ OPENAI_API_KEY: "sk", MEMORY_EMBEDDING_BATCH_SIZE: "5000" })).toContain("MEMORY_EMBEDDING_BATCH_SIZE")
      expect(yield* fail({ OPENAI_API_KEY: "sk", MEMORY_EMBEDDING_TIMEOUT: "forever" })).toContain("MEMORY_EMBEDDING_TIMEOUT")
    }))
})

describe("request chunking", () => {
  it("keeps each request within the input count and the token budget", () => {
    expect(OpenAiEmbedder.chunk(texts(250), 100).map((c) => c.length)).toEqual([100, 100, 50])
    const big = "x".repeat(100_000)
    expect(OpenAiEmbedder.chunk([big, big, big, big], 100).map((c) => c.length)).toEqual([3, 1])
    expect(Duration.toMillis(Duration.millis(1))).toBe(1)
  })
})
