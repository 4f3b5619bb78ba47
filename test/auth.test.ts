/** MEMORY_API_KEYS_FILE: /v1 needs a bearer key, and each key may use only its namespaces. */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import { serverLayerWith, withBearer } from "./support/http.ts"
import { failedStart } from "./support/process.ts"

const ACME = "sk-acme-0123456789abcdef"
const ADMIN = "sk-admin-0123456789abcdef"
const dir = mkdtempSync(join(tmpdir(), "agent-memory-keys-"))
const keysFile = join(dir, "keys.json")
writeFileSync(keysFile, JSON.stringify({ [ACME]: ["acme"], [ADMIN]: "*" }))

layer(serverLayerWith({ MEMORY_API_KEYS_FILE: keysFile }), { timeout: 60_000 })("API keys", (it) => {
  it.effect("no key or a wrong key is 401; health and readiness stay open", () =>
    Effect.gen(function*() {
      const none = yield* withBearer("POST", "/v1/search", undefined, { query: "x" })
      expect(none.status).toBe(401)
      expect(none.body._tag).toBe("Unauthorized")
      expect((yield* withBearer("POST", "/v1/search", "sk-wrong-0123456789abcdef", { query: "x" })).status).toBe(401)
      expect((yield* withBearer("GET", "/health", undefined)).status).toBe(200)
      expect((yield* withBearer("GET", "/ready", undefined)).status).toBe(200)
    }))

  it.effect("a key works in its own namespace (the default when none is named) and nowhere else", () =>
    Effect.gen(function*() {
      const stored = yield* withBearer("POST", "/v1/memories", ACME, { content: "acme's secret plan" })
      expect(stored.status).toBe(201)
      expect(stored.body.namespace).toBe("acme")
      const found = yield* withBearer("POST", "/v1/search", ACME, { query: "secret plan" })
      expect(found.body.hits[0].content).toBe("acme's secret plan")
      const other = yield* withBearer("POST", "/v1/search", ACME, { query: "plan", namespace: "globex" })
      expect(other.status).toBe(403)
      expect(other.body).toMatchObject({ _tag: "Forbidden", namespace: "globex" })
      expect((yield* withBearer("GET", `/v1/memories/${stored.body.id}?namespace=globex`, ACME)).status).toBe(403)
      expect((yield* withBearer("GET", `/v1/memories/${stored.body.id}`, ACME)).status).toBe(200)
      expect((yield* withBearer("PUT", "/v1/kv/k", ACME, { value: 1, namespace: "globex" })).status).toBe(403)
      const batch = yield* withBearer("POST", "/v1/memories/batch", ACME, {
        items: [{ content: "mine" }, { content: "theirs", namespace: "globex" }]
      })
      expect(batch.body).toMatchObject({ stored: 1, failedCount: 1 })
      expect(batch.body.failed[0]).toMatchObject({ index: 1, _tag: "Forbidden" })
      // A key for every namespace.
      const admin = yield* withBearer("POST", "/v1/search", ADMIN, { query: "secret plan", namespace: "acme" })
      expect(admin.body.hits[0].content).toBe("acme's secret plan")
      expect((yield* withBearer("POST", "/v1/search", ADMIN, { query: "x", namespace: "globex" })).status).toBe(200)
    }))
})

describe("API keys file", () => {
  it.effect("a missing or malformed keys file stops start-up with a line naming the variable", () =>
    Effect.gen(function*() {
      const missing = yield* failedStart({ MEMORY_STORE: "memory", MEMORY_API_KEYS_FILE: join(dir, "nope.json") })
      expect(missing.code).toBe(1)
      expect(missing.stderr).toContain("MEMORY_API_KEYS_FILE: cannot read")
      const short = join(dir, "short.json")
      writeFileSync(short, JSON.stringify({ abc: "acme" }))
      const weak = yield* failedStart({ MEMORY_STORE: "memory", MEMORY_API_KEYS_FILE: short })
      expect(weak.stderr).toContain("at least 16 characters")
    }), 60_000)
})
