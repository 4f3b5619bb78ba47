/**
 * The edge's decisions (src/http/Edge.ts) for the paths it looks up without its patterns (paths
 * without parameters) must be those the patterns make: the same path with a trailing slash (which
 * the patterns alone decide) answers alike, and the paths around them are decided as before.
 */
import { describe, expect, it } from "vitest"
import { Duration } from "effect"
import * as Edge from "../src/http/Edge.ts"

const settings = { maxBody: 1024, corsOrigins: new Set<string>(), allowedHosts: undefined, shutdownGrace: Duration.seconds(1) }

/** What the edge answers: undefined (passed on), or the refusal's status, tag and Allow header. */
const decision = (method: string, url: string, headers: Record<string, string> = {}) => {
  const withBody = ["POST", "PUT", "PATCH"].includes(method)
  const refusal = Edge.check({ method, url, headers: { host: "127.0.0.1", ...(withBody ? { "content-type": "application/json", "content-length": "2" } : {}), ...headers } }, settings)
  if (refusal === undefined) return "passed"
  const body = refusal.body._tag === "Uint8Array" ? JSON.parse(new TextDecoder().decode(refusal.body.body)) : {}
  return `${refusal.status} ${body._tag}${refusal.headers["allow"] ? ` (allow: ${refusal.headers["allow"]})` : ""}`
}

describe("the edge", () => {
  it("decides a path without parameters as its patterns do, with or without a trailing slash", () => {
    const cases: Array<[string, string, string]> = [
      ["POST", "/v1/search", "passed"],
      ["GET", "/v1/search", "405 MethodNotAllowed (allow: POST)"],
      ["PUT", "/v1/search", "405 MethodNotAllowed (allow: POST)"],
      ["POST", "/v1/memories", "passed"],
      // Also a memory's id under /v1/memories/:id: its methods are those of both routes.
      ["POST", "/v1/memories/batch", "passed"],
      ["GET", "/v1/memories/batch", "passed"],
      ["GET", "/health", "passed"],
      ["POST", "/health", "405 MethodNotAllowed (allow: GET)"],
      ["GET", "/openapi.json", "passed"],
      ["GET", "/mcp", "405 MethodNotAllowed (allow: POST)"]
    ]
    for (const [method, path, expected] of cases) {
      expect(decision(method, path), `${method} ${path}`).toBe(expected)
      expect(decision(method, `${path}/`), `${method} ${path}/`).toBe(expected)
    }
  })

  it("still checks the query, the media type and the paths it does not know", () => {
    expect(decision("POST", "/v1/search?namespace=other")).toBe("400 InvalidInput")
    expect(decision("POST", "/v1/search?")).toBe("passed")
    expect(decision("POST", "/v1/search", { "content-type": "text/plain" })).toBe("415 UnsupportedMediaType")
    expect(decision("GET", "/v1/nothing-here")).toBe("404 NotFound")
    expect(decision("GET", `/v1/memories/${"x".repeat(257)}`)).toBe("400 InvalidInput")
    expect(decision("GET", "/v1/memories/%E0%A4%A")).toBe("400 InvalidInput")
    expect(decision("GET", "/v1/memories/some-id")).toBe("passed")
  })
})
