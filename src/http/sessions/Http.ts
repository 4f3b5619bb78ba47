/** The sessions group over the Memory service. */
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { AddMessageRequest } from "../../domain/Session.ts"
import { Memory } from "../../memory/Memory.ts"
import { Api } from "../Api.ts"
import { RequestBody } from "../RequestBody.ts"
import { resolveNamespace } from "../TenantNamespace.ts"

export const SessionsLive = HttpApiBuilder.group(Api, "sessions", (handlers) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    const body = yield* RequestBody
    return handlers
      .handleRaw("addMessage", ({ path, request }) =>
        Effect.gen(function*() {
          const payload = yield* body.json(AddMessageRequest, request)
          const namespace = yield* resolveNamespace(payload.namespace)
          return yield* memory.addMessage(path.id, { ...payload, namespace })
        }))
      .handle("history", ({ path, urlParams }) =>
        Effect.flatMap(resolveNamespace(urlParams.namespace), (namespace) => memory.history(path.id, { ...urlParams, namespace })))
      .handle("clear", ({ path, urlParams }) =>
        Effect.flatMap(resolveNamespace(urlParams.namespace), (ns) => Effect.map(memory.clearSession(path.id, ns), (deleted) => ({ deleted }))))
  }))
