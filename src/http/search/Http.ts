/** The search group over the Memory service. */
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ContextRequest } from "../../domain/Context.ts"
import { SearchRequest } from "../../domain/Search.ts"
import { Memory } from "../../memory/Memory.ts"
import { Api } from "../Api.ts"
import { RequestBody } from "../RequestBody.ts"
import { resolveNamespace } from "../TenantNamespace.ts"

export const SearchLive = HttpApiBuilder.group(Api, "search", (handlers) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    const body = yield* RequestBody
    return handlers
      .handleRaw("search", ({ request }) =>
        Effect.gen(function*() {
          const payload = yield* body.json(SearchRequest, request)
          const namespace = yield* resolveNamespace(payload.namespace)
          return yield* memory.search({ ...payload, namespace })
        }))
      .handleRaw("context", ({ request }) =>
        Effect.gen(function*() {
          const payload = yield* body.json(ContextRequest, request)
          const namespace = yield* resolveNamespace(payload.namespace)
          return yield* memory.context({ ...payload, namespace })
        }))
  }))
