/** Two server processes sharing PostgreSQL and Redis: a write through one is visible to a search through the other at once. */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { databaseUrl, freshSchema } from "./support/postgres.ts"
import { request, startServer } from "./support/process.ts"
import { deleteTestKeys, freshPrefix, redisAvailable, redisUrl } from "./support/redis.ts"

afterAll(() => deleteTestKeys())

describe.skipIf(!redisAvailable || !process.env.DATABASE_URL)("two pgvector server processes sharing Redis", () => {
  it.scopedLive("write through A, search through B: the new record is there at once", () =>
    Effect.gen(function*() {
      const url = yield* databaseUrl
      const schema = yield* freshSchema(url)
      const env = {
        MEMORY_STORE: "pgvector",
        DATABASE_URL: Redacted.value(url),
        MEMORY_PG_SCHEMA: schema,
        REDIS_URL: redisUrl,
        MEMORY_REDIS_PREFIX: freshPrefix()
      }
      const a = yield* startServer(env)
      const b = yield* startServer(env)
      const search = (server: typeof a) => request(`${server.url}/v1/search`, { body: { query: "harbour seals", k: 10 } })
      yield* request(`${a.url}/v1/memories`, { body: { content: "harbour seals rest on the rocks at low tide" } })
      expect((yield* search(b)).body.hits.length).toBe(1)
      expect((yield* search(b)).body.cached).toBe(true)
      expect((yield* search(a)).body.cached).toBe(true) // filled by B, shared through Redis
      for (let i = 0; i < 5; i++) {
        yield* request(`${a.url}/v1/memories`, { body: { content: `harbour seals note ${i}` } })
        const seen = yield* search(b)
        expect(seen.body.cached).toBe(false)
        expect(seen.body.hits.length).toBe(i + 2)
      }
    }), 120_000)
})
