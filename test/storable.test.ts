import { describe, expect, it } from "vitest"
import { jsonProblem, MAX_JSON_DEPTH } from "../src/domain/Storable.ts"

describe("jsonProblem", () => {
  it("names the path to the first unstorable value, key or number", () => {
    expect(jsonProblem({ a: 1, b: { c: [1, "ok", "bad\u0000"] } })).toBe("b.c.2: contains a NUL character (U+0000), which cannot be stored")
    expect(jsonProblem({ a: { "k\ud800": 1 } })).toBe("a: a key contains a lone UTF-16 surrogate (not valid Unicode)")
    expect(jsonProblem([1, 2, Infinity])).toBe("2: must be a finite number")
    expect(jsonProblem({ n: NaN }, ["filter"])).toBe("filter.n: must be a finite number")
    expect(jsonProblem({ x: "\u0000" }, ["filter", "meta"])).toBe("filter.meta.x: contains a NUL character (U+0000), which cannot be stored")
    expect(jsonProblem("\ud800")).toBe("contains a lone UTF-16 surrogate (not valid Unicode)")
  })

  it("stops below the depth limit and passes storable values", () => {
    let deep: unknown = "x"
    for (let i = 0; i < MAX_JSON_DEPTH + 6; i++) deep = { d: deep }
    expect(jsonProblem(deep)).toBe(`${Array(MAX_JSON_DEPTH + 1).fill("d").join(".")}: nested deeper than ${MAX_JSON_DEPTH} levels`)
    expect(jsonProblem({ fine: { x: [1, "y", null, true, "🚀"] } })).toBeUndefined()
  })
})
