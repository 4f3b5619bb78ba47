/** A batch item that fails to decode says why in one line naming its field, as every other 400 of the API does. */
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { post, postRaw, serverLayer } from "./support/http.ts"
import { newNamespace } from "./support/records.ts"

layer(serverLayer, { timeout: 60_000 })("batch item errors", (it) => {
  it.effect("unknown fields, wrong types and bad values: one line each, naming the field, in {items} and NDJSON alike", () =>
    Effect.gen(function*() {
      const namespace = newNamespace()
      const items = [
        { content: "ok", namspace: "typo" },
        { content: 42 },
        { content: "ok", kind: "weird" },
        { content: "ok", tags: "not-a-list" },
        { metadata: { a: 1 } }
      ]
      const json = yield* post("/v1/memories/batch", { namespace, items })
      const ndjson = yield* postRaw(`/v1/memories/batch?namespace=${namespace}`, items.map((i) => JSON.stringify(i)).join("\n") + "\n", "application/x-ndjson")
      for (const result of [json, ndjson]) {
        expect(result.status).toBe(200)
        expect(result.body).toMatchObject({ stored: 0, failedCount: items.length })
        const messages: Array<string> = result.body.failed.map((f: { message: string }) => f.message)
        for (const message of messages) expect(message).not.toMatch(/\n/)
        expect(messages[0]).toMatch(/^namspace: unknown field \(known: .*namespace/)
        expect(messages[1]).toMatch(/^content: /)
        expect(messages[2]).toMatch(/^kind: /)
        expect(messages[3]).toMatch(/^tags: /)
        expect(messages[4]).toBe("content: is required")
      }
    }))
})
