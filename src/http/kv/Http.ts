/** The key/value group over the Memory service. */
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { KvPutRequest } from "../../domain/KeyValue.ts"
import { Memory } from "../../memory/Memory.ts"
import { Api } from "../Api.ts"
import { RequestBody } from "../RequestBody.ts"
import { resolveNamespace } from "../TenantNamespace.ts"

export const KeyValueLive = HttpApiBuilder.group(Api, "kv", (handlers) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    const body = yield* RequestBody
    return handlers
      .handleRaw("remember", ({ path, request }) =>
        Effect.gen(function*() {
          const payload = yield* body.json(KvPutRequest, request)
          const namespace = yield* resolveNamespace(payload.namespace)
          return yield* memory.remember(path.key, { ...payload, namespace })
        }))
      .handle("recall", ({ path, urlParams }) => Effect.flatMap(resolveNamespace(urlParams.namespace), (ns) => memory.recall(path.key, ns)))
      .handle("forget", ({ path, urlParams }) => Effect.flatMap(resolveNamespace(urlParams.namespace), (ns) => memory.forget(path.key, ns)))
  }))
