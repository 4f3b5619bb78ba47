/** The memories group over the Memory service. */
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { DeleteWhereRequest } from "../../domain/DeleteWhere.ts"
import { InvalidInput } from "../../domain/errors.ts"
import { StoreMemoryRequest, UpdateMemoryRequest } from "../../domain/Memory.ts"
import { Memory } from "../../memory/Memory.ts"
import { Api } from "../Api.ts"
import { batchItems } from "../batchBody.ts"
import { RequestBody } from "../RequestBody.ts"
import { namespaceAllowed, resolveNamespace } from "../TenantNamespace.ts"

export const MemoriesLive = HttpApiBuilder.group(Api, "memories", (handlers) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    const body = yield* RequestBody
    return handlers
      .handleRaw("store", ({ request }) =>
        Effect.gen(function*() {
          const payload = yield* body.json(StoreMemoryRequest, request)
          const namespace = yield* resolveNamespace(payload.namespace)
          return yield* memory.store({ ...payload, namespace })
        }))
      .handleRaw("storeBatch", ({ request, urlParams }) =>
        Effect.gen(function*() {
          const { defaults, items, ndjson } = yield* batchItems(request, body)
          if (!ndjson && (urlParams.namespace !== undefined || urlParams.kind !== undefined)) {
            return yield* new InvalidInput({
              message: "with a JSON {items:[…]} body, namespace and kind go in the body, not in the query (?namespace= is for NDJSON)",
              field: urlParams.namespace !== undefined ? "namespace" : "kind"
            })
          }
          const namespace = yield* resolveNamespace(defaults.namespace ?? urlParams.namespace)
          const allow = yield* namespaceAllowed
          return yield* memory.storeMany(items, { namespace, kind: defaults.kind ?? urlParams.kind, allow })
        }))
      .handleRaw("deleteWhere", ({ request }) =>
        Effect.gen(function*() {
          const payload = yield* body.json(DeleteWhereRequest, request)
          const namespace = yield* resolveNamespace(payload.namespace)
          return { deleted: yield* memory.deleteWhere({ ...payload, namespace }) }
        }))
      .handle("get", ({ path, urlParams }) => Effect.flatMap(resolveNamespace(urlParams.namespace), (ns) => memory.get(path.id, ns)))
      .handleRaw("update", ({ path, request }) =>
        Effect.gen(function*() {
          const { namespace: requested, ...changes } = yield* body.json(UpdateMemoryRequest, request)
          const namespace = yield* resolveNamespace(requested)
          return yield* memory.update(path.id, changes, namespace)
        }))
      .handle("delete", ({ path, urlParams }) => Effect.flatMap(resolveNamespace(urlParams.namespace), (ns) => memory.delete(path.id, ns)))
  }))
