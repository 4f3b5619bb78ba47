/**
 * The embedding provider misbehaving, seen over HTTP by a client of the real
 * server process (MEMORY_EMBEDDER=openai against test/support/FakeOpenAi.ts on
 * loopback): each fault is a typed 502 EmbeddingFailed (JSON, one line), within
 * the request's deadline, and nothing of the failed write is stored.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type Fault, makeFakeOpenAi, serverEnvOver } from "../support/FakeOpenAi.ts"
import { send, spawnServer } from "./serverProcess.ts"

describe("embedder faults over HTTP", () => {
  it.scopedLive("429 with a long Retry-After, 500s, hangs, malformed, short and NaN answers: 502 EmbeddingFailed, nothing stored", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      const server = yield* spawnServer({
        ...serverEnvOver(fake),
        MEMORY_EMBEDDING_TIMEOUT: "500 millis",
        MEMORY_EMBEDDING_DEADLINE: "3 seconds",
        MEMORY_EMBEDDING_RETRIES: "3"
      })
      const cases: ReadonlyArray<readonly [string, ReadonlyArray<Fault>, string]> = [
        ["retry-after", [{ _tag: "RateLimited", retryAfterSeconds: 3600 }], "retry after 1h"],
        ["server errors", Array.from({ length: 4 }, () => ({ _tag: "ServerError" as const })), "500"],
        ["hangs", Array.from({ length: 10 }, () => ({ _tag: "Hang" as const })), "no answer"],
        ["malformed", [{ _tag: "Malformed" }], "malformed response"],
        ["short", [{ _tag: "WrongDimensions" }], "expected 8"],
        ["nan", [{ _tag: "NonFinite" }], "NaN"]
      ]
      for (const [name, faults, says] of cases) {
        fake.reset()
        fake.fail(...faults)
        const content = `a memory for the ${name} case`
        const answer = yield* send(`${server.url}/v1/memories`, { body: JSON.stringify({ content }) })
        expect(answer.status, name).toBe(502)
        const body = answer.body as { _tag: string; message: string }
        expect(body._tag, name).toBe("EmbeddingFailed")
        expect(body.message, name).toContain(says)
        expect(body.message, name).not.toContain("\n")
        expect(answer.ms, name).toBeLessThan(6000)
      }
      // A batch whose embedding request fails: every item failed with EmbeddingFailed, none stored.
      fake.reset()
      fake.fail({ _tag: "WrongCount" })
      const batch = yield* send(`${server.url}/v1/memories/batch`, {
        body: JSON.stringify({ items: [{ content: "batch one" }, { content: "batch two" }] })
      })
      expect(batch.status).toBe(200)
      expect(batch.body).toMatchObject({ stored: 0, failedCount: 2 })
      expect((batch.body as { failed: Array<{ _tag: string }> }).failed.map((f) => f._tag)).toEqual(["EmbeddingFailed", "EmbeddingFailed"])

      // Nothing half-stored: with the provider healthy again, none of the failed contents is there.
      fake.reset()
      const found = yield* send(`${server.url}/v1/search`, { body: JSON.stringify({ query: "memory case batch", k: 50, mode: "keyword" }) })
      expect(found.status).toBe(200)
      expect((found.body as { hits: Array<unknown> }).hits).toEqual([])
      const ok = yield* send(`${server.url}/v1/memories`, { body: JSON.stringify({ content: "healthy again" }) })
      expect(ok.status).toBe(201)
    }), 240_000)
})
