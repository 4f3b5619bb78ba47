/** Memories: store one or many, get, update, delete by id or by selection. Paths are under /v1 (Api.ts). */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { BatchRequest, BatchResult } from "../../domain/Batch.ts"
import { Deleted, DeleteWhereRequest } from "../../domain/DeleteWhere.ts"
import { DuplicateContent, IdConflict, MemoryNotFound } from "../../domain/errors.ts"
import { MemoryKind, MemoryRecord, Namespace, StoredMemory, StoreMemoryRequest, UpdateMemoryRequest } from "../../domain/Memory.ts"
import { strictStruct } from "../../domain/Strict.ts"
import { IdPath, NamespaceQuery } from "../params.ts"

/** NDJSON batches name their namespace and kind here; `{items}` bodies carry them in the body. */
export const BatchQuery = strictStruct({ namespace: Schema.optional(Namespace), kind: Schema.optional(MemoryKind) })

export class MemoriesApi extends HttpApiGroup.make("memories")
  .add(
    HttpApiEndpoint.post("store", "/memories")
      .setPayload(StoreMemoryRequest)
      .addSuccess(StoredMemory, { status: 201 })
      .addError(IdConflict)
      .annotate(OpenApi.Summary, "Store a memory (deduplicated by content within its namespace)")
  )
  .add(
    HttpApiEndpoint.post("storeBatch", "/memories/batch")
      .setPayload(BatchRequest)
      .setUrlParams(BatchQuery)
      .addSuccess(BatchResult)
      .annotate(
        OpenApi.Summary,
        "Store many memories: {items:[…], namespace?, kind?} as JSON, or an NDJSON stream (application/x-ndjson, ?namespace=&kind=); one outcome per item"
      )
  )
  .add(
    HttpApiEndpoint.post("deleteWhere", "/memories/delete")
      .setPayload(DeleteWhereRequest)
      .addSuccess(Deleted)
      .annotate(OpenApi.Summary, "Delete the memories a selection names")
  )
  .add(
    HttpApiEndpoint.get("get", "/memories/:id")
      .setPath(IdPath)
      .setUrlParams(NamespaceQuery)
      .addSuccess(MemoryRecord)
      .addError(MemoryNotFound)
      .annotate(OpenApi.Summary, "Get a memory by id")
  )
  .add(
    HttpApiEndpoint.patch("update", "/memories/:id")
      .setPath(IdPath)
      .setPayload(UpdateMemoryRequest)
      .addSuccess(MemoryRecord)
      .addError(MemoryNotFound)
      .addError(DuplicateContent)
      .annotate(OpenApi.Summary, "Update a memory (new content is re-embedded); its namespace is named in the body")
  )
  .add(
    HttpApiEndpoint.del("delete", "/memories/:id")
      .setPath(IdPath)
      .setUrlParams(NamespaceQuery)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(MemoryNotFound)
      .annotate(OpenApi.Summary, "Delete a memory by id")
  )
{}
