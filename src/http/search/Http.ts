/** The search group over the Memory service. */
import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect, Schema } from "effect"
import { ContextRequest } from "../../domain/Context.ts"
import { SearchHit, SearchRequest, type SearchResponse } from "../../domain/Search.ts"
import { Memory } from "../../memory/Memory.ts"
import { Api } from "../Api.ts"
import { RequestBody } from "../RequestBody.ts"
import { resolveNamespace } from "../TenantNamespace.ts"

const encodeHits = Schema.encodeSync(Schema.Array(SearchHit))

/**
 * The JSON of a list of hits, made once per list: a cached answer hands back the list it was
 * computed with (immutable, and unreachable once a write moves the generation on), so a cache
 * hit's hits are encoded once, not on every request.
 */
const hitsJson = new WeakMap<ReadonlyArray<SearchHit>, string>()

/** The body the endpoint's success schema would make (its fields in order), from the encoded hits. */
export const searchResponseBody = (response: SearchResponse): string => {
  let hits = hitsJson.get(response.hits)
  if (hits === undefined) {
    hits = JSON.stringify(encodeHits(response.hits))
    hitsJson.set(response.hits, hits)
  }
  return `{"hits":${hits},"cached":${response.cached},"tookMs":${JSON.stringify(response.tookMs)}}`
}

export const SearchLive = HttpApiBuilder.group(Api, "search", (handlers) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    const body = yield* RequestBody
    return handlers
      .handleRaw("search", ({ request }) =>
        Effect.gen(function*() {
          const payload = yield* body.json(SearchRequest, request)
          const namespace = yield* resolveNamespace(payload.namespace)
          const response = yield* memory.search({ ...payload, namespace })
          return HttpServerResponse.text(searchResponseBody(response), { contentType: "application/json" })
        }))
      .handleRaw("context", ({ request }) =>
        Effect.gen(function*() {
          const payload = yield* body.json(ContextRequest, request)
          const namespace = yield* resolveNamespace(payload.namespace)
          return yield* memory.context({ ...payload, namespace })
        }))
  }))
