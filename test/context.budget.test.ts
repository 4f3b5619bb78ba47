/**
 * /v1/context at small budgets over real HTTP (PGlite store): the frame of the
 * default template (query and time lines, headings) gives way so that the
 * knowledge found fits, and a roomy budget keeps the full frame.
 */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { getEncoding } from "js-tiktoken"
import { post, serverLayer } from "./support/http.ts"
import { newNamespace } from "./support/records.ts"

const FACT = "The staging database password rotates every Monday at 09:00 UTC."

layer(serverLayer, { timeout: 60_000 })("context at small budgets", (it) => {
  it.effect("at 80 tokens the knowledge found is in the text; the query/time lines and empty sections are left out", () =>
    Effect.gen(function*() {
      const namespace = newNamespace()
      expect((yield* post("/v1/memories", { namespace, kind: "knowledge", content: FACT, metadata: { title: "Runbook" } })).status).toBe(201)
      const query = "When does the staging database password rotate?"
      const tight = yield* post("/v1/context", { namespace, query, maxTokens: 80 })
      expect(tight.status).toBe(200)
      expect(tight.body.text).toContain(FACT)
      expect(tight.body.text).toContain("[1] Runbook")
      expect(tight.body.sources.map((s: any) => s.ref)).toEqual([1])
      expect(tight.body.text).not.toContain("Query:")
      expect(tight.body.text).not.toContain("Now:")
      expect(tight.body.text).not.toContain("(none)")
      expect(tight.body.text.startsWith("Knowledge:\n[1] (")).toBe(true)
      expect(tight.body.tokenCount).toBeLessThanOrEqual(80)
      // The count the server reports is the text's real BPE count.
      expect(getEncoding("cl100k_base").encode(tight.body.text).length).toBe(tight.body.tokenCount)

      // The smallest budget allowed, with a conversation too: within it, and what it holds is found material, not a frame.
      yield* post("/v1/sessions/s-budget/messages", { namespace, role: "user", content: "I keep forgetting the staging password schedule" })
      const smallest = yield* post("/v1/context", { namespace, query, maxTokens: 50, sessionId: "s-budget" })
      expect(smallest.status).toBe(200)
      expect(smallest.body.tokenCount).toBeLessThanOrEqual(50)
      expect(smallest.body.text).toContain("staging")
      expect(smallest.body.text).not.toContain("(none)")
      expect(smallest.body.items.length).toBeGreaterThan(0)

      // Room to spare: the full frame stays, with the query and the time.
      const roomy = yield* post("/v1/context", { namespace, query, maxTokens: 1000 })
      expect(roomy.body.text.startsWith(`Query: ${query}\nNow: `)).toBe(true)
      expect(roomy.body.text).toContain("Memories:\n(none)")
      expect(roomy.body.text).toContain(FACT)
    }))

  it.effect("a caller's own template is kept as written, even when tight", () =>
    Effect.gen(function*() {
      const namespace = newNamespace()
      yield* post("/v1/memories", { namespace, kind: "knowledge", content: FACT })
      const own = yield* post("/v1/context", {
        namespace,
        query: "staging password",
        maxTokens: 80,
        template: "Query: {{query}}\nNow: {{now}}\n{{knowledge}}"
      })
      expect(own.status).toBe(200)
      expect(own.body.text.startsWith("Query: staging password\nNow: ")).toBe(true)
      expect(own.body.tokenCount).toBeLessThanOrEqual(80)
    }))
})
