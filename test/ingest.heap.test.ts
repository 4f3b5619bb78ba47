/**
 * 100,000 NDJSON lines in one request are streamed, not buffered: the heap
 * stays under 300 MB, a bad line in the middle is reported by its index, and
 * every other line is stored.
 */
import { NodeHttpServer } from "@effect/platform-node"
import { HttpServer } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { createServer } from "node:http"
import { Readable } from "node:stream"
import * as AgentMemory from "../layers/app.ts"
import * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
import * as PgliteStore from "../layers/store/pglite/PgliteStore.ts"
import * as PgvectorStore from "../layers/store/pgvector/PgvectorStore.ts"
import { HttpAppLive } from "../src/http/Server.ts"
import { MemoryStore } from "../src/ports/MemoryStore.ts"
import { databaseUrl, freshSchema } from "./support/postgres.ts"

const LINES = 100_000
const BAD = [25_000, 50_000, 75_000]
const noIndex = { vectorType: "vector" as const, index: { _tag: "none" as const }, pgSettings: {} }

// A real PostgreSQL when there is one (CI); the embedded store otherwise.
const store = (dimensions: number) =>
  process.env.DATABASE_URL
    ? Layer.scoped(MemoryStore, Effect.gen(function*() {
      const url = yield* databaseUrl
      const schema = yield* freshSchema(url)
      return yield* PgvectorStore.make({ url, schema, dimensions, settings: noIndex })
    }))
    : PgliteStore.layer({ dataDir: "memory://", dimensions, settings: noIndex })

const server = HttpAppLive.pipe(
  Layer.provide(AgentMemory.layer({ embedder: HashingEmbedder.layer({ dimensions: 256 }), store: ({ dimensions }) => store(dimensions) })),
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
)

function* ndjson(): Generator<string> {
  for (let i = 0; i < LINES; i++) {
    if (i === BAD[0]) yield "{this is not json\n"
    else if (i === BAD[1]) yield JSON.stringify({ tags: ["no content"] }) + "\n"
    else if (i === BAD[2]) yield JSON.stringify({ content: "" }) + "\n"
    else yield JSON.stringify({ content: `streamed memory number ${i} about topic ${i % 97}`, metadata: { i } }) + "\n"
  }
}

describe("streaming ingestion", () => {
  it.scopedLive("stores 100,000 NDJSON lines with the heap under 300 MB", () =>
    Effect.gen(function*() {
      const ctx = yield* Layer.build(server)
      const address = yield* HttpServer.addressWith((a) => Effect.succeed(a)).pipe(Effect.provide(ctx))
      const port = address._tag === "TcpAddress" ? address.port : 0
      let maxHeap = 0
      const sampler = setInterval(() => (maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed)), 50)
      const started = Date.now()
      const response = yield* Effect.promise(() =>
        fetch(`http://127.0.0.1:${port}/v1/memories/batch?namespace=heap`, {
          method: "POST",
          headers: { "content-type": "application/x-ndjson" },
          body: Readable.toWeb(Readable.from(ndjson())) as ReadableStream,
          duplex: "half"
        } as RequestInit).then(async (r) => ({ status: r.status, body: (await r.json()) as { stored: number; failed: Array<{ index: number }> } }))
      ).pipe(Effect.ensuring(Effect.sync(() => clearInterval(sampler))))
      const seconds = (Date.now() - started) / 1000
      console.log(`ingested ${LINES} lines in ${seconds.toFixed(1)} s (${Math.round(LINES / seconds)}/s); max heap ${(maxHeap / 2 ** 20).toFixed(0)} MB`)
      expect(response.status).toBe(200)
      expect(response.body.stored).toBe(LINES - BAD.length)
      expect(response.body.failed.map((f: { index: number }) => f.index)).toEqual(BAD)
      expect(maxHeap).toBeLessThan(300 * 2 ** 20)
    }), 600_000)
})
