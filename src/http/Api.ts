/**
 * The HTTP contract, declared once with @effect/platform's HttpApi: the server
 * implements it (Handlers.ts), /openapi.json is derived from it, and a typed
 * client can be made from it with HttpApiClient.
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { BatchRequest, BatchResult } from "../domain/Batch.ts"
import { ContextRequest, ContextResponse } from "../domain/Context.ts"
import { DocumentRequest, DocumentResult } from "../domain/Document.ts"
import {
  DimensionMismatch,
  DuplicateContent,
  EmbeddingFailed,
  Forbidden,
  IdConflict,
  InvalidInput,
  KeyNotFound,
  MemoryNotFound,
  StoreUnavailable
} from "../domain/errors.ts"
import { MetadataFilter } from "../domain/Filter.ts"
import { KvEntry, KvKey, KvPutRequest } from "../domain/KeyValue.ts"
import {
  MemoryKind,
  MemoryRecord,
  Namespace,
  SessionId,
  StoredMemory,
  StoreMemoryRequest,
  Tags,
  UpdateMemoryRequest
} from "../domain/Memory.ts"
import { SearchRequest, SearchResponse } from "../domain/Search.ts"
import { ObservabilityApi } from "../observability/ObservabilityApi.ts"
import { Authorization } from "./Auth.ts"
import { AddMessageRequest, History, Message } from "../domain/Session.ts"

const IdPath = Schema.Struct({ id: Schema.String })
const NamespaceParam = Schema.Struct({ namespace: Schema.optional(Namespace) })

export class DeleteWhereRequest extends Schema.Class<DeleteWhereRequest>("DeleteWhereRequest")(
  Schema.Struct({
    namespace: Schema.optional(Namespace),
    filter: Schema.optional(MetadataFilter),
    kinds: Schema.optional(Schema.Array(MemoryKind)),
    tags: Schema.optional(Tags),
    sessionId: Schema.optional(SessionId)
  }).pipe(
    Schema.filter((r) =>
      r.filter !== undefined || r.kinds !== undefined || r.tags !== undefined || r.sessionId !== undefined ||
      "say what to delete: a filter, kinds, tags or a sessionId (deleting a whole namespace needs {\"filter\": {}})"
    )
  )
) {}
export const Deleted = Schema.Struct({ deleted: Schema.Int })

export class MemoriesApi extends HttpApiGroup.make("memories")
  .add(
    HttpApiEndpoint.post("store", "/v1/memories")
      .setPayload(StoreMemoryRequest)
      .addSuccess(StoredMemory, { status: 201 })
      .addError(IdConflict)
      .annotate(OpenApi.Summary, "Store a memory (deduplicated by content within its namespace)")
  )
  .add(
    HttpApiEndpoint.post("storeBatch", "/v1/memories/batch")
      .setPayload(BatchRequest)
      .setUrlParams(Schema.Struct({ namespace: Schema.optional(Namespace), kind: Schema.optional(MemoryKind) }))
      .addSuccess(BatchResult)
      .addError(InvalidInput)
      .annotate(OpenApi.Summary, "Store many memories: {items:[…]} or an NDJSON stream (application/x-ndjson), one outcome per item")
  )
  .add(
    HttpApiEndpoint.post("deleteWhere", "/v1/memories/delete")
      .setPayload(DeleteWhereRequest)
      .addSuccess(Deleted)
      .annotate(OpenApi.Summary, "Delete the memories a filter selects")
  )
  .add(
    HttpApiEndpoint.get("get", "/v1/memories/:id")
      .setPath(IdPath)
      .setUrlParams(NamespaceParam)
      .addSuccess(MemoryRecord)
      .addError(MemoryNotFound)
      .annotate(OpenApi.Summary, "Get a memory by id")
  )
  .add(
    HttpApiEndpoint.patch("update", "/v1/memories/:id")
      .setPath(IdPath)
      .setUrlParams(NamespaceParam)
      .setPayload(UpdateMemoryRequest)
      .addSuccess(MemoryRecord)
      .addError(MemoryNotFound)
      .addError(DuplicateContent)
      .annotate(OpenApi.Summary, "Update a memory (new content is re-embedded)")
  )
  .add(
    HttpApiEndpoint.del("delete", "/v1/memories/:id")
      .setPath(IdPath)
      .setUrlParams(NamespaceParam)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(MemoryNotFound)
      .annotate(OpenApi.Summary, "Delete a memory by id")
  )
  .addError(StoreUnavailable)
  .addError(EmbeddingFailed)
  .addError(DimensionMismatch)
  .addError(Forbidden)
  .middleware(Authorization)
{}

export class SearchApi extends HttpApiGroup.make("search")
  .add(
    HttpApiEndpoint.post("search", "/v1/search")
      .setPayload(SearchRequest)
      .addSuccess(SearchResponse)
      .annotate(OpenApi.Summary, "Find memories: by meaning (vector), by words (keyword), or both (hybrid)")
  )
  .add(
    HttpApiEndpoint.post("context", "/v1/context")
      .setPayload(ContextRequest)
      .addSuccess(ContextResponse)
      .annotate(OpenApi.Summary, "Build a prompt context for a query within a token budget")
  )
  .addError(StoreUnavailable)
  .addError(EmbeddingFailed)
  .addError(DimensionMismatch)
  .addError(Forbidden)
  .middleware(Authorization)
{}

export class DocumentsApi extends HttpApiGroup.make("documents")
  .add(
    HttpApiEndpoint.post("ingest", "/v1/documents")
      .setPayload(DocumentRequest)
      .addSuccess(DocumentResult, { status: 201 })
      .addError(IdConflict)
      .annotate(OpenApi.Summary, "Store a document as knowledge chunks (re-ingesting an id replaces them)")
  )
  .addError(StoreUnavailable)
  .addError(EmbeddingFailed)
  .addError(DimensionMismatch)
  .addError(Forbidden)
  .middleware(Authorization)
{}

const KeyPath = Schema.Struct({ key: KvKey })

export class KeyValueApi extends HttpApiGroup.make("kv")
  .add(
    HttpApiEndpoint.put("remember", "/v1/kv/:key")
      .setPath(KeyPath)
      .setPayload(KvPutRequest)
      .addSuccess(KvEntry)
      .annotate(OpenApi.Summary, "Remember a value under a key")
  )
  .add(
    HttpApiEndpoint.get("recall", "/v1/kv/:key")
      .setPath(KeyPath)
      .setUrlParams(NamespaceParam)
      .addSuccess(KvEntry)
      .addError(KeyNotFound)
      .annotate(OpenApi.Summary, "Recall the value under a key")
  )
  .add(
    HttpApiEndpoint.del("forget", "/v1/kv/:key")
      .setPath(KeyPath)
      .setUrlParams(NamespaceParam)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(KeyNotFound)
      .annotate(OpenApi.Summary, "Forget a key")
  )
  .addError(StoreUnavailable)
  .addError(Forbidden)
  .middleware(Authorization)
{}

const SessionPath = Schema.Struct({ id: SessionId })

export class SessionsApi extends HttpApiGroup.make("sessions")
  .add(
    HttpApiEndpoint.post("addMessage", "/v1/sessions/:id/messages")
      .setPath(SessionPath)
      .setPayload(AddMessageRequest)
      .addSuccess(Message, { status: 201 })
      .addError(IdConflict)
      .annotate(OpenApi.Summary, "Add a message to a session's history")
  )
  .add(
    HttpApiEndpoint.get("history", "/v1/sessions/:id/messages")
      .setPath(SessionPath)
      .setUrlParams(Schema.Struct({
        namespace: Schema.optional(Namespace),
        limit: Schema.optional(
          Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000, { message: () => "limit must be a whole number from 1 to 1000" }))
        )
      }))
      .addSuccess(History)
      .annotate(OpenApi.Summary, "A session's latest messages, oldest first")
  )
  .add(
    HttpApiEndpoint.del("clear", "/v1/sessions/:id/messages")
      .setPath(SessionPath)
      .setUrlParams(NamespaceParam)
      .addSuccess(Deleted)
      .annotate(OpenApi.Summary, "Clear a session's history")
  )
  .addError(StoreUnavailable)
  .addError(EmbeddingFailed)
  .addError(DimensionMismatch)
  .addError(Forbidden)
  .middleware(Authorization)
{}

export const Health = Schema.Struct({ status: Schema.Literal("ok") })
export const Readiness = Schema.Struct({
  status: Schema.Literal("ready"),
  store: Schema.String,
  embedder: Schema.String,
  dimensions: Schema.Number
})

export class SystemApi extends HttpApiGroup.make("system")
  .add(HttpApiEndpoint.get("health", "/health").addSuccess(Health).annotate(OpenApi.Summary, "Liveness"))
  .add(
    HttpApiEndpoint.get("ready", "/ready")
      .addSuccess(Readiness)
      .addError(StoreUnavailable)
      .annotate(OpenApi.Summary, "Readiness: the store answers and its schema is in place")
  )
{}

export class Api extends HttpApi.make("agent-memory")
  .add(MemoriesApi)
  .add(SearchApi)
  .add(DocumentsApi)
  .add(KeyValueApi)
  .add(SessionsApi)
  .add(ObservabilityApi)
  .add(SystemApi)
  .annotate(OpenApi.Title, "agent-memory")
  .annotate(OpenApi.Description, "Memory for AI agents: store records with embeddings, find them again by meaning.")
{}
