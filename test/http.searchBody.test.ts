/** POST /v1/search's body is written from hits encoded once per answer: it must be what the endpoint's schema writes. */
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import { SearchHit, SearchResponse } from "../src/domain/Search.ts"
import { searchResponseBody } from "../src/http/search/Http.ts"

const hit = (id: string, extra: Partial<SearchHit> = {}) =>
  new SearchHit({
    id,
    namespace: "n",
    content: `content "${id}" \u2028 é`,
    score: 0.5,
    kind: "memory",
    tags: ["a"],
    metadata: { nested: { list: [1, null, "x"] }, when: "2024" },
    sessionId: null,
    createdAt: new Date("2024-01-02T03:04:05.678Z"),
    expiresAt: new Date("2030-01-01T00:00:00Z"),
    occurredAt: null,
    ...extra
  })

describe("the search response body", () => {
  it("is the schema's encoding, for a fresh and for a cached answer of the same hits", () => {
    const hits = [hit("a"), hit("b", { sessionId: "s", expiresAt: null, occurredAt: new Date(0) })]
    for (const response of [
      new SearchResponse({ hits, cached: false, tookMs: 1.25 }),
      new SearchResponse({ hits, cached: true, tookMs: 0.001 }),
      new SearchResponse({ hits: [], cached: false, tookMs: 3 })
    ]) {
      expect(searchResponseBody(response)).toBe(JSON.stringify(Schema.encodeSync(SearchResponse)(response)))
    }
  })
})
