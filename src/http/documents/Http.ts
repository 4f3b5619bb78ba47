/** The documents group over the Memory service. */
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { DocumentRequest } from "../../domain/Document.ts"
import { Memory } from "../../memory/Memory.ts"
import { Api } from "../Api.ts"
import { RequestBody } from "../RequestBody.ts"
import { resolveNamespace } from "../TenantNamespace.ts"

export const DocumentsLive = HttpApiBuilder.group(Api, "documents", (handlers) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    const body = yield* RequestBody
    return handlers.handleRaw("ingest", ({ request }) =>
      Effect.gen(function*() {
        const payload = yield* body.json(DocumentRequest, request)
        const namespace = yield* resolveNamespace(payload.namespace)
        return yield* memory.ingestDocument({ ...payload, namespace })
      }))
  }))
