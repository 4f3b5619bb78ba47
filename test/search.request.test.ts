/**
 * SearchRequest's constructor checks with a validator built once (src/domain/ConstructorCheck.ts): it still
 * refuses what the schema refuses (an empty query, an unknown field, k out of range, a window that
 * ends before it starts) with a ParseError naming the class and the field, keeps what it is given,
 * and skips the check only when asked to.
 */
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import { SearchRequest } from "../src/domain/Search.ts"
import { refusal } from "./support/refusal.ts"

describe("SearchRequest constructor", () => {
  it("keeps the fields it is given, as an instance of the class", () => {
    const since = new Date("2026-01-01T00:00:00Z")
    const request = new SearchRequest({ query: "where did the cat sit", namespace: "demo", k: 3, mode: "hybrid", since })
    expect(request).toBeInstanceOf(SearchRequest)
    expect({ ...request }).toEqual({ query: "where did the cat sit", namespace: "demo", k: 3, mode: "hybrid", since })
    // The same value the schema decodes from the wire.
    expect(Schema.decodeUnknownSync(SearchRequest)({ query: "where did the cat sit", namespace: "demo", k: 3, mode: "hybrid", since: since.toISOString() }))
      .toEqual(request)
  })

  it("refuses what the schema refuses, naming the class and the field", () => {
    expect(refusal(() => new SearchRequest({ query: "   " }))).toMatch(/^SearchRequest \(Constructor\)[\s\S]*\["query"\][\s\S]*query must not be empty/)
    expect(refusal(() => new SearchRequest({ query: "q", namspace: "x" } as never))).toMatch(/\["namspace"\][\s\S]*is unexpected/)
    expect(refusal(() => new SearchRequest({ query: "q", k: 0 }))).toMatch(/k must be a whole number from 1 to/)
    expect(refusal(() => new SearchRequest({ query: "q", since: new Date("2026-02-01"), until: new Date("2026-01-01") })))
      .toMatch(/since \(2026-02-01T00:00:00.000Z\) is after until/)
  })

  it("skips the check only when asked to", () => {
    expect(new SearchRequest({ query: "" }, true).query).toBe("")
    expect(new SearchRequest({ query: "" }, { disableValidation: true }).query).toBe("")
    expect(() => new SearchRequest({ query: "" }, { disableValidation: false })).toThrow()
  })
})
